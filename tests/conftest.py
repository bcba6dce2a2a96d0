"""Shared builders for tests: small scenarios as plain dicts."""

from __future__ import annotations

import copy

import pytest

from rampcast.scenario import scenario_from_dict

BASE = {
    "name": "test",
    "horizon": {"start": "2027-01", "months": 12},
    "simulation": {"trials": 200, "seed": 7},
    "segments": {
        "core": {
            "ramp": {"curve": [0.0, 0.5]},
            "productivity": {"model": "capacity", "monthly_capacity": 1000.0},
        }
    },
    "roster": [],
    "hiring_plans": {"base": []},
}


def scenario_dict(**overrides) -> dict:
    """A copy of ``BASE`` with top-level keys replaced."""
    raw = copy.deepcopy(BASE)
    raw.update(copy.deepcopy(overrides))
    return raw


def build(raw: dict):
    """Validate a scenario dict."""
    return scenario_from_dict(raw)


def reps(n: int, segment: str = "core", start: str = "2020-01", **extra) -> list[dict]:
    """``n`` roster reps with ids ``<segment>-<i>``."""
    return [{"id": f"{segment}-{start}-{i}", "segment": segment, "start": start, **extra}
            for i in range(n)]


@pytest.fixture
def make():
    """Factory fixture: ``make(**overrides)`` returns a validated scenario."""
    return lambda **overrides: build(scenario_dict(**overrides))
