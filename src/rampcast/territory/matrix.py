"""The assignment model built as sparse arrays and handed to HiGHS directly.

PuLP's expression objects cost 12-27 us per binary (see
``../shared/PERFORMANCE.md``); building the same constraint matrix with NumPy
costs about 1 us. This module builds exactly the model of :mod:`.model` from
a list of (account, rep) pairs, solves it as a MILP or as its LP
relaxation, and records the solver's progress (incumbents and dual bound
over time) through HiGHS callbacks. ``tests/test_territory.py`` checks that
both paths reach the same optimum on shared instances.
"""

from __future__ import annotations

import os
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from rampcast.territory.data import Instance
from rampcast.territory.formulation import Bounds, Options

__all__ = ["MatrixModel", "SolveRecord", "build", "solve_mip", "solve_lp", "quiet_stdout"]


@contextmanager
def quiet_stdout():
    """Silence C-level writes to stdout (HiGHS prints a banner on construction)."""
    fd = 1  # the C library writes to the process's stdout, whatever sys.stdout is
    try:
        sys.stdout.flush()
    except (AttributeError, ValueError):
        pass
    saved = os.dup(fd)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, fd)
        yield
    finally:
        os.dup2(saved, fd)
        os.close(saved)
        os.close(devnull)


@dataclass
class MatrixModel:
    """Column-wise arrays of the model over the pairs ``(a[k], r[k])``.

    Columns are the pairs, then (soft variant) under/over deviation columns
    of each balance row. Rows: one per account (``= 1``), one per rep for
    potential, per rep for workload (when banded), per rep with a finite
    ``max_accounts``.
    """

    a: np.ndarray
    r: np.ndarray
    cost: np.ndarray
    matrix: sp.csc_matrix
    col_lower: np.ndarray
    col_upper: np.ndarray
    row_lower: np.ndarray
    row_upper: np.ndarray
    integer: np.ndarray
    balance_rows: np.ndarray  # row index of each rep's potential row
    n_pairs: int


def build(
    inst: Instance, opts: Options, b: Bounds, a: np.ndarray, r: np.ndarray, cost: np.ndarray
) -> MatrixModel:
    """Arrays of the model restricted to the given pairs."""
    n_acc, n_rep, n = inst.n_accounts, inst.n_reps, len(a)
    rows = [a, n_acc + r]
    vals = [np.ones(n), inst.potential[a]]
    lower = [np.ones(n_acc), b.lo]
    upper = [np.ones(n_acc), b.hi]
    dev_rows = [n_acc + np.arange(n_rep)]
    next_row = n_acc + n_rep
    if opts.workload_tolerance is not None:
        rows.append(next_row + r)
        vals.append(inst.workload[a])
        lower.append(b.wlo)
        upper.append(b.whi)
        dev_rows.append(next_row + np.arange(n_rep))
        next_row += n_rep
    capped = np.flatnonzero(np.isfinite(b.cap))
    if capped.size:
        slot = np.full(n_rep, -1)
        slot[capped] = next_row + np.arange(capped.size)
        has = slot[r] >= 0
        rows.append(slot[r][has])
        vals.append(np.ones(int(has.sum())))
        lower.append(np.full(capped.size, -np.inf))
        upper.append(b.cap[capped])
        next_row += capped.size
    cols = [np.arange(n), np.arange(n)]
    if opts.workload_tolerance is not None:
        cols.append(np.arange(n))
    if capped.size:
        cols.append(np.flatnonzero(has))
    col_cost = [cost]
    n_cols = n
    if opts.soft:
        for dr in dev_rows:
            for sign in (1.0, -1.0):
                rows.append(dr)
                vals.append(np.full(n_rep, sign))
                cols.append(n_cols + np.arange(n_rep))
                col_cost.append(np.full(n_rep, opts.penalty))
                n_cols += n_rep
    matrix = sp.csc_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
        shape=(next_row, n_cols),
    )
    integer = np.zeros(n_cols, dtype=bool)
    integer[:n] = True
    col_upper = np.full(n_cols, np.inf)
    col_upper[:n] = 1.0
    return MatrixModel(
        a,
        r,
        np.concatenate(col_cost),
        matrix,
        np.zeros(n_cols),
        col_upper,
        np.concatenate(lower),
        np.concatenate(upper),
        integer,
        n_acc + np.arange(n_rep),
        n,
    )


@dataclass
class SolveRecord:
    """What one HiGHS run returned.

    ``status`` is HiGHS's model status name; ``values`` the column values
    (None when no solution); ``objective`` the incumbent's objective;
    ``dual_bound`` the MIP dual bound (or the LP optimum); ``row_dual`` the
    LP duals (LP only); ``incumbents`` pairs (seconds, objective) of each
    improving solution; ``bounds`` pairs (seconds, dual bound) from the log.
    """

    status: str
    values: np.ndarray | None
    objective: float
    dual_bound: float
    seconds: float
    row_dual: np.ndarray | None = None
    incumbents: list[tuple[float, float]] = field(default_factory=list)
    bounds: list[tuple[float, float]] = field(default_factory=list)


def _highs(m: MatrixModel, integer: bool, options: dict):
    import highspy

    with quiet_stdout():
        h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    for key, value in options.items():
        h.setOptionValue(key, value)
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = m.matrix.shape[1], m.matrix.shape[0]
    lp.col_cost_ = m.cost
    lp.col_lower_ = m.col_lower
    lp.col_upper_ = m.col_upper
    lp.row_lower_ = m.row_lower
    lp.row_upper_ = m.row_upper
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = m.matrix.indptr.astype(np.int32)
    lp.a_matrix_.index_ = m.matrix.indices.astype(np.int32)
    lp.a_matrix_.value_ = m.matrix.data
    if integer:
        lp.integrality_ = [
            highspy.HighsVarType.kInteger if i else highspy.HighsVarType.kContinuous
            for i in m.integer
        ]
    h.passModel(lp)
    return h


def solve_lp(m: MatrixModel, threads: int | None = None) -> SolveRecord:
    """The LP relaxation: its optimum is a lower bound of the MILP over the same pairs."""
    options = {} if threads is None else {"threads": threads}
    t0 = time.perf_counter()
    h = _highs(m, integer=False, options=options)
    h.run()
    status = h.modelStatusToString(h.getModelStatus())
    seconds = time.perf_counter() - t0
    if status != "Optimal":
        return SolveRecord(
            status, None, np.inf, np.inf if status == "Infeasible" else -np.inf, seconds
        )
    sol = h.getSolution()
    value = h.getInfo().objective_function_value
    return SolveRecord(
        status, np.asarray(sol.col_value), value, value, seconds, row_dual=np.asarray(sol.row_dual)
    )


def solve_mip(
    m: MatrixModel,
    time_limit: float,
    gap: float,
    start: np.ndarray | None = None,
    threads: int | None = None,
    clock0: float | None = None,
) -> SolveRecord:
    """Branch and bound on the pairs, optionally warm-started from a pair selection.

    ``start`` is a 0/1 vector over the pair columns (the soft deviation
    columns are completed by HiGHS). Times in the record count from
    ``clock0`` (default: now).
    """
    import highspy

    options = {
        "time_limit": float(max(time_limit, 0.01)),
        "mip_rel_gap": float(gap),
        "random_seed": 0,
    }
    if threads is not None:
        options["threads"] = threads
    clock0 = time.perf_counter() if clock0 is None else clock0
    t0 = time.perf_counter()
    h = _highs(m, integer=True, options=options)
    record = SolveRecord("", None, np.inf, -np.inf, 0.0)
    offset = t0 - clock0

    def improving(event):
        out = event.data_out
        record.incumbents.append((offset + out.running_time, out.objective_function_value))

    def logging(event):
        out = event.data_out
        record.bounds.append((offset + out.running_time, out.mip_dual_bound))

    h.cbMipImprovingSolution.subscribe(improving)
    h.cbMipInterrupt.subscribe(logging)
    if start is not None:
        sol = highspy.HighsSolution()
        values = np.zeros(m.matrix.shape[1])
        values[: m.n_pairs] = start
        if m.matrix.shape[1] > m.n_pairs:
            values[m.n_pairs :] = _deviation_values(m, start)
        sol.col_value = values
        sol.value_valid = True
        h.setSolution(sol)
    h.run()
    record.seconds = time.perf_counter() - t0
    record.status = h.modelStatusToString(h.getModelStatus())
    info = h.getInfo()
    if info.primal_solution_status >= 2:  # kSolutionStatusFeasible
        record.values = np.asarray(h.getSolution().col_value)
        record.objective = info.objective_function_value
    bound = info.mip_dual_bound
    if record.status == "Optimal" and record.values is not None and not np.isfinite(bound):
        bound = record.objective  # solved in presolve: HiGHS may leave the bound unset
    record.dual_bound = bound
    return record


def _deviation_values(m: MatrixModel, start: np.ndarray) -> np.ndarray:
    """Deviation columns that make a pair selection feasible in the soft model."""
    activity = m.matrix[:, : m.n_pairs] @ start
    dev_cols = m.matrix[:, m.n_pairs :].tocoo()
    values = np.zeros(m.matrix.shape[1] - m.n_pairs)
    for row, col, sign in zip(dev_cols.row, dev_cols.col, dev_cols.data, strict=True):
        if sign > 0:
            values[col] = max(m.row_lower[row] - activity[row], 0.0)
        else:
            values[col] = max(activity[row] - m.row_upper[row], 0.0)
    return values


def assignment_from(m: MatrixModel, values: np.ndarray, n_accounts: int) -> np.ndarray:
    """Rep index per account from 0/1 pair values (the largest value per account)."""
    x = values[: m.n_pairs]
    assign = np.full(n_accounts, -1, dtype=np.int64)
    best = np.full(n_accounts, -np.inf)
    order = np.argsort(x, kind="stable")
    assign[m.a[order]] = m.r[order]
    best[m.a[order]] = x[order]
    assign[best < 0.5] = -1
    return assign
