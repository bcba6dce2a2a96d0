"""Sensitivity: closed forms, monotone effects under common random numbers, CLI."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import yaml

from conftest import build, reps, scenario_dict
from rampcast.model.deterministic import expected
from rampcast.plan.compare import PlanError
from rampcast.plan.sensitivity import moved, sensitivity, shift_delay, stretch_ramp
from rampcast.scenario import Delay


def capacity_scenario(**segment):
    seg = {
        "ramp": {"curve": [0.0, 0.5]},
        "productivity": {"model": "capacity", "monthly_capacity": 1000.0},
        **segment,
    }
    raw = scenario_dict(
        segments={"core": seg},
        roster=reps(3, start="2026-12"),
        hiring_plans={"base": [{"segment": "core", "month": "2027-03"}]},
        targets={"annual": 40_000.0},
    )
    return build(raw)


def test_capacity_scales_bookings_exactly():
    s = capacity_scenario()
    out = sensitivity(s, trials=50, ranges={"monthly_capacity": (0.9, 1.1)})
    b = out.data["bookings"]
    np.testing.assert_allclose(
        b.sel(case="monthly_capacity:high"), 1.1 * b.sel(case="base"), rtol=1e-12
    )
    row = out.tornado.set_index("assumption").loc["monthly_capacity"]
    assert row["p50_high"] == pytest.approx(1.1 * row["p50_base"], rel=1e-12)
    assert row["p50_low"] == pytest.approx(0.9 * row["p50_base"], rel=1e-12)
    # the capacity model has no win rate, deal size or opportunities
    assert set(out.tornado["assumption"]) == {"ramp_length", "monthly_capacity", "hire_slip"}


def test_more_attrition_never_raises_any_trials_bookings_without_backfill():
    s = capacity_scenario(
        attrition={"annual_rate": 0.3}, ramp={"curve": [0, 0.5], "speed_sd": 0.2}
    )
    out = sensitivity(s, trials=400)
    b = out.data["bookings"]
    assert (b.sel(case="attrition:high") <= b.sel(case="base")).all()
    assert (b.sel(case="base") <= b.sel(case="attrition:low")).all()


def test_more_attrition_never_raises_expected_bookings_with_backfill():
    s = capacity_scenario(
        attrition={
            "bands": [
                {"from_month": 0, "annual_rate": 0.4},
                {"from_month": 4, "monthly_hazard": 0.02},
            ]
        },
        backfill={"enabled": True, "time_to_fill": 2},
    )
    values = [
        float(expected(moved(s, "attrition", f))["bookings"].sum())
        for f in (0.5, 0.75, 1.0, 1.25, 2.0)
    ]
    assert values == sorted(values, reverse=True)


def test_tornado_is_ranked_and_states_its_ranges():
    s = capacity_scenario(
        attrition={"annual_rate": 0.3}, backfill={"enabled": True, "time_to_fill": 2}
    )
    out = sensitivity(s, trials=300, ranges={"attrition": (0.5, 1.5)})
    swings = out.tornado["swing_p50"].to_numpy()
    assert (np.diff(swings) <= 0).all() and list(out.tornado["rank"]) == [1, 2, 3, 4, 5]
    assert out.ranges["attrition"] == (0.5, 1.5) and out.ranges["hire_slip"] == (-1.0, 1.0)
    assert out.info["ranges"]["attrition"] == [0.5, 1.5]


def test_ramp_month_against_one_hire():
    s = capacity_scenario()
    out = sensitivity(s, trials=50).ramp_vs_hire.set_index("segment").loc["core"]
    # ramp [0, 0.5] becomes [0]: the 3 roster reps (tenure 1 in January) gain 0.5
    # in January, the March hire gains 0.5 in its second month
    assert out["ramp_value_mean"] == pytest.approx(1000.0 * (3 * 0.5 + 0.5))
    # a hire from January: 0 + 0.5 + 10 full months
    assert out["hire_value_mean"] == pytest.approx(10_500.0)
    assert out["hire_cost"] == 0.0


def test_stretch_ramp_and_shift_delay():
    assert stretch_ramp([0.0, 0.5, 1.0, 1.0], 2) == [0.0, 0.25, 0.5, 0.75]
    assert stretch_ramp([0.2, 0.6], -2) == []
    assert stretch_ramp([], 3) == []
    assert shift_delay(Delay(fixed=2), 1).pmf == [0.0, 0.0, 0.0, 1.0]
    assert shift_delay(Delay(pmf=[0.5, 0.3, 0.2]), -1).pmf == pytest.approx([0.8, 0.2])


@pytest.mark.parametrize(
    "ranges, message",
    [
        ({"speed": (0.9, 1.1)}, "unknown assumption 'speed'"),
        ({"attrition": (0.0, 1.1)}, "multipliers and must be above 0"),
        ({"ramp_length": (-0.5, 1)}, "whole months"),
    ],
)
def test_bad_ranges_are_named(ranges, message):
    with pytest.raises(PlanError, match=message):
        sensitivity(capacity_scenario(), trials=10, ranges=ranges)


def test_short_horizon_is_refused():
    raw = scenario_dict(horizon={"start": "2027-01", "months": 6})
    with pytest.raises(PlanError, match="needs at least 12"):
        sensitivity(build(raw), trials=10)


def test_cli_sensitivity(tmp_path):
    path = tmp_path / "s.yaml"
    raw = scenario_dict(roster=reps(2), targets={"annual": 20_000.0})
    path.write_text(yaml.safe_dump(raw), "utf-8")
    out = tmp_path / "out"
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "rampcast.cli",
            "sensitivity",
            str(path),
            "--trials",
            "100",
            "--range",
            "hire_slip=-1,2",
            "-o",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert {p.name for p in out.iterdir()} == {
        "tornado.csv",
        "ramp_vs_hire.csv",
        "results.nc",
        "run.json",
    }
    assert json.loads((out / "run.json").read_text())["ranges"]["hire_slip"] == [-1, 2]
    bad = subprocess.run(
        [
            sys.executable,
            "-m",
            "rampcast.cli",
            "sensitivity",
            str(path),
            "--range",
            "attrition:2",
            "-o",
            str(tmp_path / "bad"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert bad.returncode == 2 and "NAME=LOW,HIGH" in bad.stderr
    assert not (tmp_path / "bad").exists()
