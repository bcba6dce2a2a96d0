"""The main job: a scenario in, summarised and labelled results out."""

from __future__ import annotations

import platform
import time
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd
import xarray as xr

from rampcast import __version__
from rampcast.io.results import summary_table, trial_table
from rampcast.model.deterministic import expected
from rampcast.model.monte_carlo import simulate
from rampcast.scenario import Scenario
from rampcast.summary import summarize, summarize_expected

__all__ = ["RunOutput", "run"]


@dataclass(frozen=True)
class RunOutput:
    """Everything a run produces, before it is written.

    Attributes
    ----------
    summary : xarray.Dataset
        Bands, means, targets and risk (see :func:`rampcast.summary.summarize`).
    table : pandas.DataFrame
        One row per period and segment (``summary.csv``).
    trials : pandas.DataFrame or None
        Per-trial yearly totals (``trials.parquet``); None in deterministic mode.
    info : dict
        Provenance and timings (``run.json``).
    """

    summary: xr.Dataset
    table: pd.DataFrame
    trials: pd.DataFrame | None
    info: dict


def _numba_threads() -> int:
    import numba

    return int(numba.get_num_threads())


def run(
    scenario: Scenario,
    plan: str | None = None,
    deterministic: bool = False,
    trials: int | None = None,
    seed: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> RunOutput:
    """Simulate (or take expectations of) a scenario and summarise it.

    Parameters
    ----------
    scenario
        A validated scenario.
    plan
        Hiring plan; default the scenario's.
    deterministic
        Expected values without sampling instead of Monte Carlo.
    trials, seed
        Override the scenario's simulation settings.
    progress
        Called with the number of trials done after each chunk.
    """
    start = time.perf_counter()
    plan = plan or scenario.plan_name
    info = {
        "rampcast_version": __version__,
        "python": platform.python_version(),
        "scenario": scenario.name,
        "scenario_file": scenario.source,
        "scenario_sha256": scenario.inputs.get(str(scenario.source)),
        "inputs_sha256": dict(scenario.inputs),
        "calibration_file": scenario.calibration,
        "calibration_sha256": scenario.inputs.get(str(scenario.calibration)),
        "value_sources": dict(scenario.sources),
        "plan": plan,
        "mode": "deterministic" if deterministic else "monte_carlo",
        "conventions": scenario.conventions.model_dump(mode="json"),
        "started_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    if deterministic:
        summary = summarize_expected(scenario, expected(scenario, plan))
        trial_rows = None
    else:
        result = simulate(scenario, plan=plan, trials=trials, seed=seed, progress=progress)
        summary = summarize(result)
        trial_rows = trial_table(result)
        info |= {"seed": result.seed, "trials": result.trials,
                 "sampler": scenario.simulation.sampler, "threads": _numba_threads(),
                 "compile_s": round(result.timings["compile_s"], 4),
                 "simulate_s": round(result.timings["run_s"], 4),
                 "seat_months_per_s": round(result.timings["seat_months_per_s"])}
    info["wall_s"] = round(time.perf_counter() - start, 4)
    return RunOutput(summary, summary_table(summary), trial_rows, info)
