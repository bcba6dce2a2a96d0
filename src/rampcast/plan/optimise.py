"""The hiring optimiser: the cheapest plan that reaches the annual target often enough.

Choose how many reps to hire into each segment in each month so that

.. math::

    \\min_y \\; \\sum_k \\mathrm{cost}_k\\, y_k
    \\quad \\text{s.t.} \\quad
    P\\Big(B_0 + \\sum_k C_k\\, y_k \\ge T\\Big) \\ge \\alpha,

where :math:`B_0` is the roster's first-year bookings, :math:`C_k` the
first-year bookings of candidate hire :math:`k` (the :math:`n`-th hire into a
segment in a month), :math:`T` the annual target and :math:`\\alpha` the
confidence, within recruiting limits, hiring windows and an optional budget.

The probability is replaced by its sample average over ``N`` simulated
trials (sample-average approximation), which makes the problem a
mixed-integer programme with one binary per candidate hire and one per
trial, solved with PuLP (HiGHS or CBC). Seats do not interact and draw
their numbers from their own label, so ``B_0`` and every ``C_k`` are
simulated once (:func:`rampcast.model.monte_carlo.seat_totals`) and every
plan is evaluated exactly on that sample. The chosen plan is then
re-simulated by the engine with another seed and more trials. Method,
assumptions and limits: ``docs/planning_optimiser.md``.
"""

from __future__ import annotations

import datetime as dt
import itertools
import logging
import math
import os
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np

from rampcast.errors import RampcastError
from rampcast.scenario import Hire, Scenario, month_index
from rampcast.stats import wilson_interval

__all__ = [
    "OptimiserError",
    "Slot",
    "HiringSample",
    "SaaSolution",
    "PlannedHires",
    "Validation",
    "HiringPlanResult",
    "candidate_slots",
    "sample_hires",
    "solve_saa",
    "exhaustive_search",
    "validate_plan",
    "optimise_hiring",
    "wilson_interval",
]

log = logging.getLogger(__name__)

YEAR = 12  # the target is the first 12-month year of the horizon
_MAX_ENUMERATED = 200_000


class OptimiserError(RampcastError, ValueError):
    """The optimiser's input cannot give an answer (bad option, no target, budget)."""


@dataclass(frozen=True)
class Slot:
    """Where hires may go: ``max_hires`` into ``segment`` in ``month``."""

    segment: str
    month: dt.date
    index: int  # horizon month index of ``month``
    max_hires: int


@dataclass(frozen=True)
class HiringSample:
    """The sample the optimiser decides on: the roster and every candidate hire.

    Attributes
    ----------
    base : ndarray
        (trial,): the roster's bookings over the target year.
    contrib : ndarray
        (trial, candidate): each candidate hire's own bookings over the year.
    cost : ndarray
        (candidate,): cost of each candidate hire (see ``cost_basis``).
    slot, ordinal : ndarray
        (candidate,): the candidate's slot and its ``n`` (0 = first hire).
    """

    slots: tuple[Slot, ...]
    base: np.ndarray
    contrib: np.ndarray
    cost: np.ndarray
    slot: np.ndarray
    ordinal: np.ndarray
    target: float
    seed: int
    cost_basis: str
    max_total: dict[str, int] = field(default_factory=dict)

    @property
    def trials(self) -> int:
        return int(self.base.shape[0])

    def bookings(self, counts: np.ndarray) -> np.ndarray:
        """Per-trial first-year bookings of the plan hiring ``counts[j]`` into slot ``j``."""
        return self.base + self.contrib[:, self.chosen(counts)].sum(axis=1)

    def chosen(self, counts: np.ndarray) -> np.ndarray:
        """Boolean mask of the candidates a plan with ``counts`` per slot uses."""
        return self.ordinal < np.asarray(counts)[self.slot]

    def plan_cost(self, counts: np.ndarray) -> float:
        return float(self.cost[self.chosen(counts)].sum())


@dataclass(frozen=True)
class SaaSolution:
    """A plan chosen on the sample, with the solver's account of it.

    ``status`` is ``optimal`` (solved to the gap), ``time_limit`` (the best
    plan found when time ran out; ``gap`` says how far from proven) or
    ``unreachable`` (no allowed plan reaches the confidence on the sample;
    ``counts`` is then the cheapest plan reaching the highest probability).
    """

    counts: np.ndarray
    cost: float
    hits: int  # trials of the sample reaching the target
    need: int  # trials that must reach it: ceil(confidence x trials)
    status: str
    solver: str
    solver_status: str = ""
    gap: float | None = None
    seconds: float = 0.0
    binaries: int = 0

    @property
    def reachable(self) -> bool:
        return self.status != "unreachable"


@dataclass(frozen=True)
class PlannedHires:
    """``count`` hires into ``segment`` starting in ``month``, costing ``cost`` in total."""

    segment: str
    month: dt.date
    count: int
    cost: float


@dataclass(frozen=True)
class Validation:
    """The plan re-simulated by the engine on an independent sample."""

    seed: int
    trials: int
    probability: float
    low: float
    high: float
    level: float
    bookings_mean: float


@dataclass(frozen=True)
class HiringPlanResult:
    """The optimiser's answer.

    Attributes
    ----------
    hires : tuple of PlannedHires
        The plan, by segment and month (slots with no hire left out).
    cost : float
        Cost of the plan on ``cost_basis``.
    reachable : bool
        Whether a plan within the limits and budget reaches the confidence
        on the sample. When False, ``hires`` is the cheapest plan reaching
        the highest probability that is possible.
    sample_probability : float
        Share of the optimisation sample's trials where the plan reaches target.
    all_hires_probability : float
        The same share with every allowed hire made (no budget): the
        ceiling of what hiring alone can do.
    validation : Validation
        Re-simulation with another seed and more trials.
    """

    scenario: str
    target: float
    confidence: float
    margin: float
    budget: float | None
    cost_basis: str
    hires: tuple[PlannedHires, ...]
    cost: float
    reachable: bool
    sample_probability: float
    all_hires_probability: float
    roster_probability: float
    solution: SaaSolution
    sample_trials: int
    sample_seed: int
    validation: Validation
    timings: dict = field(default_factory=dict)

    @property
    def meets_confidence(self) -> bool:
        """The re-simulated probability reaches the confidence.

        The point estimate is compared; its interval is reported beside it,
        and :attr:`confidence_rejected` says when the whole interval is below.
        """
        return self.validation.probability >= self.confidence

    @property
    def confidence_rejected(self) -> bool:
        """The whole re-simulated interval lies below the confidence."""
        return self.validation.high < self.confidence

    def plan_entries(self) -> list[dict]:
        """The plan as ``hiring_plans`` entries of a scenario file."""
        return [
            {"segment": h.segment, "month": f"{h.month:%Y-%m}", "count": h.count}
            for h in self.hires
        ]


# --- the candidate hires and their sample -------------------------------------------


def candidate_slots(scenario: Scenario) -> list[Slot]:
    """Every (segment, month) of the target year where hires are allowed.

    A segment's ``optimiser.limits`` entry sets its ``max_per_month`` (else
    ``optimiser.max_per_month``) and ``window``; months outside the first
    12 of the horizon cannot help the target and are never candidates.
    """
    opt = scenario.optimiser
    months = scenario.months[:YEAR]
    slots = []
    for name in scenario.segments:
        limit = opt.limits.get(name)
        top = opt.max_per_month
        if limit is not None and limit.max_per_month is not None:
            top = limit.max_per_month
        window = limit.window if limit is not None and limit.window else None
        for month in months:
            if window is not None and not window[0] <= month <= window[1]:
                continue
            if top > 0:
                slots.append(Slot(name, month, month_index(month, scenario.horizon.start), top))
    return slots


def _with_plan(scenario: Scenario, hires: list[Hire], name: str) -> Scenario:
    return scenario.model_copy(update={"hiring_plans": {name: hires}, "plan": name})


def sample_hires(
    scenario: Scenario,
    slots: list[Slot],
    seed: int,
    trials: int,
    cost_basis: str = "planned",
    exact: bool = False,
) -> HiringSample:
    """Simulate the roster and every candidate hire once, each seat alone.

    Parameters
    ----------
    scenario
        Its roster is the base; its own hiring plans are ignored.
    slots
        Candidate slots (:func:`candidate_slots`).
    seed, trials
        The optimisation sample.
    cost_basis
        ``planned``: ``cost_per_month`` times the months from the planned
        start to the end of the horizon. ``expected``: ``cost_per_month``
        times the sample mean of months a rep occupies the seat in the
        horizon (slip, declined offers, attrition and backfill included).
    """
    from rampcast.model.build import build_model
    from rampcast.model.monte_carlo import seat_totals

    if scenario.horizon.months < YEAR:
        raise OptimiserError(
            f"the horizon has {scenario.horizon.months} months; the optimiser needs at "
            f"least {YEAR} (it targets the first year)"
        )
    hires = [Hire(segment=s.segment, month=s.month, count=s.max_hires) for s in slots]
    model = build_model(_with_plan(scenario, hires, "candidates"))
    totals = seat_totals(
        model,
        seed,
        trials,
        first=0,
        last=YEAR - 1,
        chunk_trials=scenario.simulation.chunk_trials,
        exact=exact,
    )
    where = {(s.segment, f"{s.month:%Y-%m}"): j for j, s in enumerate(slots)}
    is_hire = np.array([label.startswith("hire:") for label in totals.seat_labels])
    slot, ordinal = [], []
    for label in np.array(totals.seat_labels)[is_hire]:
        _, segment, month, n = label.split(":")
        slot.append(where[(segment, month)])
        ordinal.append(int(n))
    slot = np.array(slot, dtype=np.int64)
    months = scenario.horizon.months
    per_month = np.array([scenario.segments[slots[j].segment].cost_per_month for j in slot])
    if cost_basis == "planned":
        span = np.array([months - slots[j].index for j in slot], dtype=float)
    else:
        span = totals.occupied[:, is_hire].mean(axis=0)
    return HiringSample(
        slots=tuple(slots),
        base=totals.bookings[:, ~is_hire].sum(axis=1),
        contrib=totals.bookings[:, is_hire],
        cost=per_month * span,
        slot=slot,
        ordinal=np.array(ordinal, dtype=np.int64),
        target=float(scenario.targets.annual),
        seed=seed,
        cost_basis=cost_basis,
        max_total=_max_totals(scenario),
    )


def _max_totals(scenario: Scenario) -> dict[str, int]:
    return {
        name: limit.max_total
        for name, limit in scenario.optimiser.limits.items()
        if limit.max_total is not None
    }


# --- the chance-constrained MILP ------------------------------------------------------


def _need(confidence: float, trials: int) -> int:
    """Trials that must reach target: ceil(confidence x trials), robust to rounding."""
    return math.ceil(round(confidence * trials, 9))


def solve_saa(
    sample: HiringSample,
    confidence: float,
    budget: float | None = None,
    solver: str = "highs",
    time_limit: float = 60.0,
    gap: float = 1e-4,
) -> SaaSolution:
    """Cheapest plan reaching the target in at least ``ceil(confidence N)`` trials.

    The MILP, over the trials ``i`` not decided in advance (those the roster
    reaches alone always count; those even every allowed hire cannot lift
    never do)::

        min  sum_k cost_k y_k
        s.t. sum_k min(1, C_ik / g_i) y_k >= z_i      g_i = T - B0_i > 0
             sum_i z_i >= need - (trials the roster reaches alone)
             y_{s,m,n} >= y_{s,m,n+1}                  hires fill a slot in order
             sum_{k in segment} y_k <= max_total       (limits)
             sum_k cost_k y_k <= budget                (optional)
             y, z binary

    Dividing each row by its gap keeps coefficients in [0, 1]; capping
    them at 1 is valid (one hire that closes the gap closes it) and
    tightens the LP relaxation. When no plan reaches ``need``, the
    highest reachable count is found first (maximise ``sum z``), then the
    cheapest plan reaching it, and the status is ``unreachable``.
    """
    need = _need(confidence, sample.trials)
    gaps = sample.target - sample.base
    met = gaps <= 0
    if met.sum() >= need:
        zero = np.zeros(len(sample.slots), dtype=np.int64)
        return SaaSolution(zero, 0.0, int(met.sum()), need, "optimal", "none", "roster alone")
    first = _solve(sample, need, budget, solver, time_limit, gap, maximise=False)
    if first is not None:
        return first
    best = _solve(sample, need, budget, solver, time_limit, gap, maximise=True)
    hits = best.hits if best is not None else int(met.sum())
    cheapest = _solve(sample, hits, budget, solver, time_limit, gap, maximise=False)
    if cheapest is None:  # the roster alone is the best there is
        zero = np.zeros(len(sample.slots), dtype=np.int64)
        return SaaSolution(zero, 0.0, int(met.sum()), need, "unreachable", "none")
    return SaaSolution(
        cheapest.counts,
        cheapest.cost,
        cheapest.hits,
        need,
        "unreachable",
        cheapest.solver,
        cheapest.solver_status,
        cheapest.gap,
        cheapest.seconds + (best.seconds if best is not None else 0.0),
        cheapest.binaries,
    )


def _solve(sample, need, budget, solver, time_limit, gap, maximise) -> SaaSolution | None:
    """One MILP solve; None when no plan reaches ``need`` (or, maximising, none helps)."""
    import pulp

    gaps = sample.target - sample.base
    met = int((gaps <= 0).sum())
    reach = sample.contrib.sum(axis=1) >= gaps
    open_ = np.flatnonzero((gaps > 0) & reach)
    if not maximise and met + open_.size < need:
        return None
    if open_.size == 0:
        return None
    prob = pulp.LpProblem("hiring", pulp.LpMaximize if maximise else pulp.LpMinimize)
    n_cand = sample.cost.size
    y = [prob.add_variable(f"y{k}", 0, 1, cat=pulp.LpBinary) for k in range(n_cand)]
    z = [prob.add_variable(f"z{i}", 0, 1, cat=pulp.LpBinary) for i in open_]
    cost = pulp.LpAffineExpression(list(zip(y, sample.cost.tolist(), strict=True)))
    if maximise:
        prob += pulp.lpSum(z)
    else:
        prob += cost
        prob += pulp.lpSum(z) >= need - met, "confidence"
    coef = np.minimum(1.0, sample.contrib[open_] / gaps[open_, None])
    for row, (i, zi) in enumerate(zip(open_, z, strict=True)):
        nz = np.flatnonzero(coef[row] > 0.0)
        terms = [(y[k], float(coef[row, k])) for k in nz] + [(zi, -1.0)]
        prob += pulp.LpAffineExpression(terms) >= 0, f"trial{i}"
    _limits(prob, sample, y, cost, budget)
    if not maximise:
        _quantile_cuts(prob, sample, y, coef, need - met)

    t0 = time.perf_counter()
    engine = _solver(solver, time_limit, gap)
    with _quiet_stdout():
        prob.solve(engine)
    seconds = time.perf_counter() - t0
    status, sol = pulp.LpStatus[prob.status], pulp.LpSolution[prob.sol_status]
    if prob.sol_status not in (pulp.LpSolutionOptimal, pulp.LpSolutionIntegerFeasible):
        if prob.status == pulp.LpStatusInfeasible or prob.sol_status == pulp.LpSolutionInfeasible:
            return None
        raise OptimiserError(
            f"the {solver} solver found no plan in {time_limit:g} s ({status}, {sol}); "
            "raise --time-limit or lower --trials"
        )
    counts = np.zeros(len(sample.slots), dtype=np.int64)
    for k, var in enumerate(y):
        if var.varValue is not None and var.varValue > 0.5:
            counts[sample.slot[k]] += 1
    hits = int((sample.bookings(counts) >= sample.target).sum())
    proven = prob.sol_status == pulp.LpSolutionOptimal
    log.info("%s: %s / %s in %.2f s, %d binaries", solver, status, sol, seconds, n_cand + len(z))
    return SaaSolution(
        counts,
        sample.plan_cost(counts),
        hits,
        need,
        "optimal" if proven else "time_limit",
        solver,
        f"{status} / {sol}",
        _mip_gap(prob, proven),
        seconds,
        n_cand + len(z),
    )


def _limits(prob, sample, y, cost, budget) -> None:
    import pulp

    for k in range(len(y)):
        nxt = np.flatnonzero(
            (sample.slot == sample.slot[k]) & (sample.ordinal == sample.ordinal[k] + 1)
        )
        for k2 in nxt:
            prob += y[k] >= y[k2], f"order{k}"
    for name, top in sample.max_total.items():
        mine = [y[k] for k in range(len(y)) if sample.slots[sample.slot[k]].segment == name]
        if mine:
            prob += pulp.lpSum(mine) <= top, f"max_total_{name}"
    if budget is not None:
        prob += cost <= budget, "budget"


def _cover_bound(coef: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Per trial, the least ``weight . y`` with ``coef_i . y >= 1`` and ``0 <= y <= 1``.

    The fractional knapsack: take candidates by ``weight / coef`` ascending
    until the row reaches one.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(coef > 0, weight / coef, np.inf)
    order = np.argsort(ratio, axis=1)
    a = np.take_along_axis(coef, order, axis=1)
    w = np.broadcast_to(weight, coef.shape)
    w = np.take_along_axis(w, order, axis=1)
    before = np.cumsum(a, axis=1) - a  # coverage before each candidate
    take = np.clip(1.0 - before, 0.0, a) / np.where(a > 0, a, 1.0)
    return (take * w).sum(axis=1)


def _quantile_cuts(prob, sample, y, coef, still) -> None:
    """Valid cuts from the chance constraint: at least ``still`` open trials are covered.

    Covering trial ``i`` costs at least ``L_i`` (:func:`_cover_bound`) in any
    weight ``w >= 0``, so any plan covering ``still`` of them has
    ``w . y >= `` the ``still``-th smallest ``L_i``. Weights: the costs, the
    number of hires (rounded up: it is an integer), and the number of hires
    per segment. The LP relaxation alone averages over trials and misses this.
    """
    import pulp

    if still <= 0:
        return
    weights = {"cost": sample.cost, "hires": np.ones(sample.cost.size)}
    segments = np.array([sample.slots[j].segment for j in sample.slot])
    for name in dict.fromkeys(segments):
        weights[f"hires_{name}"] = (segments == name).astype(float)
    for name, w in weights.items():
        bound = float(np.sort(_cover_bound(coef, w))[still - 1])
        if name != "cost":
            bound = math.ceil(bound - 1e-9)
        if bound > 0:
            terms = [(y[k], float(w[k])) for k in np.flatnonzero(w)]
            prob += pulp.LpAffineExpression(terms) >= bound, f"quantile_{name}"


@contextmanager
def _quiet_stdout():
    """Silence the solver's C-level banner on file descriptor 1 (msg=False misses it)."""
    sys.stdout.flush()
    try:
        saved = os.dup(1)
    except OSError:  # no real stdout (embedded interpreters): nothing to silence
        yield
        return
    with open(os.devnull, "w") as devnull:
        os.dup2(devnull.fileno(), 1)
        try:
            yield
        finally:
            os.dup2(saved, 1)
            os.close(saved)


def _solver(name: str, time_limit: float, gap: float):
    import pulp

    if name == "highs":
        return pulp.HiGHS(msg=False, timeLimit=time_limit, gapRel=gap, threads=1)
    return pulp.PULP_CBC_CMD(msg=False, timeLimit=time_limit, gapRel=gap)


def _mip_gap(prob, proven: bool) -> float | None:
    """Relative gap the solver reports (HiGHS); 0 when proven, None if unknown."""
    model = getattr(prob, "solverModel", None)
    if model is not None and hasattr(model, "getInfo"):
        return float(model.getInfo().mip_gap)
    return 0.0 if proven else None


# --- exhaustive search (small cases; the MILP's check) ---------------------------------


def exhaustive_search(
    sample: HiringSample, confidence: float, budget: float | None = None
) -> tuple[float, np.ndarray] | None:
    """The cheapest plan reaching the confidence on the sample, by trying every plan.

    Returns ``(cost, counts)``, or None when no plan within the limits and
    budget reaches it. Only for small cases: at most 200,000 plans.
    """
    sizes = [s.max_hires + 1 for s in sample.slots]
    if math.prod(sizes) > _MAX_ENUMERATED:
        raise ValueError(
            f"{math.prod(sizes):,} plans; exhaustive search stops at {_MAX_ENUMERATED:,}"
        )
    need = _need(confidence, sample.trials)
    best: tuple[float, np.ndarray] | None = None
    for counts in itertools.product(*(range(n) for n in sizes)):
        counts = np.array(counts, dtype=np.int64)
        if not _within(sample, counts, budget):
            continue
        cost = sample.plan_cost(counts)
        if best is not None and cost >= best[0]:
            continue
        if (sample.bookings(counts) >= sample.target).sum() >= need:
            best = (cost, counts)
    return best


def _within(sample: HiringSample, counts: np.ndarray, budget: float | None) -> bool:
    """The plan respects per-slot maxima, per-segment totals and the budget."""
    if any(c > s.max_hires or c < 0 for c, s in zip(counts, sample.slots, strict=True)):
        return False
    for name, top in sample.max_total.items():
        if sum(c for c, s in zip(counts, sample.slots, strict=True) if s.segment == name) > top:
            return False
    return budget is None or sample.plan_cost(counts) <= budget * (1 + 1e-9)


# --- the whole job ----------------------------------------------------------------------


def validate_plan(
    scenario: Scenario, hires: list[Hire], seed: int, trials: int, level: float = 0.95
) -> Validation:
    """Re-simulate a plan with the engine and estimate P(first-year bookings >= target)."""
    from rampcast._kernels import engine
    from rampcast.model.build import build_model
    from rampcast.model.monte_carlo import run_model

    model = build_model(_with_plan(scenario, hires, "optimised"))
    raw = run_model(
        model,
        seed,
        trials,
        chunk_trials=scenario.simulation.chunk_trials,
        exact=scenario.simulation.sampler == "exact",
    )
    year = raw[engine.BOOKINGS, :, :YEAR, :].sum(axis=(1, 2))
    hits = int((year >= scenario.targets.annual).sum())
    low, high = wilson_interval(hits, trials, level)
    return Validation(seed, trials, hits / trials, low, high, level, float(year.mean()))


def _check(
    scenario, confidence, budget, trials, seed, solver, time_limit, gap, validation_trials
) -> None:
    if not 0.0 < confidence < 1.0:
        raise OptimiserError(f"confidence must be strictly between 0 and 1; got {confidence}")
    if budget is not None and not (budget >= 0 and math.isfinite(budget)):
        raise OptimiserError(f"budget must be a finite amount >= 0; got {budget}")
    if trials < 10:
        raise OptimiserError(f"trials must be at least 10; got {trials}")
    if validation_trials < 100:
        raise OptimiserError(f"validation trials must be at least 100; got {validation_trials}")
    if not 0 <= seed < 2**63:
        raise OptimiserError(f"seed must be between 0 and 2**63 - 1; got {seed}")
    if solver not in ("highs", "cbc"):
        raise OptimiserError(f"solver must be highs or cbc; got {solver!r}")
    if not time_limit > 0:
        raise OptimiserError(f"time limit must be more than 0 seconds; got {time_limit}")
    if not 0 <= gap < 1:
        raise OptimiserError(f"gap must be in [0, 1); got {gap}")
    if scenario.targets.annual is None:
        raise OptimiserError(
            "the scenario has no targets.annual; the optimiser needs an annual target"
        )


def _budget_check(sample: HiringSample, need: int, budget: float | None) -> None:
    """Refuse a budget that cannot pay for a single hire when hires are needed."""
    if budget is None or (sample.base >= sample.target).sum() >= need:
        return
    first = sample.ordinal == 0
    if not first.any():
        return
    cheapest = float(sample.cost[first].min())
    if budget < cheapest:
        k = np.flatnonzero(first)[np.argmin(sample.cost[first])]
        slot = sample.slots[sample.slot[k]]
        raise OptimiserError(
            f"budget {budget:,.0f} cannot pay for a single hire (the cheapest, "
            f"{slot.segment} in {slot.month:%Y-%m}, costs {cheapest:,.0f} on the "
            f"{sample.cost_basis} basis) and the roster alone does not reach the target "
            "with the confidence asked; raise the budget"
        )


def optimise_hiring(
    scenario: Scenario,
    confidence: float | None = None,
    budget: float | None = None,
    trials: int | None = None,
    seed: int | None = None,
    solver: str | None = None,
    time_limit: float | None = None,
    gap: float | None = None,
    validation_trials: int | None = None,
    validation_seed: int | None = None,
    margin: float | None = None,
) -> HiringPlanResult:
    """Cheapest hiring plan with P(first-year bookings >= target) >= confidence.

    Every argument left as None comes from the scenario's ``optimiser``
    settings (``seed`` from ``simulation.seed``; ``validation_trials``
    defaults to ten times ``trials``, ``validation_seed`` to ``seed + 1``).
    ``margin`` is added to the confidence on the optimisation sample only,
    to offset the optimism of the sample average (see Notes).

    Notes
    -----
    The plan is the cheapest on the sample, so it tends to be just feasible
    there and somewhat below the confidence on new trials. A margin of about
    :math:`1.6\\sqrt{\\alpha(1-\\alpha)/N}` usually covers it; the
    re-simulation says whether it did (``meets_confidence``).

    Returns
    -------
    HiringPlanResult
        The plan, its cost, its probability on the optimisation sample and
        re-simulated, and whether the target is reachable at all.

    Raises
    ------
    OptimiserError
        For a confidence outside (0, 1), no annual target, a horizon under
        12 months, a budget too small for any hire when hires are needed,
        or a solver that finds no plan in its time limit.
    """
    opt = scenario.optimiser
    confidence = opt.confidence if confidence is None else float(confidence)
    budget = opt.budget if budget is None else float(budget)
    trials = opt.trials if trials is None else int(trials)
    seed = scenario.simulation.seed if seed is None else int(seed)
    solver = opt.solver if solver is None else solver
    time_limit = opt.time_limit if time_limit is None else float(time_limit)
    gap = opt.gap if gap is None else float(gap)
    margin = opt.margin if margin is None else float(margin)
    if validation_trials is None:
        validation_trials = opt.validation_trials or 10 * trials
    if validation_seed is None:
        validation_seed = (seed + 1) % 2**63
    _check(scenario, confidence, budget, trials, seed, solver, time_limit, gap, validation_trials)
    if not 0.0 <= margin < 1.0 - confidence:
        raise OptimiserError(
            f"margin must be >= 0 and keep confidence + margin below 1; got {margin}"
        )
    level = confidence + margin

    t0 = time.perf_counter()
    sample = sample_hires(
        scenario,
        candidate_slots(scenario),
        seed,
        trials,
        opt.cost_basis,
        exact=scenario.simulation.sampler == "exact",
    )
    t1 = time.perf_counter()
    need = _need(level, sample.trials)
    _budget_check(sample, need, budget)
    solution = solve_saa(sample, level, budget, solver, time_limit, gap)
    _verify(sample, solution, budget)
    t2 = time.perf_counter()
    hires = _planned(sample, solution.counts)
    validation = validate_plan(
        scenario,
        [Hire(segment=h.segment, month=h.month, count=h.count) for h in hires],
        validation_seed,
        validation_trials,
    )
    t3 = time.perf_counter()
    everything = np.array([s.max_hires for s in sample.slots], dtype=np.int64)
    return HiringPlanResult(
        scenario=scenario.name,
        target=sample.target,
        confidence=confidence,
        margin=margin,
        budget=budget,
        cost_basis=sample.cost_basis,
        hires=tuple(hires),
        cost=solution.cost,
        reachable=solution.reachable,
        sample_probability=solution.hits / sample.trials,
        all_hires_probability=_share(sample, everything),
        roster_probability=float((sample.base >= sample.target).mean()),
        solution=solution,
        sample_trials=sample.trials,
        sample_seed=seed,
        validation=validation,
        timings={
            "sample_s": t1 - t0,
            "solve_s": t2 - t1,
            "validate_s": t3 - t2,
            "total_s": t3 - t0,
        },
    )


def _share(sample: HiringSample, counts: np.ndarray) -> float:
    return float((sample.bookings(counts) >= sample.target).mean())


def _verify(sample: HiringSample, solution: SaaSolution, budget: float | None) -> None:
    """Check the solver's plan against every constraint, on the sample itself."""
    problems = []
    if not _within(sample, solution.counts, budget):
        problems.append("it breaks a hiring limit or the budget")
    hits = int((sample.bookings(solution.counts) >= sample.target).sum())
    if solution.reachable and hits < solution.need:
        problems.append(f"it reaches the target in {hits} trials, not {solution.need}")
    if problems:
        raise OptimiserError("the solver's plan fails verification: " + "; ".join(problems))


def _planned(sample: HiringSample, counts: np.ndarray) -> list[PlannedHires]:
    chosen = sample.chosen(counts)
    out = []
    for j, slot in enumerate(sample.slots):
        if counts[j] > 0:
            cost = float(sample.cost[chosen & (sample.slot == j)].sum())
            out.append(PlannedHires(slot.segment, slot.month, int(counts[j]), cost))
    return out
