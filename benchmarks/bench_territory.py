"""Territory assignment at +/-5% balance: 500x10, 2,000x50, 10,000x100, 50,000x200.

Workload: :func:`rampcast.territory.synthetic.synthetic_instance` with seed
20270101 (accounts clustered around 40 city centres, lognormal potential,
current owner = nearest rep, so books start 2-3x off target and balance
forces moves). ``assign_territories`` with ``strategy="auto"`` (500x10 is
exact PuLP + HiGHS; the others take the large-instance path), 1% target
gap, a time limit per size. Each run is checked in the timed function: the
assignment must pass :func:`rampcast.territory.violations` and the bound must
not exceed the objective.

Besides asv's time and peak memory, ``track_*`` report the final gap, the
time to the first feasible assignment and to 1% gap (against the final
valid bound). Direct measurement, outside asv::

    .venv/bin/python -m benchmarks.bench_territory 2000 50
"""

from __future__ import annotations

import sys
import time

SEED = 20270101
SIZES = {
    "500x10": (500, 10, 60.0),
    "2000x50": (2_000, 50, 60.0),
    "10000x100": (10_000, 100, 120.0),
    "50000x200": (50_000, 200, 600.0),
}


def solve(n_accounts: int, n_reps: int, time_limit: float):
    """One checked run; returns the result."""
    from rampcast.territory import Options, assign_territories, bounds, violations
    from rampcast.territory.synthetic import synthetic_instance

    inst = synthetic_instance(n_accounts, n_reps, seed=SEED)
    opts = Options(tolerance=0.05)
    res = assign_territories(inst, opts, time_limit=time_limit, gap=0.01)
    assert violations(inst, opts, bounds(inst, opts), res.assign) == []
    assert res.bound <= res.objective * (1 + 1e-9) + 1e-6
    return res


class Territories:
    """Time, peak memory and solution quality per size."""

    params = list(SIZES)
    param_names = ["accounts_x_reps"]
    number = 1
    repeat = (1, 1, 900.0)
    warmup_time = 0.0
    timeout = 1_800

    def setup_cache(self):
        out = {}
        for name, (n, r, limit) in SIZES.items():
            t0 = time.perf_counter()
            res = solve(n, r, limit)
            out[name] = {
                "gap": res.gap,
                "first": res.time_to_first,
                "to_gap": res.time_to_gap,
                "wall": time.perf_counter() - t0,
            }
        return out

    def time_assign(self, cache, name):
        n, r, limit = SIZES[name]
        solve(n, r, limit)

    def peakmem_assign(self, cache, name):
        n, r, limit = SIZES[name]
        solve(n, r, limit)

    def track_final_gap(self, cache, name):
        return cache[name]["gap"]

    def track_seconds_to_first_feasible(self, cache, name):
        return cache[name]["first"]

    def track_seconds_to_one_percent(self, cache, name):
        value = cache[name]["to_gap"]
        return float("nan") if value is None else value


def main(argv: list[str]) -> None:
    """Measure one size directly: wall time, gap, time to first / 1%, peak memory."""
    import resource

    n, r = int(argv[0]), int(argv[1])
    limit = float(argv[2]) if len(argv) > 2 else SIZES.get(f"{n}x{r}", (0, 0, 120.0))[2]
    t0 = time.perf_counter()
    res = solve(n, r, limit)
    wall = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    first = "-" if res.time_to_first is None else f"{res.time_to_first:.1f} s"
    to_gap = "not reached" if res.time_to_gap is None else f"{res.time_to_gap:.1f} s"
    print(
        f"{n}x{r}: {res.strategy}, wall {wall:.1f} s, first feasible {first}, 1% gap "
        f"{to_gap}, final gap {res.gap:.2%} ({res.bound_kind}), objective "
        f"{res.objective:,.0f}, bound {res.bound:,.0f}, binaries {res.binaries:,} of "
        f"{res.full_pairs:,}, peak memory {peak:,.0f} MiB"
    )


if __name__ == "__main__":
    main(sys.argv[1:])
