"""Same seed, same numbers: whatever the thread count, chunking or offset."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys

import numpy as np

import rampcast
from rampcast.model.build import build_model
from rampcast.model.monte_carlo import run_model

DIGEST = """
import hashlib, numba, rampcast
from rampcast.model.build import build_model
from rampcast.model.monte_carlo import run_model
s = rampcast.load_scenario(rampcast.default_scenario_path())
out = run_model(build_model(s), seed=42, trials=301, chunk_trials={chunk})
print(numba.get_num_threads(), hashlib.sha256(out.tobytes()).hexdigest())
"""


def digest_in_subprocess(threads: int, chunk: int) -> tuple[str, str]:
    env = {**os.environ, "NUMBA_NUM_THREADS": str(threads)}
    done = subprocess.run([sys.executable, "-c", DIGEST.format(chunk=chunk)], env=env,
                          capture_output=True, text=True, check=True, timeout=300)
    used, digest = done.stdout.split()
    return used, digest


def test_same_numbers_with_one_or_two_threads():
    one = digest_in_subprocess(1, 64)
    two = digest_in_subprocess(2, 301)
    assert one[0] == "1" and two[0] == "2"
    assert one[1] == two[1]


def default_model():
    return build_model(rampcast.load_scenario(rampcast.default_scenario_path()))


def test_chunking_and_offsets_do_not_change_draws():
    model = default_model()
    whole = run_model(model, seed=5, trials=100, chunk_trials=100)
    for chunk in (1, 7, 33):
        assert np.array_equal(run_model(model, seed=5, trials=100, chunk_trials=chunk), whole)
    tail = run_model(model, seed=5, trials=40, first_trial=60)
    assert np.array_equal(tail, whole[:, 60:])


def test_different_seed_gives_different_draws():
    model = default_model()
    a = run_model(model, seed=5, trials=50)
    b = run_model(model, seed=6, trials=50)
    assert not np.array_equal(a, b)
    # and trials within one seed differ from each other
    bookings = a[3].sum(axis=(1, 2))
    assert len(np.unique(bookings)) == len(bookings)


def test_digest_is_stable_in_process():
    model = default_model()
    out = run_model(model, seed=42, trials=301, chunk_trials=50)
    assert hashlib.sha256(out.tobytes()).hexdigest() == digest_in_subprocess(2, 128)[1]
