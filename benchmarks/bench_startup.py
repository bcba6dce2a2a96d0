"""What a user waits for before the first trial: imports and the first call.

Each ``timeraw_*`` sample runs in a fresh interpreter and times only the
returned statement (its setup string and interpreter start-up are not
timed). The first call of the kernel either loads it from the numba cache
(warm; the usual case after the first run on a machine) or compiles it
(cold; a fresh ``NUMBA_CACHE_DIR``).
"""

from __future__ import annotations

from pathlib import Path

from .workloads import build

ROOT = str(Path(__file__).resolve().parent.parent)

_MODEL = f"""
import sys
sys.path.insert(0, {ROOT!r})
from benchmarks.workloads import build
from rampcast.model.monte_carlo import run_model
model, _ = build("deal_48M")
"""

_FIRST_CALL = """
raw = run_model(model, 1, 1, chunk_trials=1)
assert raw.shape[1] == 1 and raw.min() >= 0.0
"""

_COLD = """
import atexit, os, shutil, tempfile
cache = tempfile.mkdtemp(prefix="rampcast-numba-cold-")
atexit.register(shutil.rmtree, cache, True)
os.environ["NUMBA_CACHE_DIR"] = cache  # before numba is imported
"""


def timeraw_import_rampcast():
    """``import rampcast``: the CLI's start-up cost (lazy; no numba, no xarray)."""
    return "import rampcast"


def timeraw_import_engine():
    """The Monte Carlo module with numba, NumPy, SciPy and xarray behind it."""
    return "import rampcast.model.monte_carlo"


timeraw_import_rampcast.repeat = timeraw_import_engine.repeat = (5, 5, 30.0)
timeraw_import_rampcast.warmup_time = timeraw_import_engine.warmup_time = 0.0


class FirstCall:
    """First kernel call on a built model: one trial, 200 seats, 24 months."""

    number = 1
    rounds = 1
    warmup_time = 0.0
    timeout = 180

    def setup(self):
        # fill the numba cache of this machine, so the warm case is warm
        from rampcast.model.monte_carlo import run_model

        model, _ = build("deal_48M")
        run_model(model, 1, 1, chunk_trials=1)

    def timeraw_warm_cache(self):
        return _FIRST_CALL, _MODEL

    timeraw_warm_cache.repeat = (5, 5, 60.0)

    def timeraw_cold_cache(self):
        return _FIRST_CALL, _COLD + _MODEL

    timeraw_cold_cache.repeat = (2, 2, 120.0)
