"""Simulated attainment: each rep's chance of reaching quota, and targeting it.

Each holder's first-year (and quarterly) bookings are simulated with the
engine, one column per seat (:func:`rampcast.model.monte_carlo.seat_totals`)
on the holders' model: the rep stays in its seat (leaving in the model is
independent of ramp speed, skill, win rate and bookings draws, so this is
attainment given the rep stays). Team bookings come from the scenario as it
is, with attrition, backfill and offer declines.

Attainment is :math:`a_r = B_r / Q_r`; the rep is at quota when
:math:`a_r \\ge 1` (inclusive). Quotas move with the over-assignment but the
sample does not: every trial keeps its draws (common random numbers), so
the share at quota is a non-increasing step function of the quota level and
bisection on it is exact on the sample.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np

from rampcast.errors import QuotaError
from rampcast.quota.setting import YEAR, Holders, QuotaPlan

__all__ = [
    "Attainment",
    "AttainmentSample",
    "Targeting",
    "evaluate",
    "quota_tables",
    "sample_attainment",
    "share_at_quota",
    "target_share_at_quota",
]

log = logging.getLogger(__name__)

QUARTERS = ("Y1Q1", "Y1Q2", "Y1Q3", "Y1Q4")


@dataclass(frozen=True)
class AttainmentSample:
    """Simulated bookings the quotas are judged against.

    Attributes
    ----------
    year : ndarray
        (trial, rep): each holder's first-year bookings, staying in its seat.
    quarters : ndarray
        (quarter, trial, rep): the same by quarter of the quota year.
    team : ndarray
        (trial,): first-year bookings of the whole scenario (all seats, with
        attrition, backfill and declines).
    seed, trials : int
    """

    year: np.ndarray
    quarters: np.ndarray
    team: np.ndarray
    seed: int
    trials: int


def sample_attainment(
    holders: Holders, seed: int, trials: int, exact: bool = False
) -> AttainmentSample:
    """Simulate the holders' bookings and the team's, trial by trial.

    Trial ``i`` draws from the stream of ``(seed, i)`` as in every run.
    """
    from rampcast.model.monte_carlo import seat_totals

    if trials < 1 or seed < 0:
        raise QuotaError(f"trials must be >= 1 and seed >= 0; got {trials}, {seed}")
    cols = holders.seats
    quarters = np.stack(
        [
            seat_totals(holders.model, seed, trials, 3 * q, 3 * q + 2, exact=exact).bookings[
                :, cols
            ]
            for q in range(4)
        ]
    )
    # a seat's draws do not depend on the window summed, so the year is the
    # sum of its quarters: no fifth simulation
    year = quarters.sum(axis=0)
    team = seat_totals(holders.full_model, seed, trials, 0, YEAR - 1, exact=exact)
    return AttainmentSample(year, quarters, team.bookings.sum(axis=1), seed, trials)


def _at_quota(bookings: np.ndarray, quota: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """P(B >= Q) and E[B / Q] per rep; NaN where the quota is zero."""
    live = quota > 0
    safe = np.where(live, quota, 1.0)
    p = np.where(live, (bookings >= safe).mean(axis=0), np.nan)
    mean = np.where(live, (bookings / safe).mean(axis=0), np.nan)
    return p, mean


def share_at_quota(
    quota: np.ndarray, bookings: np.ndarray, ramped: np.ndarray
) -> tuple[float, float]:
    """Expected share of ramped reps at quota and its standard error.

    Per trial :math:`S_i = \\frac{1}{|R|} \\sum_{r \\in R} 1\\{B_{ir} \\ge
    Q_r\\}`; returns :math:`\\bar S` and :math:`\\mathrm{sd}(S) / \\sqrt{N}`.
    """
    if not ramped.any():
        return math.nan, math.nan
    hits = (bookings[:, ramped] >= quota[ramped]).mean(axis=1)
    n = len(hits)
    se = float(hits.std(ddof=1) / math.sqrt(n)) if n > 1 else math.nan
    return float(hits.mean()), se


@dataclass(frozen=True)
class Attainment:
    """Attainment of a quota plan on a sample.

    Attributes
    ----------
    p_at_quota, expected_attainment : ndarray
        (rep,): :math:`P(B_r \\ge Q_r)` and :math:`E[B_r / Q_r]` over the year.
    quarter_p, quarter_attainment : ndarray
        (quarter, rep): the same per quarter (NaN for a zero quota).
    share, share_se : float
        Expected share of ramped reps at quota and its standard error.
    n_ramped : int
        Reps fully ramped in their seat all year.
    p_team_plan, p_team_street : float
        P(team first-year bookings >= plan) and >= street quota.
    """

    p_at_quota: np.ndarray
    expected_attainment: np.ndarray
    quarter_p: np.ndarray
    quarter_attainment: np.ndarray
    share: float
    share_se: float
    n_ramped: int
    p_team_plan: float
    p_team_street: float


def evaluate(plan: QuotaPlan, sample: AttainmentSample) -> Attainment:
    """Each rep's chance of reaching quota, the share at quota, P(team >= plan)."""
    p, mean = _at_quota(sample.year, plan.quota)
    monthly = plan.monthly
    per_quarter = [
        _at_quota(sample.quarters[q], monthly[:, 3 * q : 3 * q + 3].sum(axis=1)) for q in range(4)
    ]
    ramped = plan.holders.ramped_all_year
    share, se = share_at_quota(plan.quota, sample.year, ramped)
    return Attainment(
        p,
        mean,
        np.stack([x[0] for x in per_quarter]),
        np.stack([x[1] for x in per_quarter]),
        share,
        se,
        int(ramped.sum()),
        float((sample.team >= plan.target).mean()),
        float((sample.team >= plan.street_quota).mean()),
    )


@dataclass(frozen=True)
class Targeting:
    """The quota level found for a target share of ramped reps at quota.

    Attributes
    ----------
    plan : QuotaPlan
        Quotas at the over-assignment found.
    target, tolerance : float
        The share asked for and the tolerance stated for it.
    share, share_se : float
        The share reached on the sample and its standard error.
    status : str
        ``within tolerance``; ``not within tolerance`` (the step of the
        sample's share at the solution is larger than the tolerance: add
        trials); ``unreachable: ...`` when even the end of the allowed
        over-assignment range misses the target.
    iterations : int
    """

    plan: QuotaPlan
    target: float
    tolerance: float
    share: float
    share_se: float
    status: str
    iterations: int

    @property
    def within_tolerance(self) -> bool:
        return self.status == "within tolerance"


def target_share_at_quota(
    plan: QuotaPlan,
    sample: AttainmentSample,
    target: float,
    tolerance: float = 0.005,
    lowest: float = -0.9,
    highest: float = 5.0,
    max_iter: int = 100,
) -> Targeting:
    """Bisect the over-assignment so ramped reps reach quota with share ``target``.

    Quotas :math:`Q_r(x)` rise with :math:`x` (scaling with clipping is
    monotone), so on a fixed sample the share at quota :math:`s(x)` is
    non-increasing. The search keeps :math:`s(x_{lo}) \\ge` target
    :math:`> s(x_{hi})` and returns whichever end is closer to the target.
    The range is ``[lowest, highest]`` cut to what the bounds allow; an
    answer below 0 means quotas under plan.

    Raises
    ------
    QuotaError
        When ``target`` is not in (0, 1) or no rep is ramped all year.
    """
    if not (0.0 < target < 1.0):
        raise QuotaError(f"target share at quota must be strictly between 0 and 1; got {target}")
    if not (0.0 < tolerance < 1.0):
        raise QuotaError(f"tolerance must be in (0, 1); got {tolerance}")
    ramped = plan.holders.ramped_all_year
    if not ramped.any():
        raise QuotaError(
            "no rep is fully ramped in its seat for the whole quota year, "
            "so the share of ramped reps at quota is undefined"
        )
    least, most = plan.over_assignment_range()
    lo_x, hi_x = max(lowest, least), min(highest, most)

    def share(x: float) -> tuple[float, float, QuotaPlan]:
        at = plan.at(x)
        s, se = share_at_quota(at.quota, sample.year, ramped)
        return s, se, at

    s_lo, se_lo, p_lo = share(lo_x)
    s_hi, se_hi, p_hi = share(hi_x)
    if s_lo < target:
        return Targeting(
            p_lo,
            target,
            tolerance,
            s_lo,
            se_lo,
            f"unreachable: {s_lo:.1%} at the lowest over-assignment allowed ({lo_x:+.1%})",
            0,
        )
    if s_hi >= target:
        return Targeting(
            p_hi,
            target,
            tolerance,
            s_hi,
            se_hi,
            f"unreachable: {s_hi:.1%} at the highest over-assignment allowed ({hi_x:+.1%})",
            0,
        )
    iterations = 0
    while hi_x - lo_x > 1e-12 * max(1.0, abs(hi_x)) and iterations < max_iter:
        iterations += 1
        mid = 0.5 * (lo_x + hi_x)
        s_mid, se_mid, p_mid = share(mid)
        if s_mid >= target:
            lo_x, s_lo, se_lo, p_lo = mid, s_mid, se_mid, p_mid
        else:
            hi_x, s_hi, se_hi, p_hi = mid, s_mid, se_mid, p_mid
    if s_lo - target <= target - s_hi:
        best = (p_lo, s_lo, se_lo)
    else:
        best = (p_hi, s_hi, se_hi)
    status = "within tolerance" if abs(best[1] - target) <= tolerance else "not within tolerance"
    log.info(
        "share at quota %.4f (target %.4f) at over-assignment %.4f after %d steps",
        best[1],
        target,
        best[0].over_assignment,
        iterations,
    )
    return Targeting(best[0], target, tolerance, best[1], best[2], status, iterations)


def quota_tables(plan: QuotaPlan, result: Attainment, targeting: Targeting | None = None):
    """``quotas.csv`` and ``summary.csv`` as data frames.

    ``quotas``: one row per rep and quarter of the quota year, then the
    year (``Y1``): quota (to the cent), whether the rep is fully ramped in
    the seat through the period, P(attainment >= 100%) and expected
    attainment. ``summary``: one row per figure (``item, value, note``).
    """
    import pandas as pd

    h = plan.holders
    monthly = plan.monthly
    rows = []
    for i, rep in enumerate(h.reps):
        for q, label in enumerate(QUARTERS):
            months = slice(3 * q, 3 * q + 3)
            rows.append(
                (
                    rep,
                    h.segments[i],
                    label,
                    monthly[i, months].sum(),
                    bool(h.ramped[i, months].all()),
                    result.quarter_p[q, i],
                    result.quarter_attainment[q, i],
                )
            )
        rows.append(
            (
                rep,
                h.segments[i],
                "Y1",
                plan.quota[i],
                bool(h.ramped_all_year[i]),
                result.p_at_quota[i],
                result.expected_attainment[i],
            )
        )
    quotas = pd.DataFrame(
        rows,
        columns=[
            "rep",
            "segment",
            "quarter",
            "quota",
            "ramped",
            "p_at_quota",
            "expected_attainment",
        ],
    )
    quotas["quota"] = quotas["quota"].round(2)
    for col in ("p_at_quota", "expected_attainment"):
        quotas[col] = quotas[col].round(6)

    items = [
        ("target", round(plan.target, 2), "plan: first-year bookings target"),
        ("street_quota", round(plan.street_quota, 2), "sum of first-year quotas"),
        ("over_assignment", round(plan.over_assignment, 6), "x in street quota = (1 + x) * plan"),
        (
            "attainment_factor",
            round(plan.attainment_factor, 6),
            "plan / street quota = 1 / (1 + x)",
        ),
        (
            "share_at_quota",
            round(result.share, 6),
            f"expected share of the {result.n_ramped} reps ramped all year with "
            "attainment >= 100% (inclusive)",
        ),
        ("share_at_quota_se", round(result.share_se, 6), "standard error of the share"),
        (
            "p_team_reaches_plan",
            round(result.p_team_plan, 6),
            "P(team first-year bookings >= plan), attrition and backfill included",
        ),
        (
            "p_team_reaches_street_quota",
            round(result.p_team_street, 6),
            "P(team first-year bookings >= street quota)",
        ),
    ]
    if targeting is not None:
        items += [
            ("target_share_at_quota", targeting.target, f"tolerance {targeting.tolerance:g}"),
            (
                "targeting_status",
                targeting.status,
                f"bisection on the over-assignment, {targeting.iterations} steps",
            ),
        ]
    summary = pd.DataFrame(items, columns=["item", "value", "note"])
    return quotas, summary
