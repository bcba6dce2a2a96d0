"""Quota setting and attainment: sums, bounds, ramped quotas, targeting, CLI.

Reference values: worked examples R2 (mod-us ramped quotas) and R5 (street
quota and attainment factor) in ``shared/reference/worked-examples.md``.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import build, reps, scenario_dict
from rampcast.errors import DataError, QuotaError
from rampcast.io.quota import read_assignment, read_history
from rampcast.model.build import build_model
from rampcast.model.deterministic import expected_model, expected_seat_capacity
from rampcast.quota import (
    evaluate,
    fit_to_total,
    parse_weights,
    ramped_quota,
    sample_attainment,
    set_quotas,
    share_at_quota,
    target_share_at_quota,
)

MOD_US_CURVE = [0.0, 0.25, 0.5, 0.75, 0.9]


def team_dict(**overrides) -> dict:
    """Eight ramped reps, two ramping, a known leaver and a planned hire."""
    raw = scenario_dict(
        simulation={"trials": 2000, "seed": 11},
        targets={"annual": 900_000},
        segments={
            "core": {
                "ramp": {"curve": [0.0, 0.3, 0.6], "speed_sd": 0.2},
                "attrition": {"annual_rate": 0.2},
                "productivity": {
                    "model": "capacity",
                    "monthly_capacity": 10_000.0,
                    "cv": 0.5,
                    "skill_sd": 0.25,
                },
                "backfill": {"enabled": True, "time_to_fill": 2},
            }
        },
        roster=[
            *reps(8, start="2024-01"),
            *reps(2, start="2026-12"),
            {"id": "leaver", "segment": "core", "start": "2023-01", "end": "2027-06-30"},
        ],
        hiring_plans={"base": [{"segment": "core", "month": "2027-03"}]},
    )
    raw.update(overrides)
    return raw


@pytest.fixture(scope="module")
def team():
    return build(team_dict())


@pytest.fixture(scope="module")
def team_sample(team):
    plan = set_quotas(team, over_assignment=0.1)
    return plan, sample_attainment(plan.holders, team.simulation.seed, 2000)


# --- the projection: sum and bounds -------------------------------------------------


@st.composite
def fit_cases(draw):
    n = draw(st.integers(1, 12))
    basis = draw(st.lists(st.one_of(st.just(0.0), st.floats(1e-6, 10.0)), min_size=n, max_size=n))
    lower = draw(st.lists(st.floats(0.0, 5.0), min_size=n, max_size=n))
    width = draw(
        st.lists(st.one_of(st.floats(0.0, 20.0), st.just(math.inf)), min_size=n, max_size=n)
    )
    upper = [lo + w for lo, w in zip(lower, width, strict=True)]
    b = np.array(basis)
    most = sum(u for u, x in zip(upper, b, strict=True) if x > 0) + sum(
        lo for lo, x in zip(lower, b, strict=True) if x == 0
    )
    least = sum(lower)
    top = min(most, least + 100.0)
    total = draw(st.floats(least, top)) if top > least else least
    return b, np.array(lower), np.array(upper), total


@given(fit_cases())
@settings(max_examples=300, deadline=None)
def test_fit_sums_to_total_within_bounds(case):
    basis, lower, upper, total = case
    fit = fit_to_total(basis, total, lower, upper)
    scale = max(1.0, total)
    assert fit.quota.sum() == pytest.approx(total, rel=1e-9, abs=1e-9 * scale)
    assert np.all(fit.quota >= lower - 1e-9 * scale)
    assert np.all(fit.quota <= upper + 1e-9 * scale)
    # reps off their bounds keep the blend's proportions: Q_r = lambda b_r
    free = (basis > 0) & ~fit.at_lower & ~fit.at_upper
    if free.sum() > 1:
        ratio = fit.quota[free] / basis[free]
        assert np.allclose(ratio, ratio[0], rtol=1e-7)


def test_fit_says_which_range_the_bounds_allow():
    with pytest.raises(QuotaError, match=r"from 0\.00 to 30\.00; 50\.00 is outside"):
        fit_to_total([1.0, 1.0], 50.0, upper=[10.0, 20.0])


@given(
    w=st.lists(st.floats(0.0, 1.0), min_size=3, max_size=3).filter(lambda v: sum(v) > 0.01),
    band=st.floats(0.05, 0.6),
    over=st.floats(0.0, 0.3),
)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_quotas_sum_to_target_times_over_assignment_within_bounds(team, w, band, over):
    weights = dict(zip(("capacity", "potential", "history"), (x / sum(w) for x in w), strict=True))
    potential = {f"core-2024-01-{i}": 100.0 + 30 * i for i in range(8)}
    history = {f"core-2024-01-{i}": 95_000.0 + 3_000 * i for i in range(8)}
    try:
        plan = set_quotas(
            team,
            potential=potential,
            history=history,
            over_assignment=over,
            weights=weights,
            band=band,
        )
    except QuotaError as exc:  # bounds that cannot meet the total must say so
        assert "the bounds allow a street quota" in str(exc)
        return
    assert plan.street_quota == pytest.approx(900_000 * (1 + over), rel=1e-9)
    bounded = np.isfinite(plan.upper)
    assert bounded.sum() == 8
    q = plan.quota[bounded]
    assert np.all(q >= plan.lower[bounded] * (1 - 1e-9))
    assert np.all(q <= plan.upper[bounded] * (1 + 1e-9))
    assert np.allclose(plan.monthly.sum(axis=1), plan.quota)


# --- ramped quotas: worked example R2 -------------------------------------------------


def test_mod_us_ramped_quotas_to_the_cent():
    # R2 (mod-us wiki quota playbook): 1.4M, ramp 0/25/50/75/90/100%
    q = ramped_quota(1_400_000, MOD_US_CURVE)
    assert [round(v, 2) for v in q[:6]] == [
        0.0,
        29_166.67,
        58_333.33,
        87_500.0,
        105_000.0,
        116_666.67,
    ]
    assert round(q.sum(), 2) == 1_096_666.67
    assert round(q[3:6].sum(), 2) == 309_166.67  # Q2 at 88.3%, not the published 92%
    assert round(q.sum(), 2) != 1_110_000.00


def test_mod_us_through_quota_setting():
    """A lone new hire's quotas follow its ramp curve exactly."""
    raw = scenario_dict(
        targets={"annual": 1_400_000 * 9.4 / 12},
        segments={
            "core": {
                "ramp": {"curve": MOD_US_CURVE},
                "productivity": {"model": "capacity", "monthly_capacity": 1_400_000 / 12},
            }
        },
        roster=[{"id": "new", "segment": "core", "start": "2027-01-01"}],
    )
    plan = set_quotas(build(raw), over_assignment=0.0)
    assert [round(v, 2) for v in plan.monthly[0, :6]] == [
        0.0,
        29_166.67,
        58_333.33,
        87_500.0,
        105_000.0,
        116_666.67,
    ]
    assert round(plan.quota[0], 2) == 1_096_666.67
    assert round(plan.full_quota[0], 2) == 1_400_000.00


# --- street quota and attainment factor: worked example R5 ---------------------------


def test_over_assignment_and_attainment_factor_are_reciprocal(make):
    # R5: street quota 1.0M against a target of 800k -> 125% / 80%
    scenario = make(targets={"annual": 800_000}, roster=reps(5))
    plan = set_quotas(scenario, over_assignment=0.25)
    assert plan.street_quota == pytest.approx(1_000_000, rel=1e-12)
    assert plan.attainment_factor == pytest.approx(0.80, rel=1e-12)
    assert (1 + plan.over_assignment) * plan.attainment_factor == pytest.approx(1.0)
    assert np.allclose(plan.quota, 200_000)  # five identical ramped reps


# --- attainment ----------------------------------------------------------------------


def test_p_at_quota_decreases_with_quota_level(team_sample):
    plan, sample = team_sample
    levels = np.linspace(-0.3, 0.6, 10)
    p = np.array([evaluate(plan.at(x), sample).p_at_quota for x in levels])
    assert np.all(np.diff(p, axis=0) <= 0)
    assert p[0].mean() > p[-1].mean()


def test_inclusive_threshold():
    bookings = np.array([[100.0], [99.99], [100.0], [150.0]])
    share, _ = share_at_quota(np.array([100.0]), bookings, np.array([True]))
    assert share == 0.75


def test_targeting_lands_within_tolerance_and_holds_on_a_new_seed(team, team_sample):
    plan, sample = team_sample
    found = target_share_at_quota(plan, sample, 0.65, tolerance=0.005)
    assert found.within_tolerance, found.status
    assert abs(found.share - 0.65) <= 0.005
    assert found.plan.street_quota == pytest.approx(900_000 * (1 + found.plan.over_assignment))
    # a fresh sample with another seed: the same quotas give the same share up to noise
    other = sample_attainment(plan.holders, team.simulation.seed + 1, 2000)
    again = evaluate(found.plan, other)
    noise = math.hypot(found.share_se, again.share_se)
    assert abs(again.share - 0.65) <= 0.005 + 4 * noise


def test_targeting_rejects_a_share_outside_zero_one(team_sample):
    plan, sample = team_sample
    with pytest.raises(QuotaError, match="strictly between 0 and 1; got 1.2"):
        target_share_at_quota(plan, sample, 1.2)


def test_team_probability_does_not_depend_on_quota_level(team_sample):
    plan, sample = team_sample
    a, b = evaluate(plan.at(0.0), sample), evaluate(plan.at(0.4), sample)
    assert a.p_team_plan == b.p_team_plan
    assert b.p_team_street <= a.p_team_street


def test_seat_capacity_adds_up_to_segment_capacity(team):
    model = build_model(team)
    per_seat = expected_seat_capacity(model)
    assert np.allclose(per_seat.sum(axis=0), expected_model(model)[2, :, 0])


# --- input checks ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, message",
    [
        ("capacity=0.5,potential=0.3", "sum to 0.8; they must sum to 1"),
        ("capacity=0.5,territory=0.5", "unknown component 'territory'"),
        ("capacity=-0.5,potential=1.5", "capacity must be a number >= 0"),
    ],
)
def test_bad_weights(text, message):
    with pytest.raises(QuotaError, match=message):
        parse_weights(text)


def test_negative_over_assignment(team):
    with pytest.raises(QuotaError, match=r"over-assignment must be >= 0 .* got -0.1"):
        set_quotas(team, over_assignment=-0.1)


def test_unknown_rep_is_named(team):
    with pytest.raises(DataError, match="column rep: unknown rep 'ghost'"):
        set_quotas(team, potential={"ghost": 1.0}, assignment_source="a.csv")


def test_without_assignment_potential_falls_back_to_capacity(team):
    plan = set_quotas(team)
    assert np.allclose(plan.shares["potential"], plan.shares["capacity"])
    assert any("potential weight falls back to capacity" in n for n in plan.notes)


def test_readers(tmp_path):
    path = tmp_path / "assignment.csv"
    path.write_text(
        "account,rep,previous_owner,moved,potential,workload,segment\n"
        "a,r1,r1,False,10,1,core\nb,r1,r2,True,5,1,core\nc,r2,r2,False,7,1,core\n"
    )
    assert read_assignment(path) == {"r1": 15.0, "r2": 7.0}
    path.write_text("account,rep,potential\na,r1,ten\n")
    with pytest.raises(DataError, match="line 2, column potential: 'ten'"):
        read_assignment(path)
    hist = tmp_path / "history.csv"
    hist.write_text("rep,period,bookings\nr1,2026,400\nr2,2026Q3,50\nr2,2026Q4,70\n")
    assert read_history(hist) == {"r1": 400.0, "r2": 240.0}
    hist.write_text("rep,period,bookings\nr1,last year,400\n")
    with pytest.raises(DataError, match="column period: 'last year' is not a period"):
        read_history(hist)


# --- command line ------------------------------------------------------------------------


def _cli(*args):
    proc = subprocess.run(
        [sys.executable, "-m", "rampcast.cli", "quotas", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    return proc


@pytest.fixture(scope="module")
def cli_runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("quotas")
    scenario = root / "team.yaml"
    scenario.write_text(yaml.safe_dump(team_dict()), encoding="utf-8")
    good = root / "assignment.csv"
    pd.DataFrame(
        {
            "account": ["a", "b", "c"],
            "rep": ["core-2024-01-0", "core-2024-01-1", "core-2024-01-2"],
            "previous_owner": ["core-2024-01-0"] * 3,
            "moved": [False, True, True],
            "potential": [300.0, 200.0, 250.0],
            "workload": [1, 1, 1],
            "segment": ["core"] * 3,
        }
    ).to_csv(good, index=False)
    ghost = root / "ghost.csv"
    ghost.write_text("account,rep,potential\na,ghost,1\n")
    out = root / "out"
    runs = {
        "ok": ("--assignment", good, "--target-share-at-quota", 0.65, "--trials", 500, "-o", out),
        "ghost": ("--assignment", ghost, "-o", root / "never"),
        "negative": ("--over-assignment", -0.2),
        "weights": ("--weights", "capacity=0.7,potential=0.7"),
        "share": ("--target-share-at-quota", 1.5),
    }
    with ThreadPoolExecutor(max_workers=5) as pool:
        done = {k: pool.submit(_cli, scenario, *v) for k, v in runs.items()}
        return {k: f.result() for k, f in done.items()} | {"root": root, "out": out}


def test_cli_writes_quotas_summary_and_run_json(cli_runs):
    run, out = cli_runs["ok"], cli_runs["out"]
    assert run.returncode == 0, run.stderr
    quotas = pd.read_csv(out / "quotas.csv")
    assert list(quotas.columns) == [
        "rep",
        "segment",
        "quarter",
        "quota",
        "ramped",
        "p_at_quota",
        "expected_attainment",
    ]
    info = json.loads((out / "run.json").read_text())
    year = quotas[quotas["quarter"] == "Y1"]
    assert year["quota"].sum() == pytest.approx(info["street_quota"], abs=0.01 * len(year))
    assert info["street_quota"] == pytest.approx(900_000 * (1 + info["over_assignment"]))
    assert info["targeting"]["status"] == "within tolerance"
    assert info["conventions"]["at_quota"].startswith("at quota: attainment >= 100%")
    summary = pd.read_csv(out / "summary.csv").set_index("item")["value"]
    assert float(summary["attainment_factor"]) == pytest.approx(
        1 / (1 + float(summary["over_assignment"])), rel=1e-5
    )
    assert not list(Path(out).glob(".*.tmp"))


@pytest.mark.parametrize(
    "name, message",
    [
        ("ghost", "ghost.csv: column rep: unknown rep 'ghost'"),
        ("negative", "--over-assignment must be >= 0"),
        ("weights", "--weights: weights 'capacity=0.7,potential=0.7' sum to 1.4"),
        ("share", "--target-share-at-quota must be strictly between 0 and 1; got 1.5"),
    ],
)
def test_cli_bad_input_exits_2(cli_runs, name, message):
    run = cli_runs[name]
    assert run.returncode == 2, run.stderr
    assert message in run.stderr
    assert not (cli_runs["root"] / "never").exists()
