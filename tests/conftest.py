"""Shared fixtures: the real data folder and the built store (built once, under a lock, if missing).

Integration tests need ``../shared/atlas-data``. In CI (``CI=true``) a missing data folder or
browser is a failure, never a silent skip.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

import pytest

from atlaskit import config

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def skip_or_fail(reason: str) -> None:
    """Skip locally, fail in CI: a test that needs data or a browser must never skip silently there."""
    if IN_CI:
        pytest.fail(f"required in CI: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The real raw-data folder (ATLAS_DATA_DIR or ../shared/atlas-data)."""
    path = config.data_dir()
    if not (path / "MANIFEST.csv").is_file():
        skip_or_fail(f"raw data folder {path} not found (set ATLAS_DATA_DIR)")
    return path


@pytest.fixture(scope="session")
def store(data_dir) -> Path:
    """The built store folder; builds it once (file lock, safe under pytest-xdist) when missing."""
    from atlaskit.store import build_store, store_exists

    store_dir = config.store_dir()
    store_dir.mkdir(parents=True, exist_ok=True)
    with open(store_dir / ".build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not store_exists(store_dir):
            build_store(data_dir, store_dir)
        fcntl.flock(lock, fcntl.LOCK_UN)
    return store_dir
