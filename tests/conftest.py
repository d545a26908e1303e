"""Shared fixtures: the real data folder and the built store (built once, under a lock, if missing).

Integration tests need ``../shared/atlas-data``. In CI (``CI=true``) a missing data folder or
browser is a failure, never a silent skip.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

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
    from atlaskit.pipelines.build import BUILD_STEPS
    from atlaskit.store import build_store, store_exists

    store_dir = config.store_dir()
    store_dir.mkdir(parents=True, exist_ok=True)
    with open(store_dir / ".build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not store_exists(store_dir):
            build_store(data_dir, store_dir, steps=BUILD_STEPS)
        fcntl.flock(lock, fcntl.LOCK_UN)
    return store_dir


#: Names of the authorities the tests write parameter files for.
AUTHORITY_NAMES = {"E06000001": "Hartlepool", "E06000053": "Isles of Scilly", "E09000001": "City of London", "E09000007": "Camden"}


def _write_parameter_file(folder: Path, code: str, **overrides) -> Path:
    """Write ``<folder>/<code>.yaml`` with small, fast settings; see :func:`write_parameter_file`."""
    values = {
        "authority": code,
        "authority_name": AUTHORITY_NAMES[code],
        "phase": "secondary",
        "buffer_km": 0.5,
        "projection_years": 3,
        "top_schools": 2,
        "include_flows": True,
        "include_demand": True,
        "report_title": None,
    }
    values.update(overrides)
    path = folder / f"{code}.yaml"
    path.write_text(yaml.safe_dump(values, sort_keys=False))
    return path


@pytest.fixture
def write_parameter_file() -> Callable[..., Path]:
    """Return a function writing one parameter file for a test, unvalidated.

    ``write_parameter_file(folder, code, **overrides)`` writes ``<folder>/<code>.yaml`` with the
    name in :data:`AUTHORITY_NAMES` and small, fast settings (phase secondary, buffer_km 0.5,
    projection_years 3, top_schools 2, flows and demand on, no title), each key replaced or
    added by ``overrides``. Nothing is validated, so a test can write a broken file
    (``phase="sixth form"``) or extra keys for its own notebook (``fail=True``).

    Returns:
        The writer; it returns the path written.
    """
    return _write_parameter_file
