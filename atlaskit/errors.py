"""Errors of the Atlas: one base class, each naming what was wrong and what to do."""

from __future__ import annotations


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


class UnknownAuthority(AtlasError):
    """An authority code or name that is not one of the 153 education authorities."""


class UnknownSchool(AtlasError):
    """A URN that is not in the store."""


class UnknownArea(AtlasError):
    """An LSOA code that is not in the store."""


class ParameterError(AtlasError):
    """A parameter file that is missing, malformed or holds wrong keys or types."""


class ModelError(AtlasError):
    """A model that cannot be fitted or evaluated on the inputs given."""
