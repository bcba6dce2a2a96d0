"""The example scenarios in scenarios/ load, run, and say what they claim."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import rampcast
from rampcast.model.deterministic import expected
from rampcast.model.monte_carlo import simulate

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = sorted((ROOT / "scenarios").glob("*.yaml"))
MAVEN_DATA = ROOT.parent / "shared" / "data" / "maven_crm_sales_opportunities"


def test_there_are_several_examples():
    assert len(SCENARIOS) >= 3


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_example_runs_and_agrees_with_expected(path):
    scenario = rampcast.load_scenario(path)
    trials = 2000
    annual = simulate(scenario, trials=trials, seed=1).data.bookings.sum(("month", "segment"))
    mean = float(expected(scenario).bookings.sum())
    assert np.isfinite(annual.values).all() and (annual.values >= 0).all()
    se = float(annual.std()) / np.sqrt(trials)
    assert abs(float(annual.mean()) - mean) <= 4 * se + 1e-9 * mean


def test_bundled_default_is_the_documented_copy():
    bundled = rampcast.default_scenario_path().read_bytes()
    assert (ROOT / "scenarios" / "default.yaml").read_bytes() == bundled


def test_reference_r3_quarters():
    scenario = rampcast.load_scenario(ROOT / "scenarios" / "reference_r3.yaml")
    months = expected(scenario).capacity.sum("segment").values
    np.testing.assert_allclose(months.reshape(4, 3).sum(axis=1),
                               [225_000, 825_000, 900_000, 900_000], atol=0.005)


@pytest.mark.skipif(not MAVEN_DATA.is_dir(), reason="shared Maven data not beside the repo")
def test_maven_scenario_figures_match_the_crm_export():
    # recomputed here with pandas, independently of scenarios/derive_maven.py
    scenario = rampcast.load_scenario(ROOT / "scenarios" / "maven.yaml")
    pipe = pd.read_csv(MAVEN_DATA / "sales_pipeline.csv", parse_dates=["close_date"])
    teams = pd.read_csv(MAVEN_DATA / "sales_teams.csv")
    assert sorted(r.id for r in scenario.roster) == sorted(teams.sales_agent)
    office = dict(zip(teams.sales_agent, teams.regional_office, strict=True))
    assert all(office[r.id] == r.segment for r in scenario.roster)

    closed = pipe[pipe.deal_stage.isin(["Won", "Lost"])
                  & (pipe.close_date >= "2017-04-01")].copy()
    closed["office"] = closed.sales_agent.map(office)
    for name, group in closed.groupby("office"):
        prod = scenario.segments[name].productivity
        won = group[group.deal_stage == "Won"]
        assert prod.win_rate.mean == pytest.approx(len(won) / len(group), abs=5e-4)
        agent_months = group.sales_agent.nunique() * 9
        assert prod.opportunities_per_month == pytest.approx(len(group) / agent_months,
                                                             abs=5e-3)
        assert prod.deal_size.mean == pytest.approx(won.close_value.mean(), abs=0.5)
        cv = won.close_value.std() / won.close_value.mean()
        assert prod.deal_size.cv == pytest.approx(cv, abs=5e-3)
