"""Compare hiring plans side by side, with common random numbers.

Every plan is simulated with the same seed. A seat's draws depend only on
``(seed, trial, seat label)``, and seats never interact, so a plan's
per-trial totals are the roster's totals plus the sum of its planned hires'
own contributions. :func:`compare` uses that twice:

* it simulates each distinct group of hire seats once (the seats that
  exactly the same plans share) and adds the groups up per plan, so ten
  plans that differ by a few hires cost little more than one run;
* differences between plans are the effect of the seats that differ and
  nothing else: a plan compared with itself differs by zero in every trial.

The gap between a period's target and mean bookings is attributed to the
plan itself, to ramp, to vacancies, to attrition and to productivity
variance by running counterfactual copies of the scenario with the same
seed (see ``docs/planning.md`` for the definitions and why the terms add up
to the gap exactly).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from rampcast.errors import RampcastError
from rampcast.scenario import Delay, Scenario, month_index
from rampcast.summary import Period, periods, risk_metrics

__all__ = [
    "ATTRIBUTION_TERMS",
    "Comparison",
    "PlanError",
    "compare",
    "counterfactuals",
    "expected_attribution",
]

log = logging.getLogger(__name__)

#: Terms of the gap attribution, in the order of the waterfall.
ATTRIBUTION_TERMS = ("plan_capacity", "ramp", "vacancies", "attrition", "productivity_variance")

_FLOW_NAMES = ("bookings", "capacity", "hires", "departures", "cost")
_STOCK_NAMES = ("headcount", "rre", "vacancies")


class PlanError(RampcastError, ValueError):
    """A request to compare plans or to rank assumptions cannot be carried out."""


@dataclass(frozen=True)
class Comparison:
    """Hiring plans side by side.

    Attributes
    ----------
    data : xarray.Dataset
        Dimensions ``plan``, ``trial``, ``period``, ``quantile`` and
        ``term``: per-trial period bookings and capacity, bands, P(target),
        risk, stocks, costs, paired differences with the baseline (the first
        plan), pairwise P(plan > other) and the gap attribution.
    summary : pandas.DataFrame
        One row per plan and period: hires, costs, bookings bands, P(target),
        VaR, expected shortfall, headcount and RRE at period end.
    differences : pandas.DataFrame
        One row per plan and period: bands of the per-trial difference with
        the baseline, P(more), P(equal), P(less).
    attribution : pandas.DataFrame or None
        One row per plan and period: target, mean bookings, the gap and its
        terms (``ATTRIBUTION_TERMS``), each with its standard error.
    info : dict
        Seed, trials, version, scenario files and their sha256, timings.
    """

    data: xr.Dataset
    summary: pd.DataFrame
    differences: pd.DataFrame
    attribution: pd.DataFrame | None
    info: dict = field(default_factory=dict)

    @property
    def plans(self) -> list[str]:
        """Plan labels, baseline first."""
        return [str(p) for p in self.data["plan"].values]


@dataclass(frozen=True)
class _Entry:
    label: str
    scenario: Scenario
    plan: str


# --------------------------------------------------------------------------
# input checking


def _entries(scenario, plans: Sequence[str] | None) -> list[_Entry]:
    """The plans to compare, labelled; a PlanError names what is allowed."""
    if isinstance(scenario, Scenario):
        names = list(scenario.hiring_plans) if plans is None else [str(p) for p in plans]
        allowed = ", ".join(scenario.hiring_plans)
        for name in names:
            if name not in scenario.hiring_plans:
                raise PlanError(f"unknown hiring plan {name!r} in plans; allowed: {allowed}")
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise PlanError(f"plan {repeated[0]!r} is named more than once in plans")
        entries = [_Entry(n, scenario, n) for n in names]
    else:
        scenarios = list(scenario)
        if plans is not None:
            raise PlanError(
                "plans selects plans of one scenario; with several scenarios "
                "each scenario's own plan is compared"
            )
        if not all(isinstance(s, Scenario) for s in scenarios):
            raise PlanError("scenario must be a Scenario or a sequence of Scenarios")
        entries = [
            _Entry(label, s, s.plan_name)
            for label, s in zip(_scenario_labels(scenarios), scenarios, strict=True)
        ]
        _same_horizon(scenarios)
    if len(entries) < 2:
        raise PlanError(
            f"compare needs at least 2 plans; got {len(entries)}"
            + (
                f" (the scenario has plans: {', '.join(scenario.hiring_plans)})"
                if isinstance(scenario, Scenario)
                else ""
            )
        )
    return entries


def _scenario_labels(scenarios: list[Scenario]) -> list[str]:
    """File stem (or name) of each scenario, made unique with ``#2``, ``#3``."""
    labels = []
    for s in scenarios:
        base = Path(s.source).stem if s.source else s.name
        label, n = base, 1
        while label in labels:
            n += 1
            label = f"{base}#{n}"
        labels.append(label)
    return labels


def _same_horizon(scenarios: list[Scenario]) -> None:
    first = scenarios[0]
    for s in scenarios[1:]:
        if s.horizon != first.horizon:
            raise PlanError(
                f"scenarios must share one horizon to be compared; {s.source or s.name} "
                f"has {s.horizon.start:%Y-%m} x {s.horizon.months} months, "
                f"{first.source or first.name} has {first.horizon.start:%Y-%m} x "
                f"{first.horizon.months} months"
            )
        if list(s.segments) != list(first.segments):
            raise PlanError(
                f"scenarios must have the same segments to be compared; "
                f"{s.source or s.name} has {', '.join(s.segments)}, "
                f"{first.source or first.name} has {', '.join(first.segments)}"
            )


def _settings(scenario: Scenario, trials, seed) -> tuple[int, int]:
    trials = scenario.simulation.trials if trials is None else int(trials)
    seed = scenario.simulation.seed if seed is None else int(seed)
    if trials < 1:
        raise PlanError(f"trials must be at least 1; got {trials}")
    if not 0 <= seed < 2**63:
        raise PlanError(f"seed must be in 0 .. 2**63 - 1; got {seed}")
    return trials, seed


# --------------------------------------------------------------------------
# simulation by seat groups


def _subset(model, rows: list[int]):
    """The model restricted to seats ``rows`` (same parameters and conventions)."""
    from rampcast._kernels.engine import Seats
    from rampcast.model.build import Model

    idx = np.asarray(rows, dtype=np.int64)
    seats = Seats(*(np.ascontiguousarray(a[idx]) for a in model.seats))
    labels = tuple(model.seat_labels[i] for i in rows)
    return Model(seats, model.params, model.conventions, model.segments, labels, model.n_months)


def _reduce(raw: np.ndarray, cost: np.ndarray) -> dict[str, np.ndarray]:
    """(metric, trial, month, segment) -> per metric (trial, month), all segments.

    ``cost`` is the cost per rep-month by segment; a rep is paid for every
    month it sits in the seat, its leaving month included.
    """
    from rampcast._kernels import engine

    rows = {
        "bookings": engine.BOOKINGS,
        "capacity": engine.CAPACITY,
        "hires": engine.HIRES,
        "departures": engine.DEPARTURES,
        "headcount": engine.HEADCOUNT,
        "rre": engine.RRE,
        "vacancies": engine.VACANCIES,
    }
    out = {name: raw[row].sum(axis=2) for name, row in rows.items()}
    paid = raw[engine.HEADCOUNT] + raw[engine.DEPARTURES]
    out["cost"] = paid @ cost
    return out


def _seat_groups(models: list) -> tuple[list[int], list[tuple[int, list[int], list[int]]]]:
    """Roster rows and the hire-seat groups shared by exactly the same plans.

    Returns the roster rows (of ``models[0]``) and, per group in order of
    first appearance, ``(model index, rows in that model, member plans)``.
    """
    roster = [i for i, lab in enumerate(models[0].seat_labels) if lab.startswith("roster:")]
    members: dict[str, list[int]] = {}
    for p, model in enumerate(models):
        for label in model.seat_labels:
            if label.startswith("hire:"):
                members.setdefault(label, []).append(p)
    groups: dict[tuple[int, ...], list[str]] = {}
    for label, plans in members.items():  # dicts keep first-appearance order
        groups.setdefault(tuple(plans), []).append(label)
    out = []
    for plans, labels in groups.items():
        model = models[plans[0]]
        where = {lab: i for i, lab in enumerate(model.seat_labels)}
        out.append((plans[0], [where[lab] for lab in labels], list(plans)))
    return roster, out


def simulate_plans(
    scenario: Scenario, plans: list[str], seed: int, trials: int, chunk_trials: int | None = None
):
    """Per-trial monthly totals of several plans of one scenario.

    Parameters
    ----------
    scenario
        A validated scenario.
    plans
        Names of its hiring plans.
    seed, trials, chunk_trials
        Simulation settings (``chunk_trials`` default: the scenario's).

    Returns
    -------
    totals : list of dict
        Per plan, ``name -> (trial, month)`` array summed over segments, for
        bookings, capacity, hires, departures, headcount, rre, vacancies and
        cost.
    roster : dict
        The same for the roster alone (no planned hires).

    Notes
    -----
    The roster and each group of hire seats shared by exactly the same plans
    run once; a plan's totals are the roster's plus its groups'. Because
    draws are keyed by seat label, this equals simulating each plan whole,
    up to the order of floating-point additions.
    """
    from rampcast.model.build import build_model
    from rampcast.model.monte_carlo import run_model

    chunk = scenario.simulation.chunk_trials if chunk_trials is None else int(chunk_trials)
    exact = scenario.simulation.sampler == "exact"
    models = [build_model(scenario, p) for p in plans]
    cost = np.array([scenario.segments[s].cost_per_month for s in models[0].segments])
    shape = (trials, scenario.horizon.months)

    def run(model, rows):
        if not rows:
            names = (*_FLOW_NAMES, *_STOCK_NAMES)
            return {name: np.zeros(shape) for name in names}
        raw = run_model(_subset(model, rows), seed, trials, chunk_trials=chunk, exact=exact)
        return _reduce(raw, cost)

    roster_rows, groups = _seat_groups(models)
    roster = run(models[0], roster_rows)
    totals = [{k: v.copy() for k, v in roster.items()} for _ in plans]
    for p, rows, members in groups:
        part = run(models[p], rows)
        for m in members:
            for name, values in part.items():
                totals[m][name] += values
    return totals, roster


# --------------------------------------------------------------------------
# counterfactual scenarios for the gap attribution


def counterfactuals(scenario: Scenario) -> list[Scenario]:
    """The scenario with frictions switched off, most ideal first.

    Returns ``[S0, S1, S2, S3]``:

    * ``S3``: backfills start the month after a departure (time to fill 0);
    * ``S2``: ``S3`` with no attrition and no known roster end dates;
    * ``S1``: ``S2`` with every planned hire accepted and on time (no slip);
    * ``S0``: ``S1`` with every ramp curve emptied (full productivity from
      the start month).

    The scenario itself is ``S4``. Each copy keeps the seed, seats and
    labels, so the same trials compare (common random numbers).
    """
    no_wait = Delay(fixed=0)
    segs3 = {
        n: s.model_copy(
            update={"backfill": s.backfill.model_copy(update={"time_to_fill": no_wait})}
        )
        for n, s in scenario.segments.items()
    }
    s3 = scenario.model_copy(update={"segments": segs3})

    origin = scenario.horizon.start
    roster = [
        r.model_copy(update={"end": None})
        if r.end is not None and month_index(r.end, origin) >= 0
        else r
        for r in scenario.roster
    ]
    segs2 = {n: s.model_copy(update={"attrition": None}) for n, s in segs3.items()}
    s2 = scenario.model_copy(update={"segments": segs2, "roster": roster})

    segs1 = {
        n: s.model_copy(
            update={"hiring": s.hiring.model_copy(update={"slip": no_wait, "acceptance": 1.0})}
        )
        for n, s in segs2.items()
    }
    s1 = s2.model_copy(update={"segments": segs1})

    segs0 = {
        n: s.model_copy(update={"ramp": s.ramp.model_copy(update={"curve": []})})
        for n, s in segs1.items()
    }
    s0 = s1.model_copy(update={"segments": segs0})
    return [s0, s1, s2, s3]


def _terms(
    target: float | None, capacities: list[np.ndarray], bookings: np.ndarray
) -> dict[str, np.ndarray]:
    """Per-trial attribution terms from capacities of S0..S4 and bookings of S4."""
    c0, c1, c2, c3, c4 = capacities
    reference = c0 if target is None else np.full_like(c0, target)
    return {
        "plan_capacity": reference - c0,
        "ramp": c0 - c1,
        "vacancies": (c1 - c2) + (c3 - c4),
        "attrition": c2 - c3,
        "productivity_variance": c4 - bookings,
    }


def expected_attribution(scenario: Scenario, plan: str | None = None) -> pd.DataFrame:
    """The gap attribution in expectation, from the deterministic mode.

    The same waterfall as :func:`compare` with expected capacities in place
    of simulated ones; productivity variance is zero by construction
    (capacity is the expectation of bookings).

    Returns
    -------
    pandas.DataFrame
        One row per period: ``period``, ``target``, ``bookings_mean``,
        ``gap`` and one column per term of ``ATTRIBUTION_TERMS``.
    """
    from rampcast.model.deterministic import expected

    plan = scenario.plan_name if plan is None else plan
    plist = periods(scenario)
    runs = [*counterfactuals(scenario), scenario]
    caps = [expected(s, plan)["capacity"].sum("segment").values[None, :] for s in runs]
    rows = []
    for p in plist:
        per = [_period(c, [p], stock=False)[:, 0] for c in caps]
        terms = _terms(p.target, per, per[-1])
        ref = per[0][0] if p.target is None else p.target
        row = {
            "period": p.label,
            "target": p.target,
            "bookings_mean": float(per[-1][0]),
            "gap": float(ref - per[-1][0]),
        }
        row |= {k: float(v[0]) for k, v in terms.items()}
        rows.append(row)
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------
# summaries


def _period(values: np.ndarray, plist: list[Period], stock: bool) -> np.ndarray:
    """(trial, month) -> (trial, period): sums of flows, period-end stocks."""
    if stock:
        return np.stack([values[:, p.last] for p in plist], axis=1)
    return np.stack([values[:, p.first : p.last + 1].sum(axis=1) for p in plist], axis=1)


def _risk(bookings: np.ndarray, plist: list[Period], level: float) -> dict[str, np.ndarray]:
    """P(target), VaR, ES and mean shortfall per period of (trial, period) bookings."""
    out = {k: np.full(len(plist), np.nan) for k in ("p_target", "var", "es", "mean_shortfall")}
    for j, p in enumerate(plist):
        b = bookings[:, j]
        ref = float(b.mean()) if p.target is None else p.target
        risk = risk_metrics(b, ref, level)
        for key in ("var", "es", "mean_shortfall"):
            out[key][j] = risk[key]
        if p.target is not None:
            out["p_target"][j] = float((b >= p.target).mean())
    return out


def _dataset(entries, per, roster_per, attr, plist, qs, level, trials) -> xr.Dataset:
    """Assemble the comparison Dataset from per-plan (trial, period) arrays."""
    labels = [e.label for e in entries]
    n_plans, n_per = len(entries), len(plist)
    bookings = np.stack([per[e.label]["bookings"] for e in entries])
    capacity = np.stack([per[e.label]["capacity"] for e in entries])
    dims = ("plan", "period")
    ds = xr.Dataset(
        coords={
            "plan": labels,
            "trial": np.arange(trials),
            "period": [p.label for p in plist],
            "quantile": qs,
        }
    )
    ds = ds.assign_coords(period_kind=("period", [p.kind for p in plist]))
    ds["bookings"] = (
        ("plan", "trial", "period"),
        bookings,
        {"description": "bookings of the period, per trial"},
    )
    ds["capacity"] = (
        ("plan", "trial", "period"),
        capacity,
        {"description": "capacity of the period, per trial"},
    )
    ds["target"] = (
        dims,
        np.array(
            [[np.nan if p.target is None else p.target for p in _plist(e, plist)] for e in entries]
        ),
    )
    ds["planned_hires"] = (
        "plan",
        [sum(h.count for h in e.scenario.hiring_plans[e.plan]) for e in entries],
    )
    ds["bookings_mean"] = (dims, bookings.mean(axis=1))
    ds["bookings_q"] = (("quantile", *dims), np.quantile(bookings, qs, axis=1))
    ds["capacity_mean"] = (dims, capacity.mean(axis=1))
    risk = [_risk(bookings[i], _plist(e, plist), level) for i, e in enumerate(entries)]
    for key in ("p_target", "var", "es", "mean_shortfall"):
        ds[key] = (dims, np.array([r[key] for r in risk]))
    for name in ("headcount", "rre", "vacancies"):
        ds[f"{name}_end"] = (dims, np.stack([per[e.label][name].mean(axis=0) for e in entries]))
    ds["starts"] = (dims, np.stack([per[e.label]["hires"].mean(axis=0) for e in entries]))
    team = np.stack([per[e.label]["cost"].mean(axis=0) for e in entries])
    roster_cost = np.stack([roster_per[e.label]["cost"].mean(axis=0) for e in entries])
    roster_book = np.stack([roster_per[e.label]["bookings"].mean(axis=0) for e in entries])
    ds["team_cost"] = (dims, team, {"description": "expected cost of every rep-month"})
    ds["hire_cost"] = (
        dims,
        team - roster_cost,
        {"description": "expected cost of the planned hires' seats"},
    )
    ds["hire_bookings"] = (
        dims,
        ds["bookings_mean"].values - roster_book,
        {"description": "expected bookings of the planned hires' seats"},
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        ds["cost_per_booked"] = (dims, team / ds["bookings_mean"].values)
    _add_differences(ds, bookings, qs)
    if attr is not None:
        terms = list(ATTRIBUTION_TERMS)
        mean = np.zeros((n_plans, n_per, len(terms)))
        se = np.zeros_like(mean)
        for i, e in enumerate(entries):
            for k, t in enumerate(terms):
                mean[i, :, k] = attr[e.label][t].mean(axis=0)
                se[i, :, k] = (
                    attr[e.label][t].std(axis=0, ddof=1) / np.sqrt(trials)
                    if trials > 1
                    else np.nan
                )
        ds = ds.assign_coords(term=terms)
        ds["attribution"] = (
            ("plan", "period", "term"),
            mean,
            {"description": "mean of each gap term (see docs/planning.md)"},
        )
        ds["attribution_se"] = (
            ("plan", "period", "term"),
            se,
            {"description": "standard error of each term's mean"},
        )
        target = ds["target"].values
        # with no target the reference is the ideal capacity: the terms' sum
        gap = np.where(np.isnan(target), mean.sum(axis=2), target - ds["bookings_mean"].values)
        ds["gap"] = (dims, gap, {"description": "target (or ideal capacity) - mean bookings"})
    return ds


def _plist(entry: _Entry, plist: list[Period]) -> list[Period]:
    """The periods with this entry's own targets (scenarios may differ in targets)."""
    own = periods(entry.scenario)
    return own if [p.label for p in own] == [p.label for p in plist] else plist


def _add_differences(ds: xr.Dataset, bookings: np.ndarray, qs: list[float]) -> None:
    """Paired differences with the baseline and pairwise P(plan > other)."""
    diff = bookings - bookings[:1]
    dims = ("plan", "period")
    ds["diff_mean"] = (
        dims,
        diff.mean(axis=1),
        {"description": "mean of per-trial bookings - baseline bookings"},
    )
    ds["diff_q"] = (("quantile", *dims), np.quantile(diff, qs, axis=1))
    ds["p_more"] = (
        dims,
        (diff > 0).mean(axis=1),
        {"description": "P(plan books more than the baseline)"},
    )
    ds["p_equal"] = (dims, (diff == 0).mean(axis=1))
    ds["p_less"] = (dims, (diff < 0).mean(axis=1))
    pair = (bookings[:, None] > bookings[None, :]).mean(axis=2)
    ds["p_more_pair"] = (
        ("plan", "other", "period"),
        pair,
        {"description": "P(plan books more than other), same trials"},
    )
    ds.coords["other"] = ds["plan"].values


# --------------------------------------------------------------------------
# tables


_SUMMARY_KEYS = ("bookings_mean", "target", "p_target", "var", "es", "mean_shortfall",
                 "headcount_end", "rre_end", "cost_per_booked", "hire_bookings")


def _per_plan_period(ds: xr.Dataset, plans, fill) -> pd.DataFrame:
    """One row per plan and period: ``plan`` then what ``fill(at, period)`` gives."""
    rows = [{"plan": str(plan), **fill(ds.sel(plan=plan, period=period), str(period))}
            for plan in plans for period in ds["period"].values]
    return pd.DataFrame(rows)


def _bands(ds: xr.Dataset, values: xr.DataArray, prefix: str) -> dict[str, float]:
    return {f"{prefix}_p{round(q * 100):02d}": float(v)
            for q, v in zip(ds["quantile"].values, values.values, strict=True)}


def _summary_table(ds: xr.Dataset) -> pd.DataFrame:
    def fill(at, period):
        return {"period": period, "planned_hires": int(at["planned_hires"]),
                "hire_cost": float(at["hire_cost"]), "team_cost": float(at["team_cost"]),
                **_bands(ds, at["bookings_q"], "bookings"),
                **{key: float(at[key]) for key in _SUMMARY_KEYS}}

    return _per_plan_period(ds, ds["plan"].values, fill)


def _difference_table(ds: xr.Dataset) -> pd.DataFrame:
    base = str(ds["plan"].values[0])

    def fill(at, period):
        return {"baseline": base, "period": period, "diff_mean": float(at["diff_mean"]),
                **_bands(ds, at["diff_q"], "diff"),
                **{key: float(at[key]) for key in ("p_more", "p_equal", "p_less")}}

    return _per_plan_period(ds, ds["plan"].values[1:], fill)


def _attribution_table(ds: xr.Dataset) -> pd.DataFrame | None:
    if "attribution" not in ds:
        return None

    def fill(at, period):
        row = {"period": period, "target": float(at["target"]),
               "bookings_mean": float(at["bookings_mean"]), "gap": float(at["gap"])}
        row |= {t: float(at["attribution"].sel(term=t)) for t in ATTRIBUTION_TERMS}
        row |= {f"{t}_se": float(at["attribution_se"].sel(term=t)) for t in ATTRIBUTION_TERMS}
        return row

    return _per_plan_period(ds, ds["plan"].values, fill)


# --------------------------------------------------------------------------
# the public entry point


def compare(
    scenario: Scenario | Sequence[Scenario],
    plans: Sequence[str] | None = None,
    trials: int | None = None,
    seed: int | None = None,
    attribution: bool = True,
    chunk_trials: int | None = None,
) -> Comparison:
    """Simulate several hiring plans with common random numbers and compare them.

    Parameters
    ----------
    scenario
        One scenario (its plans are compared), or several scenarios with one
        horizon and the same segments (each one's own plan is compared).
    plans
        Plan names of a single scenario, baseline first; default all its
        plans in file order.
    trials, seed
        Override the (first) scenario's simulation settings; every plan runs
        with the same seed.
    attribution
        Also attribute each plan's gap to target (four more runs of each
        scenario).
    chunk_trials
        Trials per kernel call (memory), default the scenario's.

    Returns
    -------
    Comparison
        Plans side by side, paired differences with the first plan and the
        gap attribution.

    Raises
    ------
    PlanError
        Fewer than two plans, an unknown or repeated plan name, scenarios
        with different horizons or segments, or bad trials or seed.

    Notes
    -----
    For a plan :math:`P` and trial :math:`i`, bookings are
    :math:`B_P(i) = B_R(i) + \\sum_{s \\in H_P} b_s(i)`: roster plus the
    plan's hire seats, each seat's draws fixed by its label. The paired
    difference with the baseline :math:`P_0` is then
    :math:`\\sum_{s \\in H_P \\setminus H_{P_0}} b_s(i)
    - \\sum_{s \\in H_{P_0} \\setminus H_P} b_s(i)`, exactly zero for
    :math:`P = P_0`. Costs count every month a rep sits in a seat, its
    leaving month included, at its segment's ``cost_per_month``.
    """
    entries = _entries(scenario, plans)
    first = entries[0].scenario
    trials, seed = _settings(first, trials, seed)
    plist = periods(first)
    if not plist:
        raise PlanError(
            f"the horizon has {first.horizon.months} months; compare needs "
            "at least one whole quarter (3 months)"
        )
    conv = first.conventions
    started = time.perf_counter()

    groups: dict[int, list[_Entry]] = {}
    for e in entries:
        groups.setdefault(id(e.scenario), []).append(e)
    per, roster_per = {}, {}
    attr = {} if attribution else None
    for group in groups.values():
        scn, names = group[0].scenario, [e.plan for e in group]
        totals, roster = simulate_plans(scn, names, seed, trials, chunk_trials)
        roster_p = {k: _period(v, plist, k in _STOCK_NAMES) for k, v in roster.items()}
        for e, tot in zip(group, totals, strict=True):
            per[e.label] = {k: _period(v, plist, k in _STOCK_NAMES) for k, v in tot.items()}
            roster_per[e.label] = roster_p
        if attribution:
            caps = [
                [
                    _period(t["capacity"], plist, False)
                    for t in simulate_plans(cf, names, seed, trials, chunk_trials)[0]
                ]
                for cf in counterfactuals(scn)
            ]
            for j, e in enumerate(group):
                own = _plist(e, plist)
                series = [c[j] for c in caps] + [per[e.label]["capacity"]]
                attr[e.label] = _period_terms(own, series, per[e.label]["bookings"])
    elapsed = time.perf_counter() - started
    log.info("compared %d plans x %d trials in %.2f s", len(entries), trials, elapsed)

    ds = _dataset(
        entries, per, roster_per, attr, plist, list(conv.quantiles), conv.risk_level, trials
    )
    info = _info(entries, seed, trials, elapsed, attribution)
    ds.attrs = {
        k: v
        for k, v in info.items()
        if isinstance(v, str | int | float) and not isinstance(v, bool)
    }
    ds.attrs["risk_level"] = conv.risk_level
    return Comparison(ds, _summary_table(ds), _difference_table(ds), _attribution_table(ds), info)


def _period_terms(
    plist: list[Period], capacities: list[np.ndarray], bookings: np.ndarray
) -> dict[str, np.ndarray]:
    """Per-trial terms (trial, period) with each period's own target."""
    out = {t: np.zeros_like(bookings) for t in ATTRIBUTION_TERMS}
    for j, p in enumerate(plist):
        terms = _terms(p.target, [c[:, j] for c in capacities], bookings[:, j])
        for t, v in terms.items():
            out[t][:, j] = v
    return out


def _info(
    entries: list[_Entry], seed: int, trials: int, elapsed: float, attribution: bool
) -> dict:
    from rampcast import __version__

    files = {}
    for e in entries:
        files.update(e.scenario.inputs)
    first = entries[0].scenario
    return {
        "command": "compare",
        "rampcast_version": __version__,
        "seed": seed,
        "trials": trials,
        "sampler": first.simulation.sampler,
        "plans": [e.label for e in entries],
        "scenario_plans": {
            e.label: {"scenario": e.scenario.source or e.scenario.name, "plan": e.plan}
            for e in entries
        },
        "scenario_file": first.source,
        "scenario_sha256": first.inputs.get(str(first.source)),
        "inputs_sha256": files,
        "attribution": attribution,
        "conventions": first.conventions.model_dump(mode="json"),
        "compare_s": round(elapsed, 4),
    }
