"""The authorities the app offers: picker labels, typed text resolved to a code, and what to say when none matches."""

from __future__ import annotations

import re
from collections.abc import Callable

import pandas as pd

from atlaskit.errors import closest
from atlaskit.errors import UnknownAuthority

from .query import echo

__all__ = ["AuthorityChoices"]

_LABEL_CODE = re.compile(r"\(([EeWw]\d{8})\)\s*$")


class AuthorityChoices:
    """The authority table as the picker shows it: ``"Name (CODE)"`` labels, codes and names.

    Args:
        authorities: the authority table (authority_code, authority_name).

    Raises:
        ValueError: when the table has no ``authority_code`` column.
    """

    def __init__(self, authorities: pd.DataFrame):
        if authorities is None or "authority_code" not in authorities:
            raise ValueError("AtlasApp needs the authority table (authority_code, authority_name)")
        table = authorities.reset_index(drop=True)
        self.names: dict[str, str] = dict(zip(table["authority_code"], table["authority_name"]))
        self.labels: list[str] = [f"{name} ({code})" for code, name in self.names.items()]
        self._label_to_code = dict(zip(self.labels, self.names))
        self._code_to_label = {code: label for label, code in self._label_to_code.items()}

    def label(self, code: str) -> str:
        """Return the picker label of a code (the code itself when it is not in the table)."""
        return self._code_to_label.get(code, code)

    def resolve(self, text: str, resolver: Callable[[str], str] | None) -> str:
        """Return the code of a picker label, a code of the table, or whatever ``resolver`` makes of the text.

        Raises:
            UnknownAuthority: nothing matches (raised by ``resolver``, or here when there is none).
        """
        value = str(text).strip()
        if value in self._label_to_code:
            return self._label_to_code[value]
        match = _LABEL_CODE.search(value)
        if match and match.group(1).upper() in self._code_to_label:
            return match.group(1).upper()
        if value.upper() in self._code_to_label:
            return value.upper()
        if resolver is None:
            raise UnknownAuthority(f"unknown authority {value!r}")
        return resolver(value)

    def unknown_message(self, text: str, exc: UnknownAuthority, showing: str) -> str:
        """Return the sentence shown when ``text`` names no authority, ending with what is shown instead.

        An old code that split names the authorities it became (``exc.successors``, codes);
        otherwise up to three close names are suggested.
        """
        shown = echo(text)
        successors = [self.names[c] for c in dict.fromkeys(exc.successors) if c in self.names]
        if successors:
            lead = f"\u201c{shown}\u201d is an old code that now covers {' and '.join(successors)}: choose one from the Authority list."
        else:
            value = shown.strip()
            close = closest(value, self.names.values(), limit=3, min_score=85) if len(value) >= 3 else []
            hint = f" Did you mean {' or '.join(close)}?" if close else ""
            lead = f"No education authority matches \u201c{shown}\u201d.{hint} Choose one from the Authority list (type a name or an ONS code such as E09000007)."
        return f"{lead} Showing {showing}."
