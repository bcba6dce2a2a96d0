"""The assignment model in PuLP: the readable statement of the formulation.

.. math::

    \\min \\sum_{(a,r) \\in E} c_{ar} x_{ar}
        + M \\sum_r (u_r + v_r)  \\quad\\text{(soft variant only)}

    \\sum_{r:(a,r) \\in E} x_{ar} = 1 \\quad \\forall a

    L_r \\le \\sum_{a:(a,r) \\in E} p_a x_{ar} \\;(+u_r - v_r) \\le U_r \\quad \\forall r

    \\sum_a x_{ar} \\le m_r \\quad \\text{where } m_r < \\infty

with :math:`c_{ar} = p_a [r \\ne o_a] + W p_a d_{ar}`,
:math:`L_r, U_r = (1 \\mp \\tau) s_r P_{g(r)}` and locks expressed by
leaving a locked account only its owner in :math:`E`. The workload band,
when set, adds the same rows with workloads. ``docs/territories.md`` has the
full statement; :mod:`.matrix` builds the same model as arrays.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import numpy as np

from rampcast.territory.data import Instance
from rampcast.territory.formulation import Bounds, Options
from rampcast.territory.matrix import quiet_stdout

__all__ = ["PulpOutcome", "build_pulp", "solve_pulp"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PulpOutcome:
    """What a PuLP solve returned.

    ``assign`` is None when the solver returned no integer solution;
    ``status`` / ``sol_status`` are PuLP's names; ``dual_bound`` is the
    solver's MIP dual bound where it exposes one (HiGHS), else None.
    """

    assign: np.ndarray | None
    objective: float | None
    status: str
    sol_status: str
    proven: bool
    infeasible: bool
    dual_bound: float | None
    build_seconds: float
    solve_seconds: float


def build_pulp(
    inst: Instance, opts: Options, b: Bounds, a: np.ndarray, r: np.ndarray, cost: np.ndarray
):
    """The PuLP problem over pairs ``(a[k], r[k])`` and its binary variables."""
    import pulp

    prob = pulp.LpProblem("territories", pulp.LpMinimize)
    x = [prob.add_variable(f"x_{k}", 0, 1, cat=pulp.LpBinary) for k in range(len(a))]
    terms = list(zip(x, cost.tolist(), strict=True))
    by_rep: list[list] = [[] for _ in range(inst.n_reps)]
    by_account: list[list] = [[] for _ in range(inst.n_accounts)]
    for k, (ak, rk) in enumerate(zip(a.tolist(), r.tolist(), strict=True)):
        by_rep[rk].append(k)
        by_account[ak].append(x[k])
    for i, chosen in enumerate(by_account):
        prob += pulp.lpSum(chosen) == 1, f"one_rep_{i}"
    rows = [("potential", inst.potential, b.lo, b.hi)]
    if opts.workload_tolerance is not None:
        rows.append(("workload", inst.workload, b.wlo, b.whi))
    for name, weight, lo, hi in rows:
        for rk, ks in enumerate(by_rep):
            load = pulp.LpAffineExpression([(x[k], float(weight[a[k]])) for k in ks])
            if opts.soft:
                under = prob.add_variable(f"under_{name}_{rk}", 0)
                over = prob.add_variable(f"over_{name}_{rk}", 0)
                terms += [(under, opts.penalty), (over, opts.penalty)]
                load = load + under - over
            prob += load >= float(lo[rk]), f"{name}_low_{rk}"
            prob += load <= float(hi[rk]), f"{name}_high_{rk}"
    for rk, ks in enumerate(by_rep):
        if np.isfinite(b.cap[rk]):
            prob += pulp.lpSum(x[k] for k in ks) <= float(b.cap[rk]), f"max_accounts_{rk}"
    prob += pulp.LpAffineExpression(terms)
    return prob, x


def _solver(name: str, time_limit: float, gap: float, threads: int | None):
    import pulp

    if name == "highs":
        return pulp.HiGHS(msg=False, timeLimit=time_limit, gapRel=gap, threads=threads)
    if name == "cbc":
        return pulp.PULP_CBC_CMD(msg=False, timeLimit=time_limit, gapRel=gap, threads=threads)
    raise ValueError(f"solver must be 'highs' or 'cbc'; got {name!r}")


def solve_pulp(
    inst: Instance,
    opts: Options,
    b: Bounds,
    a: np.ndarray,
    r: np.ndarray,
    cost: np.ndarray,
    solver: str = "highs",
    time_limit: float = 60.0,
    gap: float = 0.01,
    threads: int | None = None,
) -> PulpOutcome:
    """Build and solve with PuLP; check ``status`` and ``sol_status`` both.

    A CBC run stopped by its time limit can come back with ``status``
    Optimal; only ``sol_status`` Optimal counts as proven here.
    """
    import pulp

    t0 = time.perf_counter()
    prob, x = build_pulp(inst, opts, b, a, r, cost)
    built = time.perf_counter() - t0
    engine = _solver(solver, time_limit, gap, threads)
    with quiet_stdout():
        prob.solve(engine)
    solved = time.perf_counter() - t0 - built
    status = pulp.LpStatus[prob.status]
    sol_status = pulp.LpSolution[prob.sol_status]
    log.info(
        "%s via PuLP: %s / %s in %.2f s (build %.2f s), %d binaries",
        solver,
        status,
        sol_status,
        solved,
        built,
        len(x),
    )
    has = prob.sol_status in (pulp.LpSolutionOptimal, pulp.LpSolutionIntegerFeasible)
    infeasible = (
        prob.sol_status == pulp.LpSolutionInfeasible or prob.status == pulp.LpStatusInfeasible
    )
    assign = None
    value = None
    if has:
        chosen = np.array([(v.varValue or 0.0) > 0.5 for v in x], dtype=bool)
        assign = np.full(inst.n_accounts, -1, dtype=np.int64)
        counts = np.bincount(a[chosen], minlength=inst.n_accounts)
        assign[a[chosen]] = r[chosen]
        assign[counts != 1] = -1  # caught by verification, never silently repaired
        value = pulp.value(prob.objective)
    return PulpOutcome(
        assign,
        value,
        status,
        sol_status,
        prob.sol_status == pulp.LpSolutionOptimal,
        infeasible and not has,
        _dual_bound(prob),
        built,
        solved,
    )


def _dual_bound(prob) -> float | None:
    """HiGHS's MIP dual bound through PuLP's ``solverModel``; None for CBC."""
    model = getattr(prob, "solverModel", None)
    if model is None or not hasattr(model, "getInfo"):
        return None
    bound = float(model.getInfo().mip_dual_bound)
    return bound if np.isfinite(bound) else None
