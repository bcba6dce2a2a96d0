r"""Readable NumPy twin of the numba kernel, for parity tests.

:func:`reference_run` simulates the same model as
:func:`rampcast.model.monte_carlo.run_model` and returns the same array,
draw for draw. It loops over seats and months with arrays over trials, and
derives its random numbers and the model logic on its own. From the kernels
it takes only names and data: the metric rows, ``NEVER``, the array types,
the stream ids and the table of normal quantiles.

The model
---------
A seat holds one occupant at a time; occupant ``o = 0`` is the seat's first
rep, each backfill takes the next index. In month :math:`m` an occupant who
started in month :math:`m_0` has tenure :math:`k = m - m_0` and

.. math::

    x &= (k + \delta) / \sigma, \qquad \sigma = e^{s_\sigma Z_1}, \qquad
        r = \mathrm{ramp}(x) \\
    q &= f \, e^{s_q Z_2 - s_q^2 / 2}, \qquad
        \rho = r \, a \, c_m \, q \, \ell \\
    \text{capacity} &= \rho F
        \quad\text{or}\quad \rho \, n \, p \, e^{\mu + s^2 / 2} \\
    \text{bookings} &\sim \mathrm{Gamma}(\text{mean } \rho F, \text{cv})
        \quad\text{or}\quad \sum_{i=1}^{W} e^{\mu + s Z_{3, i}}, \quad
        W \sim \mathrm{Poisson}(n \rho p)

in the capacity or the deal model. ``ramp`` interpolates the segment's curve
of length :math:`L` linearly (1.0 from :math:`x = L`); :math:`\delta` is 1
when the start month is tenure 1; :math:`f` is the rep's own factor (1.0 for
hires and backfills); :math:`a` the attainment (under
``attainment_applies_to: ramped`` only once :math:`x \ge L`); :math:`c_m`
the seasonality of month :math:`m`; :math:`F` the full monthly capacity and
:math:`n` the opportunities per month. The win rate
:math:`p = G_\alpha / (G_\alpha + G_\beta) \sim \mathrm{Beta}(\alpha, \beta)`
is drawn per occupant. The occupant leaves in month :math:`m` if it is its
known last month or :math:`U < h(k)`, the hazard at elapsed tenure
:math:`k`; then :math:`\ell` is the leaver share (1 in other months). A
leaver counts in departures, not in headcount or in ramped-rep equivalents
(:math:`\sum r`) at month end. With backfill the next occupant starts in
month :math:`m + 1 + D`, :math:`D` the time to fill, and the seat is a
vacancy at the ends of months :math:`m` to :math:`m + D`. A planned hire
starts only if :math:`U < \text{acceptance}`, in its month plus a slip.

Random numbers
--------------
Every draw is a function of ``(seed, trial, seat, counter)`` alone, with the
splitmix64 finaliser :math:`\mathrm{mix}` and the golden-ratio increment
:math:`\gamma`, all modulo :math:`2^{64}`:

.. math::

    K_t &= \mathrm{mix}\bigl(\mathrm{mix}(\text{seed}) + t \gamma\bigr),
        \qquad K_{t, j} = \mathrm{mix}(K_t \oplus h_j) \\
    c &= o \ll 48 \;|\; \text{stream} \ll 40 \;|\; m \ll 24 \;|\;
        \text{attempt} \\
    U &= \bigl(\lfloor \mathrm{mix}(K_{t, j} + c \gamma) / 2^{12} \rfloor
        + 1/2\bigr) / 2^{52}

where :math:`h_j` hashes seat :math:`j`'s label. Normals invert :math:`U`
(exactly, or by the kernel's interpolated table). Gammas use Marsaglia and
Tsang's method, try :math:`i` reading attempts :math:`2i` and :math:`2i + 1`,
a shape below one boosted by :math:`U^{1/a}` from attempt ``0xFFFFFF``.
Poisson counts invert :math:`U` below a mean of 10 and use Hormann's PTRS
from 10 up, try :math:`i` reading attempts :math:`2i` and :math:`2i + 1`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from scipy.special import gammaln, ndtri

from rampcast._kernels import random as streams
from rampcast._kernels.engine import (
    BOOKINGS,
    CAPACITY,
    DEPARTURES,
    HEADCOUNT,
    HIRES,
    N_METRICS,
    NEVER,
    RRE,
    VACANCIES,
    Segments,
)
from rampcast._kernels.random import normal_table
from rampcast.model.build import Model, expected_deal_size

__all__ = ["reference_run"]

_C1 = np.uint64(0xBF58476D1CE4E5B9)
_C2 = np.uint64(0x94D049BB133111EB)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_BOOST_ATTEMPT = 0xFFFFFF
_MAX_TRIES = 1 << 22


def reference_run(
    model: Model,
    seed: int,
    trials: int,
    first_trial: int = 0,
    exact: bool = True,
    table: np.ndarray | None = None,
) -> np.ndarray:
    """Simulate ``trials`` trials in plain NumPy, as the kernel does.

    Parameters
    ----------
    model
        The arrays of a scenario and hiring plan (:func:`build_model`).
    seed
        Non-negative seed of the run.
    trials
        Number of trials.
    first_trial
        Index of the first trial; trial ``i`` draws from the stream of
        ``(seed, first_trial + i)``.
    exact
        Invert the normal CDF exactly (``True``) or by interpolating
        ``table`` as the kernel's fast sampler does.
    table
        Normal quantiles on the kernel's grid; default
        :func:`rampcast._kernels.random.normal_table`. Ignored if ``exact``.

    Returns
    -------
    numpy.ndarray
        Shape (metric, trial, month, segment), the layout of
        :func:`rampcast.model.monte_carlo.run_model`.
    """
    if not exact and table is None:
        table = normal_table()
    n_segments = len(model.segments)
    out = np.zeros((N_METRICS, trials, model.n_months, n_segments))
    trial_keys = _trial_keys(seed, first_trial + np.arange(trials))
    for seat in range(model.seats.segment.shape[0]):
        key = _seat_keys(trial_keys, model.seats.key[seat])
        draws = _Draws(key, None if exact else table)
        _simulate_seat(out, model, seat, draws)
    return out


# ------------------------------------------------------------ random numbers


def _mix64(z: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser on uint64 arrays (arithmetic modulo 2**64)."""
    with np.errstate(over="ignore"):
        z = (z ^ (z >> np.uint64(30))) * _C1
        z = (z ^ (z >> np.uint64(27))) * _C2
    return z ^ (z >> np.uint64(31))


def _as_u64(value) -> np.ndarray:
    return np.asarray(value).astype(np.uint64)


def _trial_keys(seed: int, trials: np.ndarray) -> np.ndarray:
    """Key of each trial: ``mix(mix(seed) + trial * golden)``."""
    with np.errstate(over="ignore"):
        return _mix64(_mix64(_as_u64(seed)) + _as_u64(trials) * _GOLDEN)


def _seat_keys(trial_keys: np.ndarray, seat_hash) -> np.ndarray:
    """Key of one seat in each trial."""
    return _mix64(trial_keys ^ _as_u64(seat_hash))


def _counter(occupant, stream, month, attempt) -> np.ndarray:
    """Pack a draw's coordinates into 64 bits: 16 + 8 + 16 + 24."""
    packed = _as_u64(occupant) << np.uint64(48)
    packed = packed | (_as_u64(stream) << np.uint64(40))
    return packed | (_as_u64(month) << np.uint64(24)) | _as_u64(attempt)


def _uniform(key: np.ndarray, counter: np.ndarray) -> np.ndarray:
    """Uniforms on (0, 1): the top 52 hashed bits, centred in their cell."""
    with np.errstate(over="ignore"):
        bits = _mix64(key + counter * _GOLDEN) >> np.uint64(12)
    return (bits.astype(np.float64) + 0.5) * 2.0**-52


def _normal(u: np.ndarray, table: np.ndarray | None) -> np.ndarray:
    """Standard normals by inversion: exact, or interpolated in ``table``.

    The table has one quantile per grid point ``i / size``; draws in its two
    outermost cells, where a quantile is infinite, are inverted exactly.
    """
    return _interpolate(u, table, ndtri)


def _interpolate(u: np.ndarray, table: np.ndarray | None, exact) -> np.ndarray:
    """Quantiles of ``u`` interpolated in ``table`` (grid ``i / size``); ``exact``
    in the two outermost cells, or everywhere when there is no table."""
    if table is None:
        return exact(u)
    size = table.shape[0] - 1
    x = u * size
    i = x.astype(np.int64)
    outer = (i < 1) | (i >= size - 1)
    i = np.clip(i, 1, size - 2)
    inner = table[i] + (x - i) * (table[i + 1] - table[i])
    return np.where(outer, exact(u), inner)


class _Site(NamedTuple):
    """Whose draw, what for, in which month: a counter without its attempt."""

    occupant: np.ndarray | int
    stream: int
    month: int


@dataclass(frozen=True)
class _Draws:
    """The random streams of one seat: one key per trial."""

    key: np.ndarray
    table: np.ndarray | None  # None: exact normals

    def uniform(self, site: _Site, attempt: int = 0) -> np.ndarray:
        return _uniform(self.key, _counter(*site, attempt))

    def normal(self, site: _Site, attempt: int = 0) -> np.ndarray:
        return _normal(self.uniform(site, attempt), self.table)


def _gamma(draws: _Draws, shape: float, site: _Site) -> np.ndarray:
    r"""Gamma(shape, 1) per trial by Marsaglia and Tsang's method.

    Try ``i`` reads the normal at attempt ``2 i`` and, if
    :math:`v = (1 + c z)^3 > 0`, the uniform at ``2 i + 1``; it accepts when
    :math:`\log u < z^2 / 2 + d - d v + d \log v`. A shape below one draws
    Gamma(shape + 1) and multiplies by :math:`U^{1 / \text{shape}}`.
    """
    n = draws.key.shape[0]
    a, boost = shape, np.ones(n)
    if a < 1.0:
        boost = draws.uniform(site, _BOOST_ATTEMPT) ** (1.0 / a)
        a += 1.0
    d = a - 1.0 / 3.0
    c = 1.0 / math.sqrt(9.0 * d)

    value = d * boost  # the kernel's answer should every try fail
    pending = np.ones(n, dtype=bool)
    for i in range(_MAX_TRIES):
        z = draws.normal(site, 2 * i)
        v = 1.0 + c * z
        positive = v > 0.0
        v = np.where(positive, v, 1.0)
        v = v * v * v
        u = draws.uniform(site, 2 * i + 1)
        ok = np.log(u) < 0.5 * z * z + d - d * v + d * np.log(v)
        accept = pending & positive & ok
        value = np.where(accept, d * v * boost, value)
        pending &= ~accept
        if not pending.any():
            break
    return value


def _poisson(draws: _Draws, lam: np.ndarray, site: _Site) -> np.ndarray:
    """Poisson(lam) counts per trial: inversion below 10, PTRS from 10 up."""
    small = (lam > 0.0) & (lam < 10.0)
    large = lam >= 10.0
    count = np.zeros(lam.shape)
    if small.any():
        lam_small = np.where(small, lam, 0.0)
        by_inversion = _poisson_inversion(draws.uniform(site), lam_small)
        count = np.where(small, by_inversion, count)
    if large.any():
        by_ptrs = _poisson_ptrs(draws, np.where(large, lam, 10.0), site)
        count = np.where(large, by_ptrs, count)
    return count


def _poisson_inversion(u: np.ndarray, lam: np.ndarray) -> np.ndarray:
    """Smallest ``k`` with ``u <= P(X <= k)``, summing the pmf (k <= 1000)."""
    p = np.exp(-lam)
    cdf = p.copy()
    k = np.zeros(lam.shape)
    going = u > cdf
    while going.any():
        k[going] += 1.0
        p[going] *= lam[going] / k[going]
        cdf[going] += p[going]
        going &= (u > cdf) & (k < 1000)
    return k


def _poisson_ptrs(draws: _Draws, lam: np.ndarray, site: _Site) -> np.ndarray:
    """Hormann's transformed rejection with squeeze (PTRS), for ``lam >= 10``.

    Try ``i`` reads uniforms at attempts ``2 i`` and ``2 i + 1``.
    """
    b = 0.931 + 2.53 * np.sqrt(lam)
    a = -0.059 + 0.02483 * b
    log_alpha = np.log(1.1239 + 1.1328 / (b - 3.4))
    vr = 0.9277 - 3.6224 / (b - 2.0)
    loglam = np.log(lam)

    count = np.floor(lam)  # the kernel's answer should every try fail
    pending = np.ones(lam.shape, dtype=bool)
    for i in range(_MAX_TRIES):
        u = draws.uniform(site, 2 * i) - 0.5
        v = draws.uniform(site, 2 * i + 1)
        us = 0.5 - np.abs(u)
        k = np.floor((2.0 * a / us + b) * u + lam + 0.43)
        quick = (us >= 0.07) & (v <= vr)
        tested = ~quick & (k >= 0.0) & ~((us < 0.013) & (v > us))
        k_safe = np.maximum(k, 0.0)
        lhs = np.log(v) + log_alpha - np.log(a / (us * us) + b)
        rhs = -lam + k_safe * loglam - gammaln(k_safe + 1.0)
        accept = pending & (quick | (tested & (lhs <= rhs)))
        count = np.where(accept, k, count)
        pending &= ~accept
        if not pending.any():
            break
    return count


def _delay(cdf: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Months of delay: the first ``d`` with ``u <= cdf[d]``, else the last."""
    return np.searchsorted(cdf[:-1], u, side="left")


# ------------------------------------------------------------ the model


class _Traits(NamedTuple):
    """What an occupant keeps for its whole stay, one value per trial."""

    speed: np.ndarray
    skill: np.ndarray
    p_win: np.ndarray
    per_rate: np.ndarray  # capacity per unit of rate: F, or n p E[size]


@dataclass
class _Seat:
    """The state of one seat in every trial."""

    segment: int
    occupant: np.ndarray  # occupant index
    start: np.ndarray  # current occupant's start month; NEVER if none comes
    end: np.ndarray  # its known last month, or NEVER
    factor: np.ndarray  # its own productivity factor
    left: np.ndarray  # month of the seat's last departure, -1 before any
    traits: _Traits | None = None


def _traits(draws: _Draws, sg: Segments, seat: _Seat) -> _Traits:
    """Stretch, skill and win rate of each trial's current occupant.

    They depend only on the occupant's index, so drawing them again for
    every trial after any change gives the unchanged trials the same values.
    """
    s, occ = seat.segment, seat.occupant
    n = occ.shape[0]
    speed = np.ones(n)
    if sg.speed_sd[s] > 0.0:
        sd = sg.speed_sd[s]
        z = draws.normal(_Site(occ, streams.SPEED, 0))
        speed = np.exp(sd * z - 0.5 * sd * sd)
    skill = seat.factor
    if sg.skill_sd[s] > 0.0:
        sd = sg.skill_sd[s]
        z = draws.normal(_Site(occ, streams.SKILL, 0))
        skill = skill * np.exp(sd * z - 0.5 * sd * sd)
    if not sg.deal_model[s]:
        return _Traits(speed, skill, np.ones(n), np.full(n, sg.full[s]))
    g_a = _gamma(draws, sg.win_a[s], _Site(occ, streams.WIN_A, 0))
    g_b = _gamma(draws, sg.win_b[s], _Site(occ, streams.WIN_B, 0))
    p_win = g_a / (g_a + g_b)
    size = expected_deal_size(sg.size_mu[s], sg.size_sigma[s])
    return _Traits(speed, skill, p_win, sg.opps[s] * p_win * size)


def _first_occupant(model: Model, seat: int, draws: _Draws) -> _Seat:
    """The first occupant's state; a planned hire may slip or never start."""
    seats, sg = model.seats, model.params
    s = int(seats.segment[seat])
    n = draws.key.shape[0]
    start = np.full(n, seats.start[seat], dtype=np.int64)
    if seats.is_hire[seat]:
        accepted = draws.uniform(_Site(0, streams.ACCEPT, 0)) < sg.acceptance[s]
        slip = _delay(sg.slip_cdf[s], draws.uniform(_Site(0, streams.SLIP, 0)))
        start = np.where(accepted, start + slip, NEVER)
    state = _Seat(
        segment=s,
        occupant=np.zeros(n, dtype=np.int64),
        start=start,
        end=np.full(n, seats.end[seat], dtype=np.int64),
        factor=np.full(n, seats.factor[seat]),
        left=np.full(n, -1, dtype=np.int64),
    )
    state.traits = _traits(draws, sg, state)
    return state


def _simulate_seat(out: np.ndarray, model: Model, seat: int, draws: _Draws):
    """Walk one seat through the horizon in every trial, adding to ``out``."""
    state = _first_occupant(model, seat, draws)
    sg, s = model.params, state.segment
    for m in range(model.n_months):
        leaving = _occupied_month(out, model, state, draws, m)
        if leaving.any():
            _replace(state, sg, draws, leaving, m)
        if sg.backfill[s]:
            out[VACANCIES, :, m, s] += (state.left >= 0) & (m < state.start)


def _ramp_fraction(curve: np.ndarray, length: int, x: np.ndarray):
    """Ramp at continuous tenure ``x``: linear, 1.0 from ``x = length``."""
    ramping = x < length
    i = np.where(ramping, x, 0.0).astype(np.int64)
    hi = np.where(i + 1 < length, curve[i + 1], 1.0)
    value = curve[i] + (x - i) * (hi - curve[i])
    return np.where(ramping, value, 1.0)


def _occupied_month(out, model: Model, state: _Seat, draws: _Draws, m: int):
    """Add month ``m`` of each trial's current occupant; return who leaves."""
    sg, cv, s = model.params, model.conventions, state.segment
    traits = state.traits
    here = state.start <= m
    k = np.maximum(m - state.start, 0)  # tenure; 0 where nobody is here

    x = (k + cv.tenure_shift) * traits.speed
    ramp = _ramp_fraction(sg.ramp[s], sg.ramp_len[s], x)
    attained = x >= sg.ramp_len[s] if cv.attain_ramped_only else True
    eff = np.where(attained, ramp * sg.attainment[s], ramp)
    hazard = sg.hazard[s, np.minimum(k, sg.hazard.shape[1] - 1)]
    u = draws.uniform(_Site(state.occupant, streams.ATTRITION, m))
    leaving = here & ((state.end == m) | (u < hazard))
    share = np.where(leaving, cv.leaver_share, 1.0)
    rate = np.where(here, eff * sg.season[s, m] * traits.skill * share, 0.0)

    stays = here & ~leaving
    out[HIRES, :, m, s] += here & (state.start == m)
    out[CAPACITY, :, m, s] += rate * traits.per_rate
    out[BOOKINGS, :, m, s] += _bookings(draws, sg, state, rate, m)
    out[DEPARTURES, :, m, s] += leaving
    out[HEADCOUNT, :, m, s] += stays
    out[RRE, :, m, s] += np.where(stays, ramp, 0.0)
    return leaving


def _bookings(draws: _Draws, sg: Segments, state: _Seat, rate, m: int):
    """Realised bookings of month ``m`` given each trial's rate."""
    s, occ = state.segment, state.occupant
    if not sg.deal_model[s]:
        return _capacity_bookings(draws, sg.full[s] * rate, sg.cv[s], occ, m)

    lam = np.where(rate > 0.0, sg.opps[s] * rate * state.traits.p_win, 0.0)
    wins = _poisson(draws, lam, _Site(occ, streams.BOOKINGS, m))
    mu, sigma = sg.size_mu[s], sg.size_sigma[s]
    sizes = None if draws.table is None else sg.size_table[s]
    total = np.zeros(rate.shape)
    for j in range(int(wins.max(initial=0))):
        u = draws.uniform(_Site(occ, streams.DEALS, m), j)
        deal = _interpolate(u, sizes, lambda u: np.exp(mu + sigma * ndtri(u)))
        total = np.where(j < wins, total + deal, total)
    return total


def _capacity_bookings(draws: _Draws, mean, cv: float, occ, m: int):
    """Gamma bookings of the given means and cv.

    A cv so small that the shape ``1 / cv**2`` overflows means no noise.
    """
    cv = float(cv)  # Python floats overflow to inf without a warning
    shape = 1.0 / cv / cv if cv > 0.0 else math.inf
    if shape == math.inf:
        return mean
    unit = _gamma(draws, shape, _Site(occ, streams.BOOKINGS, m)) / shape
    return np.where(mean > 0.0, mean * unit, 0.0)


def _replace(state: _Seat, sg: Segments, draws: _Draws, leaving, m: int):
    """Record departures in month ``m``; a backfill follows where enabled."""
    s = state.segment
    state.left = np.where(leaving, m, state.left)
    if not sg.backfill[s]:
        state.start = np.where(leaving, NEVER, state.start)
        return
    u = draws.uniform(_Site(state.occupant, streams.FILL, 0))
    fill = _delay(sg.fill_cdf[s], u)
    state.start = np.where(leaving, m + 1 + fill, state.start)
    state.occupant = np.where(leaving, state.occupant + 1, state.occupant)
    state.end = np.where(leaving, NEVER, state.end)
    state.factor = np.where(leaving, 1.0, state.factor)
    state.traits = _traits(draws, sg, state)
