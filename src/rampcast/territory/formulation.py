"""The assignment model's data: eligible pairs, costs and balance bounds as arrays.

Every solver path (PuLP in :mod:`.model`, HiGHS arrays in :mod:`.matrix`, the
large-instance strategy in :mod:`.large`) takes its numbers from here, so
they solve the same model. The formulation is in ``docs/territories.md``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from rampcast.territory.data import Instance, shares_from_weights

__all__ = [
    "Options",
    "Bounds",
    "bounds",
    "pair_cost",
    "eligible_pairs",
    "objective",
    "violations",
    "pair_mask",
    "deviations",
    "haversine_km",
    "EARTH_RADIUS_KM",
]

EARTH_RADIUS_KM = 6371.0088
_REL = 1e-7  # relative slack when checking a balance bound on a returned assignment


@dataclass(frozen=True)
class Options:
    """Model options.

    Attributes
    ----------
    tolerance : float
        Each rep's potential lies within ``(1 +/- tolerance) x target``.
    workload_tolerance : float or None
        The same band on workload; None leaves workload free.
    distance_weight : float
        Weight ``W`` of the distance term: an account of potential ``p``
        ``d`` km from its rep's home costs ``W * p * d``, against ``p`` for
        moving it away from its owner. Where locations are missing and both
        account and rep give a region, a region mismatch counts as ``d = 1``.
    soft : bool
        Balance becomes penalised: deviation outside the band costs
        ``penalty`` per unit of potential (or workload).
    penalty : float
        Price of one unit of deviation in the soft variant.
    cross_segment : bool
        Any rep may take any account; balance is then against the grand total.
    """

    tolerance: float = 0.10
    workload_tolerance: float | None = None
    distance_weight: float = 0.0
    soft: bool = False
    penalty: float = 10.0
    cross_segment: bool = False

    def __post_init__(self):
        if not (0.0 <= self.tolerance < 1.0):
            raise ValueError(f"tolerance must be in [0, 1); got {self.tolerance}")
        wt = self.workload_tolerance
        if wt is not None and not (0.0 <= wt < 1.0):
            raise ValueError(f"workload_tolerance must be in [0, 1); got {wt}")
        if not (self.distance_weight >= 0 and math.isfinite(self.distance_weight)):
            raise ValueError(
                f"distance_weight must be finite and >= 0; got {self.distance_weight}"
            )
        if not (self.penalty > 0 and math.isfinite(self.penalty)):
            raise ValueError(f"penalty must be finite and > 0; got {self.penalty}")


@dataclass(frozen=True)
class Bounds:
    """Balance bounds per rep, and the balance group of each account and rep.

    ``lo[r] = (1 - tol) * share[r] * P[g]`` and ``hi[r] = (1 + tol) * share[r]
    * P[g]`` where ``P[g]`` is the potential of rep ``r``'s group ``g`` (its
    segment, or everything with ``cross_segment``). ``wlo``/``whi`` are the
    workload band (``-inf``/``inf`` when workload is free).
    """

    account_group: np.ndarray
    rep_group: np.ndarray
    n_groups: int
    lo: np.ndarray
    hi: np.ndarray
    wlo: np.ndarray
    whi: np.ndarray
    cap: np.ndarray
    total: np.ndarray
    workload_total: np.ndarray


def bounds(inst: Instance, opts: Options) -> Bounds:
    """Balance bounds of every rep under ``opts``."""
    if opts.cross_segment:
        account_group = np.zeros(inst.n_accounts, dtype=np.int64)
        rep_group = np.zeros(inst.n_reps, dtype=np.int64)
        n_groups = 1
    else:
        account_group, rep_group = inst.segment, inst.rep_segment
        n_groups = len(inst.segments)
    share = shares_from_weights(inst.weight, rep_group, n_groups)
    total = np.bincount(account_group, weights=inst.potential, minlength=n_groups)
    wtotal = np.bincount(account_group, weights=inst.workload, minlength=n_groups)
    target = share * total[rep_group]
    tol = opts.tolerance
    if opts.workload_tolerance is None:
        wlo = np.full(inst.n_reps, -np.inf)
        whi = np.full(inst.n_reps, np.inf)
    else:
        wt = share * wtotal[rep_group]
        wlo = (1 - opts.workload_tolerance) * wt
        whi = (1 + opts.workload_tolerance) * wt
    return Bounds(
        account_group,
        rep_group,
        n_groups,
        (1 - tol) * target,
        (1 + tol) * target,
        wlo,
        whi,
        inst.max_accounts.copy(),
        total,
        wtotal,
    )


def haversine_km(lat1, lon1, lat2, lon2) -> np.ndarray:
    """Great-circle distance in km (NaN where a location is missing)."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp = p2 - p1
    dl = np.radians(np.asarray(lon2) - np.asarray(lon1))
    h = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))


def _distance(inst: Instance, a: np.ndarray, r: np.ndarray) -> np.ndarray:
    d = haversine_km(inst.lat[a], inst.lon[a], inst.rep_lat[r], inst.rep_lon[r])
    missing = ~np.isfinite(d)
    if missing.any():
        region = np.asarray(inst.region, dtype=object)
        rep_region = np.asarray(inst.rep_region, dtype=object)
        ra, rr = region[a[missing]], rep_region[r[missing]]
        known = (ra != "") & (rr != "")
        d[missing] = np.where(known, (ra != rr).astype(float), 0.0)
    return d


def pair_cost(inst: Instance, opts: Options, a: np.ndarray, r: np.ndarray) -> np.ndarray:
    """Objective coefficient of assigning account ``a`` to rep ``r`` (vectorised).

    ``c[a, r] = p[a] * [r != owner[a]] + W * p[a] * d(a, r)``; an account
    without a known owner counts as moved whoever takes it.
    """
    a = np.asarray(a, dtype=np.int64)
    r = np.asarray(r, dtype=np.int64)
    p = inst.potential[a]
    cost = p * (r != inst.owner[a])
    if opts.distance_weight > 0:
        cost = cost + opts.distance_weight * p * _distance(inst, a, r)
    return cost


def eligible_pairs(
    inst: Instance, opts: Options, b: Bounds, accounts: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """All eligible (account, rep) pairs, sorted by account.

    Eligible: same group; a locked account only with its owner; under hard
    balance, not a rep whose upper bound the account alone exceeds, nor a rep
    with ``max_accounts`` 0 (such a pair can never be in a feasible answer).
    """
    if accounts is None:
        accounts = np.arange(inst.n_accounts)
    reps_of = [np.flatnonzero(b.rep_group == g) for g in range(b.n_groups)]
    ag = b.account_group[accounts]
    counts = np.array([len(reps_of[g]) for g in range(b.n_groups)], dtype=np.int64)[ag]
    a = np.repeat(accounts, counts)
    r = np.concatenate([reps_of[g] for g in ag]) if len(ag) else np.zeros(0, np.int64)
    keep = pair_mask(inst, opts, b, a, r)
    return a[keep], r[keep]


def pair_mask(
    inst: Instance, opts: Options, b: Bounds, a: np.ndarray, r: np.ndarray
) -> np.ndarray:
    """Which of the pairs ``(a[k], r[k])`` are eligible (see :func:`eligible_pairs`)."""
    keep = b.account_group[a] == b.rep_group[r]
    keep &= ~inst.locked[a] | (r == inst.owner[a])
    keep &= b.cap[r] > 0
    if not opts.soft:
        keep &= inst.potential[a] <= b.hi[r] * (1 + _REL) + 1e-9
        if opts.workload_tolerance is not None:
            keep &= inst.workload[a] <= b.whi[r] * (1 + _REL) + 1e-9
    return keep


def deviations(inst: Instance, b: Bounds, assign: np.ndarray) -> tuple[np.ndarray, ...]:
    """Per rep: potential, workload, accounts, and the shortfall / excess vs the bands."""
    load = np.bincount(assign, weights=inst.potential, minlength=inst.n_reps)
    work = np.bincount(assign, weights=inst.workload, minlength=inst.n_reps)
    count = np.bincount(assign, minlength=inst.n_reps)
    under = np.maximum(b.lo - load, 0.0)
    over = np.maximum(load - b.hi, 0.0)
    wunder = np.maximum(b.wlo - work, 0.0)
    wover = np.maximum(work - b.whi, 0.0)
    return load, work, count, under, over, wunder, wover


def objective(inst: Instance, opts: Options, b: Bounds, assign: np.ndarray) -> float:
    """The model's objective for a complete assignment (soft penalty included)."""
    a = np.arange(inst.n_accounts)
    value = float(pair_cost(inst, opts, a, assign).sum())
    if opts.soft:
        _, _, _, under, over, wunder, wover = deviations(inst, b, assign)
        value += opts.penalty * float(under.sum() + over.sum() + wunder.sum() + wover.sum())
    return value


def violations(inst: Instance, opts: Options, b: Bounds, assign: np.ndarray) -> list[str]:
    """What a returned assignment breaks; empty when it meets every constraint.

    Checks coverage (one valid rep per account), eligibility, locks,
    ``max_accounts`` and, unless ``opts.soft``, the balance bands.
    """
    assign = np.asarray(assign)
    found = []
    if assign.shape != (inst.n_accounts,):
        return [f"assignment has shape {assign.shape}, expected ({inst.n_accounts},)"]
    bad = np.flatnonzero((assign < 0) | (assign >= inst.n_reps))
    if bad.size:
        return [f"{bad.size} accounts have no rep (first: {inst.accounts[bad[0]]!r})"]
    wrong = np.flatnonzero(b.account_group != b.rep_group[assign])
    if wrong.size:
        found.append(
            f"{wrong.size} accounts assigned outside their segment "
            f"(first: {inst.accounts[wrong[0]]!r})"
        )
    moved_lock = np.flatnonzero(inst.locked & (assign != inst.owner))
    if moved_lock.size:
        found.append(
            f"{moved_lock.size} locked accounts moved (first: {inst.accounts[moved_lock[0]]!r})"
        )
    load, work, count, under, over, wunder, wover = deviations(inst, b, assign)
    full = np.flatnonzero(count > b.cap)
    if full.size:
        found.append(f"{full.size} reps above max_accounts (first: {inst.reps[full[0]]!r})")
    if not opts.soft:
        slack = _REL * np.maximum(np.abs(b.hi), 1.0) + 1e-6
        for name, dev in (
            ("below its potential band", under),
            ("above its potential band", over),
            ("below its workload band", wunder),
            ("above its workload band", wover),
        ):
            hit = np.flatnonzero(dev > slack)
            if hit.size:
                found.append(
                    f"{hit.size} reps {name} (first: {inst.reps[hit[0]]!r}, by {dev[hit[0]]:.6g})"
                )
    return found
