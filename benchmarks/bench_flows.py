"""Benchmark: all-England flows (both phases, calibration included) against a dense-matrix baseline.

Run: ``.venv/bin/python benchmarks/bench_flows.py`` (needs the built store: lsoas, schools,
observed_flows). Prints, measured in the same run:

1. one region (London's LSOAs x every secondary school in England): the production-constrained
   model evaluated on a dense float64 matrix (the naive way) vs the k-nearest sparse structure,
   and the ratio;
2. all England, both phases, calibration included (:func:`atlaskit.pipelines.england_flows.model_england`):
   seconds and peak memory (the target is under 20 s and under 2 GB);
3. what a dense all-England matrix would need (GB), for comparison.
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np


def _peak_rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def dense_production(origins: np.ndarray, o_xy: np.ndarray, sizes: np.ndarray, d_xy: np.ndarray, beta: float) -> np.ndarray:
    """The naive baseline: a dense origins x destinations production-constrained exp model (no clipping)."""
    d = np.hypot(o_xy[:, 0][:, None] - d_xy[:, 0][None, :], o_xy[:, 1][:, None] - d_xy[:, 1][None, :]) / 1000.0
    w = sizes[None, :] * np.exp(-beta * d)
    return origins[:, None] * w / w.sum(axis=1, keepdims=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--schools", help="read the schools table from this GeoParquet instead of the store (development)")
    parser.add_argument("--repeat", type=int, default=3, help="repeats of the region comparison (best time kept)")
    args = parser.parse_args()

    import geopandas as gpd

    from atlaskit import store
    from atlaskit.analysis import flows as fl
    from atlaskit.pipelines.england_flows import LONDON_REGION, model_england

    t0 = time.perf_counter()
    lsoas = store.read_table("lsoas")
    schools = gpd.read_parquet(args.schools) if args.schools else store.read_table("schools")
    observed = store.read_table("observed_flows")
    print(f"read store tables: {time.perf_counter() - t0:.2f} s; peak RSS so far {_peak_rss_gb():.2f} GB")

    # 1. one region, dense vs sparse, same model (production-constrained, exp, beta = 1/km)
    dest, _ = fl.phase_destinations(schools, "secondary")
    origins = fl.phase_origins(lsoas, "secondary")
    region = origins[origins["region_code"] == LONDON_REGION]
    o_xy = region[["easting", "northing"]].to_numpy(dtype="float64")
    d_xy = dest[["easting", "northing"]].to_numpy(dtype="float64")
    children = region["children"].to_numpy()
    sizes = dest["pupils"].to_numpy()
    result = fl.FitResult("bench", ("log_size", "distance_km"), np.array([1.0, -1.0]), "production", 0.0, 0.0, True, 0, np.zeros(2))
    dense_s, sparse_s = [], []
    for _ in range(args.repeat):
        t = time.perf_counter()
        dense = dense_production(children, o_xy, sizes, d_xy, 1.0)
        dense_s.append(time.perf_counter() - t)
        t = time.perf_counter()
        system = fl.build_system(region, dest, k=fl.K_NEAREST["secondary"], sex_segments=False)
        sparse = fl.predict(system, result)
        sparse_s.append(time.perf_counter() - t)
    inflow_dense = dense.sum(axis=0)
    inflow_sparse = np.bincount(system.col.ravel(), weights=sparse.ravel(), minlength=len(sizes))
    lost = 1 - inflow_sparse.sum() / inflow_dense.sum()
    cpc = 2 * np.minimum(inflow_dense, inflow_sparse).sum() / (inflow_dense.sum() + inflow_sparse.sum())
    print(
        f"region London: {len(region):,} LSOAs x {len(dest):,} secondary schools. dense {min(dense_s):.3f} s "
        f"({dense.nbytes / 1e9:.2f} GB matrix) vs sparse k={system.k} {min(sparse_s):.3f} s (tree included): "
        f"ratio {min(dense_s) / min(sparse_s):.1f}x; school inflows agree (CPC {cpc:.4f}, {abs(lost):.2%} of pupils differ)"
    )
    del dense

    # 2. all England, both phases, calibration included
    t = time.perf_counter()
    england = model_england(lsoas, schools, observed)
    total = time.perf_counter() - t
    d = england.diagnostics
    print(
        f"all England, both phases, calibration included: {total:.1f} s (calibration {d['calibration_s']:.1f} s, "
        f"secondary {d['secondary_s']:.1f} s, primary {d['primary_s']:.1f} s); {len(england.flows):,} cells; "
        f"peak RSS of this process {_peak_rss_gb():.2f} GB (targets: < 20 s, < 2 GB)"
    )
    n_o = len(lsoas)
    n_d = sum(len(s.destination_ids) for s in england.systems.values())
    print(f"a dense float64 LSOA x school matrix for England ({n_o:,} x {n_d:,}) would need {n_o * n_d * 8 / 1e9:.1f} GB per array")


if __name__ == "__main__":
    main()
