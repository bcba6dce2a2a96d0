"""Parity of the numba kernel and its NumPy twin, draw for draw.

Both derive every random number from ``(seed, trial, seat, counter)``, so on
the same model, seed and trials they must agree to rounding: the only
differences are the last bits of ``exp``, ``log`` and the inverse normal CDF.
The scenarios below are small but reach every branch of the kernel.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest

import rampcast
from rampcast._kernels import random as kernel_random
from rampcast._kernels.engine import BOOKINGS, CAPACITY
from rampcast.model.build import build_model
from rampcast.model.monte_carlo import run_model
from rampcast.model.reference import _mix64, _uniform, reference_run
from rampcast.scenario import scenario_from_dict

TRIALS = 200
SEED = 20270101
FIRST_TRIAL = 1000  # not zero, so the trial offset is part of the comparison


def _rep(rep_id: str, segment: str, start: str, **extra) -> dict:
    return {"id": rep_id, "segment": segment, "start": start, **extra}


# Non-default conventions throughout; capacity-level bookings, with a cv above
# one in "lumpy" so the bookings gamma takes the boosted (shape < 1) branch.
CAPACITY_SCENARIO = {
    "name": "parity-capacity",
    "horizon": {"start": "2027-01", "months": 12},
    "conventions": {
        "tenure_index": "first_month_is_one",
        "attrition_applies_to": "ramped",
        "leaver_month_share": 0.5,
        "attainment_applies_to": "ramped",
    },
    "segments": {
        "steady": {
            "ramp": {"curve": [0.0, 0.25, 0.5, 0.75], "speed_sd": 0.3},
            "attrition": {
                "bands": [
                    {"from_month": 0, "annual_rate": 0.5},
                    {"from_month": 6, "monthly_hazard": 0.03},
                ]
            },
            "productivity": {
                "model": "capacity",
                "monthly_capacity": 50_000,
                "cv": 0.4,
                "skill_sd": 0.25,
                "attainment": 0.85,
            },
            "seasonality": [0.8, 0.9, 1.2, 0.9, 1.0, 1.1, 0.7, 0.9, 1.2, 1.0, 1.0, 1.3],
            "backfill": {"enabled": True, "time_to_fill": {"pmf": [0.1, 0.3, 0.4, 0.2]}},
            "hiring": {"slip": {"pmf": [0.5, 0.3, 0.2]}, "acceptance": 0.7},
        },
        "lumpy": {
            # full output before the curve ends, but not yet ramped
            "ramp": {"curve": [0.1, 1.0, 0.6]},
            "attrition": {"annual_rate": 0.3},
            "productivity": {
                "model": "capacity",
                "monthly_capacity": 80_000,
                "cv": 1.6,
                "attainment": 1.2,
            },
        },
    },
    "roster": [
        _rep("s-1", "steady", "2024-05-01"),
        _rep("s-2", "steady", "2026-11-16", productivity=1.3),
        _rep("s-3", "steady", "2025-02-03", end="2027-05-31"),
        _rep("s-4", "steady", "2027-03-01"),
        _rep("l-1", "lumpy", "2023-01-09", productivity=0.8),
        _rep("l-2", "lumpy", "2026-12-01", end="2027-08-15"),
    ],
    "hiring_plans": {
        "grow": [
            {"segment": "steady", "month": "2027-02", "count": 3},
            {"segment": "lumpy", "month": "2027-04", "count": 2},
        ]
    },
}

# Deal-level bookings. A ramped "velocity" rep expects about 24 wins a month
# (Poisson by PTRS) and fewer while ramping (by inversion); "strategic" wins
# under one a month, and its Beta alpha of 0.6 boosts the win-rate gamma.
DEAL_SCENARIO = {
    "name": "parity-deal",
    "horizon": {"start": "2027-01", "months": 9},
    "conventions": {"attrition_conversion": "divide_by_12"},
    "segments": {
        "velocity": {
            "ramp": {"curve": [0.2, 0.6], "speed_sd": 0.2},
            "attrition": {"monthly_hazard": 0.05},
            "productivity": {
                "model": "deal",
                "opportunities_per_month": 60,
                "win_rate": {"alpha": 12, "beta": 18},
                "deal_size": {"mean": 4_000, "cv": 0.5},
                "skill_sd": 0.2,
            },
            "backfill": {"enabled": True, "time_to_fill": {"mean": 1.5}},
        },
        "strategic": {
            "ramp": {"curve": [0.0, 0.1, 0.3, 0.6]},
            "attrition": {"bands": [{"from_month": 0, "annual_rate": 0.2}]},
            "productivity": {
                "model": "deal",
                "opportunities_per_month": 3,
                "win_rate": {"mean": 0.15, "concentration": 4},
                "deal_size": {"median": 150_000, "sigma": 0.9},
                "attainment": 1.1,
            },
            "backfill": {"enabled": True, "time_to_fill": 2},
            "hiring": {"slip": {"pmf": [0.7, 0.3]}, "acceptance": 0.8},
        },
    },
    "roster": [
        _rep("v-1", "velocity", "2025-06-02"),
        _rep("v-2", "velocity", "2026-12-07", productivity=1.2),
        _rep("v-3", "velocity", "2024-01-02", end="2027-04-30"),
        _rep("t-1", "strategic", "2022-09-05"),
        _rep("t-2", "strategic", "2026-08-03"),
    ],
    "hiring_plans": {
        "grow": [
            {"segment": "velocity", "month": "2027-01", "count": 2},
            {"segment": "strategic", "month": "2027-03", "count": 2},
        ]
    },
}


def _model(name: str, **lumpy_productivity):
    if name == "default":
        path = rampcast.default_scenario_path()
        return build_model(rampcast.load_scenario(path))
    scenarios = {"capacity": CAPACITY_SCENARIO, "deal": DEAL_SCENARIO}
    raw = copy.deepcopy(scenarios[name])
    if lumpy_productivity:
        raw["segments"]["lumpy"]["productivity"].update(lumpy_productivity)
    return build_model(scenario_from_dict(raw))


def _run_both(model, exact=True):
    args = (model, SEED, TRIALS, FIRST_TRIAL)
    kernel = run_model(*args, chunk_trials=64, exact=exact)
    return kernel, reference_run(*args, exact=exact)


@pytest.fixture(scope="module", params=["capacity", "deal", "default"])
def model(request):
    return _model(request.param)


@pytest.mark.parametrize("exact", [True, False], ids=["exact", "table"])
def test_kernel_matches_reference(model, exact):
    kernel, reference = _run_both(model, exact)

    np.testing.assert_allclose(kernel, reference, rtol=1e-9, atol=1e-6)


def test_scenarios_reach_every_branch():
    capacity, deal = _model("capacity"), _model("deal")
    cap, dl = capacity.params, deal.params

    gamma_shapes = np.concatenate([1.0 / cap.cv**2, dl.win_a, dl.win_b])
    assert gamma_shapes.min() < 1.0 <= gamma_shapes.max()
    ramped_wins = dl.opps * dl.win_a / (dl.win_a + dl.win_b)
    assert ramped_wins.min() < 10.0 <= ramped_wins.max()
    for m in (capacity, deal):
        p = m.params
        assert p.speed_sd.max() > 0.0 and p.skill_sd.max() > 0.0
        assert p.acceptance.min() < 1.0 and p.slip_cdf[:, 0].min() < 1.0
        assert p.backfill.any() and p.hazard.max() > 0.0
        assert (m.seats.end < m.n_months).any()
        assert (m.seats.factor != 1.0).any()
    assert (cap.hazard[:, 0] == 0.0).any() and not cap.backfill.all()
    # a curve at 1.0 before its end tells "past the curve" from "at 1.0"
    curves = [cap.ramp[i, :n] for i, n in enumerate(cap.ramp_len)]
    assert any((c[:-1] >= 1.0).any() for c in curves)


@pytest.mark.parametrize("cv", [5e-324, 1e-160, 1e-150])
def test_tiny_cv_books_the_capacity(cv):
    # 1 / cv**2 overflows or nearly: bookings once came out NaN or infinite
    kernel, reference = _run_both(_model("capacity", cv=cv))
    lumpy = 1

    bookings, capacity = kernel[BOOKINGS, ..., lumpy], kernel[CAPACITY, ..., lumpy]
    assert np.isfinite(bookings).all()
    np.testing.assert_allclose(bookings, capacity, rtol=1e-12)
    np.testing.assert_allclose(kernel, reference, rtol=1e-9, atol=1e-6)


def _unmix64(y: int) -> int:
    """Inverse of the splitmix64 finaliser, on Python integers."""
    mask = (1 << 64) - 1

    def unxorshift(v: int, s: int) -> int:
        x = v
        for _ in range(64 // s + 1):
            x = v ^ (x >> s)
        return x

    y = unxorshift(y, 31)
    y = (y * pow(0x94D049BB133111EB, -1, 1 << 64)) & mask
    y = unxorshift(y, 27)
    y = (y * pow(0xBF58476D1CE4E5B9, -1, 1 << 64)) & mask
    return unxorshift(y, 30)


def test_splitmix64_reference_outputs():
    # splitmix64 seeded with 0 (Vigna's splitmix64.c) first returns these
    golden = 0x9E3779B97F4A7C15
    states = np.array([golden, 2 * golden % (1 << 64)], dtype=np.uint64)
    expected = [0xE220A8397B1DCDAF, 0x6E789E6AA1B965F4]
    assert [int(w) for w in _mix64(states)] == expected


@pytest.mark.parametrize("top", [0, 2**64 - 1], ids=["all-zero", "all-one"])
def test_uniform_stays_inside_open_interval(top):
    # A key whose hash is all ones once gave exactly 1.0, and a NaN normal.
    key = _unmix64(top)
    u_kernel = kernel_random.uniform(np.uint64(key), np.uint64(0))
    u_reference = _uniform(np.array([key], dtype=np.uint64), np.uint64(0))[0]

    assert u_kernel == u_reference
    assert 0.0 < u_kernel < 1.0
    assert np.isfinite(kernel_random.ndtri(u_kernel))
