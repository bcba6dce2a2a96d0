"""The hiring optimiser: per-seat totals, MILP against exhaustive search, CLI.

The small cases (two segments, three months, at most two hires a month)
have 3**6 = 729 plans, few enough to try them all on the same sample.
"""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import yaml

from rampcast._kernels.engine import BOOKINGS, DEPARTURES, HEADCOUNT, Seats
from rampcast.errors import ScenarioError
from rampcast.model.build import build_model
from rampcast.model.monte_carlo import run_model, seat_totals
from rampcast.plan.optimise import (
    OptimiserError,
    candidate_slots,
    exhaustive_search,
    optimise_hiring,
    sample_hires,
    solve_saa,
    wilson_interval,
)
from rampcast.scenario import scenario_from_dict

TARGET = 150_000.0


def _segment(capacity: float, cost: float) -> dict:
    return {
        "ramp": {"curve": [0.0, 0.4, 0.8], "speed_sd": 0.2},
        "attrition": {"annual_rate": 0.25},
        "productivity": {
            "model": "capacity",
            "monthly_capacity": capacity,
            "cv": 0.5,
            "skill_sd": 0.3,
        },
        "hiring": {"slip": {"pmf": [0.7, 0.3]}, "acceptance": 0.85},
        "backfill": {"enabled": True, "time_to_fill": 2},
        "cost_per_month": cost,
    }


def small_dict(**optimiser) -> dict:
    """Two segments, a roster of four, hires allowed in Jan-Mar only (729 plans)."""
    window = ["2027-01", "2027-03"]
    return {
        "name": "small",
        "horizon": {"start": "2027-01", "months": 12},
        "simulation": {"trials": 200, "seed": 11},
        "targets": {"annual": TARGET},
        "segments": {"smb": _segment(1_500.0, 3_000.0), "ent": _segment(2_600.0, 5_000.0)},
        "roster": [
            {"id": f"r{i}", "segment": "smb" if i % 2 else "ent", "start": "2025-01-01"}
            for i in range(4)
        ],
        "optimiser": {
            "trials": 200,
            "max_per_month": 2,
            "gap": 0.0,
            "time_limit": 20,
            "limits": {"smb": {"window": window}, "ent": {"window": window}},
            **optimiser,
        },
    }


@pytest.fixture(scope="module")
def small():
    return scenario_from_dict(small_dict())


@pytest.fixture(scope="module")
def sample(small):
    return sample_hires(small, candidate_slots(small), seed=11, trials=200)


def test_seat_totals_match_single_seat_runs(small):
    """Each seat's column equals the engine run on a model holding that seat alone."""
    plan = [
        {"segment": "smb", "month": "2027-02", "count": 2},
        {"segment": "ent", "month": "2027-01", "count": 1},
    ]
    model = build_model(scenario_from_dict({**small_dict(), "hiring_plans": {"p": plan}}))
    totals = seat_totals(model, seed=3, trials=64, first=0, last=11)
    whole = run_model(model, 3, 64)[BOOKINGS].sum(axis=(1, 2))
    np.testing.assert_allclose(totals.bookings.sum(axis=1), whole, rtol=1e-12)
    for j in range(len(model.seat_labels)):
        seats = Seats(*(a[j : j + 1] for a in model.seats))
        one = dataclasses.replace(model, seats=seats, seat_labels=model.seat_labels[j : j + 1])
        raw = run_model(one, 3, 64)
        np.testing.assert_allclose(
            totals.bookings[:, j], raw[BOOKINGS].sum(axis=(1, 2)), rtol=1e-12, atol=1e-9
        )
        occupied = raw[HEADCOUNT].sum(axis=(1, 2)) + raw[DEPARTURES].sum(axis=(1, 2))
        np.testing.assert_array_equal(totals.occupied[:, j], occupied)


def test_slots_follow_limits(small):
    slots = candidate_slots(small)
    assert len(slots) == 6
    assert {s.month.month for s in slots} == {1, 2, 3}
    assert all(s.max_hires == 2 for s in slots)


@pytest.mark.parametrize("confidence", [0.3, 0.6, 0.8, 0.9])
def test_milp_agrees_with_exhaustive_search(sample, confidence):
    milp = solve_saa(sample, confidence, gap=0.0)
    brute = exhaustive_search(sample, confidence)
    assert brute is not None and milp.reachable
    assert milp.status == "optimal"
    assert milp.cost == pytest.approx(brute[0], rel=1e-9)
    assert milp.hits >= milp.need


def test_milp_agrees_with_exhaustive_search_under_budget_and_total(small):
    raw = small_dict()
    raw["optimiser"]["limits"]["ent"]["max_total"] = 1
    scenario = scenario_from_dict(raw)
    sample = sample_hires(scenario, candidate_slots(scenario), seed=11, trials=200)
    brute = exhaustive_search(sample, 0.6, budget=200_000)
    milp = solve_saa(sample, 0.6, budget=200_000, gap=0.0)
    if brute is None:
        assert not milp.reachable
    else:
        assert milp.cost == pytest.approx(brute[0], rel=1e-9)
        assert (
            sum(c for c, s in zip(milp.counts, sample.slots, strict=True) if s.segment == "ent")
            <= 1
        )


def test_tighter_confidence_never_costs_less(sample):
    costs = [solve_saa(sample, c, gap=0.0).cost for c in (0.2, 0.5, 0.7, 0.85, 0.95)]
    assert costs == sorted(costs)
    assert costs[-1] > costs[0]


def test_plan_meets_confidence_when_resimulated(small):
    """With the documented margin against the sample average's optimism."""
    margin = 1.645 * np.sqrt(0.8 * 0.2 / 300)
    result = optimise_hiring(
        small, confidence=0.8, trials=300, validation_trials=4000, margin=margin
    )
    assert result.reachable and result.hires
    v = result.validation
    assert v.seed != result.sample_seed
    assert v.low <= v.probability <= v.high
    assert result.meets_confidence, v
    assert result.cost == pytest.approx(sum(h.cost for h in result.hires))


def test_unreachable_target_is_reported(small):
    raw = small_dict()
    raw["targets"]["annual"] = 400_000.0
    result = optimise_hiring(
        scenario_from_dict(raw), confidence=0.9, trials=200, validation_trials=400
    )
    assert not result.reachable
    assert result.solution.status == "unreachable"
    assert result.sample_probability == pytest.approx(result.all_hires_probability)
    assert result.sample_probability < 0.9


def test_unreachable_under_budget_reports_best_probability(sample):
    cheap = solve_saa(sample, 0.95, budget=60_000, gap=0.0)
    assert not cheap.reachable
    assert sample.plan_cost(cheap.counts) <= 60_000
    # no plan within the budget does better on the sample
    best = max(
        (sample.bookings(np.array(c)) >= sample.target).sum()
        for c in np.ndindex(*(s.max_hires + 1 for s in sample.slots))
        if sample.plan_cost(np.array(c)) <= 60_000
    )
    assert cheap.hits == best


def test_roster_alone_needs_no_hires(small):
    raw = small_dict()
    raw["targets"]["annual"] = 1_000.0
    result = optimise_hiring(
        scenario_from_dict(raw), confidence=0.9, trials=100, validation_trials=200
    )
    assert result.reachable and result.hires == () and result.cost == 0.0


@pytest.mark.parametrize("confidence", [0.0, 1.0, -0.1, 1.5])
def test_confidence_outside_unit_interval(small, confidence):
    with pytest.raises(OptimiserError, match="confidence must be strictly between 0 and 1"):
        optimise_hiring(small, confidence=confidence)


def test_budget_too_small_for_any_hire(small):
    with pytest.raises(OptimiserError, match="cannot pay for a single hire"):
        optimise_hiring(small, confidence=0.8, budget=100.0, trials=50)


def test_unknown_segment_in_limits():
    raw = small_dict()
    raw["optimiser"]["limits"]["mid"] = {"max_per_month": 1}
    with pytest.raises(ScenarioError, match=r"optimiser.limits.mid: unknown segment 'mid'"):
        scenario_from_dict(raw, source="s.yaml")


def test_wilson_interval_closed_form():
    lo, hi = wilson_interval(0, 10)
    assert lo == 0.0 and hi == pytest.approx(0.27753, abs=1e-5)  # 3.8415 / 13.8415


def _cli(*args):
    proc = subprocess.run(
        [sys.executable, "-m", "rampcast.cli", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    return proc


def test_cli_plan_hiring(tmp_path):
    good = tmp_path / "small.yaml"
    good.write_text(yaml.safe_dump(small_dict()), encoding="utf-8")
    bad = tmp_path / "bad.yaml"
    raw = small_dict()
    raw["optimiser"]["limits"]["mid"] = {"max_per_month": 1}
    bad.write_text(yaml.safe_dump(raw), encoding="utf-8")
    out = tmp_path / "out"
    calls = [
        ("plan-hiring", good, "--confidence", 0.8, "--trials", 200, "-o", out),
        ("plan-hiring", good, "--confidence", 1.5),
        ("plan-hiring", good, "--budget", 10),
        ("plan-hiring", bad),
    ]
    with ThreadPoolExecutor(2) as pool:
        ok, conf, budget, unknown = pool.map(lambda a: _cli(*a), calls)

    assert ok.returncode == 0, ok.stderr
    assert "re-simulated: P(target)" in ok.stdout
    assert {p.name for p in out.iterdir()} == {"plan.csv", "plan.yaml", "run.json"}
    header = (out / "plan.csv").read_text().splitlines()[0]
    assert header == "segment,month,hires,cost"
    fragment = yaml.safe_load((out / "plan.yaml").read_text())
    merged = scenario_from_dict({**small_dict(), **fragment})  # the fragment is usable
    assert merged.plan_name == "optimised" and merged.hiring_plans["optimised"]

    assert conf.returncode == 2 and "--confidence must be strictly between 0 and 1" in conf.stderr
    assert budget.returncode == 2 and "cannot pay for a single hire" in budget.stderr
    assert unknown.returncode == 2 and "unknown segment 'mid'" in unknown.stderr
