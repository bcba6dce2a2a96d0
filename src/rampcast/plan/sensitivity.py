"""Which assumption moves first-year bookings most: a tornado, with common random numbers.

Each assumption is moved down and up across a stated range, one at a time,
and the scenario is re-simulated with the same seed, so the swing between
the two runs is the assumption's effect and not sampling noise. The
assumptions are ranked by their effect on the median (P50) of first-year
bookings and, separately, on P(first-year bookings >= target).

Next to the tornado: what one month less ramp is worth against one more
hire, segment by segment.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import xarray as xr

from rampcast.plan.compare import PlanError, simulate_plans
from rampcast.scenario import (
    Attrition,
    DealSize,
    Delay,
    HazardBand,
    Hire,
    Scenario,
    WinRate,
)
from rampcast.summary import periods

__all__ = ["ASSUMPTIONS", "DEFAULT_RANGES", "Sensitivity", "sensitivity"]

#: assumption -> (how the range moves it, description)
ASSUMPTIONS = {
    "ramp_length": ("months", "months added to every ramp curve's length (shape kept)"),
    "attrition": ("factor", "multiplier on every monthly attrition hazard"),
    "win_rate": ("factor", "multiplier on the mean win rate (deal model)"),
    "deal_size": ("factor", "multiplier on the mean deal size (deal model)"),
    "opportunities": ("factor", "multiplier on opportunities per month (deal model)"),
    "monthly_capacity": ("factor", "multiplier on monthly capacity (capacity model)"),
    "time_to_fill": ("months", "months added to every backfill time to fill"),
    "hire_slip": ("months", "months added to every planned hire's slip"),
}

#: The default (low, high) of each assumption.
DEFAULT_RANGES: dict[str, tuple[float, float]] = {
    "ramp_length": (-1.0, 1.0),
    "attrition": (0.75, 1.25),
    "win_rate": (0.9, 1.1),
    "deal_size": (0.9, 1.1),
    "opportunities": (0.9, 1.1),
    "monthly_capacity": (0.9, 1.1),
    "time_to_fill": (-1.0, 1.0),
    "hire_slip": (-1.0, 1.0),
}


@dataclass(frozen=True)
class Sensitivity:
    """A tornado of first-year bookings, and ramp against hiring.

    Attributes
    ----------
    tornado : pandas.DataFrame
        One row per assumption that applies to the scenario, ranked by the
        swing of P50 first-year bookings: its low and high settings, P50,
        mean and P(target) at low, base and high, and both swings.
    ramp_vs_hire : pandas.DataFrame
        One row per segment: the change in mean and P50 first-year bookings
        and P(target) from one month less ramp (every rep of the segment)
        and from one more hire at the horizon start, and that hire's cost.
    data : xarray.Dataset
        Per-trial first-year bookings of every run (dimension ``case``).
    ranges : dict
        The (low, high) used for each assumption.
    info : dict
        Seed, trials, version, scenario sha256, period, timings.
    """

    tornado: pd.DataFrame
    ramp_vs_hire: pd.DataFrame
    data: xr.Dataset
    ranges: dict
    info: dict = field(default_factory=dict)


# --------------------------------------------------------------------------
# input checking


def _ranges(overrides: Mapping[str, tuple[float, float]] | None) -> dict:
    """Defaults with overrides applied; a PlanError names the allowed assumptions."""
    out = dict(DEFAULT_RANGES)
    for name, value in (overrides or {}).items():
        if name not in ASSUMPTIONS:
            raise PlanError(
                f"unknown assumption {name!r} in ranges; allowed: {', '.join(ASSUMPTIONS)}"
            )
        try:
            low, high = (float(v) for v in value)
        except (TypeError, ValueError):
            raise PlanError(
                f"ranges[{name!r}] must be two numbers (low, high); got {value!r}"
            ) from None
        kind = ASSUMPTIONS[name][0]
        if not (math.isfinite(low) and math.isfinite(high)):
            raise PlanError(f"ranges[{name!r}] must be finite; got ({low:g}, {high:g})")
        if kind == "factor" and min(low, high) <= 0:
            raise PlanError(
                f"ranges[{name!r}] are multipliers and must be above 0; got ({low:g}, {high:g})"
            )
        if kind == "months" and not (low.is_integer() and high.is_integer()):
            raise PlanError(f"ranges[{name!r}] are whole months; got ({low:g}, {high:g})")
        out[name] = (low, high)
    return out


# --------------------------------------------------------------------------
# moving one assumption


def _curve(curve: list[float]) -> list[float]:
    out = list(curve)
    while out and out[-1] >= 1.0:
        out.pop()
    return out


def stretch_ramp(curve: list[float], months: int) -> list[float]:
    """The ramp curve made ``months`` longer (or shorter), its shape kept.

    With :math:`R` the curve's piecewise-linear ramp (1 from its length
    :math:`L`), the new curve of length :math:`L' = \\max(L + d, 0)` is
    :math:`c'_k = R(k L / L')`: the same path walked at another pace.

    Examples
    --------
    >>> stretch_ramp([0.0, 0.5], 2)
    [0.0, 0.25, 0.5, 0.75]
    >>> stretch_ramp([0.0, 0.5], -1)
    [0.0]
    """
    c = _curve(curve)
    length = len(c)
    new = max(length + int(months), 0)
    if length == 0 or new == 0:
        return [] if new == 0 else list(c)
    xs = np.arange(new) * length / new
    return [float(v) for v in np.interp(xs, np.arange(length + 1), [*c, 1.0])]


def shift_delay(delay: Delay, months: int) -> Delay:
    """The delay plus ``months`` (a negative shift stops at zero months)."""
    from rampcast.model.build import delay_pmf

    pmf = delay_pmf(delay)
    if months >= 0:
        pmf = np.concatenate([np.zeros(months), pmf])
    else:
        cut = min(-months, len(pmf) - 1)
        pmf = np.concatenate([[pmf[: cut + 1].sum()], pmf[cut + 1 :]])
    pmf = pmf[:121]
    return Delay(pmf=[float(v) for v in pmf / pmf.sum()])


def _scaled_attrition(attrition: Attrition | None, factor: float, conversion: str):
    from rampcast.model.build import monthly_hazard

    if attrition is None:
        return None

    def scale(annual, monthly):
        h = monthly if monthly is not None else monthly_hazard(annual, conversion)
        return min(1.0, h * factor)

    if attrition.bands is not None:
        return Attrition(
            bands=[
                HazardBand(
                    from_month=b.from_month, monthly_hazard=scale(b.annual_rate, b.monthly_hazard)
                )
                for b in attrition.bands
            ]
        )
    return Attrition(monthly_hazard=scale(attrition.annual_rate, attrition.monthly_hazard))


def _scaled_productivity(prod, name: str, f: float):
    """Productivity with one parameter scaled; None if it does not apply."""
    if prod.model == "capacity":
        if name != "monthly_capacity":
            return None
        return prod.model_copy(update={"monthly_capacity": prod.monthly_capacity * f})
    if name == "opportunities":
        return prod.model_copy(
            update={"opportunities_per_month": prod.opportunities_per_month * f}
        )
    if name == "win_rate":
        a, b = prod.win_rate.shape
        mean = min((a / (a + b)) * f, 0.999)
        return prod.model_copy(update={"win_rate": WinRate(mean=mean, concentration=a + b)})
    if name == "deal_size":
        mu, sigma = prod.deal_size.log_params
        return prod.model_copy(
            update={"deal_size": DealSize(median=math.exp(mu) * f, sigma=sigma)}
        )
    return None


def _segment_moved(scenario: Scenario, seg, name: str, value: float):
    """One segment with the assumption moved, or None where it does not apply."""
    conv = scenario.conventions
    if name == "ramp_length":
        if not _curve(seg.ramp.curve):
            return None
        curve = stretch_ramp(seg.ramp.curve, int(value))
        return seg.model_copy(update={"ramp": seg.ramp.model_copy(update={"curve": curve})})
    if name == "attrition":
        if seg.attrition is None:
            return None
        moved = _scaled_attrition(seg.attrition, value, conv.attrition_conversion)
        return seg.model_copy(update={"attrition": moved})
    if name == "time_to_fill":
        if not seg.backfill.enabled:
            return None
        fill = shift_delay(seg.backfill.time_to_fill, int(value))
        return seg.model_copy(
            update={"backfill": seg.backfill.model_copy(update={"time_to_fill": fill})}
        )
    if name == "hire_slip":
        slip = shift_delay(seg.hiring.slip, int(value))
        return seg.model_copy(update={"hiring": seg.hiring.model_copy(update={"slip": slip})})
    prod = _scaled_productivity(seg.productivity, name, value)
    return None if prod is None else seg.model_copy(update={"productivity": prod})


def moved(
    scenario: Scenario, name: str, value: float, segments: list[str] | None = None
) -> Scenario | None:
    """The scenario with assumption ``name`` set to ``value``.

    Parameters
    ----------
    scenario
        A validated scenario.
    name
        One of :data:`ASSUMPTIONS`.
    value
        A multiplier or a number of months, by the assumption's kind.
    segments
        Only these segments (default all).

    Returns
    -------
    Scenario or None
        None when the assumption applies to none of the segments.
    """
    names = list(scenario.segments) if segments is None else segments
    segs = dict(scenario.segments)
    changed = False
    for n in names:
        new = _segment_moved(scenario, segs[n], name, value)
        if new is not None:
            segs[n] = new
            changed = True
    if not changed:
        return None
    return scenario.model_copy(update={"segments": segs})


# --------------------------------------------------------------------------
# running


@dataclass(frozen=True)
class _Run:
    bookings: np.ndarray  # (trial,) first-year bookings
    cost: np.ndarray  # (trial,) first-year team cost


def _first_year(scenario: Scenario):
    years = [p for p in periods(scenario) if p.kind == "year"]
    if not years:
        raise PlanError(
            f"the horizon has {scenario.horizon.months} months; sensitivity "
            "measures first-year bookings and needs at least 12"
        )
    return years[0]


def _runs(scenario: Scenario, plans: list[str], seed: int, trials: int, year) -> list[_Run]:
    totals, _ = simulate_plans(scenario, plans, seed, trials)
    window = slice(year.first, year.last + 1)
    return [
        _Run(t["bookings"][:, window].sum(axis=1), t["cost"][:, window].sum(axis=1))
        for t in totals
    ]


def _stats(run: _Run, target: float | None) -> dict[str, float]:
    b = run.bookings
    p = float((b >= target).mean()) if target is not None else math.nan
    return {"p50": float(np.quantile(b, 0.5)), "mean": float(b.mean()), "p_target": p}


def _tornado_rows(scenario, plan, seed, trials, year, ranges, base, cases):
    rows = []
    for name, (low, high) in ranges.items():
        lo_s, hi_s = moved(scenario, name, low), moved(scenario, name, high)
        if lo_s is None or hi_s is None:
            continue
        lo_r = _runs(lo_s, [plan], seed, trials, year)[0]
        hi_r = _runs(hi_s, [plan], seed, trials, year)[0]
        cases[f"{name}:low"], cases[f"{name}:high"] = lo_r.bookings, hi_r.bookings
        lo, hi = _stats(lo_r, year.target), _stats(hi_r, year.target)
        row = {"assumption": name, "unit": ASSUMPTIONS[name][0], "low": low, "high": high}
        for key in ("p50", "mean", "p_target"):
            row |= {f"{key}_low": lo[key], f"{key}_base": base[key], f"{key}_high": hi[key]}
        row["swing_p50"] = abs(hi["p50"] - lo["p50"])
        row["swing_p_target"] = abs(hi["p_target"] - lo["p_target"])
        row["description"] = ASSUMPTIONS[name][1]
        rows.append(row)
    table = pd.DataFrame(rows)
    if table.empty:
        return table
    table = table.sort_values("swing_p50", ascending=False, kind="stable")
    table.insert(0, "rank", np.arange(1, len(table) + 1))
    order = table["swing_p_target"].rank(ascending=False, method="min", na_option="bottom")
    table["rank_p_target"] = order.astype(int)
    return table.reset_index(drop=True)


def _ramp_vs_hire(scenario, plan, seed, trials, year, base_run, cases) -> pd.DataFrame:
    """Per segment: one month less ramp against one more hire at the horizon start."""
    base = _stats(base_run, year.target)
    rows = []
    for seg in scenario.segments:
        row = {"segment": seg}
        shorter = moved(scenario, "ramp_length", -1, segments=[seg])
        if shorter is None:
            row |= {"ramp_value_mean": 0.0, "ramp_value_p50": 0.0, "ramp_p_target": 0.0}
        else:
            r = _runs(shorter, [plan], seed, trials, year)[0]
            cases[f"ramp_minus_1:{seg}"] = r.bookings
            s = _stats(r, year.target)
            row |= {
                "ramp_value_mean": s["mean"] - base["mean"],
                "ramp_value_p50": s["p50"] - base["p50"],
                "ramp_p_target": s["p_target"] - base["p_target"],
            }
        extra = "__one_more_hire__"
        hires = [
            *scenario.hiring_plans[plan],
            Hire(segment=seg, month=scenario.horizon.start, count=1),
        ]
        plus = scenario.model_copy(
            update={"hiring_plans": {**scenario.hiring_plans, extra: hires}}
        )
        r = _runs(plus, [extra], seed, trials, year)[0]
        cases[f"one_more_hire:{seg}"] = r.bookings
        s = _stats(r, year.target)
        row |= {
            "hire_value_mean": s["mean"] - base["mean"],
            "hire_value_p50": s["p50"] - base["p50"],
            "hire_p_target": s["p_target"] - base["p_target"],
            "hire_cost": float(r.cost.mean() - base_run.cost.mean()),
        }
        row["hire_net"] = row["hire_value_mean"] - row["hire_cost"]
        row["ramp_month_in_hires"] = (
            row["ramp_value_mean"] / row["hire_value_mean"] if row["hire_value_mean"] else math.nan
        )
        rows.append(row)
    return pd.DataFrame(rows)


def sensitivity(
    scenario: Scenario,
    plan: str | None = None,
    trials: int | None = None,
    seed: int | None = None,
    ranges: Mapping[str, tuple[float, float]] | None = None,
) -> Sensitivity:
    """Tornado of first-year bookings over the key assumptions.

    Parameters
    ----------
    scenario
        A validated scenario with at least 12 months.
    plan
        Hiring plan; default the scenario's.
    trials, seed
        Override the scenario's simulation settings. Every run uses the
        same seed (common random numbers).
    ranges
        ``assumption -> (low, high)`` replacing entries of
        :data:`DEFAULT_RANGES`; multipliers for factors, whole months for
        ``ramp_length``, ``time_to_fill`` and ``hire_slip``.

    Returns
    -------
    Sensitivity

    Raises
    ------
    PlanError
        Unknown plan or assumption, a bad range, or a horizon under 12 months.

    Notes
    -----
    An assumption that applies to no segment (win rate without deal-model
    segments, time to fill without backfill) is left out of the tornado.
    Moving a factor by :math:`f` multiplies every segment's parameter by
    :math:`f`; a win-rate mean is capped at 0.999 and its concentration
    kept. Hazards are scaled as monthly hazards (capped at 1), whatever
    form the scenario gives them in.

    Examples
    --------
    With the capacity model, no attrition and ``cv`` 0, bookings are
    proportional to ``monthly_capacity``: moving it by 1.1 moves every
    trial's bookings by exactly 10% (``tests/test_sensitivity.py``).
    """
    plan = scenario.plan_name if plan is None else plan
    if plan not in scenario.hiring_plans:
        raise PlanError(
            f"unknown hiring plan {plan!r}; allowed: {', '.join(scenario.hiring_plans)}"
        )
    use = _ranges(ranges)
    trials = scenario.simulation.trials if trials is None else int(trials)
    seed = scenario.simulation.seed if seed is None else int(seed)
    if trials < 1 or not 0 <= seed < 2**63:
        raise PlanError(
            f"trials must be >= 1 and seed in 0 .. 2**63 - 1; got trials={trials}, seed={seed}"
        )
    year = _first_year(scenario)
    started = time.perf_counter()

    base_run = _runs(scenario, [plan], seed, trials, year)[0]
    base = _stats(base_run, year.target)
    cases = {"base": base_run.bookings}
    tornado = _tornado_rows(scenario, plan, seed, trials, year, use, base, cases)
    versus = _ramp_vs_hire(scenario, plan, seed, trials, year, base_run, cases)
    elapsed = time.perf_counter() - started

    data = xr.Dataset(
        {
            "bookings": (
                ("case", "trial"),
                np.stack(list(cases.values())),
                {
                    "units": scenario.currency,
                    "description": f"bookings of {year.label}, per trial",
                },
            )
        },
        coords={"case": list(cases), "trial": np.arange(trials)},
        attrs={"seed": seed, "trials": trials, "plan": plan, "period": year.label},
    )
    info = _info(scenario, plan, seed, trials, year, use, elapsed)
    return Sensitivity(tornado, versus, data, use, info)


def _info(scenario, plan, seed, trials, year, ranges, elapsed) -> dict:
    from rampcast import __version__

    return {
        "command": "sensitivity",
        "rampcast_version": __version__,
        "seed": seed,
        "trials": trials,
        "sampler": scenario.simulation.sampler,
        "plan": plan,
        "period": year.label,
        "target": year.target,
        "ranges": {k: list(v) for k, v in ranges.items()},
        "scenario_file": scenario.source,
        "scenario_sha256": scenario.inputs.get(str(scenario.source)),
        "inputs_sha256": dict(scenario.inputs),
        "sensitivity_s": round(elapsed, 4),
    }
