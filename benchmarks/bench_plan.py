"""Speed of ``rampcast compare`` against one engine run of the same size.

Workload: 10 hiring plans of one scenario, each with 200 seats (the 180-rep
synthetic roster of :mod:`benchmarks.workloads` plus 20 planned hires whose
months differ between plans), deal-level bookings over 24 months, 10,000
trials per plan. ``setup`` builds the scenario and compiles the kernel, so
the timings are steady state. ``time_single_run`` is one engine run of one
plan (200 seats x 24 months x 10,000 trials): the unit the comparison is
measured against. Each comparison is checked after it is timed: a plan
against itself differs by zero, and every plan's mean bookings match the
deterministic mode.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from .workloads import scenario_dict

SEED = 20270101
TRIALS = 10_000
PLANS = 10
SEGMENTS = ("smb", "mid_market", "enterprise")


def plan_scenario(plans: int = PLANS, roster: int = 180, hires: int = 20, months: int = 24):
    """The synthetic scenario with ``plans`` plans of ``roster + hires`` seats."""
    from rampcast.scenario import scenario_from_dict

    raw = scenario_dict(roster, months, "deal")
    start = dt.date.fromisoformat(raw["horizon"]["start"] + "-01")
    out = {}
    for k in range(plans):
        rows = []
        for j in range(hires):
            m = (j + k) % 12
            month = dt.date(
                start.year + (start.month - 1 + m) // 12, (start.month - 1 + m) % 12 + 1, 1
            )
            rows.append({"segment": SEGMENTS[j % 3], "month": f"{month:%Y-%m}"})
        out[f"plan{k}"] = rows
    raw["hiring_plans"] = out
    raw["targets"] = {"annual": 60e6}
    return scenario_from_dict(raw)


def check(comparison, scenario) -> None:
    """Plans differ from the baseline by zero only for itself; means near expected."""
    from rampcast.model.deterministic import expected

    b = comparison.data["bookings"]
    assert np.isfinite(b).all() and (b >= 0).all()
    assert (comparison.data["diff_mean"].isel(plan=0) == 0).all()
    for plan in comparison.plans[:2]:
        want = float(expected(scenario, plan)["bookings"].isel(month=slice(0, 12)).sum())
        got = b.sel(plan=plan, period="Y1")
        se = float(got.std()) / np.sqrt(got.size)
        assert abs(float(got.mean()) - want) < 6 * se + 0.005 * want, (plan, want)


class Compare10Plans:
    """10 plans x 200 seats x 24 months x 10,000 trials, with common random numbers."""

    number = 1
    rounds = 1
    repeat = (2, 3, 60.0)
    warmup_time = 0.0
    timeout = 600

    def setup(self):
        from rampcast.model.build import build_model
        from rampcast.model.monte_carlo import run_model

        self.scenario = plan_scenario()
        self.model = build_model(self.scenario, "plan0")
        run_model(self.model, SEED, 1, chunk_trials=1)  # compile or load the cache
        self.result = None

    def teardown(self):
        if self.result is not None:
            check(self.result, self.scenario)
            self.result = None

    def time_single_run(self):
        from rampcast.model.monte_carlo import run_model

        run_model(self.model, SEED, TRIALS)

    def time_compare(self):
        from rampcast.plan.compare import compare

        self.result = compare(self.scenario, trials=TRIALS, seed=SEED, attribution=False)

    def time_compare_with_attribution(self):
        from rampcast.plan.compare import compare

        self.result = compare(self.scenario, trials=TRIALS, seed=SEED)

    def peakmem_compare(self):
        from rampcast.plan.compare import compare

        compare(self.scenario, trials=TRIALS, seed=SEED, attribution=False)
