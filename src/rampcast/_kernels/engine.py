"""The capacity and bookings kernel (numba): arrays in, preallocated arrays out.

One call simulates a block of trials. Each trial walks every seat month by
month: the occupant ramps, may leave (tenure-banded hazard), the seat may be
backfilled after a sampled time to fill, planned hires slip and may not
start. Per (trial, month, segment) it adds up headcount and ramped-rep
equivalents at month end, capacity and bookings in the month, hires,
departures and open vacancies at month end. See ``docs/model.md``.

The readable twin is :mod:`rampcast.model.reference`; parity tests run both.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numba import njit, prange

from rampcast._kernels import random as rnd

# metric rows of the output array
HEADCOUNT, RRE, CAPACITY, BOOKINGS, HIRES, DEPARTURES, VACANCIES = range(7)
N_METRICS = 7
NEVER = 1 << 30


class Seats(NamedTuple):
    """One row per seat: who sits there first, and when."""

    segment: np.ndarray  # int64, segment index
    key: np.ndarray  # uint64, stable hash of the seat's identity (common random numbers)
    start: np.ndarray  # int64, first occupant's start month (negative: before horizon)
    end: np.ndarray  # int64, first occupant's known last month, or NEVER
    is_hire: np.ndarray  # bool, planned hire: slips and may not start
    factor: np.ndarray  # float64, first occupant's own productivity factor


class Segments(NamedTuple):
    """Per-segment parameters as plain arrays (index = segment)."""

    ramp: np.ndarray  # (S, L) ramp fractions by tenure, padded with 1.0
    ramp_len: np.ndarray  # (S,) int64 length of each curve
    speed_sd: np.ndarray  # (S,) log-sd of the per-rep ramp speed (mean one)
    hazard: np.ndarray  # (S, H) monthly hazard by elapsed tenure (last repeats)
    season: np.ndarray  # (S, M) multiplier of each horizon month
    deal_model: np.ndarray  # (S,) bool: deal-level (True) or capacity-level
    full: np.ndarray  # (S,) capacity model: full monthly capacity
    cv: np.ndarray  # (S,) capacity model: cv of monthly bookings (gamma)
    skill_sd: np.ndarray  # (S,) log-sd of the persistent skill multiplier
    attainment: np.ndarray  # (S,) attainment multiplier
    opps: np.ndarray  # (S,) deal model: opportunities per month
    win_a: np.ndarray  # (S,) deal model: Beta alpha of the win rate
    win_b: np.ndarray  # (S,) deal model: Beta beta
    size_mu: np.ndarray  # (S,) deal model: lognormal mu of deal size
    size_sigma: np.ndarray  # (S,) deal model: lognormal sigma
    size_table: np.ndarray  # (S, T + 1) deal size quantiles on the normal table's grid
    backfill: np.ndarray  # (S,) bool: departures are backfilled
    fill_cdf: np.ndarray  # (S, D) CDF of months to fill a vacancy
    slip_cdf: np.ndarray  # (S, D) CDF of months a planned hire slips
    acceptance: np.ndarray  # (S,) probability a planned hire starts


class Conventions(NamedTuple):
    """Scalar conventions, as numbers."""

    tenure_shift: int  # 0: start month is tenure 0; 1: it is tenure 1
    leaver_share: float  # share of its last month a leaver produces
    attain_ramped_only: bool  # attainment multiplies only ramped reps


@njit(cache=True, inline="always")
def ramp_fraction(curve, length, x):
    """Ramp at continuous tenure ``x``: linear between months, 1.0 from ``length``."""
    if x >= length:
        return 1.0
    i = int(x)
    lo = curve[i]
    hi = curve[i + 1] if i + 1 < length else 1.0
    return lo + (x - i) * (hi - lo)


@njit(cache=True, inline="always")
def draw_delay(cdf, u):
    """Months of delay by inversion of a discrete CDF."""
    d = 0
    while d < cdf.shape[0] - 1 and u > cdf[d]:
        d += 1
    return d


@njit(cache=True, inline="always")
def month_bookings(sg, s, m, skey, occ, rate, p_win, table, exact):
    """Realised bookings for one rep-month given its expected-output ``rate``.

    Capacity model: gamma with mean ``full * rate`` and the segment's cv.
    Deal model: wins ~ Poisson(opps * rate * p), each a lognormal deal.
    """
    if rate <= 0.0:
        return 0.0
    if not sg.deal_model[s]:
        mean = sg.full[s] * rate
        cv = sg.cv[s]
        shape = 1.0 / cv / cv if cv > 0.0 else math.inf
        if shape == math.inf:  # no noise, or a cv so small that 1 / cv**2 overflows
            return mean
        # Gamma(shape) / shape has mean one: scaling by it cannot overflow
        return mean * (rnd.gamma(shape, skey, occ, rnd.BOOKINGS, m, table, exact) / shape)
    wins = rnd.poisson(sg.opps[s] * rate * p_win, skey, occ, rnd.BOOKINGS, m)
    total = 0.0
    mu = sg.size_mu[s]
    sigma = sg.size_sigma[s]
    row = sg.size_table[s]
    for j in range(wins):
        u = rnd.uniform(skey, rnd.counter(occ, rnd.DEALS, m, j))
        total += rnd.lognormal(u, mu, sigma, row, exact)
    return total


@njit(cache=True, inline="always")
def expected_size(sg, s):
    return math.exp(sg.size_mu[s] + 0.5 * sg.size_sigma[s] ** 2)


@njit(cache=True, inline="always")
def simulate_seat(out, t, seat, seats, sg, cv_, tkey, table, exact):
    """Walk one seat through the horizon in one trial, adding into ``out[:, t]``."""
    n_months = out.shape[2]
    s = seats.segment[seat]
    skey = rnd.seat_key(tkey, seats.key[seat])
    start = seats.start[seat]
    end = seats.end[seat]
    factor = seats.factor[seat]

    if seats.is_hire[seat]:
        if rnd.uniform(skey, rnd.counter(0, rnd.ACCEPT, 0, 0)) >= sg.acceptance[s]:
            return
        u = rnd.uniform(skey, rnd.counter(0, rnd.SLIP, 0, 0))
        start += draw_delay(sg.slip_cdf[s], u)

    # hoisted: array views and scalars the month loop reads
    occ = 0
    length = sg.ramp_len[s]
    curve = sg.ramp[s]
    hazards = sg.hazard[s]
    season = sg.season[s]
    n_hazard = hazards.shape[0]
    attainment = sg.attainment[s]
    shift = cv_.tenure_shift
    ramped_only = cv_.attain_ramped_only
    leaver_share = cv_.leaver_share
    while start < n_months:
        speed = 1.0  # the rep's ramp clock runs at this speed; mean one
        if sg.speed_sd[s] > 0.0:
            z = rnd.normal(rnd.uniform(skey, rnd.counter(occ, rnd.SPEED, 0, 0)), table, exact)
            sd = sg.speed_sd[s]
            speed = math.exp(sd * z - 0.5 * sd * sd)
        skill = factor
        if sg.skill_sd[s] > 0.0:
            z = rnd.normal(rnd.uniform(skey, rnd.counter(occ, rnd.SKILL, 0, 0)), table, exact)
            sd = sg.skill_sd[s]
            skill *= math.exp(sd * z - 0.5 * sd * sd)
        p_win = 1.0
        per_rate = sg.full[s]  # capacity per unit of rate
        if sg.deal_model[s]:
            ga = rnd.gamma(sg.win_a[s], skey, occ, rnd.WIN_A, 0, table, exact)
            gb = rnd.gamma(sg.win_b[s], skey, occ, rnd.WIN_B, 0, table, exact)
            p_win = ga / (ga + gb)
            per_rate = sg.opps[s] * p_win * expected_size(sg, s)

        left = -1
        for m in range(max(start, 0), n_months):
            k = m - start
            if m == start:
                out[HIRES, t, m, s] += 1.0
            x = (k + shift) * speed
            ramp = ramp_fraction(curve, length, x)
            eff = ramp
            if not ramped_only or x >= length:
                eff *= attainment
            hazard = hazards[min(k, n_hazard - 1)]
            leaving = m == end
            if not leaving and hazard > 0.0:
                leaving = rnd.uniform(skey, rnd.counter(occ, rnd.ATTRITION, m, 0)) < hazard
            share = leaver_share if leaving else 1.0

            rate = eff * season[m] * skill * share
            out[CAPACITY, t, m, s] += rate * per_rate
            out[BOOKINGS, t, m, s] += month_bookings(
                sg, s, m, skey, occ, rate, p_win, table, exact
            )
            if leaving:
                out[DEPARTURES, t, m, s] += 1.0
                left = m
                break
            out[HEADCOUNT, t, m, s] += 1.0
            out[RRE, t, m, s] += ramp

        if left < 0 or not sg.backfill[s]:
            return
        u = rnd.uniform(skey, rnd.counter(occ, rnd.FILL, 0, 0))
        start = left + 1 + draw_delay(sg.fill_cdf[s], u)
        for m in range(left, min(start, n_months)):
            out[VACANCIES, t, m, s] += 1.0
        occ += 1
        end = NEVER
        factor = 1.0


@njit(cache=True, parallel=True)
def simulate_block(out, first_trial, seed, seats, sg, cv_, table, exact):
    """Simulate trials ``first_trial .. first_trial + out.shape[1] - 1``.

    ``out`` has shape (metric, trial, month, segment), is zeroed here, and
    receives the sums over seats. Trial ``i`` draws only from the stream
    keyed by ``(seed, i)``, so blocks and threads never change the numbers.
    """
    n_trials = out.shape[1]
    n_seats = seats.segment.shape[0]
    for i in prange(n_trials):
        out[:, i] = 0.0
        tkey = rnd.trial_key(seed, first_trial + i)
        for seat in range(n_seats):
            simulate_seat(out, i, seat, seats, sg, cv_, tkey, table, exact)
