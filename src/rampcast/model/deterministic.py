"""Deterministic mode: the model's expected values, computed without sampling.

The expectation is exact, not a large-sample average:

* A rep's ramp at continuous tenure :math:`x = c\\,v`, with
  :math:`v = e^{\\sigma Z - \\sigma^2/2}` the per-rep ramp speed (mean one),
  is piecewise linear in :math:`x`, so its mean over :math:`Z \\sim N(0, 1)`
  has a closed form from the lognormal's partial expectations:
  :math:`E[x\\,1\\{z_1 < Z \\le z_2\\}] = c\\,(\\Phi(z_2 - \\sigma)
  - \\Phi(z_1 - \\sigma))`.
* Leaving does not depend on speed, skill or win rate, so each seat's
  state is a distribution over the start month of its current occupant,
  pushed forward month by month through the hazard, backfill queue, hiring
  slip and offer acceptance.
* Skill has mean one, and the deal model's expected output is
  :math:`\\lambda\\,E[p]\\,E[\\text{size}]` with the three independent.

The Monte Carlo mean converges to these values; tests hold it to that.
"""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import xarray as xr
from scipy.special import ndtr

from rampcast._kernels import engine
from rampcast.model.build import Model, build_model
from rampcast.model.monte_carlo import METRICS
from rampcast.scenario import Scenario

__all__ = ["expected", "expected_ramp", "expected_model", "expected_seat_capacity"]


def expected_ramp(curve: np.ndarray, length: int, c: np.ndarray, sigma: float,
                  attainment: float = 1.0, attain_ramped_only: bool = False):
    """Mean ramp and mean effective output at tenure ``c`` over the ramp speed.

    Parameters
    ----------
    curve
        Ramp fractions by tenure month (``length`` used; 1.0 after).
    length
        Number of curve months before full productivity.
    c
        Tenure indices (the convention's shift already added), any shape.
    sigma
        Log-sd of the speed :math:`v`; the rep is at tenure :math:`c\\,v`.
    attainment, attain_ramped_only
        The segment's attainment multiplier and whether it multiplies only
        reps past the curve.

    Returns
    -------
    ramp, effective : ndarray
        :math:`E[r(c v)]` and :math:`E[r(c v)\\,a(c v)]`.
    """
    c = np.asarray(c, dtype=float)
    if sigma == 0.0 or length == 0:
        x = c
        ramp = np.interp(np.minimum(x, length), np.arange(length + 1),
                         np.append(curve[:length], 1.0))
        ramped = x >= length
        factor = np.where(ramped | (not attain_ramped_only), attainment, 1.0)
        return ramp, ramp * factor

    def z_at(bound: float) -> np.ndarray:
        # x >= bound  <=>  Z >= (log(bound / c) + sigma**2 / 2) / sigma;
        # returns that threshold (-inf for bound 0, +inf when c is 0)
        with np.errstate(divide="ignore", over="ignore"):
            if bound <= 0:
                return np.full_like(c, -np.inf)
            return np.where(c > 0, (np.log(bound / c) + 0.5 * sigma**2) / sigma, np.inf)

    ramp_part = np.zeros_like(c)
    for j in range(length):
        lo, hi = curve[j], (curve[j + 1] if j + 1 < length else 1.0)
        slope = hi - lo
        z_lo, z_hi = z_at(float(j)), z_at(j + 1.0)  # x in [j, j + 1)
        prob = ndtr(z_hi) - ndtr(z_lo)
        mean_x = c * (ndtr(z_hi - sigma) - ndtr(z_lo - sigma))
        ramp_part += (lo - slope * j) * prob + slope * mean_x
    # c == 0 sits at x = 0 for every speed
    ramp_part = np.where(c > 0, ramp_part, curve[0])
    p_ramped = np.where(c > 0, 1.0 - ndtr(z_at(float(length))), 0.0)
    ramp = ramp_part + p_ramped
    if attain_ramped_only:
        return ramp, ramp_part + attainment * p_ramped
    return ramp, attainment * ramp


def _unit_output(params: engine.Segments, s: int) -> float:
    """Expected monthly bookings of a fully ramped rep at multiplier one."""
    if not params.deal_model[s]:
        return float(params.full[s])
    p_win = params.win_a[s] / (params.win_a[s] + params.win_b[s])
    size = math.exp(params.size_mu[s] + 0.5 * params.size_sigma[s] ** 2)
    return float(params.opps[s] * p_win * size)


def _seat_groups(model: Model) -> Counter:
    """Identical seats (segment, start, end, hire, factor) share one propagation."""
    st = model.seats
    return Counter(zip(st.segment.tolist(), st.start.tolist(), st.end.tolist(),
                       st.is_hire.tolist(), st.factor.tolist(), strict=True))


def _propagate(out, group, count, model: Model, tables) -> None:
    """Push one seat's state distribution through the horizon, adding into ``out``."""
    s, start, end, is_hire, factor = group
    p, conv = model.params, model.conventions
    n = model.n_months
    lo = min(start, 0)
    first = np.zeros(n - lo)  # mass of the first occupant, by start month - lo
    later = np.zeros(n - lo)  # mass of backfilled occupants, by start month - lo
    queue = np.zeros(n + 1)   # backfills due to start, by month
    arrive = np.zeros(n + 1)  # first occupant's start distribution, by month
    slip = np.diff(p.slip_cdf[s], prepend=0.0)
    fill = np.diff(p.fill_cdf[s], prepend=0.0)
    if is_hire:
        for d, w in enumerate(slip):
            if start + d < n:
                arrive[start + d] += p.acceptance[s] * w
    elif start < 0:
        first[start - lo] = 1.0
    else:
        arrive[start] = 1.0
    ramp_e, eff_e = tables[s]
    hazard = p.hazard[s]
    unit = _unit_output(p, s)
    starts = np.arange(lo, n)

    for m in range(n):
        first[m - lo] += arrive[m]
        later[m - lo] += queue[m]
        out[engine.HIRES, m, s] += count * (arrive[m] + queue[m])
        k = np.clip(m - starts[: m - lo + 1], 0, None)
        c = k + conv.tenure_shift
        h = hazard[np.minimum(k, hazard.shape[0] - 1)]
        h_first = np.ones_like(h) if m == end else h
        a1, a2 = first[: m - lo + 1], later[: m - lo + 1]
        keep1 = 1.0 - h_first + h_first * conv.leaver_share
        keep2 = 1.0 - h + h * conv.leaver_share
        work = factor * a1 * keep1 + a2 * keep2
        cap = p.season[s, m] * unit * np.dot(work, eff_e[c])
        out[engine.CAPACITY, m, s] += count * cap
        out[engine.BOOKINGS, m, s] += count * cap

        leavers = np.dot(a1, h_first) + np.dot(a2, h)
        a1 *= 1.0 - h_first
        a2 *= 1.0 - h
        out[engine.DEPARTURES, m, s] += count * leavers
        out[engine.HEADCOUNT, m, s] += count * (a1.sum() + a2.sum())
        out[engine.RRE, m, s] += count * np.dot(a1 + a2, ramp_e[c])
        if p.backfill[s] and leavers > 0:
            _queue_backfill(out, queue, m, s, count * leavers, leavers, fill, n)


def _queue_backfill(out, queue, m, s, weighted, leavers, fill, n) -> None:
    """Leavers of month ``m`` start again ``1 + d`` months later, d ~ fill."""
    still_open = 1.0 - np.cumsum(fill) + fill  # P(d >= j) for j = 0, 1, ...
    for d, w in enumerate(fill):
        if m + 1 + d < n:
            queue[m + 1 + d] += leavers * w
    for j in range(min(len(fill), n - m)):
        out[engine.VACANCIES, m + j, s] += weighted * still_open[j]


def _tables(model: Model) -> list[tuple[np.ndarray, np.ndarray]]:
    p, conv = model.params, model.conventions
    oldest = max(0, -int(model.seats.start.min())) if len(model.seats.start) else 0
    c = np.arange(model.n_months + oldest + 2)
    return [expected_ramp(p.ramp[s], int(p.ramp_len[s]), c, float(p.speed_sd[s]),
                          float(p.attainment[s]), conv.attain_ramped_only)
            for s in range(len(model.segments))]


def expected_model(model: Model) -> np.ndarray:
    """Expected metrics of a built model, shaped (metric, month, segment)."""
    out = np.zeros((engine.N_METRICS, model.n_months, len(model.segments)))
    tables = _tables(model)
    for group, count in _seat_groups(model).items():
        _propagate(out, group, count, model, tables)
    return out


def expected_seat_capacity(model: Model) -> np.ndarray:
    """Expected capacity of each seat alone, shaped (seat, month).

    The same propagation as :func:`expected_model`, one seat at a time;
    summing over the seats of a segment gives that segment's ``capacity``
    row of :func:`expected_model`. Quota setting reads it per rep.
    """
    out = np.zeros((len(model.seat_labels), model.n_months))
    tables = _tables(model)
    st = model.seats
    scratch = np.zeros((engine.N_METRICS, model.n_months, len(model.segments)))
    for j in range(len(model.seat_labels)):
        group = (int(st.segment[j]), int(st.start[j]), int(st.end[j]),
                 bool(st.is_hire[j]), float(st.factor[j]))
        scratch[:] = 0.0
        _propagate(scratch, group, 1, model, tables)
        out[j] = scratch[engine.CAPACITY, :, group[0]]
    return out


def expected(scenario: Scenario, plan: str | None = None) -> xr.Dataset:
    """Expected values of every metric by month and segment, without sampling.

    Parameters
    ----------
    scenario
        A validated scenario.
    plan
        Hiring plan name; default the scenario's plan.

    Returns
    -------
    xarray.Dataset
        One variable per metric with dimensions ``(month, segment)``; the
        attribute ``mode`` is ``"deterministic"``.
    """
    model = build_model(scenario, plan)
    raw = expected_model(model)
    coords = {"month": np.array(scenario.months, dtype="datetime64[ns]"),
              "segment": list(model.segments)}
    data = {}
    for name, (row, unit, text) in METRICS.items():
        attrs = {"units": scenario.currency if unit == "currency" else unit,
                 "description": f"expected {text}"}
        data[name] = (("month", "segment"), raw[row], attrs)
    return xr.Dataset(data, coords=coords,
                      attrs={"mode": "deterministic", "plan": plan or scenario.plan_name})

