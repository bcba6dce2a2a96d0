"""The Monte Carlo mean converges to the deterministic mode.

Each check compares quarterly and annual totals per segment within four
standard errors of the Monte Carlo mean (seeds fixed).
"""

from __future__ import annotations

import numpy as np
import pytest

import rampcast
from conftest import build, reps, scenario_dict
from rampcast.model.deterministic import expected
from rampcast.model.monte_carlo import METRICS, simulate

DEAL = {"model": "deal", "opportunities_per_month": 12,
        "win_rate": {"alpha": 3, "beta": 9}, "deal_size": {"mean": 5000, "cv": 0.8},
        "skill_sd": 0.25}
CAPACITY = {"model": "capacity", "monthly_capacity": 50_000, "cv": 0.4, "skill_sd": 0.2}


def segment(productivity, **extra):
    return {"ramp": {"curve": [0.0, 0.2, 0.5, 0.8], "speed_sd": 0.3},
            "productivity": productivity, **extra}


CASES = {
    "no_attrition": scenario_dict(
        segments={"a": segment(DEAL)}, roster=reps(6, "a", "2026-10") + reps(4, "a")),
    "attrition_bands": scenario_dict(
        conventions={"attrition_conversion": "divide_by_12", "leaver_month_share": 0.4},
        segments={"a": segment(CAPACITY, attrition={"bands": [
            {"from_month": 0, "annual_rate": 0.4}, {"from_month": 6, "monthly_hazard": 0.01}]})},
        roster=reps(8, "a", "2026-09") + reps(5, "a")),
    "backfill_and_hires": scenario_dict(
        horizon={"start": "2027-01", "months": 24},
        conventions={"tenure_index": "first_month_is_one", "attrition_applies_to": "ramped",
                     "attainment_applies_to": "ramped"},
        segments={
            "a": segment(DEAL, attrition={"annual_rate": 0.35},
                         backfill={"enabled": True, "time_to_fill": {"mean": 2.0}},
                         hiring={"slip": {"pmf": [0.5, 0.3, 0.2]}, "acceptance": 0.8}),
            "b": segment({**CAPACITY, "attainment": 0.9},
                         attrition={"monthly_hazard": 0.03},
                         backfill={"enabled": True, "time_to_fill": {"pmf": [0.2, 0.8]}},
                         seasonality=[0.8, 0.9, 1.3] * 4),
        },
        roster=reps(5, "a") + reps(3, "b", "2026-12")
        + [{"id": "leaver", "segment": "b", "start": "2021-01", "end": "2027-05-15",
            "productivity": 1.3}],
        hiring_plans={"base": [{"segment": "a", "month": "2027-02", "count": 3},
                               {"segment": "b", "month": "2027-07", "count": 2}]}),
}



@pytest.mark.parametrize("case", sorted(CASES))
def test_monte_carlo_mean_converges_to_expected(case):
    scenario = build(CASES[case])
    trials = 6000
    mc = simulate(scenario, trials=trials, seed=99).data
    det = expected(scenario)
    months = scenario.horizon.months
    for name in METRICS:
        for block in (3, 12):
            labels = np.arange(months) // block
            sums = mc[name].groupby(mc.month.copy(data=labels)).sum()
            exp = det[name].groupby(det.month.copy(data=labels)).sum()
            mean = sums.mean("trial")
            se = sums.std("trial") / np.sqrt(trials)
            gap = np.abs(mean - exp)
            # a cell whose variance comes from rare events (the last slow
            # ramper) can show no such event in the sample, and so a standard
            # error far too small: allow ten parts per million there
            ok = gap <= 4 * se + 1e-5 * np.abs(exp).clip(1)
            assert bool(ok.all()), (name, block, (gap / se).max().item())


def test_default_scenario_converges():
    scenario = rampcast.load_scenario(rampcast.default_scenario_path())
    trials = 6000
    annual = simulate(scenario, trials=trials, seed=1).data.bookings.sum(("month", "segment"))
    det = float(expected(scenario).bookings.sum())
    assert abs(float(annual.mean()) - det) < 4 * float(annual.std()) / np.sqrt(trials)
