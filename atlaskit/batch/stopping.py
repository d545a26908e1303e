"""Stopping a batch cleanly on SIGTERM or Ctrl-C: the signal becomes an exception, and the workers' process trees are ended.

A batch's workers run Jupyter kernels in their own sessions (jupyter_client starts each kernel
with ``start_new_session``), so neither a terminal's Ctrl-C nor the death of a worker reaches
them: :func:`end_process_trees` finds every descendant of the workers (``/proc``) and ends them
all, TERM first and KILL after a short grace.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Iterable, Iterator

__all__ = ["BatchInterrupted", "descendants", "end_process_trees", "ignore_interrupts", "stop_on_signals"]


class BatchInterrupted(KeyboardInterrupt):
    """A batch was asked to stop by a signal (SIGTERM or SIGINT).

    Attributes:
        signal_name: ``"SIGTERM"`` or ``"SIGINT"``.
        exit_code: the conventional exit code, 128 + the signal's number (143, 130).
        result: the :class:`atlaskit.batch.BatchResult` of what was done, set by ``run_batch``.
    """

    def __init__(self, signal_name: str = "SIGINT", exit_code: int = 130) -> None:
        super().__init__(signal_name)
        self.signal_name = signal_name
        self.exit_code = exit_code
        self.result = None


@contextlib.contextmanager
def stop_on_signals(signals: Iterable[int] = (signal.SIGTERM, signal.SIGINT)) -> Iterator[None]:
    """Within the block, turn the first SIGTERM or SIGINT into :class:`BatchInterrupted` (later ones are ignored while stopping).

    Only the main thread can set handlers; elsewhere the block runs unchanged.
    """
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    signals = list(signals)
    previous = {sig: signal.getsignal(sig) for sig in signals}

    def _raise(signum, _frame):
        for sig in signals:  # stopping takes a few seconds: a second Ctrl-C must not break it halfway
            signal.signal(sig, signal.SIG_IGN)
        name = signal.Signals(signum).name
        raise BatchInterrupted(name, 128 + signum)

    for sig in signals:
        signal.signal(sig, _raise)
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def ignore_interrupts() -> None:
    """In a worker process: ignore SIGINT, so a terminal's Ctrl-C reaches the parent alone (which stops the workers)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _parents() -> dict[int, int]:
    """Return ``{pid: parent pid}`` of every process visible in ``/proc`` (empty where there is no /proc)."""
    out: dict[int, int] = {}
    try:
        entries = os.listdir("/proc")
    except OSError:
        return out
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                stat = handle.read()
        except OSError:
            continue
        # the command name (2nd field) is in parentheses and may hold spaces: split after the last ')'
        fields = stat[stat.rfind(b")") + 2 :].split()
        if len(fields) > 1:
            out[int(entry)] = int(fields[1])
    return out


def descendants(pids: Iterable[int]) -> list[int]:
    """Return every descendant of the given processes (children, grandchildren...), not the processes themselves."""
    parents = _parents()
    children: dict[int, list[int]] = {}
    for pid, ppid in parents.items():
        children.setdefault(ppid, []).append(pid)
    found: list[int] = []
    todo = list(pids)
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.append(child)
                todo.append(child)
    return found


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie (exited, not yet reaped by its parent) counts as ended
        with open(f"/proc/{pid}/stat", "rb") as handle:
            stat = handle.read()
        return stat[stat.rfind(b")") + 2 : stat.rfind(b")") + 3] != b"Z"
    except OSError:
        return True


def end_process_trees(pids: Iterable[int], grace_seconds: float = 3.0) -> list[int]:
    """End processes and all their descendants: SIGTERM, then SIGKILL to any still alive after ``grace_seconds``.

    Args:
        pids: the root processes (e.g. a pool's workers).
        grace_seconds: time allowed to exit after SIGTERM.

    Returns:
        Every process signalled (roots and descendants).
    """
    roots = list(pids)
    tree = descendants(roots) + roots  # found before any dies: an orphan is reparented and lost from the tree
    for pid in tree:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace_seconds
    while time.monotonic() < deadline and any(_alive(pid) for pid in tree):
        time.sleep(0.05)
    for pid in tree:
        if _alive(pid):
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
    return tree
