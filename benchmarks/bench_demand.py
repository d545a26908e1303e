"""Benchmark: cohort projections for all 153 authorities, against a naive per-authority pandas loop.

Run: ``.venv/bin/python benchmarks/bench_demand.py`` (needs the built store).

Both paths make the same 10-year projection from each authority's latest roll (the baseline
is checked to agree to 1e-6); the fast path is :func:`atlaskit.analysis.demand.project_rolls` (NumPy
arrays over all authorities and ages at once). Also timed: the whole ``project_demand``
(hindcast calibration, backtest, 10-year projection, capacity) and ``backtest`` alone.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from atlaskit import store
from atlaskit.analysis import demand as d
from atlaskit.analysis.demand.population import _population_path
from atlaskit.vocabulary import MIDYEAR_AGES, academic_year, academic_year_end


def naive_projection(la_population: pd.DataFrame, rolls: pd.DataFrame, years_ahead: int, birth_index: np.ndarray) -> pd.DataFrame:
    """The same projection written the obvious way: one authority at a time, pandas Series by age."""
    out = []
    known = rolls.dropna(subset=["pupils"])
    for code in sorted(la_population["authority_code"].unique()):
        pop = la_population[la_population["authority_code"] == code]
        p19 = pop[pop["year"] == 2019].set_index("age")["population"].astype(float).sort_index()
        p20 = pop[pop["year"] == 2020].set_index("age")["population"].astype(float).sort_index()
        ratio = pd.Series(p20.shift(-1).to_numpy()[:-1] / p19.to_numpy()[:-1], index=p19.index[:-1])
        ratio.iloc[-1] = p20.iloc[-1] / (p19.iloc[-2] + p19.iloc[-1])
        ratio = ratio.where(np.isfinite(ratio) & (ratio > 0), 1.0)
        logs = np.log(ratio.iloc[:18])
        padded = pd.concat([logs.iloc[:1], logs, logs.iloc[-1:]], ignore_index=True)
        ratio.iloc[:18] = np.exp(padded.rolling(3, center=True).mean().iloc[1:-1].to_numpy())
        for phase, (low, high) in MIDYEAR_AGES.items():
            mine = known[(known["authority_code"] == code) & (known["phase"] == phase)].sort_values("academic_year")
            if mine.empty:
                continue
            origin = mine.iloc[-1]
            start = academic_year_end(origin["academic_year"])
            current = p20.copy()
            by_year = {2020: current}
            for year in range(2021, start + years_ahead + 1):
                nxt = pd.Series(0.0, index=current.index)
                nxt.iloc[1:] = current.iloc[:-1].to_numpy() * ratio.to_numpy()
                nxt.iloc[-1] += current.iloc[-1] * ratio.iloc[-1]
                nxt.iloc[0] = p20.iloc[0] * birth_index[year - 2021]
                by_year[year] = nxt
                current = nxt
            def children(p: pd.Series) -> float:
                return p.loc[low:high].sum() - p.loc[high] / 6 + p.loc[low - 1] / 6

            participation = origin["pupils"] / children(by_year[start])
            for h in range(years_ahead + 1):
                out.append((code, phase, academic_year(start + h), participation * children(by_year[start + h])))
    return pd.DataFrame(out, columns=["authority_code", "phase", "academic_year", "pupils"])


def best_of(n: int, fn):
    times = []
    result = None
    for _ in range(n):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return min(times), result


def main() -> None:
    la_population = store.read_table("la_population")
    scorecard = store.read_table("scorecard")
    rolls = d.rolls_from_scorecard(scorecard)
    intervals = d.calibrate_intervals(la_population, rolls)
    years = 10
    pop = _population_path(la_population, 2025 + years)
    fast_s, fast = best_of(3, lambda: d.project_rolls(la_population, rolls, "latest", years, intervals))
    naive_s, naive = best_of(1, lambda: naive_projection(la_population, rolls, years, pop.births))
    merged = fast.table.merge(naive, on=["authority_code", "phase", "academic_year"], suffixes=("", "_naive"))
    assert len(merged) == len(naive) == len(fast.table), (len(merged), len(naive), len(fast.table))
    np.testing.assert_allclose(merged["pupils_cohort"], merged["pupils_naive"], rtol=1e-6)  # before the bias term
    whole_s, whole = best_of(3, lambda: d.project_demand(la_population, scorecard, years_ahead=years))
    back_s, _ = best_of(3, lambda: d.backtest(la_population, scorecard))
    n = fast.table["authority_code"].nunique()
    print(f"authorities projected: {n}, rows {len(fast.table):,} (agree with the naive loop to 1e-6)")
    print(f"naive per-authority pandas loop      : {naive_s:8.3f} s")
    print(f"project_rolls (NumPy, all at once)    : {fast_s:8.3f} s   speed-up x{naive_s / fast_s:,.1f}")
    print(f"backtest (3 origins, 153 authorities) : {back_s:8.3f} s")
    print(f"project_demand (calibration, backtest, 10-year projection, capacity; {whole.table['authority_code'].nunique()} authorities): {whole_s:.3f} s")
    print(f"ratio project_demand / naive projection alone: {whole_s / naive_s:.2f}")


if __name__ == "__main__":
    main()
