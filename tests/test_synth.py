"""Synthetic exports: reproducible from the seed, readable by the generic readers."""

from __future__ import annotations

import pandas as pd
import pytest
import yaml

from rampcast.calibrate.synth import DEFAULT_TRUTH, synth
from rampcast.io.crm import read_opportunities, read_roster


def test_same_seed_same_data_and_different_seed_differs():
    a, b, c = synth(5, months=12), synth(5, months=12), synth(6, months=12)
    pd.testing.assert_frame_equal(a.opportunities, b.opportunities)
    pd.testing.assert_frame_equal(a.hr, b.hr)
    assert not a.opportunities["amount"].equals(c.opportunities["amount"])


def test_written_files_read_back_with_the_generic_layouts(tmp_path):
    data = synth(2, months=12)
    data.write(tmp_path)
    opps = read_opportunities(tmp_path / "opportunities.csv", layout="generic")
    assert len(opps) == len(data.opportunities)
    assert opps["is_won"].sum() == data.opportunities["is_won"].sum()
    assert opps["is_closed"].sum() == data.opportunities["is_closed"].sum()
    assert (opps.loc[~opps["is_closed"], "closed"].isna()).all()
    roster = read_roster(tmp_path / "roster.csv", layout="generic")
    assert set(roster["rep"]) == set(data.roster["rep"])
    hr = read_roster(tmp_path / "hr.csv", layout="generic")
    assert hr["left"].sum() == data.hr["left"].sum()
    truth = yaml.safe_load((tmp_path / "truth.yaml").read_text())
    smb = truth["segments"]["smb"]["productivity"]
    assert smb["win_rate"]["mean"] == DEFAULT_TRUTH["smb"].win_rate_mean
    assert truth["as_of"] == "2022-12-31"


def test_closed_deals_fall_inside_their_owners_employment():
    data = synth(3, months=24)
    opps = data.opportunities[data.opportunities["is_closed"]]
    hr = data.hr.set_index("rep")
    start = opps["owner"].map(hr["start"])
    end = opps["owner"].map(hr["end"]).fillna(pd.Timestamp("2100-01-01"))
    month = opps["closed"].dt.to_period("M")
    assert (month >= start.dt.to_period("M")).all()
    assert (month <= end.dt.to_period("M")).all()
    assert (opps["created"] <= opps["closed"]).all()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"seed": -1}, "seed must be an integer >= 0; got -1"),
        ({"seed": 1, "start": "2022/01"}, "start must be a month YYYY-MM; got '2022/01'"),
        ({"seed": 1, "seasonality": (1.0,) * 11}, "seasonality must be 12 numbers >= 0"),
    ],
)
def test_bad_arguments_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        synth(**kwargs)
