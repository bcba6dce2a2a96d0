"""Plain-words reasons why no assignment can meet the constraints, found before solving.

Each check is a necessary condition of feasibility, so a reason it reports is
a proof of infeasibility. Passing every check does not prove feasibility:
accounts can be too lumpy to fit a narrow band; the solver then proves it
and :func:`rampcast.territory.assign_territories` says so.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rampcast.territory.data import Instance
from rampcast.territory.formulation import Bounds, Options

__all__ = ["Reason", "explain"]


@dataclass(frozen=True)
class Reason:
    """One cause of infeasibility.

    Attributes
    ----------
    kind : str
        ``no_reps``, ``lock_segment``, ``max_accounts``, ``lock_over_bound``,
        ``lock_over_max``, ``account_too_big``, ``segment_capacity``,
        ``rep_unreachable``.
    message : str
        What is wrong, in words, with the numbers.
    soft_fixable : bool
        Whether the soft-balance variant gets past it.
    """

    kind: str
    message: str
    soft_fixable: bool


def _fmt(x: float) -> str:
    return f"{x:,.6g}"


def _group_name(inst: Instance, opts: Options, g: int) -> str:
    return "all segments" if opts.cross_segment else f"segment {inst.segments[g]!r}"


def explain(inst: Instance, opts: Options, b: Bounds) -> list[Reason]:
    """Every detectable reason the hard model is infeasible (empty when none found)."""
    reasons: list[Reason] = []
    tol = f"+/-{opts.tolerance:.0%}"
    for g in range(b.n_groups):
        accs = np.flatnonzero(b.account_group == g)
        reps = np.flatnonzero(b.rep_group == g)
        name = _group_name(inst, opts, g)
        if accs.size and not reps.size:
            reasons.append(
                Reason(
                    "no_reps",
                    f"{name} has {accs.size} accounts (potential "
                    f"{_fmt(b.total[g])}) but no rep to take them",
                    False,
                )
            )
            continue
        if not accs.size:
            continue
        reasons += _capacity_checks(inst, opts, b, g, accs, reps, name, tol)
        reasons += _lock_checks(inst, opts, b, reps, tol)
        reasons += _account_checks(inst, opts, b, accs, reps, name, tol)
        reasons += _reach_checks(inst, b, accs, reps, tol)
    return reasons


def _capacity_checks(inst, opts, b, g, accs, reps, name, tol) -> list[Reason]:
    out = []
    cap = b.cap[reps].sum()
    if cap < accs.size:
        out.append(
            Reason(
                "max_accounts",
                f"{name} has {accs.size} accounts but its reps' max_accounts add up to {cap:g}",
                False,
            )
        )
    most = sum(_most(inst, b, accs, r) for r in reps)
    if most < b.total[g] * (1 - 1e-9):
        out.append(
            Reason(
                "segment_capacity",
                f"the reps of {name} can carry at most "
                f"{_fmt(most)} of potential at {tol} (upper bounds, and "
                f"max_accounts of the largest accounts each may take), less than "
                f"its total {_fmt(b.total[g])}",
                True,
            )
        )
    if b.lo[reps].sum() > b.total[g] * (1 + 1e-9):
        out.append(
            Reason(
                "segment_capacity",
                f"the reps of {name} need at least "
                f"{_fmt(b.lo[reps].sum())} of potential at {tol}, more than its "
                f"total {_fmt(b.total[g])}",
                True,
            )
        )
    return out


def _lock_checks(inst, opts, b, reps, tol) -> list[Reason]:
    out = []
    locked = inst.locked
    owner = np.where(locked, inst.owner, -1)
    if not opts.cross_segment:
        cross = np.flatnonzero(
            locked & (inst.rep_segment[np.maximum(owner, 0)] != inst.segment) & (owner >= 0)
        )
        for a in cross[:5]:
            out.append(
                Reason(
                    "lock_segment",
                    f"account {inst.accounts[a]!r} (segment "
                    f"{inst.segments[inst.segment[a]]!r}) is locked to rep "
                    f"{inst.reps[owner[a]]!r} of segment "
                    f"{inst.segments[inst.rep_segment[owner[a]]]!r}",
                    False,
                )
            )
    mask = owner >= 0
    lp = np.bincount(owner[mask], weights=inst.potential[mask], minlength=inst.n_reps)
    lw = np.bincount(owner[mask], weights=inst.workload[mask], minlength=inst.n_reps)
    lc = np.bincount(owner[mask], minlength=inst.n_reps)
    for r in reps:
        if lp[r] > b.hi[r] * (1 + 1e-9):
            out.append(
                Reason(
                    "lock_over_bound",
                    f"rep {inst.reps[r]!r} keeps {lc[r]} locked "
                    f"accounts with potential {_fmt(lp[r])}, above its upper bound "
                    f"{_fmt(b.hi[r])} (target {_fmt(b.hi[r] / (1 + opts.tolerance))}"
                    f" {tol})",
                    True,
                )
            )
        if lw[r] > b.whi[r] * (1 + 1e-9):
            out.append(
                Reason(
                    "lock_over_bound",
                    f"rep {inst.reps[r]!r} keeps locked accounts "
                    f"with workload {_fmt(lw[r])}, above its workload upper bound "
                    f"{_fmt(b.whi[r])}",
                    True,
                )
            )
        if lc[r] > b.cap[r]:
            out.append(
                Reason(
                    "lock_over_max",
                    f"rep {inst.reps[r]!r} keeps {lc[r]} locked "
                    f"accounts, more than its max_accounts {b.cap[r]:g}",
                    False,
                )
            )
    return out


def _account_checks(inst, opts, b, accs, reps, name, tol) -> list[Reason]:
    out = []
    free = accs[~inst.locked[accs]]
    top = b.hi[reps].max()
    big = free[inst.potential[free] > top * (1 + 1e-9)]
    for a in big[:5]:
        out.append(
            Reason(
                "account_too_big",
                f"account {inst.accounts[a]!r} alone has "
                f"potential {_fmt(inst.potential[a])}, more than any rep of {name} "
                f"may carry at {tol} (largest upper bound {_fmt(top)})",
                True,
            )
        )
    if big.size > 5:
        out.append(Reason("account_too_big", f"... and {big.size - 5} more such accounts", True))
    return out


def _reach_checks(inst, b, accs, reps, tol) -> list[Reason]:
    """A rep whose lower bound exceeds all it could possibly be given."""
    out = []
    for r in reps:
        if b.lo[r] <= 0:
            continue
        most = _most(inst, b, accs, r)
        if most < b.lo[r] * (1 - 1e-9):
            out.append(
                Reason(
                    "rep_unreachable",
                    f"rep {inst.reps[r]!r} needs at least "
                    f"{_fmt(b.lo[r])} of potential at {tol}, but the accounts it "
                    f"may take add up to at most {_fmt(most)}",
                    True,
                )
            )
    return out


def _most(inst: Instance, b: Bounds, accs: np.ndarray, r: int) -> float:
    """Most potential rep ``r`` can hold: its upper bound, or its largest eligible accounts."""
    mine = accs[~inst.locked[accs] | (inst.owner[accs] == r)]
    p = np.sort(inst.potential[mine][inst.potential[mine] <= b.hi[r] * (1 + 1e-9)])[::-1]
    cap = b.cap[r]
    largest = p[: int(cap)].sum() if np.isfinite(cap) else p.sum()
    return float(min(largest, b.hi[r]))
