"""Build the store: run build steps, write their tables, and make the new build live atomically.

Layout on disk (``config.store_dir()``, git-ignored)::

    store/
      CURRENT                 name of the live build folder (replaced atomically)
      build-<timestamp>-<pid>/
        build.json            what was built: built_at, data_dir, rows per table, seconds per step, notes,
                              files (each table's bytes and sha256, checked when read: store/integrity.py)
        <table>.parquet       one file per table (see :mod:`atlaskit.store.tables`)

A build writes a new ``build-*`` folder and only then replaces ``CURRENT`` (``os.replace``), so
a build that fails halfway leaves the previous store usable. A build killed outright leaves its
``build-*-<pid>.partial`` folder: the next build removes every partial folder whose process is gone.
"""

from __future__ import annotations

import importlib
import json
import os
import shutil
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from atlaskit import config
from atlaskit.errors import StoreMissing
from atlaskit.store.integrity import file_records
from atlaskit.store.tables import _cache_clear

__all__ = ["BuildStep", "STORE_STEPS", "ROW_GROUP_ROWS", "BuildReport", "write_table", "build_store", "prepare_store_folder", "remove_stale_partials"]

#: A build step: called with (data_dir, tables built so far), returns new tables by name
#: (names starting with ``_`` carry notes, not tables).
BuildStep = Callable[[Path, dict], dict]

#: The store's own build steps in order: (name, "module:function"), imported when run so a
#: missing step's module names itself. The full build, with the modelled flows, is
#: :data:`atlaskit.pipelines.build.BUILD_STEPS`.
STORE_STEPS: list[tuple[str, str]] = [
    ("geography", "atlaskit.store.builders.geography:build"),
    ("schools", "atlaskit.store.builders.schools:build"),
    ("planning", "atlaskit.store.builders.planning:build"),
    ("summary", "atlaskit.store.builders.summary:build"),
    ("observed flows", "atlaskit.store.builders.observed_flows:build"),
]

#: Rows per row group where it differs from 1,000: loading one authority decodes every row group it
#: touches whole (its neighbouring LSOAs are scattered over other authorities' groups; one
#: authority's boundary or schools are a small part of a 1,000-row group).
ROW_GROUP_ROWS = {"lsoas": 250, "lsoas_display": 250, "schools": 250, "authorities": 16}


@dataclass
class BuildReport:
    """What a build wrote: rows per table, seconds per step, and notes (e.g. unlocated schools)."""

    folder: Path
    rows: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def _import(target: str) -> BuildStep:
    module_name, func_name = target.split(":")
    return getattr(importlib.import_module(module_name), func_name)


def write_table(frame: pd.DataFrame, path: Path, row_group_size: int = 1000) -> None:
    """Write a table as Parquet, or GeoParquet with a covering bbox when it has geometry.

    Args:
        frame: the table; a GeoDataFrame is written as GeoParquet 1.1 with ``bbox`` covering.
        path: destination ``.parquet`` file.
        row_group_size: rows per row group (small groups let one authority be read alone).
    """
    import geopandas as gpd

    if isinstance(frame, gpd.GeoDataFrame):
        frame.to_parquet(path, index=False, write_covering_bbox=True, row_group_size=row_group_size, schema_version="1.1.0")
    else:
        frame.to_parquet(path, index=False, row_group_size=row_group_size)


def build_store(
    data_dir: Path | None = None,
    store_dir: Path | None = None,
    steps: Iterable[tuple[str, str]] | None = None,
    on_step: Callable[[str, int, int], None] | None = None,
) -> BuildReport:
    """Run build steps over the raw files and make their tables the live store atomically.

    Args:
        data_dir: raw data folder (default ``config.data_dir()``).
        store_dir: store folder (default ``config.store_dir()``).
        steps: build steps to run, ``(name, "module:function")`` (default :data:`STORE_STEPS`,
            the store's own builders; the full build is :data:`atlaskit.pipelines.build.BUILD_STEPS`).
        on_step: called as ``on_step(name, index, total)`` before each step (progress bars).

    Returns:
        A :class:`BuildReport`.

    Raises:
        AtlasError: from a step (missing or corrupt file...); the previous store stays live.
        StoreMissing: the store folder is a file or cannot be created (named).
    """
    data_dir = Path(data_dir) if data_dir else config.data_dir()
    store_dir = Path(store_dir) if store_dir else config.store_dir()
    steps = list(steps if steps is not None else STORE_STEPS)
    prepare_store_folder(store_dir)
    remove_stale_partials(store_dir)
    folder = store_dir / f"build-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}"
    tmp = folder.with_name(folder.name + ".partial")
    tmp.mkdir()
    report = BuildReport(folder=folder)
    tables: dict[str, pd.DataFrame] = {}
    try:
        for index, (name, target) in enumerate(steps):
            if on_step:
                on_step(name, index, len(steps))
            start = time.perf_counter()
            new = _import(target)(data_dir, tables)
            for table_name, frame in new.items():
                if table_name.startswith("_"):  # notes passed back by a step
                    report.notes.extend(frame if isinstance(frame, list) else [str(frame)])
                    continue
                write_table(frame, tmp / f"{table_name}.parquet", ROW_GROUP_ROWS.get(table_name, 1000))
                tables[table_name] = frame
                report.rows[table_name] = len(frame)
            report.seconds[name] = time.perf_counter() - start
        (tmp / "build.json").write_text(
            json.dumps(
                {
                    "built_at": time.strftime("%Y-%m-%dT%H:%M:%S"),
                    "data_dir": str(data_dir),
                    "rows": report.rows,
                    "seconds": report.seconds,
                    "notes": report.notes,
                    "files": file_records(tmp),
                },
                indent=2,
            )
        )
        tmp.rename(folder)
        pointer = store_dir / "CURRENT.tmp"
        pointer.write_text(folder.name)
        os.replace(pointer, store_dir / "CURRENT")
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _prune_old_builds(store_dir, keep=folder.name)
    _cache_clear()
    return report


def _prune_old_builds(store_dir: Path, keep: str) -> None:
    """Delete every completed build folder but ``keep`` (partial folders of running builds stay)."""
    for old in store_dir.glob("build-*"):
        if old.name != keep and not old.name.endswith(".partial"):
            shutil.rmtree(old, ignore_errors=True)


def prepare_store_folder(store_dir: Path) -> None:
    """Create the store folder if needed.

    Raises:
        StoreMissing: naming the folder when it is a file or cannot be created.
    """
    if store_dir.exists() and not store_dir.is_dir():
        raise StoreMissing(
            f"the store folder {store_dir} (ATLAS_STORE_DIR or --store-dir) is a file, not a folder: give a folder for the store"
        )
    try:
        store_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreMissing(f"cannot create the store folder {store_dir} (ATLAS_STORE_DIR or --store-dir): {exc.strerror}") from None


def _pid_alive(pid: int) -> bool:
    """Return True when a process with this id exists (on this machine)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, another user's
        return True
    return True


def remove_stale_partials(store_dir: Path) -> list[Path]:
    """Delete the ``build-*-<pid>.partial`` folders of builds whose process is gone (killed builds).

    A partial folder whose process still runs (a build in progress) is kept, and so is one whose
    name carries no process id.

    Args:
        store_dir: the store folder.

    Returns:
        The folders removed.
    """
    removed = []
    for partial in Path(store_dir).glob("build-*.partial"):
        pid_text = partial.name.removesuffix(".partial").rsplit("-", 1)[-1]
        if not pid_text.isdigit() or _pid_alive(int(pid_text)):
            continue
        shutil.rmtree(partial, ignore_errors=True)
        removed.append(partial)
    return removed
