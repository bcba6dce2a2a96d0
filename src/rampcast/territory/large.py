r"""Large instances: pruned candidates, repair and local search, priced LP, warm MILP.

The strategy, in order (``docs/territories.md`` has the reasoning):

1. **Candidates.** Each account keeps its current owner and its ``k``
   nearest eligible reps; each rep also keeps its nearest
   ``2 x (accounts / reps)`` accounts of its segment, so that reps at the
   edge of a map are not starved (pruning to nearest reps alone can make
   balance infeasible). Without locations, the ``k`` reps are spread
   evenly over the segment.
2. **Construction.** Start from the current owners; repair balance by
   moving the accounts that fix the most violation per unit of cost; then
   improve by single-account moves and pairwise swaps that lower cost and
   keep every band. This gives the first feasible assignment quickly.
3. **Bound.** Solve the LP relaxation over the candidates (elastic: balance
   deviations allowed at a high price, so it always solves), then *price*
   every eligible pair of the full model with the LP's duals: pairs with
   negative reduced cost join the candidates and the LP is solved again
   (column generation). At every round
   :math:`z^{LP}_{cand} + \sum_a \min(0, \min_{r \notin C_a} \bar c_{ar})`
   is a valid lower bound of the **full** model (:func:`price_full`); when
   no pair prices out it is the full model's LP relaxation. The LP
   solution, rounded (each account to its largest value) and repaired,
   gives a second starting assignment.
4. **MILP.** Branch and bound on the candidate pairs with HiGHS, warm
   started from the construction, for the remaining time.

The reported gap is against that bound of the full model. The MIP dual
bound of the candidate model is reported separately and is *not* a bound of
the full model (unless the candidates are every eligible pair).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

import numpy as np

from rampcast.territory.data import Instance
from rampcast.territory.formulation import (
    Bounds,
    Options,
    eligible_pairs,
    haversine_km,
    pair_cost,
    pair_mask,
)
from rampcast.territory.matrix import assignment_from, build, solve_lp, solve_mip

__all__ = ["LargeOutcome", "candidates", "construct", "price_full", "solve_large"]

log = logging.getLogger(__name__)
_CHUNK = 400_000  # pairs per chunk when pricing the full model


@dataclass
class LargeOutcome:
    """Result of :func:`solve_large` (times in seconds from its start)."""

    assign: np.ndarray | None
    objective: float
    bound: float
    bound_kind: str
    candidate_bound: float | None
    status: str
    n_pairs: int
    n_full_pairs: int
    first_feasible: float | None
    incumbents: list[tuple[float, float]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _has_coords(inst: Instance) -> bool:
    return bool(np.isfinite(inst.lat).all() and np.isfinite(inst.rep_lat).all())


def candidates(inst: Instance, opts: Options, b: Bounds, k: int) -> tuple[np.ndarray, ...]:
    """Candidate pairs (account, rep), unique and sorted by account then rep."""
    parts_a, parts_r = [], []
    coords = _has_coords(inst)
    owner = inst.owner
    has_owner = owner >= 0
    parts_a.append(np.flatnonzero(has_owner))
    parts_r.append(owner[has_owner])
    for g in range(b.n_groups):
        accs = np.flatnonzero(b.account_group == g)
        reps = np.flatnonzero(b.rep_group == g)
        if not accs.size or not reps.size:
            continue
        kk = min(k, reps.size)
        per_rep = min(accs.size, int(np.ceil(2 * accs.size / reps.size)))
        step = max(1, 4000_000 // max(reps.size, 1))
        for start in range(0, accs.size, step):
            chunk = accs[start : start + step]
            if coords:
                d = haversine_km(
                    inst.lat[chunk, None],
                    inst.lon[chunk, None],
                    inst.rep_lat[None, reps],
                    inst.rep_lon[None, reps],
                )
                near = (
                    np.argpartition(d, kk - 1, axis=1)[:, :kk]
                    if kk < reps.size
                    else np.broadcast_to(np.arange(reps.size), (chunk.size, reps.size))
                )
            else:
                near = (
                    chunk[:, None] * 7919 + np.arange(kk)[None, :] * max(1, reps.size // kk)
                ) % reps.size
            parts_a.append(np.repeat(chunk, near.shape[1]))
            parts_r.append(reps[near].ravel())
        if coords and per_rep < accs.size:
            for r in reps:
                d = haversine_km(inst.lat[accs], inst.lon[accs], inst.rep_lat[r], inst.rep_lon[r])
                parts_a.append(accs[np.argpartition(d, per_rep - 1)[:per_rep]])
                parts_r.append(np.full(per_rep, r))
    a = np.concatenate(parts_a)
    r = np.concatenate(parts_r)
    keep = pair_mask(inst, opts, b, a, r)
    key = np.unique(a[keep] * inst.n_reps + r[keep])
    return key // inst.n_reps, key % inst.n_reps


# --- construction: repair and local search ------------------------------------------------


class _State:
    """Loads of a current assignment and the candidate structure around it."""

    def __init__(self, inst, opts, b, a, r, cost, assign):
        self.inst, self.opts, self.b = inst, opts, b
        self.a, self.r, self.cost = a, r, cost
        self.assign = assign.copy()
        self.p, self.w = inst.potential, inst.workload
        self.load = np.bincount(assign, weights=self.p, minlength=inst.n_reps)
        self.work = np.bincount(assign, weights=self.w, minlength=inst.n_reps)
        self.count = np.bincount(assign, minlength=inst.n_reps).astype(float)
        self.use_w = opts.workload_tolerance is not None
        # workload deviation priced in potential units, so both add up
        ratio = b.total[b.rep_group] / np.maximum(b.workload_total[b.rep_group], 1e-12)
        self.wscale = np.where(np.isfinite(ratio), ratio, 0.0)
        self.ptr = np.searchsorted(a, np.arange(inst.n_accounts + 1))
        self.by_rep = np.argsort(r, kind="stable")
        self.rep_ptr = np.searchsorted(r[self.by_rep], np.arange(inst.n_reps + 1))
        self.movable = ~inst.locked
        self.cur_cost = np.empty(inst.n_accounts)
        pos = self._pos(np.arange(inst.n_accounts), assign)
        self.cur_cost = np.where(pos >= 0, cost[np.maximum(pos, 0)], np.inf)

    def _pos(self, accounts, reps):
        """Index of pair (account, rep) in the candidate list, -1 if absent."""
        key = self.a * self.inst.n_reps + self.r
        want = accounts * self.inst.n_reps + reps
        pos = np.searchsorted(key, want)
        pos = np.minimum(pos, key.size - 1)
        return np.where(key[pos] == want, pos, -1)

    def viol(self, r, load, work):
        b = self.b
        v = np.maximum(b.lo[r] - load, 0) + np.maximum(load - b.hi[r], 0)
        if self.use_w:
            v = v + self.wscale[r] * (
                np.maximum(b.wlo[r] - work, 0) + np.maximum(work - b.whi[r], 0)
            )
        return v

    def total_viol(self):
        return float(self.viol(np.arange(self.inst.n_reps), self.load, self.work).sum())

    def move(self, acc, to, new_cost):
        src = self.assign[acc]
        self.load[src] -= self.p[acc]
        self.work[src] -= self.w[acc]
        self.count[src] -= 1
        self.load[to] += self.p[acc]
        self.work[to] += self.w[acc]
        self.count[to] += 1
        self.assign[acc] = to
        self.cur_cost[acc] = new_cost

    def delta(self, accs, src, dst):
        """Change of total violation when each ``accs[i]`` moves ``src[i] -> dst[i]``."""
        p, w = self.p[accs], self.w[accs]
        before = self.viol(src, self.load[src], self.work[src]) + self.viol(
            dst, self.load[dst], self.work[dst]
        )
        after = self.viol(src, self.load[src] - p, self.work[src] - w) + self.viol(
            dst, self.load[dst] + p, self.work[dst] + w
        )
        return after - before


def _initial(inst, b, a, r, cost) -> np.ndarray:
    """Current owner where it is a candidate, else the cheapest candidate."""
    n = inst.n_accounts
    best = np.full(n, -1, dtype=np.int64)
    order = np.lexsort((cost, a))[::-1]  # per account, the cheapest pair written last
    best[a[order]] = r[order]
    owner_ok = np.zeros(n, dtype=bool)
    is_owner = r == inst.owner[a]
    owner_ok[a[is_owner]] = True
    return np.where(owner_ok, inst.owner, best)


def _repair(s: _State, deadline: float) -> None:
    """Move accounts off over-loaded reps and onto under-loaded ones until bands hold."""
    reps = np.arange(s.inst.n_reps)
    members = _members(s)
    stuck: set[int] = set()
    while time.perf_counter() < deadline:
        v = s.viol(reps, s.load, s.work)
        v[list(stuck)] = 0.0
        worst = int(np.argmax(v))
        if v[worst] <= 1e-9:
            break
        over = s.load[worst] > s.b.hi[worst] or (s.use_w and s.work[worst] > s.b.whi[worst])
        if over:
            accs = np.fromiter(members[worst], dtype=np.int64)
            accs = accs[s.movable[accs]]
            lo_, hi_ = s.ptr[accs], s.ptr[accs + 1]
            k = (
                np.concatenate([np.arange(x, y) for x, y in zip(lo_, hi_, strict=True)])
                if accs.size
                else np.zeros(0, np.int64)
            )
            k = k[s.r[k] != worst]
        else:
            k = s.by_rep[s.rep_ptr[worst] : s.rep_ptr[worst + 1]]
            k = k[s.movable[s.a[k]] & (s.assign[s.a[k]] != worst)]
        k = k[s.count[s.r[k]] < s.b.cap[s.r[k]]]
        if not k.size:
            stuck.add(worst)
            continue
        acc = s.a[k]
        dv = s.delta(acc, s.assign[acc], s.r[k])
        dc = s.cost[k] - s.cur_cost[acc]
        ok = dv < -1e-9
        if not ok.any():
            stuck.add(worst)
            continue
        score = np.full(k.size, np.inf)
        score[ok] = (dc[ok] + 1e-9) / -dv[ok]
        best = int(np.argmin(score))
        acc_b, to = int(acc[best]), int(s.r[k[best]])
        members[s.assign[acc_b]].discard(acc_b)
        members[to].add(acc_b)
        s.move(acc_b, to, s.cost[k[best]])
        stuck.clear()


def _members(s: _State) -> list[set]:
    members: list[set] = [set() for _ in range(s.inst.n_reps)]
    for acc, rep in enumerate(s.assign.tolist()):
        members[rep].add(acc)
    return members


def _improve(s: _State, deadline: float) -> None:
    """Cost-lowering single moves, then swaps, keeping every band satisfied."""
    for _ in range(20):
        changed = _single_moves(s, deadline) + _swaps(s, deadline)
        if not changed or time.perf_counter() > deadline:
            break


def _fits(s, rep, dp, dw, dn) -> bool:
    b = s.b
    load, work = s.load[rep] + dp, s.work[rep] + dw
    ok = b.lo[rep] - 1e-9 <= load <= b.hi[rep] + 1e-9 and s.count[rep] + dn <= b.cap[rep]
    if s.use_w:
        ok = ok and b.wlo[rep] - 1e-9 <= work <= b.whi[rep] + 1e-9
    return bool(ok)


def _single_moves(s: _State, deadline: float) -> int:
    gain = s.cost - s.cur_cost[s.a]
    k = np.flatnonzero((gain < -1e-9) & s.movable[s.a])
    k = k[np.argsort(gain[k], kind="stable")]
    moved = 0
    for kk in k.tolist():
        if time.perf_counter() > deadline:
            break
        acc, to = int(s.a[kk]), int(s.r[kk])
        src = int(s.assign[acc])
        if src == to or s.cost[kk] >= s.cur_cost[acc] - 1e-9:
            continue
        p, w = s.p[acc], s.w[acc]
        if _fits(s, src, -p, -w, -1) and _fits(s, to, p, w, 1):
            s.move(acc, to, s.cost[kk])
            moved += 1
    return moved


def _swaps(s: _State, deadline: float) -> int:
    """Blocked improving moves a: r1 -> r2, paired with some b: r2 -> r1."""
    gain = s.cost - s.cur_cost[s.a]
    k = np.flatnonzero((gain < -1e-9) & s.movable[s.a])
    k = k[np.argsort(gain[k], kind="stable")][:5000]
    swapped = 0
    for kk in k.tolist():
        if time.perf_counter() > deadline:
            break
        acc, r2 = int(s.a[kk]), int(s.r[kk])
        r1 = int(s.assign[acc])
        g1 = s.cost[kk] - s.cur_cost[acc]
        if r1 == r2 or g1 >= -1e-9:
            continue
        back = s.by_rep[s.rep_ptr[r1] : s.rep_ptr[r1 + 1]]  # pairs (b, r1)
        back = back[(s.assign[s.a[back]] == r2) & s.movable[s.a[back]]]
        if not back.size:
            continue
        bb = s.a[back]
        g2 = s.cost[back] - s.cur_cost[bb]
        dp = s.p[bb] - s.p[acc]  # r1 gains b, loses a
        dw = s.w[bb] - s.w[acc]
        b_ = s.b
        ok = g1 + g2 < -1e-9
        ok &= (s.load[r1] + dp >= b_.lo[r1] - 1e-9) & (s.load[r1] + dp <= b_.hi[r1] + 1e-9)
        ok &= (s.load[r2] - dp >= b_.lo[r2] - 1e-9) & (s.load[r2] - dp <= b_.hi[r2] + 1e-9)
        if s.use_w:
            ok &= (s.work[r1] + dw >= b_.wlo[r1] - 1e-9) & (s.work[r1] + dw <= b_.whi[r1] + 1e-9)
            ok &= (s.work[r2] - dw >= b_.wlo[r2] - 1e-9) & (s.work[r2] - dw <= b_.whi[r2] + 1e-9)
        if not ok.any():
            continue
        j = int(np.argmin(np.where(ok, g2, np.inf)))
        other = int(bb[j])
        s.move(acc, r2, s.cost[kk])
        s.move(other, r1, s.cost[back[j]])
        swapped += 1
    return swapped


def construct(
    inst: Instance,
    opts: Options,
    b: Bounds,
    a: np.ndarray,
    r: np.ndarray,
    cost: np.ndarray,
    seconds: float = 30.0,
    initial: np.ndarray | None = None,
) -> tuple[np.ndarray, bool]:
    """Repair an assignment to balance, then improve it; ``(assign, feasible)``.

    Starts from ``initial`` (default: the current owners, or each account's
    cheapest candidate). Works on the candidate pairs only (sorted by
    account, then rep).
    """
    deadline = time.perf_counter() + seconds
    start = _initial(inst, b, a, r, cost) if initial is None else initial
    s = _State(inst, opts, b, a, r, cost, start)
    if not opts.soft:
        _repair(s, deadline)
    feasible = s.total_viol() <= 1e-6 or opts.soft
    if feasible:
        _improve(s, deadline)
    return s.assign, feasible


# --- bounds of the full model from candidate duals ---------------------------------------


def _row_duals(opts: Options, b: Bounds, inst: Instance, row_dual: np.ndarray):
    """Account, balance, workload and capacity duals of a candidate LP (rows of :func:`build`)."""
    n_acc, n_rep = inst.n_accounts, inst.n_reps
    ya = row_dual[:n_acc]
    y = row_dual[n_acc : n_acc + n_rep]
    nxt = n_acc + n_rep
    yw = np.zeros(n_rep)
    if opts.workload_tolerance is not None:
        yw = row_dual[nxt : nxt + n_rep]
        nxt += n_rep
    yc = np.zeros(n_rep)
    capped = np.flatnonzero(np.isfinite(b.cap))
    if capped.size:
        yc[capped] = row_dual[nxt : nxt + capped.size]
    return ya, y, yw, yc


def price_full(
    inst: Instance,
    opts: Options,
    b: Bounds,
    lp_value: float,
    row_dual: np.ndarray,
    cand_a: np.ndarray,
    cand_r: np.ndarray,
    price: int = 2,
) -> tuple[float, np.ndarray, np.ndarray]:
    r"""Bound of the full model from a candidate LP, and the pairs that price out.

    With the candidate LP's optimal duals, every eligible pair outside the
    candidates has reduced cost :math:`\bar c_{ar} = c_{ar} - y_a - y_r p_a
    - y^w_r w_a - y^c_r`. Because each account takes exactly one rep,

    .. math:: z^{LP}_{full} \ge z^{LP}_{cand} + \sum_a \min(0, \min_{r \notin C_a}
              \bar c_{ar})

    (relax the balance rows with the duals; the candidates' own bound duals
    are accounted for in :math:`z^{LP}_{cand}`), and the full MILP optimum is
    at least that. When no pair prices out, the bound is the full model's LP
    relaxation. Returns ``(bound, a, r)`` with up to ``price`` most negative
    new pairs per account.
    """
    ya, y, yw, yc = _row_duals(opts, b, inst, row_dual)
    cand_key = np.sort(cand_a * inst.n_reps + cand_r)
    worst = np.zeros(inst.n_accounts)
    add_a, add_r = [], []
    per_account = np.bincount(b.rep_group, minlength=b.n_groups)[b.account_group]
    step = max(1, _CHUNK // max(int(per_account.max(initial=1)), 1))
    for start in range(0, inst.n_accounts, step):
        a, r = eligible_pairs(inst, opts, b, np.arange(start, min(start + step, inst.n_accounts)))
        key = a * inst.n_reps + r
        if cand_key.size:
            pos = np.minimum(np.searchsorted(cand_key, key), cand_key.size - 1)
            outside = cand_key[pos] != key
        else:
            outside = np.ones(key.size, dtype=bool)
        a, r = a[outside], r[outside]
        reduced = (
            pair_cost(inst, opts, a, r)
            - ya[a]
            - y[r] * inst.potential[a]
            - yw[r] * inst.workload[a]
            - yc[r]
        )
        np.minimum.at(worst, a, reduced)
        scale = 1.0 + inst.potential[a] * (1.0 + np.abs(y[r]))
        neg = np.flatnonzero(reduced < -1e-7 * scale)
        if price and neg.size:
            order = neg[np.lexsort((reduced[neg], a[neg]))]
            rank = np.arange(order.size) - np.searchsorted(a[order], a[order])
            keep = order[rank < price]
            add_a.append(a[keep])
            add_r.append(r[keep])
    pa = np.concatenate(add_a) if add_a else np.zeros(0, np.int64)
    pr = np.concatenate(add_r) if add_r else np.zeros(0, np.int64)
    return lp_value + float(np.minimum(worst, 0.0).sum()), pa, pr


def count_eligible(inst: Instance, opts: Options, b: Bounds) -> int:
    """Number of eligible pairs of the full model (counted in chunks)."""
    per_account = np.bincount(b.rep_group, minlength=b.n_groups)[b.account_group]
    step = max(1, _CHUNK // max(int(per_account.max(initial=1)), 1))
    return sum(
        eligible_pairs(inst, opts, b, np.arange(s, min(s + step, inst.n_accounts)))[0].size
        for s in range(0, inst.n_accounts, step)
    )


def _merge(inst, a, r, pa, pr):
    key = np.unique(np.concatenate([a * inst.n_reps + r, pa * inst.n_reps + pr]))
    return key // inst.n_reps, key % inst.n_reps


def _elastic(opts: Options) -> Options:
    """Soft copy of ``opts`` with a penalty far above any move's cost (phase-one LP)."""
    from dataclasses import replace

    if opts.soft:
        return opts  # already soft: its own LP relaxation is the one to bound
    return replace(
        opts, soft=True, penalty=max(opts.penalty, 100.0 * (1.0 + opts.distance_weight * 20_100.0))
    )


def _round(inst: Instance, model, values: np.ndarray) -> np.ndarray:
    """Each account to the candidate rep with its largest LP value."""
    x = values[: model.n_pairs]
    assign = np.full(inst.n_accounts, -1, dtype=np.int64)
    order = np.argsort(x, kind="stable")
    assign[model.a[order]] = model.r[order]
    return assign


def solve_large(
    inst: Instance,
    opts: Options,
    b: Bounds,
    time_limit: float = 60.0,
    gap: float = 0.01,
    k: int = 16,
    threads: int | None = None,
    pricing_rounds: int = 40,
    price: int = 4,
) -> LargeOutcome:
    """The four steps of the module docstring within ``time_limit`` seconds."""
    from rampcast.territory.formulation import objective

    t0 = time.perf_counter()
    a, r = candidates(inst, opts, b, k)
    cost = pair_cost(inst, opts, a, r)
    n_full = count_eligible(inst, opts, b)
    notes = [
        f"{a.size:,} candidate pairs of {n_full:,} ({k} nearest reps + owner + each "
        "rep's nearest accounts)"
    ]
    assign, feasible = construct(inst, opts, b, a, r, cost, seconds=0.05 * time_limit)
    incumbents = []
    best, best_value = None, np.inf

    def offer(candidate, label):
        nonlocal best, best_value
        value = objective(inst, opts, b, candidate)
        if value < best_value - 1e-9:
            best, best_value = candidate.copy(), value
            incumbents.append((time.perf_counter() - t0, value))
            notes.append(f"{label}: objective {value:,.6g} at {time.perf_counter() - t0:.1f} s")

    if feasible:
        offer(assign, "construction from current owners")
    else:
        notes.append(
            f"construction from current owners did not reach balance in "
            f"{time.perf_counter() - t0:.1f} s"
        )

    # phase-one (elastic) LP over the candidates, priced against the full model
    bound, kind = -np.inf, "none"
    elastic = _elastic(opts)
    lp_values, lp_model = None, None
    for round_ in range(pricing_rounds + 1):
        if time.perf_counter() - t0 > 0.5 * time_limit:
            notes.append("pricing stopped early for time")
            break
        lp_model = build(inst, elastic, b, a, r, cost)
        lp = solve_lp(lp_model, threads=threads)
        if lp.row_dual is None:
            notes.append(f"candidate LP {lp.status}")
            break
        lp_values = lp.values
        value, pa, pr = price_full(
            inst,
            opts,
            b,
            lp.objective,
            lp.row_dual,
            a,
            r,
            price=price if round_ < pricing_rounds else 0,
        )
        if value > bound:
            bound, kind = (
                value,
                (
                    "column-generation bound of the full model (candidate LP "
                    "plus most negative reduced costs)"
                ),
            )
        if not pa.size:
            kind = "LP relaxation of the full model (no pair prices out)"
            break
        a, r = _merge(inst, a, r, pa, pr)
        cost = pair_cost(inst, opts, a, r)
        notes.append(
            f"pricing round {round_ + 1}: {pa.size:,} pairs added, bound "
            f"{value:,.6g}, LP {lp.objective:,.6g} at {time.perf_counter() - t0:.1f} s"
        )

    if lp_values is not None and lp_model is not None:
        rounded = _round(inst, lp_model, lp_values)
        repaired, ok = construct(
            inst, opts, b, a, r, cost, seconds=0.1 * time_limit, initial=rounded
        )
        if ok:
            offer(repaired, "LP rounding + repair")
        else:
            notes.append("LP rounding + repair did not reach balance")
    first = incumbents[0][0] if incumbents else None

    remaining = time_limit - (time.perf_counter() - t0)
    model = build(inst, opts, b, a, r, cost)
    start = None
    if best is not None:
        key = a * inst.n_reps + r
        start = np.isin(key, np.arange(inst.n_accounts) * inst.n_reps + best).astype(float)
    mip = solve_mip(model, remaining, gap, start=start, threads=threads, clock0=t0)
    for t, v in mip.incumbents:
        if np.isfinite(v) and v < best_value - 1e-9:
            incumbents.append((t, v))
    if mip.values is not None and mip.objective < best_value - 1e-9:
        cand = assignment_from(model, mip.values, inst.n_accounts)
        if (cand >= 0).all():
            best, best_value = cand, objective(inst, opts, b, cand)
    if first is None and incumbents:
        first = incumbents[0][0]
    cand_bound = mip.dual_bound if np.isfinite(mip.dual_bound) else None
    if cand_bound is not None and a.size == n_full:
        bound, kind = max(bound, cand_bound), "MIP dual bound (candidates are the full model)"
    status = (
        "no_solution"
        if best is None
        else (
            "optimal"
            if best_value - bound <= gap * max(abs(best_value), 1e-9) + 1e-9
            else "feasible"
        )
    )
    notes.append(f"MILP on {a.size:,} candidate pairs: {mip.status} in {mip.seconds:.1f} s")
    return LargeOutcome(
        best,
        best_value,
        bound,
        kind,
        cand_bound,
        status,
        a.size,
        n_full,
        first,
        sorted(incumbents),
        notes,
    )
