"""The store knows its own files: each table's size and sha256 recorded at build time, checked when read.

``build.json`` holds ``files: {table: {"bytes": ..., "sha256": ...}}``. Opening a table compares
its size with the record (one ``stat``, so a truncated file is caught at once); a table that
fails to decode is hashed and compared, so an altered file is named as damaged while a reading
error of an intact file stays what it is. ``atlas build --check`` hashes every table.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from atlaskit.errors import StoreDamaged

__all__ = ["StoreDamaged", "check_readable", "check_size", "file_records", "recorded_files", "verify_store"]

#: What to do about a damaged table, the end of every StoreDamaged message.
REBUILD_HINT = "run `atlas build` to rebuild the store (`atlas build --check` checks every table)"


def _sha256(path: Path, chunk_bytes: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk_bytes):
            digest.update(block)
    return digest.hexdigest()


def file_records(folder: Path) -> dict[str, dict]:
    """Return ``{table: {"bytes": size, "sha256": hex}}`` of every ``*.parquet`` file in a build folder."""
    return {path.stem: {"bytes": path.stat().st_size, "sha256": _sha256(path)} for path in sorted(Path(folder).glob("*.parquet"))}


_RECORDS: dict[str, dict] = {}


def recorded_files(folder: Path) -> dict[str, dict]:
    """Return the file records of a build folder's ``build.json`` (cached: a build folder never changes), or {} for builds without them."""
    key = str(folder)
    if key not in _RECORDS:
        try:
            info = json.loads((Path(folder) / "build.json").read_text())
        except (OSError, ValueError):
            info = {}
        files = info.get("files") if isinstance(info, dict) else None
        _RECORDS[key] = files if isinstance(files, dict) else {}
    return _RECORDS[key]


def check_size(name: str, path: Path) -> None:
    """Raise StoreDamaged when a table's file size differs from the size recorded at build time (one stat)."""
    record = recorded_files(path.parent).get(name)
    if not record:
        return
    size = path.stat().st_size
    if size != record.get("bytes"):
        raise StoreDamaged(
            f"store table {name!r} is damaged: {path} is {size:,} bytes, the build wrote {record.get('bytes', 0):,} "
            f"(truncated or altered); {REBUILD_HINT}"
        )


def check_readable(name: str, path: Path, error: BaseException) -> None:
    """After a table failed to decode: raise StoreDamaged when its file differs from the build's (or has no record); return when intact.

    Args:
        name: table name.
        path: its file.
        error: what reading raised (its first line is quoted).
    """
    record = recorded_files(path.parent).get(name)
    reason = " ".join(str(error).split())[:160] or type(error).__name__
    if not record:
        raise StoreDamaged(f"store table {name!r} ({path}) could not be read ({reason}); {REBUILD_HINT}") from None
    if _sha256(path) != record.get("sha256"):
        raise StoreDamaged(
            f"store table {name!r} is damaged: {path} differs from the file the build wrote (sha256 mismatch: {reason}); {REBUILD_HINT}"
        ) from None


def verify_store(folder: Path) -> tuple[int, list[str]]:
    """Hash every table of a build folder and compare it with ``build.json``.

    Args:
        folder: the build folder (``store.current_folder()``).

    Returns:
        ``(tables checked, problems)``: one line per missing, resized or altered table, or one
        line saying the build records no checksums (built before they were recorded).
    """
    folder = Path(folder)
    records = recorded_files(folder)
    if not records:
        return 0, [f"the build {folder} records no file sizes or checksums (built by an older Atlas), so there is nothing to check against: run `atlas build` to rebuild the store with them"]
    problems = []
    for name, record in records.items():
        path = folder / f"{name}.parquet"
        if not path.is_file():
            problems.append(f"store table {name!r} is missing: {path}")
        elif path.stat().st_size != record.get("bytes"):
            problems.append(f"store table {name!r} is damaged: {path} is {path.stat().st_size:,} bytes, the build wrote {record.get('bytes', 0):,}")
        elif _sha256(path) != record.get("sha256"):
            problems.append(f"store table {name!r} is damaged: {path} has another sha256 than the build wrote (altered)")
    return len(records), problems
