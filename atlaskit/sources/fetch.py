"""Download the Atlas's raw data files into ``ATLAS_DATA_DIR``: resumable, checksummed, atomic.

Each file listed in the packaged manifest (:func:`atlaskit.sources.manifest`) is fetched from

* ``<mirror>/<relative path>`` when a mirror is given (``--mirror URL`` or ``$ATLAS_DATA_MIRROR``):
  for example an institution's copy of ``atlas-data``, a local HTTP server, or a local folder
  (a path or ``file://`` URL); otherwise
* the official origin recorded in the manifest (:attr:`ManifestEntry.origin_url`) for files copied
  byte for byte from a published repository.

Files derived or transcribed from published data have no direct address: they are reported as
failures naming the file, its data set and the publisher's page, with a hint to use a mirror.

A download goes to ``<file>.part`` (resumed with an HTTP ``Range`` request when a partial file is
there; a server that ignores ``Range`` restarts it cleanly), is checked against the manifest's
sha256 (a mismatch deletes it and is retried once) and is renamed into place only when verified.
Files already present and verified are skipped.
"""

from __future__ import annotations

import difflib
import os
import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, urlparse

from atlaskit import config
from atlaskit.errors import AtlasError, ChecksumMismatch
from atlaskit.sources import DATASETS, DataSet, ManifestEntry, dataset_for_file, manifest, sha256_of

__all__ = [
    "FetchError",
    "FetchResult",
    "FetchSummary",
    "download_file",
    "fetch",
    "file_url",
    "select_entries",
    "write_manifest",
]

#: Environment variable naming a mirror of ``atlas-data`` (a base URL).
MIRROR_ENV = "ATLAS_DATA_MIRROR"
_USER_AGENT = "atlaskit-fetch/0.1 (Schools Atlas for England)"
_CHUNK_BYTES = 1 << 16


class FetchError(AtlasError):
    """A data file could not be downloaded (no address, HTTP error, connection lost for good)."""


@dataclass
class FetchResult:
    """What happened to one file: ``status`` is ``fetched``, ``present`` or ``failed``.

    Attributes:
        file: path relative to the data folder.
        status: ``"fetched"`` (downloaded and verified), ``"present"`` (already there and verified)
            or ``"failed"``.
        reason: why it failed (empty otherwise), or a note (``"resumed from 1,024 bytes"``).
        url: the address used, when there was one.
        bytes: the file's size in bytes (from the manifest).
    """

    file: str
    status: str
    reason: str = ""
    url: str | None = None
    bytes: int = 0


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
            close = difflib.get_close_matches(key, list(DATASETS), n=3, cutoff=0.5)
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


def _content_range_start(value: str | None) -> int | None:
    """Return the first byte position of a ``Content-Range: bytes a-b/n`` header, or None."""
    match = re.match(r"\s*bytes\s+(\d+)-", value or "")
    return int(match.group(1)) if match else None


def _transfer(
    session,
    url: str,
    part: Path,
    expected_bytes: int,
    on_bytes: Callable[[int], None],
    timeout: float,
    attempts: int,
    backoff_s: float,
) -> str:
    """Download ``url`` into ``part``, resuming with Range requests after a lost connection.

    Returns:
        A note (``"resumed from N bytes"``) or an empty string.

    Raises:
        FetchError: an HTTP error status, or the transfer did not complete after ``attempts`` tries.
    """
    import requests

    note = ""
    last_error = "no attempt made"
    for attempt in range(attempts):
        if attempt:
            time.sleep(backoff_s * attempt)
        have = part.stat().st_size if part.exists() else 0
        if have > expected_bytes:  # longer than the real file: cannot be a prefix of it
            part.unlink()
            on_bytes(-have)
            have = 0
        if have == expected_bytes and have > 0:
            return note
        headers = {"User-Agent": _USER_AGENT}
        if have:
            headers["Range"] = f"bytes={have}-"
        try:
            with session.get(url, headers=headers, stream=True, timeout=timeout) as resp:
                if resp.status_code == 416:  # range not satisfiable: start again from nothing
                    part.unlink(missing_ok=True)
                    on_bytes(-have)
                    last_error = f"HTTP 416 for a Range request on {url}"
                    continue
                if resp.status_code == 206 and have:
                    start = _content_range_start(resp.headers.get("Content-Range"))
                    if start != have:  # the server sent some other range: restart cleanly
                        part.unlink(missing_ok=True)
                        on_bytes(-have)
                        last_error = f"server answered Range bytes={have}- with Content-Range {resp.headers.get('Content-Range')!r}"
                        continue
                    mode = "ab"
                    note = f"resumed from {have:,} bytes"
                elif resp.status_code in (200, 206):
                    mode = "wb"
                    if have:  # the server ignored Range: the partial file is discarded
                        on_bytes(-have)
                        note = "server ignored Range; restarted from the beginning"
                elif resp.status_code >= 500 or resp.status_code == 429:
                    last_error = f"HTTP {resp.status_code} {resp.reason} from {url}"
                    continue
                else:
                    raise FetchError(f"HTTP {resp.status_code} {resp.reason} from {url}")
                with part.open(mode) as handle:
                    for chunk in resp.iter_content(_CHUNK_BYTES):
                        if chunk:
                            handle.write(chunk)
                            on_bytes(len(chunk))
        except (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError) as exc:
            last_error = f"connection lost ({type(exc).__name__}: {exc})"
            continue
        size = part.stat().st_size if part.exists() else 0
        if size >= expected_bytes:
            return note
        last_error = f"transfer ended after {size:,} of {expected_bytes:,} bytes"
    raise FetchError(
        f"download of {url} did not complete after {attempts} attempts: {last_error}. "
        f"Run `atlas fetch` again to resume from {part}"
    )


def _copy_local(url: str, part: Path, on_bytes: Callable[[int], None]) -> str:
    """Copy a ``file://`` URL into ``part``.

    Returns:
        An empty note.

    Raises:
        FetchError: the source file does not exist.
    """
    from urllib.request import url2pathname

    source = Path(url2pathname(urlparse(url).path))
    if not source.is_file():
        raise FetchError(f"{source} not found in the mirror folder")
    with source.open("rb") as src, part.open("wb") as dst:
        while block := src.read(1 << 20):
            dst.write(block)
            on_bytes(len(block))
    return ""


def download_file(
    url: str,
    dest: Path,
    expected_sha256: str,
    expected_bytes: int,
    *,
    session=None,
    on_bytes: Callable[[int], None] | None = None,
    timeout: float = 60.0,
    attempts: int = 5,
    checksum_retries: int = 1,
    backoff_s: float = 0.5,
    label: str | None = None,
) -> str:
    """Download one file to ``dest`` through ``dest.part``, verify its sha256 and rename it into place.

    Args:
        url: the address (http, https, or file:// for a local mirror folder).
        dest: the final path; its folder is created.
        expected_sha256: hex sha256 from the manifest.
        expected_bytes: size in bytes from the manifest.
        session: a ``requests.Session`` (one is made when None).
        on_bytes: called with the number of bytes received (negative when a partial file is discarded).
        timeout: seconds to wait for the server to connect or send data.
        attempts: tries per download, each resuming the partial file.
        checksum_retries: further downloads from scratch after a checksum mismatch.
        backoff_s: pause, times the attempt number, before a retry.
        label: the name used in messages (default: ``dest``).

    Returns:
        A note on how the download went (``"resumed from N bytes"``), or an empty string.

    Raises:
        ChecksumMismatch: the downloaded file differs from the manifest every time; it is deleted.
        FetchError: HTTP error or a transfer that never completed (the partial file is kept to resume).
    """
    import requests

    own_session = session is None
    session = session or requests.Session()
    on_bytes = on_bytes or (lambda n: None)
    label = label or str(dest)
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    notes: list[str] = []
    try:
        for check in range(checksum_retries + 1):
            if url.startswith("file://"):
                note = _copy_local(url, part, on_bytes)
            else:
                note = _transfer(session, url, part, expected_bytes, on_bytes, timeout, attempts, backoff_s)
            if note:
                notes.append(note)
            size = part.stat().st_size
            digest = sha256_of(part)
            if size == expected_bytes and digest == expected_sha256:
                os.replace(part, dest)
                if check:
                    notes.append("checksum matched on retry")
                return "; ".join(notes)
            part.unlink(missing_ok=True)
            on_bytes(-size)
            problem = (
                f"{label} downloaded from {url} is {size:,} bytes with sha256 {digest[:12]}..., "
                f"expected {expected_bytes:,} bytes with sha256 {expected_sha256[:12]}..."
            )
        raise ChecksumMismatch(
            f"{problem} (corrupted or altered, {checksum_retries + 1} downloads); the file was deleted. "
            f"Try again later, or use --mirror URL with a trusted copy of atlas-data"
        )
    finally:
        if own_session:
            session.close()


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
