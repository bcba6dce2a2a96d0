"""Run the Monte Carlo engine on a scenario and label what it returns."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import xarray as xr

from rampcast._kernels import engine
from rampcast._kernels.random import normal_table
from rampcast.model.build import Model, build_model
from rampcast.scenario import Scenario

__all__ = ["METRICS", "SeatTotals", "SimulationResult", "simulate", "run_model", "seat_totals"]

log = logging.getLogger(__name__)

#: metric name -> (kernel row, unit kind, description)
METRICS = {
    "headcount": (engine.HEADCOUNT, "reps", "reps in seat at month end"),
    "rre": (engine.RRE, "reps", "ramped-rep equivalents at month end (sum of ramp fractions)"),
    "capacity": (engine.CAPACITY, "currency", "expected bookings given each rep's state"),
    "bookings": (engine.BOOKINGS, "currency", "realised bookings in the month"),
    "hires": (engine.HIRES, "reps", "reps starting in the month"),
    "departures": (engine.DEPARTURES, "reps", "reps leaving in the month"),
    "vacancies": (engine.VACANCIES, "seats", "backfill vacancies open at month end"),
}


@dataclass(frozen=True)
class SimulationResult:
    """Per-trial paths of one scenario and plan.

    Attributes
    ----------
    scenario : Scenario
    plan : str
    seed, trials : int
    data : xarray.Dataset
        One variable per metric with dimensions ``(trial, month, segment)``.
    timings : dict
        ``compile_s`` (first call, including numba cache load) and ``run_s``.
    """

    scenario: Scenario
    plan: str
    seed: int
    trials: int
    data: xr.Dataset
    timings: dict = field(default_factory=dict)


_TABLE: np.ndarray | None = None


def _table() -> np.ndarray:
    global _TABLE  # a read-only lookup table built once per process; no random state
    if _TABLE is None:
        _TABLE = normal_table()
    return _TABLE


def run_model(
    model: Model,
    seed: int,
    trials: int,
    first_trial: int = 0,
    chunk_trials: int = 2048,
    exact: bool = False,
    progress: Callable[[int], None] | None = None,
) -> np.ndarray:
    """Run the kernel over trials in chunks; return (metric, trial, month, segment).

    Chunking changes neither the numbers nor their order: trial ``i`` always
    draws from the stream of ``(seed, i)``.
    """
    shape = (engine.N_METRICS, trials, model.n_months, len(model.segments))
    out = np.zeros(shape)
    done = 0
    while done < trials:
        n = min(chunk_trials, trials - done)
        block = np.zeros((engine.N_METRICS, n, *shape[2:]))
        engine.simulate_block(block, first_trial + done, seed, model.seats, model.params,
                              model.conventions, _table(), exact)
        out[:, done : done + n] = block
        done += n
        if progress is not None:
            progress(n)
    return out


@dataclass(frozen=True)
class SeatTotals:
    """Each seat's own totals, trial by trial.

    Attributes
    ----------
    bookings : ndarray
        (trial, seat): bookings in months ``first .. last`` of the horizon.
    occupied : ndarray
        (trial, seat): horizon months in which a rep sits in the seat.
    seat_labels : tuple of str
        The seat of each column.
    first, last : int
        The month window of ``bookings`` (inclusive, horizon month indices).
    """

    bookings: np.ndarray
    occupied: np.ndarray
    seat_labels: tuple[str, ...]
    first: int
    last: int


def seat_totals(
    model: Model,
    seed: int,
    trials: int,
    first: int = 0,
    last: int | None = None,
    first_trial: int = 0,
    chunk_trials: int = 2048,
    exact: bool = False,
) -> SeatTotals:
    """Bookings and occupied months of every seat alone, per trial.

    Seats do not interact, so for any subset ``P`` of the seats, trial
    ``i``'s bookings over the window are ``bookings[i, P].sum()``: the
    same number :func:`run_model` gives for a model holding only ``P``
    (common random numbers key each seat's draws by its label).

    Parameters
    ----------
    model
        Arrays of a scenario and plan (:func:`~rampcast.model.build.build_model`).
    seed, trials, first_trial, chunk_trials, exact
        As for :func:`run_model`.
    first, last
        Horizon months (inclusive) whose bookings are summed; default all.
    """
    from rampcast._kernels.seats import seat_totals as kernel

    last = model.n_months - 1 if last is None else int(last)
    if not 0 <= first <= last < model.n_months:
        raise ValueError(
            f"month window {first}..{last} must lie inside 0..{model.n_months - 1}"
        )
    n_seats = len(model.seat_labels)
    bookings = np.zeros((trials, n_seats))
    occupied = np.zeros((trials, n_seats))
    done = 0
    while done < trials:
        n = min(chunk_trials, trials - done)
        b = np.zeros((n, n_seats))
        o = np.zeros((n, n_seats))
        if n_seats:
            kernel(b, o, first_trial + done, seed, first, last, model.seats, model.params,
                   model.conventions, _table(), exact)
        bookings[done : done + n] = b
        occupied[done : done + n] = o
        done += n
    return SeatTotals(bookings, occupied, model.seat_labels, first, last)


def _label(raw: np.ndarray, scenario: Scenario, model: Model) -> xr.Dataset:
    coords = {
        "trial": np.arange(raw.shape[1]),
        "month": np.array(scenario.months, dtype="datetime64[ns]"),
        "segment": list(model.segments),
    }
    variables = {}
    for name, (row, unit, text) in METRICS.items():
        attrs = {"units": scenario.currency if unit == "currency" else unit,
                 "description": text}
        variables[name] = (("trial", "month", "segment"), raw[row], attrs)
    return xr.Dataset(variables, coords=coords)


def simulate(
    scenario: Scenario,
    plan: str | None = None,
    trials: int | None = None,
    seed: int | None = None,
    chunk_trials: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> SimulationResult:
    """Simulate ``scenario`` under a hiring plan.

    Parameters
    ----------
    scenario
        A validated scenario (:func:`rampcast.load_scenario`).
    plan
        Hiring plan name; default the scenario's ``plan`` or its first plan.
    trials, seed, chunk_trials
        Override the scenario's ``simulation`` settings.
    progress
        Called with the number of trials finished after each chunk.

    Returns
    -------
    SimulationResult
        Per-trial monthly paths by segment.
    """
    sim = scenario.simulation
    trials = sim.trials if trials is None else int(trials)
    seed = sim.seed if seed is None else int(seed)
    chunk = sim.chunk_trials if chunk_trials is None else int(chunk_trials)
    if trials < 1 or seed < 0 or chunk < 1:
        raise ValueError(
            f"trials and chunk_trials must be >= 1 and seed >= 0; "
            f"got trials={trials}, chunk_trials={chunk}, seed={seed}"
        )
    model = build_model(scenario, plan)
    exact = sim.sampler == "exact"

    t0 = time.perf_counter()
    run_model(model, seed, 1, chunk_trials=1, exact=exact)  # compile or load the cache
    t1 = time.perf_counter()
    raw = run_model(model, seed, trials, chunk_trials=chunk, exact=exact, progress=progress)
    t2 = time.perf_counter()
    log.info("simulated %d trials x %d seats x %d months in %.2f s",
             trials, len(model.seat_labels), model.n_months, t2 - t1)

    return SimulationResult(
        scenario=scenario,
        plan=plan or scenario.plan_name,
        seed=seed,
        trials=trials,
        data=_label(raw, scenario, model),
        timings={"compile_s": t1 - t0, "run_s": t2 - t1,
                 "seat_months_per_s": trials * len(model.seat_labels) * model.n_months
                 / max(t2 - t1, 1e-9)},
    )
