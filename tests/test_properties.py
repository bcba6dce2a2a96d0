"""Invariants of the engine on hypothesis-generated scenarios."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import build, scenario_dict
from rampcast.model.deterministic import expected
from rampcast.model.monte_carlo import simulate
from rampcast.summary import summarize

fractions = st.floats(0.0, 1.0, allow_nan=False)
months = st.sampled_from([f"2027-{m:02d}" for m in range(1, 13)])
starts = st.sampled_from(["2019-05", "2025-11", "2026-08", "2026-12", "2027-01", "2027-06"])


@st.composite
def productivity(draw):
    if draw(st.booleans()):
        return {"model": "capacity", "monthly_capacity": draw(st.floats(0, 1e5)),
                "cv": draw(st.floats(0, 1.5)), "skill_sd": draw(st.floats(0, 0.5))}
    return {"model": "deal", "opportunities_per_month": draw(st.floats(0.1, 30)),
            "win_rate": {"mean": draw(st.floats(0.02, 0.95)),
                         "concentration": draw(st.floats(0.5, 100))},
            "deal_size": {"median": draw(st.floats(100, 1e5)), "sigma": draw(st.floats(0, 1.5))},
            "skill_sd": draw(st.floats(0, 0.5))}


@st.composite
def segments(draw):
    hazard = draw(st.floats(0.0, 0.3))
    return {
        "ramp": {"curve": draw(st.lists(fractions, max_size=6)),
                 "speed_sd": draw(st.floats(0.0, 0.5))},
        "attrition": {"monthly_hazard": hazard},
        "productivity": draw(productivity()),
        "backfill": {"enabled": draw(st.booleans()),
                     "time_to_fill": draw(st.integers(0, 4))},
        "hiring": {"slip": draw(st.integers(0, 3)),
                   "acceptance": draw(st.floats(0.05, 1.0))},
        "seasonality": draw(st.lists(st.floats(0, 2), min_size=12, max_size=12)),
    }


@st.composite
def scenarios(draw):
    names = ["a", "b"][: draw(st.integers(1, 2))]
    roster = [{"id": f"r{i}", "segment": draw(st.sampled_from(names)), "start": draw(starts)}
              for i in range(draw(st.integers(0, 6)))]
    hires = [{"segment": draw(st.sampled_from(names)), "month": draw(months),
              "count": draw(st.integers(1, 3))} for _ in range(draw(st.integers(0, 3)))]
    conventions = {
        "tenure_index": draw(st.sampled_from(["elapsed", "first_month_is_one"])),
        "attrition_applies_to": draw(st.sampled_from(["all", "ramped"])),
        "leaver_month_share": draw(fractions),
        "attainment_applies_to": draw(st.sampled_from(["all", "ramped"])),
    }
    return scenario_dict(
        segments={n: draw(segments()) for n in names}, roster=roster,
        hiring_plans={"base": hires}, conventions=conventions,
        targets={"annual": draw(st.floats(0, 1e7))})


PROPERTY = settings(max_examples=40, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(raw=scenarios(), seed=st.integers(0, 2**32))
def test_outputs_are_sane(raw, seed):
    result = simulate(build(raw), trials=40, seed=seed)
    d = result.data
    for name in d.data_vars:
        assert (d[name].values >= 0).all(), name
    assert (d.rre.values <= d.headcount.values + 1e-9).all()
    summary = summarize(result)
    for name in ("bookings_q", "capacity_q", "bookings_period_q", "headcount_period_q"):
        assert (summary[name].diff("quantile") >= -1e-9).all(), name
    p = summary["p_target"].values
    has_target = ~np.isnan(summary["target"].values)
    assert ((p[has_target] >= 0) & (p[has_target] <= 1)).all()
    assert np.isnan(p[~has_target]).all()


@PROPERTY
@given(raw=scenarios(), segment=st.sampled_from(["a", "b"]), month=months,
       seed=st.integers(0, 2**32))
def test_adding_a_hire_never_lowers_capacity(raw, segment, month, seed):
    segment = segment if segment in raw["segments"] else "a"
    more = {**raw, "hiring_plans": {"base": [*raw["hiring_plans"]["base"],
                                             {"segment": segment, "month": month}]}}
    base = simulate(build(raw), trials=30, seed=seed).data
    plus = simulate(build(more), trials=30, seed=seed).data
    # common random numbers: every trial and month, not only on average
    assert (plus.capacity.values >= base.capacity.values - 1e-9).all()
    assert (plus.headcount.values >= base.headcount.values).all()
    assert float(expected(build(more)).capacity.sum()) >= float(
        expected(build(raw)).capacity.sum()) - 1e-6


@PROPERTY
@given(raw=scenarios())
def test_expected_values_are_sane(raw):
    det = expected(build(raw))
    for name in det.data_vars:
        assert (det[name].values >= -1e-12).all(), name
    assert (det.rre.values <= det.headcount.values + 1e-9).all()
    assert np.isfinite(det.capacity.values).all()
