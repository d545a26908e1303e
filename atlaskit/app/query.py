"""The page around the app: ``?authority=`` of the request, the served default authority, messages safe to show."""

from __future__ import annotations

import os
import re
from urllib.parse import parse_qs

__all__ = ["SERVE_AUTHORITY_ENV", "parse_authority_query", "public_message", "query_authority", "served_default_authority"]

#: Environment variable set by ``atlas serve --authority`` for the kernels it preheats.
SERVE_AUTHORITY_ENV = "ATLAS_SERVE_AUTHORITY"

_PATHLIKE = re.compile(r"(?:[A-Za-z]:)?(?:[\\/][\w.\-~]+){2,}[\\/]?")
_MAX_ECHO = 60


def public_message(text: str) -> str:
    """Return ``text`` safe to show on a public page: no file-system paths, no line breaks, at most 400 characters."""
    cleaned = _PATHLIKE.sub("[path]", str(text))
    cleaned = " ".join(cleaned.split())
    if len(cleaned) > 400:
        cleaned = cleaned[:397] + "..."
    return cleaned


def echo(text: str) -> str:
    """Quote user input for a message: at most 60 characters, control characters dropped (escaped at render time)."""
    shown = "".join(ch for ch in str(text) if ch.isprintable())
    return shown if len(shown) <= _MAX_ECHO else shown[: _MAX_ECHO - 3] + "..."


def parse_authority_query(query_string: str | None) -> str | None:
    """Return the ``authority`` value of a URL query string (``"authority=E08000025&x=1"``), or None."""
    if not query_string:
        return None
    values = parse_qs(str(query_string).lstrip("?"), keep_blank_values=True).get("authority")
    if not values:
        return None
    return values[0].strip()


def query_authority() -> str | None:
    """Return ``?authority=`` of the page that Voilà is rendering (None under Papermill or Jupyter).

    In a preheated Voilà kernel this waits until a page request arrives (voila's
    ``get_query_string``); elsewhere it reads the ``QUERY_STRING`` environment variable.
    """
    if os.environ.get("VOILA_PREHEAT", "False") == "True":
        from voila.utils import get_query_string

        return parse_authority_query(get_query_string())
    return parse_authority_query(os.environ.get("QUERY_STRING"))


def served_default_authority(authority: str) -> str:
    """Return the authority ``atlas serve --authority`` asked for (:data:`SERVE_AUTHORITY_ENV`), else ``authority``."""
    return os.environ.get(SERVE_AUTHORITY_ENV) or authority
