"""Synthetic scenarios shared by the asv suite and ``measure.py``.

Every workload is a fixed, made-up sales organisation: a roster of ``reps``
spread over three segments with start dates over the past five years,
tenure-banded attrition, ramp curves with a per-rep speed, backfill after
a sampled time to fill, and deal-level productivity (Poisson opportunities,
Beta win rate, lognormal deal size). The roster comes from a fixed seed, so
the same name always means the same scenario.

Nothing here times anything; it only builds inputs and checks outputs.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

#: name -> (trials, reps, months, productivity model)
WORKLOADS = {
    "deal_48M": (10_000, 200, 24, "deal"),
    "deal_720M": (10_000, 2_000, 36, "deal"),
    "capacity_48M": (10_000, 200, 24, "capacity"),
}

# segment -> (share of reps, opportunities per month, win mean, median deal size)
_MIX = {
    "smb": (0.45, 10.0, 0.28, 9_000.0),
    "mid_market": (0.35, 8.0, 0.22, 22_000.0),
    "enterprise": (0.20, 6.0, 0.18, 85_000.0),
}
_START = dt.date(2027, 1, 1)
_ROSTER_SEED = 20270101  # fixes the synthetic roster, not any simulation draw


def _segment(name: str, opps: float, win: float, median: float, model: str) -> dict:
    deal = {
        "model": "deal",
        "opportunities_per_month": opps,
        "win_rate": {"mean": win, "concentration": 30},
        "deal_size": {"median": median, "sigma": 0.75},
        "skill_sd": 0.15,
    }
    capacity = {
        "model": "capacity",
        "monthly_capacity": opps * win * median * 1.3,
        "cv": 0.6,
        "skill_sd": 0.15,
    }
    ramp = {
        "smb": [0.0, 0.3, 0.6, 0.85],
        "mid_market": [0.0, 0.2, 0.4, 0.6, 0.8],
        "enterprise": [0.0, 0.1, 0.2, 0.35, 0.5, 0.65, 0.8, 0.9],
    }[name]
    return {
        "ramp": {"curve": ramp, "speed_sd": 0.2},
        "attrition": {
            "bands": [
                {"from_month": 0, "annual_rate": 0.35},
                {"from_month": 12, "annual_rate": 0.2},
            ]
        },
        "productivity": deal if model == "deal" else capacity,
        "seasonality": [0.85, 0.9, 1.1, 0.9, 0.95, 1.1, 0.85, 0.9, 1.1, 1.0, 1.05, 1.3],
        "backfill": {"enabled": True, "time_to_fill": {"pmf": [0.0, 0.2, 0.5, 0.3]}},
        "hiring": {"slip": {"pmf": [0.6, 0.3, 0.1]}, "acceptance": 0.9},
    }


def _roster(reps: int) -> list[dict]:
    rng = np.random.default_rng(_ROSTER_SEED)
    names = list(_MIX)
    shares = np.array([_MIX[n][0] for n in names])
    segments = rng.choice(len(names), size=reps, p=shares / shares.sum())
    days_before = rng.integers(1, 5 * 365, size=reps)
    factors = np.round(rng.lognormal(0.0, 0.1, size=reps), 3)
    return [
        {
            "id": f"rep-{i:05d}",
            "segment": names[s],
            "start": (_START - dt.timedelta(days=int(d))).isoformat(),
            "productivity": float(f),
        }
        for i, (s, d, f) in enumerate(zip(segments, days_before, factors, strict=True))
    ]


def scenario_dict(reps: int, months: int, model: str = "deal") -> dict:
    """A scenario mapping with ``reps`` roster reps and no planned hires."""
    return {
        "name": f"bench-{model}-{reps}x{months}",
        "horizon": {"start": f"{_START:%Y-%m}", "months": months},
        "segments": {n: _segment(n, *_MIX[n][1:], model) for n in _MIX},
        "roster": _roster(reps),
        "hiring_plans": {"none": []},
    }


def build(name: str):
    """``(model, trials)`` of workload ``name``; ``model.seats`` has ``reps`` rows."""
    from rampcast.model.build import build_model
    from rampcast.scenario import scenario_from_dict

    trials, reps, months, kind = WORKLOADS[name]
    model = build_model(scenario_from_dict(scenario_dict(reps, months, kind)))
    assert len(model.seat_labels) == reps, "every roster rep must be a seat"
    return model, trials


def seat_months(model, trials: int) -> int:
    """Seat-months simulated by ``trials`` trials of ``model``."""
    return trials * len(model.seat_labels) * model.n_months


_EXPECTED: dict[int, tuple] = {}


def _expected(model, expected_model) -> np.ndarray:
    """Deterministic mode of ``model``, once per process (4 s at 2,000 seats)."""
    hit = _EXPECTED.get(id(model))
    if hit is None or hit[0] is not model:
        hit = _EXPECTED[id(model)] = (model, expected_model(model))
    return hit[1]


def check(raw: np.ndarray, model) -> None:
    """Assert a run's output is sane and its mean matches deterministic mode.

    ``raw`` is (metric, trial, month, segment). Capacity and bookings must be
    finite and non-negative, headcount at most the number of seats, and the
    trial means of total headcount, capacity and bookings within six
    standard errors plus 0.5% of :func:`expected_model` (the 0.5% leaves room
    for the tabulated normal sampler; a broken kernel misses by far more).
    """
    from rampcast._kernels import engine
    from rampcast.model.deterministic import expected_model

    capacity = raw[engine.CAPACITY]
    bookings = raw[engine.BOOKINGS]
    assert np.isfinite(capacity).all() and np.isfinite(bookings).all(), "non-finite output"
    assert capacity.min() >= 0.0 and bookings.min() >= 0.0, "negative capacity or bookings"
    assert raw[engine.HEADCOUNT].max() <= len(model.seat_labels), "more reps than seats"

    want = _expected(model, expected_model)
    for row in (engine.HEADCOUNT, engine.CAPACITY, engine.BOOKINGS):
        totals = raw[row].sum(axis=(1, 2))
        exp = want[row].sum()
        se = totals.std() / np.sqrt(totals.size)
        tol = 6.0 * se + 0.005 * exp
        assert abs(totals.mean() - exp) < tol, (
            f"metric {row}: mean {totals.mean():.6g}, expected {exp:.6g} +/- {tol:.3g}"
        )
