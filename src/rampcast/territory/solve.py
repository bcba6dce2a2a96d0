"""Assign territories: check, explain, solve, verify, and label the result."""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field

import numpy as np

from rampcast.errors import InfeasibleError, RampcastError
from rampcast.territory.data import Instance
from rampcast.territory.explain import Reason, explain
from rampcast.territory.formulation import (
    Bounds,
    Options,
    bounds,
    eligible_pairs,
    objective,
    pair_cost,
    violations,
)

__all__ = ["TerritoryResult", "SolverError", "assign_territories", "EXACT_MAX_PAIRS"]

log = logging.getLogger(__name__)

EXACT_MAX_PAIRS = 20_000
"""Above this many eligible pairs, ``strategy="auto"`` takes the large-instance path."""


class SolverError(RampcastError, RuntimeError):
    """The solver returned no assignment within its limits (not a proof of infeasibility)."""


@dataclass(frozen=True)
class TerritoryResult:
    """A verified assignment and how it was found.

    Attributes
    ----------
    assign : ndarray of int
        Rep index of each account.
    objective : float
        Potential moved plus the distance term (plus the soft penalty).
    bound : float
        A valid lower bound of the optimum of the full model (``-inf`` if
        none); ``bound_kind`` says where it comes from.
    gap : float
        ``(objective - bound) / objective`` (0 when both are 0; ``inf`` when
        there is no bound).
    status : str
        ``optimal`` (within the requested gap of the bound), ``feasible``.
    candidate_bound : float or None
        Large path only: the MIP dual bound of the pruned model, valid for
        the pruned model only.
    time_to_first, time_to_gap : float or None
        Seconds to the first feasible assignment, and to the first one
        within the requested gap of the final bound (after the fact).
    """

    instance: Instance
    options: Options
    bounds: Bounds
    assign: np.ndarray
    objective: float
    bound: float
    bound_kind: str
    gap: float
    status: str
    solver: str
    solver_status: str
    strategy: str
    seconds: float
    binaries: int
    full_pairs: int
    requested_gap: float
    candidate_bound: float | None = None
    time_to_first: float | None = None
    time_to_gap: float | None = None
    incumbents: list[tuple[float, float]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def relative_gap(value: float, bound: float) -> float:
    """``(value - bound) / |value|``, 0 when both are 0, ``inf`` without a bound."""
    if not math.isfinite(bound):
        return math.inf
    diff = max(value - bound, 0.0)
    if abs(value) <= 1e-9:
        return 0.0 if diff <= 1e-9 else math.inf
    return diff / abs(value)


def _check(inst: Instance, opts: Options, b: Bounds) -> list[Reason]:
    reasons = explain(inst, opts, b)
    blocking = [x for x in reasons if not opts.soft or not x.soft_fixable]
    if blocking:
        label = "soft-balance " if opts.soft else ""
        hint = "" if opts.soft else "; widen --tolerance, unlock accounts, or use --soft"
        raise InfeasibleError(
            f"no {label}territory assignment can meet the constraints{hint}",
            [x.message for x in blocking],
        )
    return reasons


def assign_territories(
    inst: Instance,
    opts: Options | None = None,
    *,
    solver: str = "highs",
    time_limit: float = 60.0,
    gap: float = 0.01,
    strategy: str = "auto",
    k: int = 16,
    threads: int | None = None,
) -> TerritoryResult:
    """Assign every account to one rep: balanced, with little disruption.

    Parameters
    ----------
    inst
        Accounts, reps and target shares (:func:`~rampcast.territory.load_instance`).
    opts
        Tolerance, soft variant, distance weight (:class:`Options`).
    solver
        ``highs`` or ``cbc`` (exact path); the large path always uses HiGHS.
    time_limit, gap
        Solver limits: seconds, and the relative gap at which to stop.
    strategy
        ``exact`` (PuLP over all eligible pairs), ``large`` (see
        :mod:`rampcast.territory.large`) or ``auto`` (exact up to
        :data:`EXACT_MAX_PAIRS` pairs).

    Raises
    ------
    InfeasibleError
        Before solving, when a check finds why no assignment can exist; or
        when the solver proves infeasibility.
    SolverError
        When no assignment was found within the time limit.
    """
    opts = opts or Options()
    if solver not in ("highs", "cbc"):
        raise ValueError(f"solver must be 'highs' or 'cbc'; got {solver!r}")
    if not (time_limit > 0):
        raise ValueError(f"time_limit must be > 0 seconds; got {time_limit}")
    if not (0 <= gap < 1):
        raise ValueError(f"gap must be in [0, 1); got {gap}")
    if strategy not in ("auto", "exact", "large"):
        raise ValueError(f"strategy must be auto, exact or large; got {strategy!r}")
    t0 = time.perf_counter()
    b = bounds(inst, opts)
    _check(inst, opts, b)
    n_full = int(np.bincount(b.rep_group, minlength=b.n_groups)[b.account_group].sum())
    if strategy == "auto":  # all same-group pairs: an upper bound of the eligible ones
        strategy = "exact" if n_full <= EXACT_MAX_PAIRS else "large"
    if strategy == "exact":
        result = _exact(inst, opts, b, solver, time_limit, gap, threads, t0)
    else:
        result = _large(inst, opts, b, time_limit, gap, k, threads, t0)
    found = violations(inst, opts, b, result.assign)
    if found:
        raise RuntimeError("the returned assignment breaks the model (a bug): " + "; ".join(found))
    return result


def _exact(inst, opts, b, solver, time_limit, gap, threads, t0) -> TerritoryResult:
    from rampcast.territory.model import solve_pulp

    a, r = eligible_pairs(inst, opts, b)
    cost = pair_cost(inst, opts, a, r)
    out = solve_pulp(inst, opts, b, a, r, cost, solver, time_limit, gap, threads)
    label = f"{out.status} / {out.sol_status}"
    if out.assign is None:
        if out.infeasible:
            raise InfeasibleError(
                "the solver proved that no assignment meets the balance bands, though no "
                "single account, lock or segment total explains it: the accounts are too "
                "lumpy to fit the bands; widen --tolerance or use --soft",
                [],
            )
        raise SolverError(
            f"{solver} found no assignment in {time_limit:g} s ({label}); "
            "raise --time-limit or use --soft"
        )
    if (out.assign < 0).any():
        raise RuntimeError(
            f"{solver} returned a solution that does not assign every account "
            f"exactly once ({label})"
        )
    value = objective(inst, opts, b, out.assign)
    notes = []
    if out.dual_bound is not None:
        bound = min(out.dual_bound, value)
        kind = "MIP dual bound from HiGHS (full model)"
    else:
        from rampcast.territory.matrix import build, solve_lp

        lp = solve_lp(build(inst, opts, b, a, r, cost), threads=threads)
        bound = lp.dual_bound if lp.status == "Optimal" else -math.inf
        kind = f"LP relaxation of the full model (HiGHS); {solver} exposes no MIP bound"
    seconds = time.perf_counter() - t0
    gap_now = relative_gap(value, bound)
    if out.dual_bound is not None:
        proven = out.proven and gap_now <= gap + 1e-9
    else:
        # CBC's proof is not exposed; a run that used up its time limit can still
        # say Optimal, so only a run that stopped early counts as proven
        proven = out.proven and out.solve_seconds < 0.98 * time_limit
        if proven and gap_now > gap:
            notes.append(
                f"{solver} proved optimality within gap {gap:g}; the LP bound "
                f"reported here is weaker ({gap_now:.2%} below)"
            )
    if out.proven and not proven:
        notes.append(f"{solver} reported {label}, not taken as proven (time limit or gap)")
    status = "optimal" if proven else "feasible"
    return TerritoryResult(
        inst,
        opts,
        b,
        out.assign,
        value,
        bound,
        kind,
        gap_now,
        status,
        solver,
        label,
        "exact",
        seconds,
        len(a),
        len(a),
        gap,
        # PuLP reports no progress: the only solution seen is the last
        time_to_first=seconds,
        time_to_gap=seconds if gap_now <= gap else None,
        notes=notes,
    )


def _large(inst, opts, b, time_limit, gap, k, threads, t0) -> TerritoryResult:
    from rampcast.territory.large import solve_large

    out = solve_large(inst, opts, b, time_limit=time_limit, gap=gap, k=k, threads=threads)
    if out.assign is None:
        raise SolverError(
            f"no balanced assignment found in {time_limit:g} s on the candidate "
            "pairs; raise --time-limit, or use --soft to see the deviations"
        )
    seconds = time.perf_counter() - t0
    gap_now = relative_gap(out.objective, out.bound)
    reach = None
    for t, v in out.incumbents:
        if relative_gap(v, out.bound) <= gap + 1e-9:
            reach = t
            break
    return TerritoryResult(
        inst,
        opts,
        b,
        out.assign,
        out.objective,
        out.bound,
        out.bound_kind,
        gap_now,
        "optimal" if gap_now <= gap + 1e-9 else "feasible",
        "highs",
        out.status,
        "large",
        seconds,
        out.n_pairs,
        out.n_full_pairs,
        gap,
        candidate_bound=out.candidate_bound,
        time_to_first=out.first_feasible,
        time_to_gap=reach,
        incumbents=out.incumbents,
        notes=out.notes,
    )
