"""Names of the schools an area's children attend (the authority's own, and others from the school directory)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping

import pandas as pd

__all__ = ["SchoolNames", "store_school_directory"]

log = logging.getLogger(__name__)


def store_school_directory() -> pd.DataFrame:
    """Return every school in the store (urn, school_name, authority_code, is_open): names schools of other authorities."""
    from atlaskit import store

    return store.cached_table("schools", columns=["urn", "school_name", "authority_code", "is_open"])


def _closed(is_open) -> str:
    """Return " (closed)" for a school known to be closed (observed 2015 flows still name some), else ""."""
    known = is_open is not None and not pd.isna(is_open)
    return " (closed)" if known and not bool(is_open) else ""


def _open_flags(frame: pd.DataFrame) -> pd.Series:
    return frame["is_open"] if "is_open" in frame else pd.Series(None, index=frame.index, dtype=object)


class SchoolNames:
    """Names schools by URN and knows which are closed: the authority's schools, then the directory's.

    Args:
        schools: the authority's schools (urn, school_name, optionally is_open).
        authority_names: authority name by code (a school of another authority is named with it).
        directory: ``directory() -> DataFrame`` (urn, school_name, authority_code, optionally
            is_open) of England's schools, called at most once; None: other schools go unnamed.
    """

    def __init__(self, schools: pd.DataFrame, authority_names: Mapping[str, str], directory: Callable[[], pd.DataFrame] | None = None):
        self._schools = schools
        self._authority_names = authority_names
        self._directory = directory
        self._frame: pd.DataFrame | None = None
        self._closed: set[int] | None = None
        self._outside: dict[int, str] | None = None

    def _directory_frame(self) -> pd.DataFrame | None:
        if self._frame is None and self._directory is not None:
            try:
                self._frame = self._directory()
            except Exception:  # noqa: BLE001 - a nicety: the authority's own schools still count
                log.exception("school directory unavailable")
                self._directory = None
        return self._frame

    def closed_urns(self) -> set[int]:
        """Return the URNs of closed schools (the authority's, and England's when the directory is there)."""
        if self._closed is None:
            closed: set[int] = set()
            for frame in (self._schools, self._directory_frame()):
                if frame is not None and "is_open" in frame:
                    closed.update(frame.loc[~frame["is_open"].fillna(True).astype(bool), "urn"])
            self._closed = closed
        return self._closed

    def names(self, urns: Iterable[int]) -> dict[int, str]:
        """Return a name for each URN that has one: the authority's schools by name, others by name and authority; closed ones say so."""
        local = self._schools
        names = {u: f"{n}{_closed(o)}" for u, n, o in zip(local["urn"], local["school_name"].astype(str), _open_flags(local))}
        missing = set(urns) - set(names)
        if missing:
            if self._outside is None:
                directory = self._directory_frame()
                self._outside = {}
                if directory is not None:
                    authority = self._authority_names
                    self._outside = {
                        u: (f"{n} ({authority[a]})" if a in authority else str(n)) + _closed(o)
                        for u, n, a, o in zip(directory["urn"], directory["school_name"].astype(str), directory["authority_code"], _open_flags(directory))
                    }
            names.update({u: self._outside[u] for u in missing if u in self._outside})
        return names
