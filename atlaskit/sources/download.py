"""Download one data file: resumable, checksummed, atomic.

A download goes to ``<file>.part`` (resumed with an HTTP ``Range`` request when a partial file is
there; a server that ignores ``Range`` restarts it cleanly), is checked against the manifest's
sha256 (a mismatch deletes it and is retried once) and is renamed into place only when verified.
``file://`` URLs (a local mirror folder) are copied.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from atlaskit.errors import AtlasError, ChecksumMismatch
from atlaskit.sources import sha256_of

__all__ = ["FetchError", "FetchResult", "download_file"]

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
