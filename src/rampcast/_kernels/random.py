"""Counter-based random numbers for the kernels (numba only).

Every draw is a pure function of ``(seed, trial, seat, counter)``: a
splitmix64-style finaliser hashes the key into 64 random bits. Nothing
depends on the thread that runs a trial or on how trials are chunked, and a
seat shared by two hiring plans sees the same numbers in both (common random
numbers). The counter packs the occupant of the seat, a stream id (what the
draw is for), the month, and an attempt index for rejection samplers.

Variates are built from uniforms by inversion (normal, Poisson for small
means) or by classic rejection methods (Marsaglia-Tsang gamma, Hormann's PTRS
Poisson for large means), each attempt taking the next attempt index.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, uint64

_C1 = uint64(0xBF58476D1CE4E5B9)
_C2 = uint64(0x94D049BB133111EB)
_GOLDEN = uint64(0x9E3779B97F4A7C15)
_S30 = uint64(30)
_S27 = uint64(27)
_S31 = uint64(31)
_S12 = uint64(12)
_TWO_M52 = 2.0**-52

# stream ids: what a draw is for (8 bits of the counter)
ATTRITION = 1
SPEED = 2
SKILL = 3
WIN_A = 4
WIN_B = 5
ACCEPT = 6
SLIP = 7
FILL = 8
BOOKINGS = 9
DEALS = 10

TABLE_BITS = 14
TABLE_SIZE = 1 << TABLE_BITS


@njit(cache=True, inline="always")
def mix64(z):
    """splitmix64 finaliser: a bijection of 64-bit words with good avalanche."""
    z = (z ^ (z >> _S30)) * _C1
    z = (z ^ (z >> _S27)) * _C2
    return z ^ (z >> _S31)


@njit(cache=True, inline="always")
def trial_key(seed, trial):
    """Key of trial ``trial`` under ``seed`` (both non-negative integers)."""
    return mix64(mix64(uint64(seed)) + uint64(trial) * _GOLDEN)


@njit(cache=True, inline="always")
def seat_key(tkey, seat_id):
    """Key of one seat within a trial; ``seat_id`` is the seat's stable hash."""
    return mix64(tkey ^ uint64(seat_id))


@njit(cache=True, inline="always")
def counter(occupant, stream, month, attempt):
    """Pack a draw's coordinates into 64 bits (16 + 8 + 16 + 24)."""
    c = (uint64(occupant) << uint64(48)) | (uint64(stream) << uint64(40))
    return c | (uint64(month) << uint64(24)) | uint64(attempt)


@njit(cache=True, inline="always")
def uniform(skey, ctr):
    """A uniform on the open interval (0, 1) from a seat key and a counter.

    The top 52 bits, centred in their cell, give ``(b + 0.5) / 2**52``, which
    is exact in double precision. With 53 bits the top value
    ``(2**53 - 0.5) / 2**53`` would round to 1.0 and the normal of it be NaN.
    """
    bits = mix64(skey + ctr * _GOLDEN) >> _S12
    return (float(bits) + 0.5) * _TWO_M52


# Acklam's rational approximation of the inverse normal CDF; one Halley step on
# erfc then brings it to full double precision.
_A = (-3.969683028665376e01, 2.209460984245205e02, -2.759285104469687e02,
      1.383577518672690e02, -3.066479806614716e01, 2.506628277459239e00)
_B = (-5.447609879822406e01, 1.615858368580409e02, -1.556989798598866e02,
      6.680131188771972e01, -1.328068155288572e01)
_C = (-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e00,
      -2.549732539343734e00, 4.374664141464968e00, 2.938163982698783e00)
_D = (7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e00,
      3.754408661907416e00)
_SQRT2PI = math.sqrt(2.0 * math.pi)


@njit(cache=True)
def ndtri(u):
    """Inverse of the standard normal CDF, to about 1e-15 relative."""
    if u < 0.02425:
        q = math.sqrt(-2.0 * math.log(u))
        x = (((((_C[0] * q + _C[1]) * q + _C[2]) * q + _C[3]) * q + _C[4]) * q + _C[5]) / (
            (((_D[0] * q + _D[1]) * q + _D[2]) * q + _D[3]) * q + 1.0
        )
    elif u > 1.0 - 0.02425:
        q = math.sqrt(-2.0 * math.log1p(-u))
        x = -(((((_C[0] * q + _C[1]) * q + _C[2]) * q + _C[3]) * q + _C[4]) * q + _C[5]) / (
            (((_D[0] * q + _D[1]) * q + _D[2]) * q + _D[3]) * q + 1.0
        )
    else:
        q = u - 0.5
        r = q * q
        x = (((((_A[0] * r + _A[1]) * r + _A[2]) * r + _A[3]) * r + _A[4]) * r + _A[5]) * q / (
            ((((_B[0] * r + _B[1]) * r + _B[2]) * r + _B[3]) * r + _B[4]) * r + 1.0
        )
    err = 0.5 * math.erfc(-x / math.sqrt(2.0)) - u
    step = err * _SQRT2PI * math.exp(0.5 * x * x)
    return x - step / (1.0 + 0.5 * x * step)


def normal_table() -> np.ndarray:
    """Standard normal quantiles at ``u = i / TABLE_SIZE`` for the fast sampler.

    Entries 0 and ``TABLE_SIZE`` (the infinite ends) are never read: draws in
    the outermost cells use :func:`ndtri` directly.
    """
    from scipy.special import ndtri as exact

    grid = np.arange(TABLE_SIZE + 1) / TABLE_SIZE
    table = np.zeros(TABLE_SIZE + 1)
    table[1:-1] = exact(grid[1:-1])
    return table


@njit(cache=True, inline="always")
def normal(u, table, exact):
    """A standard normal by inversion of ``u``: exact, or by table interpolation.

    The table path interpolates linearly between quantiles on a grid of
    ``2**14`` cells; the two outermost cells are inverted exactly.
    """
    if exact:
        return ndtri(u)
    x = u * TABLE_SIZE
    i = int(x)
    if i < 1 or i >= TABLE_SIZE - 1:
        return ndtri(u)
    f = x - i
    return table[i] + f * (table[i + 1] - table[i])


@njit(cache=True, inline="always")
def lognormal(u, mu, sigma, row, exact):
    """``exp(mu + sigma * z)`` at the normal quantile ``z`` of ``u``.

    The fast path interpolates linearly in ``row``, the lognormal's own
    quantiles on the normal table's grid (one read, no ``exp``); the two
    outermost cells and the exact sampler invert exactly.
    """
    x = u * TABLE_SIZE
    i = int(x)
    if exact or i < 1 or i >= TABLE_SIZE - 1:
        return math.exp(mu + sigma * ndtri(u))
    return row[i] + (x - i) * (row[i + 1] - row[i])


@njit(cache=True)
def gamma(shape, skey, occupant, stream, month, table, exact):
    """A Gamma(shape, 1) variate by Marsaglia and Tsang's squeeze method.

    Each attempt uses two uniforms (attempt indices ``2j`` and ``2j + 1``);
    a shape below one is boosted, ``G(a) = G(a + 1) * U ** (1 / a)``.
    """
    a = shape
    boost = 1.0
    if a < 1.0:
        u = uniform(skey, counter(occupant, stream, month, 0xFFFFFF))
        boost = u ** (1.0 / a)
        a += 1.0
    d = a - 1.0 / 3.0
    c = 1.0 / math.sqrt(9.0 * d)
    for j in range(1 << 22):
        z = normal(uniform(skey, counter(occupant, stream, month, 2 * j)), table, exact)
        v = 1.0 + c * z
        if v <= 0.0:
            continue
        v = v * v * v
        u = uniform(skey, counter(occupant, stream, month, 2 * j + 1))
        z2 = z * z
        # the squeeze accepts most draws without the two logarithms; it
        # accepts only points the exact test below accepts too
        if u < 1.0 - 0.0331 * z2 * z2:
            return d * v * boost
        if math.log(u) < 0.5 * z2 + d - d * v + d * math.log(v):
            return d * v * boost
    return d * boost


@njit(cache=True)
def poisson(lam, skey, occupant, stream, month):
    """A Poisson(lam) count: inversion below 10, Hormann's PTRS above.

    Returns the count; the draws use attempt indices from 0 upward.
    """
    if lam <= 0.0:
        return 0
    if lam < 10.0:
        u = uniform(skey, counter(occupant, stream, month, 0))
        p = math.exp(-lam)
        cdf = p
        k = 0
        while u > cdf and k < 1000:
            k += 1
            p *= lam / k
            cdf += p
        return k
    slam = math.sqrt(lam)
    loglam = math.log(lam)
    b = 0.931 + 2.53 * slam
    a = -0.059 + 0.02483 * b
    inv_alpha = 1.1239 + 1.1328 / (b - 3.4)
    vr = 0.9277 - 3.6224 / (b - 2.0)
    for j in range(1 << 22):
        u = uniform(skey, counter(occupant, stream, month, 2 * j)) - 0.5
        v = uniform(skey, counter(occupant, stream, month, 2 * j + 1))
        us = 0.5 - abs(u)
        k = math.floor((2.0 * a / us + b) * u + lam + 0.43)
        if us >= 0.07 and v <= vr:
            return int(k)
        if k < 0.0 or (us < 0.013 and v > us):
            continue
        lhs = math.log(v) + math.log(inv_alpha) - math.log(a / (us * us) + b)
        if lhs <= -lam + k * loglam - math.lgamma(k + 1.0):
            return int(k)
    return int(lam)
