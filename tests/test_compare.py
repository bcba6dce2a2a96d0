"""Plan comparison: common random numbers, seat-group sums, attribution, CLI."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import build, reps, scenario_dict
from rampcast.model.monte_carlo import simulate
from rampcast.plan.compare import ATTRIBUTION_TERMS, PlanError, compare, expected_attribution

SEGMENTS = {
    "core": {
        "ramp": {"curve": [0.0, 0.3, 0.6], "speed_sd": 0.2},
        "attrition": {"annual_rate": 0.3},
        "productivity": {
            "model": "capacity",
            "monthly_capacity": 1000.0,
            "cv": 0.5,
            "skill_sd": 0.2,
        },
        "backfill": {"enabled": True, "time_to_fill": {"pmf": [0.2, 0.5, 0.3]}},
        "hiring": {"slip": {"pmf": [0.6, 0.4]}, "acceptance": 0.8},
        "cost_per_month": 10.0,
    },
    "ent": {
        "ramp": {"curve": [0.0, 0.2, 0.4, 0.6, 0.8]},
        "attrition": {
            "bands": [
                {"from_month": 0, "annual_rate": 0.4},
                {"from_month": 6, "monthly_hazard": 0.01},
            ]
        },
        "productivity": {
            "model": "deal",
            "opportunities_per_month": 3.0,
            "win_rate": {"mean": 0.25, "concentration": 20},
            "deal_size": {"median": 3000.0, "sigma": 0.6},
        },
        "cost_per_month": 20.0,
    },
}
BASE_HIRES = [
    {"segment": "core", "month": "2027-02", "count": 2},
    {"segment": "ent", "month": "2027-04"},
]


def scenario(plans=None, **extra):
    roster = reps(4, "core", "2025-06") + reps(2, "ent", "2026-11")
    roster.append({"id": "leaver", "segment": "core", "start": "2024-01", "end": "2027-05-15"})
    plans = plans or {
        "base": BASE_HIRES,
        "more": [*BASE_HIRES, {"segment": "ent", "month": "2027-01"}],
    }
    raw = scenario_dict(
        segments=SEGMENTS,
        roster=roster,
        hiring_plans=plans,
        targets={"annual": 120_000.0, "quarterly": [20_000.0, 30_000.0, 30_000.0, 40_000.0]},
        **extra,
    )
    return build(raw)


def test_plan_against_itself_differs_by_zero_in_every_trial():
    s = scenario({"base": BASE_HIRES, "copy": BASE_HIRES})
    cmp = compare(s, trials=300, attribution=False)
    b = cmp.data["bookings"]
    assert (b.sel(plan="copy") == b.sel(plan="base")).all()
    assert (cmp.data["p_equal"].sel(plan="copy") == 1.0).all()
    assert (cmp.differences[["diff_mean", "diff_p10", "diff_p90"]] == 0).all().all()


def test_seat_groups_add_up_to_whole_plan_runs():
    s = scenario()
    cmp = compare(s, trials=300, seed=3, attribution=False)
    for plan in ("base", "more"):
        whole = simulate(s, plan=plan, trials=300, seed=3).data
        year = whole["bookings"].sum(("segment", "month")).values
        np.testing.assert_allclose(
            cmp.data["bookings"].sel(plan=plan, period="Y1"), year, rtol=1e-12
        )
        cap = whole["capacity"].sum("segment").isel(month=slice(0, 3)).sum("month").values
        np.testing.assert_allclose(
            cmp.data["capacity"].sel(plan=plan, period="Y1Q1"), cap, rtol=1e-12
        )


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    segment=st.sampled_from(["core", "ent"]), month=st.integers(1, 12), seed=st.integers(0, 2**32)
)
def test_one_more_hire_never_lowers_any_trials_capacity(segment, month, seed):
    extra = {"segment": segment, "month": f"2027-{month:02d}"}
    s = scenario({"base": BASE_HIRES, "plus": [*BASE_HIRES, extra]})
    cap = compare(s, trials=100, seed=seed, attribution=False).data["capacity"]
    assert (cap.sel(plan="plus") >= cap.sel(plan="base")).all()


@pytest.fixture(scope="module")
def exact_comparison():
    s = scenario(simulation={"trials": 3000, "seed": 11, "sampler": "exact"})
    return s, compare(s)


def test_attribution_terms_add_up_to_the_gap(exact_comparison):
    _, cmp = exact_comparison
    terms = cmp.data["attribution"].sum("term")
    np.testing.assert_allclose(terms, cmp.data["gap"], rtol=1e-12, atol=1e-6)
    gap = cmp.data["target"] - cmp.data["bookings_mean"]
    np.testing.assert_allclose(terms, gap, rtol=1e-12, atol=1e-6)


def test_attribution_agrees_with_deterministic_mode(exact_comparison):
    s, cmp = exact_comparison
    for plan in cmp.plans:
        want = expected_attribution(s, plan).set_index("period")
        got = cmp.attribution[cmp.attribution["plan"] == plan].set_index("period")
        for term in ATTRIBUTION_TERMS:
            miss = (got[term] - want[term]).abs()
            # a term that is the same in every trial has SE 0; the expected ramp's
            # normal tail integrals then differ from the draws in the 9th digit
            tol = 4 * got[f"{term}_se"] + 1e-8 * want["bookings_mean"]
            assert (miss <= tol).all(), (plan, term, miss)


def test_probabilities_of_more_are_complementary(exact_comparison):
    _, cmp = exact_comparison
    pair = cmp.data["p_more_pair"]
    assert ((pair >= 0) & (pair <= 1)).all()
    b = cmp.data["bookings"]
    ties = (b.sel(plan="more") == b.sel(plan="base")).mean("trial")
    total = pair.sel(plan="more", other="base") + pair.sel(plan="base", other="more") + ties
    np.testing.assert_allclose(total, 1.0)
    d = cmp.data.sel(plan="more")
    np.testing.assert_allclose(d["p_more"] + d["p_equal"] + d["p_less"], 1.0)


def test_costs_and_hires(exact_comparison):
    _, cmp = exact_comparison
    row = cmp.summary.set_index(["plan", "period"])
    assert row.loc[("base", "Y1"), "planned_hires"] == 3
    assert row.loc[("more", "Y1"), "planned_hires"] == 4
    assert row.loc[("more", "Y1"), "hire_cost"] > row.loc[("base", "Y1"), "hire_cost"] > 0
    assert 0 < row.loc[("base", "Y1"), "team_cost"] < 12 * 20 * 20


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"plans": ["base", "nope"]}, "unknown hiring plan 'nope' in plans; allowed: base, more"),
        ({"plans": ["base"]}, "compare needs at least 2 plans; got 1"),
        ({"plans": ["base", "base"]}, "plan 'base' is named more than once"),
        ({"trials": 0}, "trials must be at least 1"),
    ],
)
def test_bad_requests_are_named(kwargs, message):
    with pytest.raises(PlanError, match=message):
        compare(scenario(), **kwargs)


def test_scenarios_must_share_a_horizon():
    other = scenario(horizon={"start": "2027-01", "months": 24})
    with pytest.raises(PlanError, match="share one horizon"):
        compare([scenario(), other])


def test_several_scenarios_compare_their_own_plans():
    a = scenario(plan="base")
    b = scenario(plan="more")
    cmp = compare([a, b], trials=200, attribution=False)
    assert cmp.plans == ["test", "test#2"]
    direct = compare(a, trials=200, attribution=False)
    np.testing.assert_allclose(cmp.data["bookings"].values, direct.data["bookings"].values)


# --------------------------------------------------------------------------
# command line, end to end


def cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "rampcast.cli", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.fixture(scope="module")
def scenario_file(tmp_path_factory):
    folder = tmp_path_factory.mktemp("compare")
    raw = scenario_dict(
        segments=SEGMENTS,
        roster=reps(3, "core", "2025-06"),
        hiring_plans={"base": BASE_HIRES, "lean": BASE_HIRES[:1]},
        targets={"annual": 60_000.0},
    )
    path = folder / "s.yaml"
    path.write_text(yaml.safe_dump(raw), "utf-8")
    return path


def test_cli_compare_writes_tables(scenario_file, tmp_path):
    out = tmp_path / "out"
    run = cli("compare", scenario_file, "--plans", "lean,base", "--trials", 200, "-o", out)
    assert run.returncode == 0, run.stderr
    names = {p.name for p in out.iterdir()}
    assert names == {"summary.csv", "differences.csv", "attribution.csv", "results.nc", "run.json"}
    info = json.loads((out / "run.json").read_text())
    assert info["seed"] == 7 and info["trials"] == 200 and info["plans"] == ["lean", "base"]
    assert len(info["scenario_sha256"]) == 64


def test_cli_compare_bad_input_writes_nothing(scenario_file, tmp_path):
    out = tmp_path / "out"
    run = cli("compare", scenario_file, "--plans", "base,nope", "-o", out)
    assert run.returncode == 2
    assert "'nope' is not a hiring plan" in run.stderr and "allowed: base, lean" in run.stderr
    run = cli("compare", scenario_file, "--plans", "base", "-o", out)
    assert run.returncode == 2 and "at least 2 plans" in run.stderr
    run = cli("compare", tmp_path / "missing.yaml", scenario_file, "-o", out)
    assert run.returncode == 2 and "does not exist" in run.stderr
    assert not out.exists()
