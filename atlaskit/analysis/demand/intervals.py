"""Bias term and prediction intervals from hindcasts: the method's errors between rolls known at the origin.

The reasoning behind the calibration (why errors are scaled by ``horizon ** power``, what was
tried instead) is in ``notebooks/methods/demand.md``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from atlaskit.analysis.demand.population import _population_path, year_group_children
from atlaskit.vocabulary import academic_year_end
from atlaskit.errors import ModelError
from atlaskit.vocabulary import PHASES


#: Power of the horizon for interval tables without a ``power`` column (0.5: random walk).
INTERVAL_POWER = 0.5
#: Power of the horizon in the spread of errors when the hindcasts show one horizon only (a
#: steady error per year: a cohort ratio or a participation trend that is off every year alike).
DEFAULT_ERROR_POWER = 1.0
#: The estimated power is kept between a random walk (0.5) and a steady drift per year (1).
ERROR_POWER_BOUNDS = (0.5, 1.0)
#: Fewest errors at a horizon (or for a phase) to measure a spread from.
MIN_ERRORS = 20
#: The log-error quantiles of an interval table: the bias term (q50) and the 80% and 95% bounds.
_QUANTILES = {"q025": 0.025, "q10": 0.10, "q50": 0.50, "q90": 0.90, "q975": 0.975}


def hindcast_errors(la_population: pd.DataFrame, rolls: pd.DataFrame, last: str | None = None) -> pd.DataFrame:
    """Return the errors of the cohort method between every pair of known rolls (hindcasts).

    For each authority, phase and pair of academic years ``t0 < t1`` with both rolls known
    (and ``t1`` no later than ``last``), the method jumps off from the roll of ``t0`` and
    projects ``t1`` (participation at ``t0`` times the children of ``t1``, without any bias
    term); the error is ``log(actual / projected)`` at ``t1``. The children of 2015-2018 are
    backcast from mid-2019 through the cohort ratios
    (:func:`~atlaskit.analysis.demand.population.backcast_population`).

    Args:
        la_population: authority_code, year (2019, 2020), age, population (persons).
        rolls: authority_code, phase, academic_year, pupils
            (:func:`~atlaskit.analysis.demand.capacity.rolls_from_scorecard`).
        last: the latest academic year whose roll may be used (``"2022/23"``); None uses all.

    Returns:
        DataFrame authority_code, phase, origin, academic_year, horizon (years), error (natural
        log; 0.01 is about 1%, negative where the method projected too many pupils).
    """
    known = rolls.dropna(subset=["pupils"])
    known = known[known["pupils"] > 0]
    if last is not None:
        known = known[known["academic_year"].map(academic_year_end) <= academic_year_end(last)]
    columns = ["authority_code", "phase", "origin", "academic_year", "horizon", "error"]
    labels = sorted(known["academic_year"].unique(), key=academic_year_end)
    if len(labels) < 2:
        return pd.DataFrame(columns=columns)
    ends = [academic_year_end(y) for y in labels]
    pop = _population_path(la_population, max(ends[-1], 2021), first_year=min(ends[0], 2019))
    bad = pop.incomplete
    parts = []
    for phase in PHASES:
        wide = known[known["phase"] == phase].pivot_table(index="authority_code", columns="academic_year", values="pupils", aggfunc="first")
        wide = wide.reindex(index=pop.codes, columns=labels)
        wide.loc[wide.index.isin(bad)] = np.nan
        participation = {y: wide[y].to_numpy(dtype=float) / year_group_children(pop.by_year[e], phase) for y, e in zip(labels, ends)}
        for i, (y0, e0) in enumerate(zip(labels, ends)):
            for y1, e1 in zip(labels[i + 1 :], ends[i + 1 :]):
                with np.errstate(divide="ignore", invalid="ignore"):
                    error = np.log(participation[y1] / participation[y0])
                ok = np.isfinite(error)
                parts.append(pd.DataFrame({"authority_code": pop.codes[ok], "phase": phase, "origin": y0, "academic_year": y1,
                                           "horizon": e1 - e0, "error": error[ok]}))
    if not parts:
        return pd.DataFrame(columns=columns)
    return pd.concat(parts, ignore_index=True)[columns]


def error_power(errors: pd.DataFrame, default: float = DEFAULT_ERROR_POWER, bounds: tuple[float, float] = ERROR_POWER_BOUNDS) -> float:
    """Return how fast the spread of hindcast errors grows with the horizon: width ~ horizon ** power.

    The 10-90% width of the errors at each horizon (horizons with at least
    :data:`MIN_ERRORS` errors) is regressed on the horizon in logs. 0.5 is a random walk
    (independent yearly shocks); 1 is a steady drift per year (a cohort ratio or participation
    trend that is off by the same amount every year).

    Args:
        errors: horizon and error columns (one phase), from :func:`hindcast_errors`.
        default: the power when fewer than two horizons are known.
        bounds: (low, high): the estimate is clipped to these.

    Returns:
        The power (dimensionless).
    """
    widths = []
    for horizon, group in errors.groupby("horizon"):
        if len(group) >= MIN_ERRORS and horizon > 0:
            width = float(group["error"].quantile(0.9) - group["error"].quantile(0.1))
            if width > 0:
                widths.append((float(horizon), width))
    if len(widths) < 2:
        return float(default)
    h, w = np.log(np.array(widths)).T
    slope = float(np.polyfit(h, w, 1)[0])
    return float(np.clip(slope, *bounds))


def calibrate_intervals(la_population: pd.DataFrame, rolls: pd.DataFrame, last: str | None = None) -> pd.DataFrame:
    """Set the bias term and prediction intervals per phase from hindcasts that end by ``last``.

    All hindcast errors :func:`hindcast_errors` can make from the rolls up to ``last`` are
    divided by ``horizon ** power`` (:func:`error_power`) so that errors at different horizons
    share one distribution, and pooled across authorities and pairs of years. Its quantiles,
    times ``h ** power``, are the log errors expected at horizon ``h``: the median is the
    **bias term** (the projection is moved by it, so it is the median of its predictive
    distribution) and the 10/90% and 2.5/97.5% quantiles bound the 80% and 95% intervals.
    Nothing after ``last`` is read.

    Args:
        la_population: authority_code, year (2019, 2020), age, population (persons).
        rolls: from :func:`~atlaskit.analysis.demand.capacity.rolls_from_scorecard`.
        last: the latest academic year whose roll may be used (None: all).

    Returns:
        DataFrame with one row per phase: phase, horizon (1: the quantiles are per
        ``1 ** power``), power, n (errors pooled), horizons (those observed, e.g. ``"4, 8"``),
        last (the latest roll used), and q025, q10, q50, q90, q975 (natural-log errors at one
        year; at horizon ``h`` multiply by ``h ** power``).

    Raises:
        ModelError: when a phase has fewer than :data:`MIN_ERRORS` hindcast errors.
    """
    errors = hindcast_errors(la_population, rolls, last)
    rows = []
    for phase in PHASES:
        mine = errors[errors["phase"] == phase]
        if len(mine) < MIN_ERRORS:
            raise ModelError(f"only {len(mine)} hindcast errors for {phase} from the rolls up to {last or 'the latest'}: cannot set prediction intervals")
        power = error_power(mine)
        scaled = mine["error"].to_numpy(dtype=float) / mine["horizon"].to_numpy(dtype=float) ** power
        horizons = ", ".join(str(int(h)) for h in sorted(mine["horizon"].unique()))
        rows.append({"phase": phase, "horizon": 1, "power": power, "n": int(len(mine)), "horizons": horizons, "last": last or "latest",
                     **{k: float(np.quantile(scaled, q)) for k, q in _QUANTILES.items()}})
    return pd.DataFrame(rows)


def interval_quantiles(intervals: pd.DataFrame, phase: str, horizon: int) -> dict[str, float]:
    """Return the log-error quantiles (bias term and interval bounds) for a phase at a horizon.

    Below the shortest and beyond the longest calibrated horizon the nearest one is scaled by
    ``(h / h_calibrated) ** power`` (the table's ``power`` column, else :data:`INTERVAL_POWER`);
    between two, quantiles are interpolated linearly. A table from :func:`calibrate_intervals`
    has one row per phase at horizon 1, so its quantiles are simply ``q * h ** power``.

    Args:
        intervals: phase, horizon, q025, q10, q90, q975 and optionally q50 (the median: the
            bias term; 0 when absent) and power, e.g. from :func:`calibrate_intervals`.
        phase: ``primary`` or ``secondary``.
        horizon: years after the jump-off (0 gives zero-width intervals and no bias).

    Returns:
        ``{"q025": ..., "q10": ..., "q50": ..., "q90": ..., "q975": ...}`` (natural-log errors,
        ``log(actual / cohort projection)``).

    Raises:
        ModelError: when ``intervals`` has no row for ``phase``.
    """
    rows = intervals[intervals["phase"] == phase].sort_values("horizon")
    if rows.empty:
        raise ModelError(f"no prediction-interval calibration for {phase}")
    hs = rows["horizon"].to_numpy(dtype=float)
    power = float(rows["power"].iloc[0]) if "power" in rows.columns and pd.notna(rows["power"].iloc[0]) else INTERVAL_POWER
    out = {}
    for key in _QUANTILES:
        values = rows[key].to_numpy(dtype=float) if key in rows.columns else np.zeros(len(rows))
        if horizon <= 0:
            out[key] = 0.0
        elif horizon <= hs[0]:
            out[key] = float(values[0] * (horizon / hs[0]) ** power)
        elif horizon >= hs[-1]:
            out[key] = float(values[-1] * (horizon / hs[-1]) ** power)
        else:
            out[key] = float(np.interp(horizon, hs, values))
    return out
