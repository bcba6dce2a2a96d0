"""The hiring optimiser on 3 segments x 12 months, beside one engine run.

Workload: the ``deal_48M`` organisation of :mod:`benchmarks.workloads`
(200 roster reps, deal-level bookings) over a 12-month horizon, with a
loaded cost per segment and an annual target 2% above the roster's
expected first-year bookings, so hires are needed. Every segment may hire
up to three reps a month (108 candidate hires); the optimisation sample is
1,000 trials, the solver HiGHS with a 60 s limit, and the chosen plan is
re-simulated on 10,000 trials. ``time_engine_run`` is a single engine run
of the same roster at 10,000 trials, for scale. ``setup`` compiles both
kernels; every timed result is checked in ``teardown``.
"""

from __future__ import annotations

import functools

from .workloads import scenario_dict

SEED = 20270101
COSTS = {"smb": 9_000.0, "mid_market": 14_000.0, "enterprise": 22_000.0}


@functools.cache
def scenario():
    """The benchmark scenario (built once per process)."""
    from rampcast._kernels import engine
    from rampcast.model.build import build_model
    from rampcast.model.deterministic import expected_model
    from rampcast.scenario import scenario_from_dict

    raw = scenario_dict(200, 12, "deal")
    for name, cost in COSTS.items():
        raw["segments"][name]["cost_per_month"] = cost
    raw["simulation"] = {"seed": SEED, "trials": 10_000}
    roster = scenario_from_dict(raw)
    year = float(expected_model(build_model(roster))[engine.BOOKINGS].sum())
    raw["targets"] = {"annual": round(1.02 * year, -3)}
    raw["optimiser"] = {"trials": 1_000, "max_per_month": 3, "time_limit": 60.0}
    return scenario_from_dict(raw)


class Optimise3x12:
    """``optimise_hiring`` at 90% confidence against one engine run."""

    number = 1
    repeat = (1, 3, 600.0)
    warmup_time = 0.0
    timeout = 900

    def setup(self):
        from rampcast.model.build import build_model
        from rampcast.model.monte_carlo import run_model, seat_totals

        self.scenario = scenario()
        self.model = build_model(self.scenario)
        run_model(self.model, SEED, 1, chunk_trials=1)  # compile or load the cache
        seat_totals(self.model, SEED, 1)
        self.result = None
        self.raw = None

    def teardown(self):
        if self.result is not None:
            r = self.result
            assert r.reachable and r.hires, "the target needs hires and is reachable"
            assert r.sample_probability >= 0.9
            assert 0.8 < r.validation.probability, r.validation
        if self.raw is not None:
            from .workloads import check

            check(self.raw, self.model)

    def time_optimise(self):
        from rampcast.plan.optimise import optimise_hiring

        self.result = optimise_hiring(self.scenario, confidence=0.9)

    def time_engine_run(self):
        from rampcast.model.monte_carlo import run_model

        self.raw = run_model(self.model, SEED, 10_000)

    def track_optimise_gap(self):
        """Relative MIP gap at the end of the solve (0 when proven optimal)."""
        from rampcast.plan.optimise import optimise_hiring

        gap = optimise_hiring(self.scenario, confidence=0.9).solution.gap
        return float("nan") if gap is None else gap

    track_optimise_gap.unit = "fraction"
