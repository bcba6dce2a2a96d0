"""Target shares from a scenario: each rep's expected, ramp-adjusted capacity.

The engine's deterministic mode gives every seat's expected capacity month
by month (ramp, attrition and backfill in expectation, seasonality and
productivity included). A rep's weight is its seat's expected capacity summed
over the scenario's horizon, so a rep hired two months ago, still ramping,
gets a lighter book than a ramped peer; reps are matched to roster seats by
id (``roster:<id>``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rampcast.errors import DataError
from rampcast.territory.data import Instance

__all__ = ["seat_capacity", "with_scenario_capacity"]


def seat_capacity(scenario, plan: str | None = None) -> dict[str, float]:
    """Expected capacity over the horizon of each roster rep, by rep id."""
    from rampcast.model.build import build_model
    from rampcast.model.deterministic import expected_seat_capacity

    model = build_model(scenario, plan)
    per_seat = expected_seat_capacity(model).sum(axis=1)
    return {
        label.removeprefix("roster:"): float(value)
        for label, value in zip(model.seat_labels, per_seat, strict=True)
        if label.startswith("roster:")
    }


def with_scenario_capacity(
    inst: Instance,
    scenario,
    source: str | Path,
    reps_source: str | Path = "reps.csv",
    plan: str | None = None,
) -> Instance:
    """``inst`` with target shares proportional to each rep's expected capacity."""
    capacity = seat_capacity(scenario, plan)
    missing = [r for r in inst.reps if r not in capacity]
    if missing:
        shown = ", ".join(repr(m) for m in missing[:5])
        more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
        raise DataError(
            f"column 'rep': {shown}{more} not on the roster of {source} during "
            "its horizon; rep ids must match roster ids to take capacity from "
            "the scenario",
            source=str(reps_source),
            column="rep",
        )
    values = np.array([capacity[r] for r in inst.reps])
    return inst.with_capacity(values, f"scenario:{Path(source).name}")
