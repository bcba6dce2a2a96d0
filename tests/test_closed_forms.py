"""The engine against closed forms and independent computations.

Statistical checks use fixed seeds and tolerances of four standard errors of
the statistic they test.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate, stats

from conftest import build, reps, scenario_dict
from rampcast.model.build import monthly_hazard
from rampcast.model.deterministic import expected, expected_ramp
from rampcast.model.monte_carlo import simulate
from rampcast.summary import risk_metrics


def capacity(full=1000.0, cv=0.0, curve=(), **extra):
    return {"ramp": {"curve": list(curve)},
            "productivity": {"model": "capacity", "monthly_capacity": full, "cv": cv},
            **extra}


def test_no_attrition_no_hires_headcount_is_constant():
    scenario = build(scenario_dict(segments={"core": capacity(curve=[0.2, 0.6])},
                                   roster=reps(9) + reps(4, start="2027-03")))
    head = simulate(scenario, trials=50).data.headcount.sum("segment").values
    expected_head = np.where(np.arange(12) >= 2, 13.0, 9.0)
    assert (head == expected_head).all()


@pytest.mark.parametrize("conversion", ["compounded", "divide_by_12"])
def test_attrition_only_headcount_decays_geometrically(conversion):
    n, trials, annual = 40, 4000, 0.3
    scenario = build(scenario_dict(
        conventions={"attrition_conversion": conversion},
        segments={"core": capacity(attrition={"annual_rate": annual})},
        roster=reps(n)))
    h = monthly_hazard(annual, conversion)
    head = simulate(scenario, trials=trials, seed=3).data.headcount.sum("segment")
    survive = (1 - h) ** np.arange(1, 13)  # headcount is read at month end
    mean = head.mean("trial").values
    se = np.sqrt(n * survive * (1 - survive) / trials)
    assert np.all(np.abs(mean - n * survive) < 4 * se)
    if conversion == "compounded":
        assert n * survive[-1] == pytest.approx(n * (1 - annual))


def test_gamma_bookings_annual_quantiles():
    # identical ramped reps, gamma months: the year is Gamma(12 N k, theta)
    n, cv, full, trials = 5, 0.6, 1000.0, 20_000
    scenario = build(scenario_dict(segments={"core": capacity(full, cv)}, roster=reps(n)))
    scenario = scenario.model_copy(update={"simulation": scenario.simulation.model_copy(
        update={"sampler": "exact"})})
    annual = simulate(scenario, trials=trials, seed=11).data.bookings.sum(("month", "segment"))
    k = 1 / cv**2
    law = stats.gamma(a=12 * n * k, scale=full / k)
    for p in (0.05, 0.1, 0.5, 0.9, 0.95):
        q = law.ppf(p)
        se = np.sqrt(p * (1 - p) / trials) / law.pdf(q)
        assert abs(float(annual.quantile(p)) - q) < 4 * se, p
    mean_se = law.std() / np.sqrt(trials)
    assert abs(float(annual.mean()) - law.mean()) < 4 * mean_se


def test_table_sampler_matches_exact_quantiles():
    # the fast sampler's bands stay within 0.25% of the exact one's
    scenario = build(scenario_dict(
        segments={"core": {
            "productivity": {"model": "deal", "opportunities_per_month": 6,
                             "win_rate": {"mean": 0.3, "concentration": 30},
                             "deal_size": {"median": 10_000, "sigma": 0.9},
                             "skill_sd": 0.2}}},
        roster=reps(20)))
    bands = {}
    for sampler in ("exact", "table"):
        s = scenario.model_copy(update={"simulation": scenario.simulation.model_copy(
            update={"sampler": sampler})})
        annual = simulate(s, trials=4000, seed=5).data.bookings.sum(("month", "segment"))
        bands[sampler] = annual.quantile([0.1, 0.5, 0.9]).values
    np.testing.assert_allclose(bands["table"], bands["exact"], rtol=2.5e-3)


@pytest.mark.parametrize("sigma", [0.15, 0.4])
@pytest.mark.parametrize("ramped_only", [False, True])
def test_expected_ramp_matches_numerical_integration(sigma, ramped_only):
    curve = np.array([0.0, 0.1, 0.3, 0.6, 0.8, 1.0])
    length, attain = 5, 0.8

    def effective(x):
        r = np.interp(min(x, length), np.arange(length + 1), curve)
        return r * (attain if (x >= length or not ramped_only) else 1.0)

    c = np.arange(0, 12)
    ramp, eff = expected_ramp(curve, length, c, sigma, attain, ramped_only)
    for ci, r_mean, e_mean in zip(c, ramp, eff, strict=True):
        def integrand(z, f, ci=ci):
            return f(ci * np.exp(sigma * z - sigma**2 / 2)) * stats.norm.pdf(z)

        # the kinks and the attainment jump sit where x = c v crosses a month
        kinks = [(np.log(j / ci) + sigma**2 / 2) / sigma for j in range(1, length + 1)
                 if ci > 0]
        kinks = [k for k in kinks if -10 < k < 10] or None
        plain = lambda x: effective(x) / (  # noqa: E731
            attain if (x >= length or not ramped_only) else 1.0)
        r_num = integrate.quad(integrand, -10, 10, args=(plain,), points=kinks,
                               limit=200)[0]
        e_num = integrate.quad(integrand, -10, 10, args=(effective,), points=kinks,
                               limit=200)[0]
        assert r_mean == pytest.approx(r_num, abs=1e-7)
        assert e_mean == pytest.approx(e_num, abs=1e-7)


def test_risk_metrics_normal_closed_form():
    # B ~ N(mu, s): VaR = T - mu + s z_a, ES = T - mu + s phi(z_a) / (1 - a)
    mu, s, target, level = 100.0, 15.0, 110.0, 0.9
    grid = (np.arange(200_000) + 0.5) / 200_000
    bookings = stats.norm.ppf(grid, mu, s)
    out = risk_metrics(bookings, target, level)
    z = stats.norm.ppf(level)
    assert out["var"] == pytest.approx(target - mu + s * z, rel=1e-4)
    assert out["es"] == pytest.approx(target - mu + s * stats.norm.pdf(z) / (1 - level),
                                      rel=1e-3)
    # E[max(0, T - B)] = (T - mu) Phi(d) + s phi(d), d = (T - mu) / s
    d = (target - mu) / s
    shortfall = (target - mu) * stats.norm.cdf(d) + s * stats.norm.pdf(d)
    assert out["mean_shortfall"] == pytest.approx(shortfall, rel=1e-4)


def test_deterministic_known_end_and_leaver_share():
    # a rep leaving in March with half a month produced; backfill 1 month later
    scenario = build(scenario_dict(
        conventions={"leaver_month_share": 0.5},
        segments={"core": capacity(backfill={"enabled": True, "time_to_fill": 1})},
        roster=[{"id": "x", "segment": "core", "start": "2020-01", "end": "2027-03-31"}]))
    det = expected(scenario)
    cap = det.capacity.sum("segment").values
    np.testing.assert_allclose(cap[:5], [1000, 1000, 500, 0, 1000])
    np.testing.assert_allclose(det.vacancies.sum("segment").values[:5], [0, 0, 1, 1, 0])
    np.testing.assert_allclose(det.hires.sum("segment").values[:5], [0, 0, 0, 0, 1])
    mc = simulate(scenario, trials=2).data.capacity.sum("segment").values
    np.testing.assert_allclose(mc[0], cap)
