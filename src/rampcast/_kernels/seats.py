"""Per-seat totals (numba): what each seat books on its own, trial by trial.

Seats never interact in the model, so a plan's bookings in a trial are the
sum of its seats' own bookings. This kernel walks each seat alone with the
engine's :func:`~rampcast._kernels.engine.simulate_seat` and keeps, per
(trial, seat), the bookings inside a window of months and the months the
seat is occupied in the horizon. The hiring optimiser evaluates any plan
from these columns without re-simulating.

Its twin is the engine itself: summing :func:`engine.simulate_block` over
single-seat models gives the same numbers (``tests/test_optimise.py``).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from rampcast._kernels import random as rnd
from rampcast._kernels.engine import (
    BOOKINGS,
    DEPARTURES,
    HEADCOUNT,
    N_METRICS,
    simulate_seat,
)


@njit(cache=True, parallel=True)
def seat_totals(bookings, occupied, first_trial, seed, first, last, seats, sg, cv_, table, exact):
    """Fill ``bookings`` and ``occupied``, both (trial, seat), for a block of trials.

    ``bookings[i, j]`` is seat ``j``'s bookings in months ``first .. last``
    (inclusive) of trial ``first_trial + i``; ``occupied[i, j]`` the number
    of horizon months in which a rep sits in seat ``j`` at some point
    (month-end headcount plus the leaving month).
    """
    n_trials, n_seats = bookings.shape
    n_months = sg.season.shape[1]
    n_segments = sg.season.shape[0]
    for i in prange(n_trials):
        scratch = np.zeros((N_METRICS, 1, n_months, n_segments))
        tkey = rnd.trial_key(seed, first_trial + i)
        for seat in range(n_seats):
            s = seats.segment[seat]
            scratch[:, 0, :, s] = 0.0
            simulate_seat(scratch, 0, seat, seats, sg, cv_, tkey, table, exact)
            total = 0.0
            for m in range(first, last + 1):
                total += scratch[BOOKINGS, 0, m, s]
            months = 0.0
            for m in range(n_months):
                months += scratch[HEADCOUNT, 0, m, s] + scratch[DEPARTURES, 0, m, s]
            bookings[i, seat] = total
            occupied[i, seat] = months
