"""Paths and settings of the Atlas, resolved on demand (nothing happens at import time)."""

from __future__ import annotations

import os
from pathlib import Path

#: The project root (the folder holding ``pyproject.toml``) for a source checkout.
PROJECT_ROOT = Path(__file__).resolve().parents[1]


def data_dir() -> Path:
    """Return the raw-data folder: ``$ATLAS_DATA_DIR``, else ``../shared/atlas-data`` beside the project.

    Returns:
        Path to the folder holding the official data files (it may not exist yet; readers
        raise :class:`atlaskit.errors.DataFileMissing` naming what is absent).
    """
    env = os.environ.get("ATLAS_DATA_DIR")
    if env:
        return Path(env).expanduser().resolve()
    for candidate in (PROJECT_ROOT.parent / "shared" / "atlas-data", Path.cwd().parent / "shared" / "atlas-data"):
        if candidate.exists():
            return candidate.resolve()
    return (PROJECT_ROOT.parent / "shared" / "atlas-data").resolve()


def store_dir() -> Path:
    """Return the folder of the built store: ``$ATLAS_STORE_DIR``, else ``<project>/store`` (git-ignored)."""
    env = os.environ.get("ATLAS_STORE_DIR")
    if env:
        return Path(env).expanduser().resolve()
    return PROJECT_ROOT / "store"


def parameters_dir() -> Path:
    """Return the folder of per-authority parameter files: ``$ATLAS_PARAMETERS_DIR`` or ``<project>/parameters``."""
    env = os.environ.get("ATLAS_PARAMETERS_DIR")
    return Path(env).expanduser().resolve() if env else PROJECT_ROOT / "parameters"


def notebooks_dir() -> Path:
    """Return the folder of the Atlas notebooks (``<project>/notebooks``)."""
    return PROJECT_ROOT / "notebooks"


#: The authority shown when none is chosen (Camden, a London borough with observed flows).
DEFAULT_AUTHORITY = "E09000007"
