"""Turn a validated scenario into the plain arrays the kernels read.

Everything that depends on the scenario's wording (conventions, rate
conversions, calendar months, delay distributions) is resolved here once, so
the kernel, its reference twin and the deterministic mode all read the same
numbers.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

import numpy as np
from scipy.special import gammaln, pdtrc

from rampcast._kernels.engine import NEVER, Conventions, Seats, Segments
from rampcast._kernels.random import normal_table
from rampcast.scenario import Attrition, Delay, Scenario, month_index

__all__ = ["Model", "build_model", "monthly_hazard", "delay_pmf"]


@dataclass(frozen=True)
class Model:
    """The arrays of one scenario and hiring plan.

    Attributes
    ----------
    segments : tuple of str
        Segment names, in the order of the segment index.
    seat_labels : tuple of str
        A readable identity per seat (``roster:<id>`` or
        ``hire:<segment>:<YYYY-MM>:<n>``); its hash keys the seat's draws.
    """

    seats: Seats
    params: Segments
    conventions: Conventions
    segments: tuple[str, ...]
    seat_labels: tuple[str, ...]
    n_months: int


def seat_hash(label: str) -> int:
    """Stable 64-bit key of a seat label (same across runs and machines)."""
    return int.from_bytes(hashlib.blake2b(label.encode(), digest_size=8).digest(), "little")


def monthly_hazard(annual_rate: float, conversion: str) -> float:
    """Monthly hazard from an annual attrition rate.

    ``compounded``: :math:`h = 1 - (1 - A)^{1/12}`, so twelve months of
    survival give exactly :math:`1 - A`. ``divide_by_12``: :math:`h = A / 12`.
    """
    if conversion == "divide_by_12":
        return annual_rate / 12.0
    return 1.0 - (1.0 - annual_rate) ** (1.0 / 12.0)


def delay_pmf(delay: Delay) -> np.ndarray:
    """Probabilities of 0, 1, 2, ... months; a Poisson mean is cut at 1e-12 tail."""
    if delay.fixed is not None:
        pmf = np.zeros(delay.fixed + 1)
        pmf[-1] = 1.0
        return pmf
    if delay.pmf is not None:
        pmf = np.asarray(delay.pmf, dtype=float)
        return pmf / pmf.sum()
    # scipy.special rather than scipy.stats: the latter adds ~0.5 s to import
    mean = delay.mean
    top = 0
    while mean > 0 and pdtrc(top, mean) > 1e-12:  # P(N > top)
        top += 1
    k = np.arange(top + 1)
    log_pmf = k * np.log(mean) - mean - gammaln(k + 1) if mean > 0 else np.zeros(1)
    pmf = np.exp(log_pmf)
    return pmf / pmf.sum()


def _cdf_table(pmfs: list[np.ndarray]) -> np.ndarray:
    width = max(len(p) for p in pmfs)
    table = np.ones((len(pmfs), width))
    for i, pmf in enumerate(pmfs):
        cdf = np.cumsum(pmf)
        cdf[-1] = 1.0
        table[i, : len(cdf)] = cdf
    return table


def _trimmed_curve(curve: list[float]) -> list[float]:
    """Drop trailing 1.0 values: the curve ends where full productivity starts."""
    out = list(curve)
    while out and out[-1] >= 1.0:
        out.pop()
    return out


def _hazard_row(attrition: Attrition | None, conversion: str, width: int) -> np.ndarray:
    row = np.zeros(width)
    if attrition is None:
        return row
    if attrition.monthly_hazard is not None:
        row[:] = attrition.monthly_hazard
    elif attrition.annual_rate is not None:
        row[:] = monthly_hazard(attrition.annual_rate, conversion)
    else:
        for band in attrition.bands:
            h = band.monthly_hazard
            if h is None:
                h = monthly_hazard(band.annual_rate, conversion)
            row[band.from_month :] = h
    return row


def _segment_params(scenario: Scenario, names: list[str], shift: int) -> Segments:
    conv = scenario.conventions
    segs = [scenario.segments[n] for n in names]
    curves = [_trimmed_curve(s.ramp.curve) for s in segs]
    ramp_width = max(1, max(len(c) for c in curves))
    ramp = np.ones((len(segs), ramp_width + 1))
    for i, c in enumerate(curves):
        ramp[i, : len(c)] = c

    bands = [b.from_month for s in segs if s.attrition and s.attrition.bands
             for b in s.attrition.bands]
    width = max([ramp_width, *bands]) + 2
    hazard = np.array([_hazard_row(s.attrition, conv.attrition_conversion, width)
                       for s in segs])
    if conv.attrition_applies_to == "ramped":
        for i, c in enumerate(curves):
            hazard[i, : max(0, len(c) - shift)] = 0.0

    calendar = [m.month - 1 for m in scenario.months]
    season = np.array([[s.seasonality[c] for c in calendar] for s in segs])
    prods = [s.productivity for s in segs]
    deal = np.array([p.model == "deal" for p in prods])

    def pick(model: str, attr: str, default: float = 0.0) -> np.ndarray:
        return np.array([getattr(p, attr) if p.model == model else default for p in prods],
                        dtype=float)

    win = [p.win_rate.shape if p.model == "deal" else (1.0, 1.0) for p in prods]
    size = [p.deal_size.log_params if p.model == "deal" else (0.0, 0.0) for p in prods]
    opps = pick("deal", "opportunities_per_month")
    full = pick("capacity", "monthly_capacity")
    cv = pick("capacity", "cv")

    return Segments(
        ramp=ramp,
        ramp_len=np.array([len(c) for c in curves], dtype=np.int64),
        speed_sd=np.array([s.ramp.speed_sd for s in segs]),
        hazard=hazard,
        season=season,
        deal_model=deal,
        full=full,
        cv=cv,
        skill_sd=np.array([p.skill_sd for p in prods]),
        attainment=np.array([p.attainment for p in prods]),
        opps=opps,
        win_a=np.array([w[0] for w in win]),
        win_b=np.array([w[1] for w in win]),
        size_mu=np.array([z[0] for z in size]),
        size_sigma=np.array([z[1] for z in size]),
        size_table=np.exp(np.array([z[0] for z in size])[:, None]
                          + np.array([z[1] for z in size])[:, None] * normal_table()[None, :]),
        backfill=np.array([s.backfill.enabled for s in segs]),
        fill_cdf=_cdf_table([delay_pmf(s.backfill.time_to_fill) for s in segs]),
        slip_cdf=_cdf_table([delay_pmf(s.hiring.slip) for s in segs]),
        acceptance=np.array([s.hiring.acceptance for s in segs]),
    )


def _seat_rows(scenario: Scenario, plan: str, names: list[str]) -> list[tuple]:
    origin = scenario.horizon.start
    n_months = scenario.horizon.months
    index = {n: i for i, n in enumerate(names)}
    rows = []
    for rep in scenario.roster:
        start = month_index(rep.start, origin)
        end = NEVER if rep.end is None else month_index(rep.end, origin)
        if start >= n_months or end < 0:
            continue  # never on the books during the horizon
        rows.append((f"roster:{rep.id}", index[rep.segment], start, end, False,
                     rep.productivity))
    ordinal: dict[tuple[str, str], int] = {}
    for hire in scenario.hiring_plans[plan]:
        month = f"{hire.month:%Y-%m}"
        for _ in range(hire.count):
            n = ordinal.get((hire.segment, month), 0)
            ordinal[(hire.segment, month)] = n + 1
            rows.append((f"hire:{hire.segment}:{month}:{n}", index[hire.segment],
                         month_index(hire.month, origin), NEVER, True, 1.0))
    return rows


def build_model(scenario: Scenario, plan: str | None = None) -> Model:
    """Arrays for ``scenario`` under hiring plan ``plan`` (default: its plan).

    Seats are the roster reps on the books at some point of the horizon plus
    one seat per planned hire. A seat's key hashes its label, so the same rep
    or the same planned hire draws the same numbers under any plan.
    """
    plan = scenario.plan_name if plan is None else plan
    if plan not in scenario.hiring_plans:
        raise ValueError(
            f"unknown hiring plan {plan!r}; allowed: {', '.join(scenario.hiring_plans)}"
        )
    names = list(scenario.segments)
    conv = scenario.conventions
    shift = 1 if conv.tenure_index == "first_month_is_one" else 0
    rows = _seat_rows(scenario, plan, names)
    labels = tuple(r[0] for r in rows)
    seats = Seats(
        segment=np.array([r[1] for r in rows], dtype=np.int64),
        key=np.array([seat_hash(lab) for lab in labels], dtype=np.uint64),
        start=np.array([r[2] for r in rows], dtype=np.int64),
        end=np.array([r[3] for r in rows], dtype=np.int64),
        is_hire=np.array([r[4] for r in rows], dtype=np.bool_),
        factor=np.array([r[5] for r in rows], dtype=float),
    )
    conventions = Conventions(
        tenure_shift=shift,
        leaver_share=float(conv.leaver_month_share),
        attain_ramped_only=conv.attainment_applies_to == "ramped",
    )
    return Model(seats, _segment_params(scenario, names, shift), conventions,
                 tuple(names), labels, scenario.horizon.months)


def expected_deal_size(mu: float, sigma: float) -> float:
    """Mean of a lognormal deal size, :math:`e^{\\mu + \\sigma^2 / 2}`."""
    return math.exp(mu + 0.5 * sigma**2)
