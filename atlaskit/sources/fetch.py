"""Download the Atlas's raw data files into ``ATLAS_DATA_DIR``: resumable, checksummed, atomic.

Each file listed in the packaged manifest (:func:`atlaskit.sources.manifest`) is fetched from

* ``<mirror>/<relative path>`` when a mirror is given (``--mirror URL`` or ``$ATLAS_DATA_MIRROR``):
  for example an institution's copy of ``atlas-data``, a local HTTP server, or a local folder
  (a path or ``file://`` URL); otherwise
* the official origin recorded in the manifest (:attr:`ManifestEntry.origin_url`) for files copied
  byte for byte from a published repository.

Files derived or transcribed from published data have no direct address: they are reported as
failures naming the file, its data set and the publisher's page, with a hint to use a mirror.

Each file is downloaded by :func:`atlaskit.sources.download.download_file` (resumable, verified
against the manifest's sha256, renamed into place only when verified). Files already present and
verified are skipped.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from atlaskit import config
from atlaskit.errors import ChecksumMismatch, closest
from atlaskit.sources import DATASETS, DataSet, ManifestEntry, dataset_for_file, manifest, sha256_of
from atlaskit.sources.download import FetchError, FetchResult, download_file

__all__ = [
    "MIRROR_ENV",
    "FetchSummary",
    "fetch",
    "file_url",
    "select_entries",
    "write_manifest",
]

#: Environment variable naming a mirror of ``atlas-data`` (a base URL).
MIRROR_ENV = "ATLAS_DATA_MIRROR"


@dataclass
class FetchSummary:
    """The outcome of :func:`fetch`: one :class:`FetchResult` per file, plus notes."""

    data_dir: Path
    results: list[FetchResult] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def by_status(self, status: str) -> list[FetchResult]:
        """Return the results with the given status (``fetched``, ``present`` or ``failed``)."""
        return [r for r in self.results if r.status == status]

    @property
    def fetched(self) -> list[FetchResult]:
        """Files downloaded and verified in this run."""
        return self.by_status("fetched")

    @property
    def present(self) -> list[FetchResult]:
        """Files already present and verified."""
        return self.by_status("present")

    @property
    def failed(self) -> list[FetchResult]:
        """Files that could not be fetched or verified, each with its reason."""
        return self.by_status("failed")

    @property
    def ok(self) -> bool:
        """True when no file failed."""
        return not self.failed

    def lines(self) -> list[str]:
        """Return the human summary: counts, then one line per failure with its reason.

        Returns:
            Lines of text, the first being ``fetched N, already present M, failed K``.
        """
        out = [
            f"fetched {len(self.fetched)}, already present {len(self.present)}, failed {len(self.failed)} "
            f"(data folder {self.data_dir})"
        ]
        out += [f"FAILED {r.file}: {r.reason}" for r in self.failed]
        out += self.notes
        return out


def select_entries(datasets: Sequence[str] | None = None) -> list[tuple[ManifestEntry, DataSet | None]]:
    """Return the manifest entries to fetch, with their data sets, for the chosen data set keys.

    Args:
        datasets: data set keys (``"scorecard"``); None or empty for every file of the manifest.

    Returns:
        ``(entry, dataset)`` pairs in manifest order.

    Raises:
        FetchError: a key is not a known data set; the message suggests the closest keys.
    """
    entries = list(manifest().values())
    if not datasets:
        return [(e, dataset_for_file(e.file)) for e in entries]
    unknown = [k for k in datasets if k not in DATASETS]
    if unknown:
        hints = []
        for key in unknown:
            close = closest(key, DATASETS, limit=3, min_score=60)
            hints.append(f"{key!r}" + (f" (did you mean {', '.join(close)}?)" if close else ""))
        raise FetchError(f"unknown data set {', '.join(hints)}; known data sets: {', '.join(sorted(DATASETS))}")
    chosen: list[tuple[ManifestEntry, DataSet | None]] = []
    seen: set[str] = set()
    for key in datasets:
        for entry in DATASETS[key].entries():
            if entry.file not in seen:
                seen.add(entry.file)
                chosen.append((entry, DATASETS[key]))
    return chosen


def file_url(entry: ManifestEntry, mirror: str | None = None) -> str | None:
    """Return the address to download one file from, or None when it has no direct address.

    Args:
        entry: the file's manifest entry.
        mirror: base URL of a copy of ``atlas-data`` (the file's relative path is appended), or a
            local folder holding one (turned into a ``file://`` URL).

    Returns:
        ``mirror/relative/path`` with a mirror; else the official origin when the file was copied
        byte for byte from a published repository; else None (derived or transcribed files).
    """
    if mirror:
        if "://" not in mirror:  # a local folder (e.g. a network share holding atlas-data)
            mirror = Path(mirror).expanduser().resolve().as_uri()
        return mirror.rstrip("/") + "/" + quote(entry.file)
    if entry.kind.strip() == "copied":
        return entry.origin_url
    return None


def _no_address_reason(entry: ManifestEntry, ds: DataSet | None) -> str:
    """Explain that a file has no direct download address, naming its data set and publisher's page."""
    where = f"data set {ds.key!r} ({ds.title}); publisher's page {ds.page}" if ds else "no data set registered"
    return (
        f"no direct download address for {entry.file} (it is {entry.kind.split('(')[0].split(':')[0].strip()}, "
        f"not a byte-for-byte copy of a published file); {where}. Use --mirror URL (or ${MIRROR_ENV}) "
        f"pointing at a copy of atlas-data, or place the file in the data folder by hand"
    )


def _verified(path: Path, entry: ManifestEntry) -> bool:
    """Return True when ``path`` has the manifest's size and sha256."""
    return path.is_file() and path.stat().st_size == entry.bytes and sha256_of(path) == entry.sha256


def write_manifest(data_dir: Path) -> Path | None:
    """Write the packaged manifest as ``MANIFEST.csv`` in the data folder (atomically; skipped when identical).

    Args:
        data_dir: the data folder.

    Returns:
        The path written, or None when an identical ``MANIFEST.csv`` was already there.

    Raises:
        OSError: the folder is not writable.
    """
    source = Path(__file__).with_name("manifest.csv")
    content = source.read_bytes()
    target = Path(data_dir) / "MANIFEST.csv"
    if target.is_file() and target.read_bytes() == content:
        return None
    tmp = target.with_name(target.name + ".part")
    tmp.write_bytes(content)
    os.replace(tmp, target)
    return target


class _Progress:
    """A byte-counting progress bar (rich) that can be switched off."""

    def __init__(self, total_bytes: int, enabled: bool):
        self._bar = None
        if enabled and total_bytes > 0:
            from rich.progress import (
                BarColumn,
                DownloadColumn,
                Progress,
                TextColumn,
                TimeRemainingColumn,
                TransferSpeedColumn,
            )

            self._bar = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                DownloadColumn(),
                TransferSpeedColumn(),
                TimeRemainingColumn(),
            )
            self._task = self._bar.add_task("fetching", total=total_bytes)

    def __enter__(self) -> _Progress:
        if self._bar is not None:
            self._bar.start()
        return self

    def __exit__(self, *exc) -> None:
        if self._bar is not None:
            self._bar.stop()

    def describe(self, text: str) -> None:
        """Show which file is being fetched."""
        if self._bar is not None:
            self._bar.update(self._task, description=text)

    def advance(self, n: int) -> None:
        """Count ``n`` bytes (negative to take back a discarded partial file)."""
        if self._bar is not None:
            self._bar.update(self._task, advance=n)


def fetch(
    data_dir: Path | None = None,
    mirror: str | None = None,
    datasets: Iterable[str] | None = None,
    verify_only: bool = False,
    *,
    progress: bool = True,
    session=None,
    timeout: float = 60.0,
    attempts: int = 5,
    backoff_s: float = 0.5,
) -> FetchSummary:
    """Fetch every file of the chosen data sets into the data folder, skipping those already verified.

    Args:
        data_dir: the data folder; defaults to :func:`atlaskit.config.data_dir` (``$ATLAS_DATA_DIR``).
        mirror: base URL of a copy of atlas-data; defaults to ``$ATLAS_DATA_MIRROR``; without one each
            file comes from its official origin where the manifest records one.
        datasets: data set keys to fetch (see :data:`atlaskit.sources.DATASETS`); None for all.
        verify_only: only check the files present (missing or altered ones fail); download nothing.
        progress: show a progress bar in bytes.
        session: a ``requests.Session`` to reuse.
        timeout: seconds to wait for a server to connect or send data.
        attempts: tries per file, each resuming the partial file.
        backoff_s: pause, times the attempt number, before a retry.

    Returns:
        A :class:`FetchSummary`: fetched, already present and failed files, each failure with its reason.
        ``MANIFEST.csv`` is written into the data folder after a fetch (not with ``verify_only``).

    Raises:
        FetchError: an unknown data set key.
    """
    import requests

    base = Path(data_dir).expanduser() if data_dir is not None else config.data_dir()
    if mirror is None:
        mirror = os.environ.get(MIRROR_ENV) or None
    chosen = select_entries(list(datasets) if datasets else None)
    summary = FetchSummary(data_dir=base)
    todo: list[tuple[ManifestEntry, DataSet | None]] = []
    for entry, ds in chosen:
        path = base / entry.file
        if _verified(path, entry):
            summary.results.append(FetchResult(entry.file, "present", bytes=entry.bytes))
        elif verify_only:
            if path.is_file():
                reason = f"{path} differs from the manifest (truncated or altered): run `atlas fetch` to replace it"
            else:
                page = f"; download page {ds.page}" if ds else ""
                reason = f"missing from {base}{page}; run `atlas fetch` to download it"
            summary.results.append(FetchResult(entry.file, "failed", reason, bytes=entry.bytes))
        else:
            todo.append((entry, ds))
    if verify_only:
        return summary

    total = sum(e.bytes for e, _ in todo if file_url(e, mirror))
    own_session = session is None
    session = session or requests.Session()
    try:
        with _Progress(total, progress) as bar:
            for entry, ds in todo:
                url = file_url(entry, mirror)
                path = base / entry.file
                if url is None:
                    summary.results.append(FetchResult(entry.file, "failed", _no_address_reason(entry, ds), bytes=entry.bytes))
                    continue
                notes = []
                if path.exists():  # present but not verified: altered or truncated
                    path.unlink()
                    notes.append("replaced a file that differed from the manifest")
                bar.describe(entry.file)
                try:
                    note = download_file(
                        url,
                        path,
                        entry.sha256,
                        entry.bytes,
                        session=session,
                        on_bytes=bar.advance,
                        timeout=timeout,
                        attempts=attempts,
                        backoff_s=backoff_s,
                        label=entry.file,
                    )
                except (FetchError, ChecksumMismatch, OSError) as exc:
                    summary.results.append(FetchResult(entry.file, "failed", str(exc), url, entry.bytes))
                    continue
                if note:
                    notes.append(note)
                summary.results.append(FetchResult(entry.file, "fetched", "; ".join(notes), url, entry.bytes))
    finally:
        if own_session:
            session.close()
    try:
        base.mkdir(parents=True, exist_ok=True)
        written = write_manifest(base)
        if written:
            summary.notes.append(f"wrote {written}")
    except OSError as exc:
        summary.notes.append(f"could not write MANIFEST.csv into {base}: {exc}")
    return summary
