"""Tables and balance metrics of a territory assignment.

Balance is measured on each rep's potential relative to its target,
:math:`q_r = P_r / T_r` (reps with a zero target are left out):

* max/min ratio :math:`\\max_r q_r / \\min_r q_r` (1 is perfect balance);
* coefficient of variation :math:`\\mathrm{sd}(q) / \\mathrm{mean}(q)`;
* Gini coefficient of :math:`q`, :math:`\\sum_{i,j} |q_i - q_j| / (2 n^2 \\bar q)`.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from rampcast.territory.formulation import deviations, haversine_km
from rampcast.territory.solve import TerritoryResult

__all__ = ["assignment_table", "rep_table", "balance", "gini", "metrics"]


def gini(values: np.ndarray) -> float:
    """Gini coefficient of non-negative values (0 when all are equal).

    Examples
    --------
    >>> gini(np.array([1.0, 1.0, 1.0]))
    0.0
    >>> round(gini(np.array([0.0, 0.0, 3.0])), 4)
    0.6667
    """
    v = np.sort(np.asarray(values, dtype=float))
    n = v.size
    if n == 0 or v.sum() <= 0:
        return 0.0
    ranks = np.arange(1, n + 1)
    return float(np.sum((2 * ranks - n - 1) * v) / (n * v.sum()))


def balance(load: np.ndarray, target: np.ndarray) -> dict[str, float]:
    """Max/min ratio, coefficient of variation and Gini of ``load / target``."""
    keep = target > 0
    q = load[keep] / target[keep]
    if q.size == 0:
        return {
            "max_min_ratio": math.nan,
            "cv": math.nan,
            "gini": math.nan,
            "min_ratio_to_target": math.nan,
            "max_ratio_to_target": math.nan,
        }
    low = q.min()
    return {
        "max_min_ratio": float(q.max() / low) if low > 0 else math.inf,
        "cv": float(q.std() / q.mean()) if q.mean() > 0 else math.nan,
        "gini": gini(q),
        "min_ratio_to_target": float(low),
        "max_ratio_to_target": float(q.max()),
    }


def _moved(res: TerritoryResult) -> np.ndarray:
    return res.assign != res.instance.owner


def assignment_table(res: TerritoryResult) -> pd.DataFrame:
    """One row per account: ``account, rep, previous_owner, moved, potential,
    workload, segment`` (and ``distance_km`` where locations are known)."""
    inst = res.instance
    table = pd.DataFrame(
        {
            "account": list(inst.accounts),
            "rep": np.asarray(inst.reps, dtype=object)[res.assign],
            "previous_owner": list(inst.owner_label),
            "moved": _moved(res),
            "potential": inst.potential,
            "workload": inst.workload,
            "segment": np.asarray(inst.segments, dtype=object)[inst.segment],
        }
    )
    d = haversine_km(inst.lat, inst.lon, inst.rep_lat[res.assign], inst.rep_lon[res.assign])
    if np.isfinite(d).any():
        table["distance_km"] = d
    return table


def rep_table(res: TerritoryResult) -> pd.DataFrame:
    """One row per rep: ``rep, segment, potential, workload, target_share, share,
    accounts, moved_in, moved_out``, then ``target_potential, lower, upper,
    deviation`` (potential outside the band; 0 under hard balance).

    ``share`` and ``target_share`` are fractions of the rep's balance group
    (its segment, or everything with ``cross_segment``).
    """
    inst, b = res.instance, res.bounds
    load, work, count, under, over, _, _ = deviations(inst, b, res.assign)
    moved = _moved(res)
    moved_in = np.bincount(res.assign[moved], minlength=inst.n_reps)
    owned = moved & (inst.owner >= 0)
    moved_out = np.bincount(inst.owner[owned], minlength=inst.n_reps)
    total = b.total[b.rep_group]
    target = (b.lo + b.hi) / 2
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(total > 0, load / total, 0.0)
        target_share = np.where(total > 0, target / total, 0.0)
    return pd.DataFrame(
        {
            "rep": list(inst.reps),
            "segment": np.asarray(inst.segments, dtype=object)[inst.rep_segment],
            "potential": load,
            "workload": work,
            "target_share": target_share,
            "share": share,
            "accounts": count,
            "moved_in": moved_in,
            "moved_out": moved_out,
            "target_potential": target,
            "lower": b.lo,
            "upper": b.hi,
            "deviation": over - under,
        }
    )


def metrics(res: TerritoryResult) -> dict:
    """Balance, disruption and solver figures, ready for ``metrics.json``."""
    inst, b = res.instance, res.bounds
    load, work, count, under, over, wunder, wover = deviations(inst, b, res.assign)
    target = (b.lo + b.hi) / 2
    moved = _moved(res)
    d = haversine_km(inst.lat, inst.lon, inst.rep_lat[res.assign], inst.rep_lon[res.assign])
    known = np.isfinite(d)

    def num(x):
        return None if x is None or not math.isfinite(x) else float(x)

    return {
        "accounts": inst.n_accounts,
        "reps": inst.n_reps,
        "segments": list(inst.segments),
        "tolerance": res.options.tolerance,
        "workload_tolerance": res.options.workload_tolerance,
        "distance_weight": res.options.distance_weight,
        "soft": res.options.soft,
        "penalty": res.options.penalty if res.options.soft else None,
        "target_shares_from": inst.share_source,
        "balance": balance(load, target),
        "balance_by_segment": {
            inst.segments[g]: balance(load[b.rep_group == g], target[b.rep_group == g])
            for g in range(b.n_groups)
            if not res.options.cross_segment
        },
        "deviation": {
            "potential_below_band": float(under.sum()),
            "potential_above_band": float(over.sum()),
            "workload_below_band": float(wunder.sum()),
            "workload_above_band": float(wover.sum()),
            "reps_outside_band": int(((under > 1e-6) | (over > 1e-6)).sum()),
        },
        "moved": {
            "accounts": int(moved.sum()),
            "potential": float(inst.potential[moved].sum()),
            "potential_share": float(
                inst.potential[moved].sum() / max(inst.potential.sum(), 1e-12)
            ),
            "accounts_without_known_owner": int((inst.owner < 0).sum()),
        },
        "distance_km": {
            "potential_weighted_mean": num(
                float(
                    np.sum(d[known] * inst.potential[known])
                    / max(inst.potential[known].sum(), 1e-12)
                )
                if known.any()
                else None
            )
        },
        "solver": {
            "name": res.solver,
            "status": res.status,
            "solver_status": res.solver_status,
            "strategy": res.strategy,
            "objective": res.objective,
            "bound": num(res.bound),
            "bound_kind": res.bound_kind,
            "gap": num(res.gap),
            "gap_absolute": num(res.objective - res.bound),
            "requested_gap": res.requested_gap,
            "candidate_bound_not_valid_for_full_model": num(res.candidate_bound),
            "binaries": res.binaries,
            "full_pairs": res.full_pairs,
            "wall_seconds": res.seconds,
            "time_to_first_feasible": res.time_to_first,
            "time_to_requested_gap": res.time_to_gap,
            "notes": res.notes,
        },
    }
