"""rampcast: Monte Carlo sales capacity planning.

The top-level package imports nothing heavy: the engine (numba), xarray and
pandas load on first use, so ``import rampcast`` and ``rampcast --help`` stay
fast.

Examples
--------
>>> import rampcast
>>> scenario = rampcast.load_scenario(rampcast.default_scenario_path())
>>> scenario.horizon.months
12
"""

from __future__ import annotations

import os
from importlib import import_module
from pathlib import Path

__version__ = "0.1.0"

# numba writes its compile cache beside the source by default, which fails on
# read-only installs and leaves clean clones paying a cold compile each time.
# A per-user folder keeps the cache; a caller's own setting wins.
os.environ.setdefault(
    "NUMBA_CACHE_DIR",
    str(Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "rampcast" / "numba"),
)

# numba's OpenMP threading layer was seen to run prange loops on one thread
# here unless OMP_NUM_THREADS is set; naming the core count restores the
# scaling (numba still caps threads at NUMBA_NUM_THREADS). A caller's own
# setting wins.
os.environ.setdefault("OMP_NUM_THREADS", str(len(os.sched_getaffinity(0))
                                             if hasattr(os, "sched_getaffinity")
                                             else os.cpu_count() or 1))

_LAZY = {
    "load_scenario": "rampcast.scenario",
    "Scenario": "rampcast.scenario",
    "ScenarioError": "rampcast.errors",
    "SimulationResult": "rampcast.model",
    "summarize": "rampcast.summary",
}


def default_scenario_path() -> Path:
    """Path of the scenario bundled with the package (the default of ``rampcast run``)."""
    return Path(__file__).parent / "data" / "default.yaml"


def simulate(scenario, **options):
    """Monte Carlo paths of a scenario; see :func:`rampcast.model.monte_carlo.simulate`."""
    from rampcast.model.monte_carlo import simulate as run

    return run(scenario, **options)


def expected(scenario, **options):
    """Expected values, no sampling; see :func:`rampcast.model.deterministic.expected`."""
    from rampcast.model.deterministic import expected as run

    return run(scenario, **options)


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'rampcast' has no attribute {name!r}")
    return getattr(import_module(module), name)


__all__ = ["__version__", "default_scenario_path", "expected", "simulate", *_LAZY]
