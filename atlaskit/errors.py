"""Errors of the Atlas: one base class, each naming what was wrong and what to do, and :func:`closest` for their "did you mean"."""

from __future__ import annotations

from collections.abc import Iterable


class AtlasError(Exception):
    """Base class of every error the Atlas raises on purpose (shown to users without a traceback)."""


class DataFileMissing(AtlasError):
    """A raw data file is absent from ``ATLAS_DATA_DIR``."""


class ChecksumMismatch(AtlasError):
    """A raw data file's sha256 differs from the one in the manifest (truncated or altered)."""


class DataFormatError(AtlasError):
    """A raw data file could be read but does not have the columns or values expected."""


class StoreMissing(AtlasError):
    """The built store is absent or incomplete: run ``atlas build``."""


class StoreDamaged(StoreMissing):
    """A store table whose file differs from what the build wrote (truncated, altered or unreadable)."""


class UnknownAuthority(AtlasError):
    """An authority code or name that is not one of the 153 education authorities.

    Attributes:
        successors: for an old code that split, the ONS codes of the authorities it became (else empty).
    """

    def __init__(self, message: str, successors: tuple[str, ...] | list[str] = ()) -> None:
        super().__init__(message)
        self.successors = tuple(successors)


class UnknownSchool(AtlasError):
    """A URN that is not in the store."""


class UnknownArea(AtlasError):
    """An LSOA code that is not in the store."""


class ParameterError(AtlasError):
    """A parameter file that is missing, malformed or holds wrong keys or types."""


class ModelError(AtlasError):
    """A model that cannot be fitted or evaluated on the inputs given."""


def closest(text: object, choices: Iterable[object], limit: int = 3, min_score: float = 0.0) -> list[str]:
    """Return up to ``limit`` of ``choices`` closest to ``text`` (fuzzy, best first), as strings.

    The one "did you mean" of the Atlas: unknown URNs, LSOA codes and authority names use it.

    Args:
        text: what the user gave.
        choices: the valid values (codes or names).
        limit: how many to return.
        min_score: the lowest similarity kept (rapidfuzz ``WRatio``, 0-100; 0 keeps the ``limit`` closest).
    """
    from rapidfuzz import fuzz, process

    found = process.extract(str(text), [str(c) for c in choices], scorer=fuzz.WRatio, limit=limit, score_cutoff=min_score or None)
    return [match[0] for match in found]
