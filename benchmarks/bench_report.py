"""Benchmark: seconds per authority report and for ``atlas report --all``, against the Papermill floor.

The floor is measured in the same run with the same machinery and worker count: the batch runner
executing a trivial notebook (``tests/notebooks/tiny_report.ipynb``: a parameters cell, a sleep(0)
and one HTML output) for the same authorities, so kernel start-up, papermill, nbconvert and the
pool's own costs are in both figures and the difference is what the report itself costs.

Run (needs the built store and ``parameters/``)::

    .venv/bin/python benchmarks/bench_report.py                 # a sample of 12 authorities
    .venv/bin/python benchmarks/bench_report.py --all           # all 153 (minutes)
    .venv/bin/python benchmarks/bench_report.py --workers 2 --sample 20

Prints seconds per report (wall-clock of the batch / reports), worker seconds per report
(median, slowest), the floor per notebook, the ratio, and the projected time for all 153.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TRIVIAL = ROOT / "tests" / "notebooks" / "tiny_report.ipynb"
TARGET_ALL_S = 600.0


def _sample(codes: list[str], n: int) -> list[str]:
    """Every k-th authority of the list sorted by LSOA count: small, middling and large ones."""
    if n >= len(codes):
        return codes
    step = len(codes) / n
    return [codes[int(i * step)] for i in range(n)]


def _cpu_seconds() -> float:
    """CPU seconds (user + system) of this process and its reaped descendants (pool workers and their kernels)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _batch(codes, out, notebook, workers, force=True):
    """Run one batch; return the result, its wall seconds and the CPU seconds it used (all processes)."""
    from atlaskit import batch

    cpu = _cpu_seconds()
    start = time.perf_counter()
    result = batch.run_batch(codes, out_dir=out, notebook=notebook, workers=workers, force=force, progress=False)
    wall = time.perf_counter() - start
    return result, wall, _cpu_seconds() - cpu


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--sample", type=int, default=12, help="authorities in the sample (ignored with --all)")
    parser.add_argument("--all", action="store_true", help="every authority (the real `atlas report --all`)")
    args = parser.parse_args(argv)

    import atlaskit

    table = atlaskit.authorities().sort_values("n_lsoas")
    every = table["authority_code"].tolist()
    codes = every if args.all else _sample(every, args.sample)
    print(f"{len(codes)} authorities, {args.workers} worker processes, {os.cpu_count()} cores")

    with tempfile.TemporaryDirectory(prefix="bench-report-") as tmp:
        floor, floor_wall, floor_cpu = _batch(codes, Path(tmp) / "floor", TRIVIAL, args.workers)
        reports, wall, cpu = _batch(codes, Path(tmp) / "reports", None, args.workers)
        sizes = {p.stem: p.stat().st_size for p in (Path(tmp) / "reports").glob("E*.html")}

    n = len(codes)
    per_floor = floor_wall / n
    per_report = wall / n
    worker = sorted(reports.job_seconds.items(), key=lambda kv: kv[1])
    names = dict(zip(table["authority_code"], table["authority_name"]))
    lsoas = dict(zip(table["authority_code"], table["n_lsoas"]))
    load = os.getloadavg()[0]
    print(f"load average at the end: {load:.1f} on {os.cpu_count()} cores (other work on the machine inflates wall times)")
    print(f"floor (trivial notebook): {floor_wall:.1f} s for {n} = {per_floor:.2f} s per notebook; CPU {floor_cpu / n:.2f} s per notebook")
    print(
        f"reports:                  {wall:.1f} s for {n} = {per_report:.2f} s per report ({per_report / per_floor:.1f}x the floor); "
        f"CPU {cpu / n:.2f} s per report ({cpu / max(floor_cpu, 1e-9):.1f}x the floor's CPU)"
    )
    if worker:
        median = statistics.median(s for _, s in worker)
        slow_code, slow_s = worker[-1]
        print(f"worker seconds per report: median {median:.1f} s, slowest {slow_s:.1f} s ({slow_code} {names.get(slow_code, '')}, {lsoas.get(slow_code, '?')} LSOAs)")
    if sizes:
        print(f"HTML size: median {statistics.median(sizes.values()) / 1e6:.2f} MB, largest {max(sizes.values()) / 1e6:.2f} MB")
    projected = per_report * len(every)
    label = "measured" if args.all else "projected"
    print(f"all {len(every)} authorities: {label} {projected:.0f} s ({projected / 60:.1f} min); target < {TARGET_ALL_S / 60:.0f} min: {'met' if projected < TARGET_ALL_S else 'NOT met'}")
    ideal = cpu / n * len(every) / min(args.workers, os.cpu_count() or 1)
    print(f"all {len(every)} on an otherwise idle machine (CPU seconds / {min(args.workers, os.cpu_count() or 1)} cores): about {ideal:.0f} s ({ideal / 60:.1f} min)")
    if floor.failed or reports.failed:
        for code, failure in {**floor.failed, **reports.failed}.items():
            print(f"FAILED {code}: {failure.describe()}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
