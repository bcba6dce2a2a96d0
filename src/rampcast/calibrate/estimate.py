"""Calibration: the engine's distributions estimated from CRM and HR exports.

:func:`calibrate` takes the canonical frames of :mod:`rampcast.io.crm`
(opportunities, a roster, HR records, stage history) and estimates, per
segment, every input the deal-level model samples: win rate (a Beta with
empirical-Bayes shrinkage across reps), deal size (lognormal), opportunities
per rep-month, the ramp curve, attrition hazard by tenure band, seasonality,
and, as figures with no scenario key, sales cycle length, tenure-adjusted
productivity and stage-to-win conversion.

Every figure is an :class:`Estimate` with its sample size and a 95%
interval. A figure from too little data (:data:`THRESHOLDS`) is flagged
``fallback`` and takes the all-segment estimate, or where that is thin too,
the stated prior (:data:`PRIORS`). ``docs/calibration.md`` gives each
estimator, interval, threshold and prior.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import math
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from rampcast.errors import RampcastError
from rampcast.stats import wilson_interval

__all__ = [
    "PRIORS",
    "THRESHOLDS",
    "Calibration",
    "CalibrationError",
    "Estimate",
    "SegmentCalibration",
    "calibrate",
    "isotonic",
    "kaplan_meier",
]

log = logging.getLogger(__name__)

LEVEL = 0.95
ALL = "all segments"

#: Least data for an estimate of its own; below it the estimate falls back.
THRESHOLDS = {
    "win_rate.closed_deals": 30,
    "win_rate.reps": 5,
    "win_rate.deals_per_rep": 10,
    "deal_size.won_deals": 30,
    "cycle_days.closed_deals": 20,
    "opportunities.rep_months": 12,
    "opportunities.reps": 3,
    "ramp.new_reps": 5,
    "ramp.ramped_rep_months": 24,
    "attrition.leavers": 10,
    "attrition.leavers_per_band": 5,
    "seasonality.years_per_month": 2,
    "seasonality.deals_per_month": 10,
    "stage.deals": 20,
}

#: What a thin estimate falls back to when the all-segment one is thin too.
PRIORS = {
    "win_rate.mean": 0.25,
    "win_rate.concentration": 50.0,
    "ramp.curve": [0.25, 0.5, 0.75],
    "attrition.annual_rate": 0.25,
    "seasonality": [1.0] * 12,
}

#: The largest concentration reported: reps whose win rates differ by no more
#: than binomial noise would otherwise give an infinite one.
MAX_CONCENTRATION = 10_000.0

_OPP_COLUMNS = (
    "opportunity_id",
    "owner",
    "stage",
    "amount",
    "created",
    "closed",
    "is_closed",
    "is_won",
)
_ROSTER_COLUMNS = ("rep", "segment", "start", "end", "left", "tenure_months")


class CalibrationError(RampcastError, ValueError):
    """Calibration input that cannot be used; the message says what to change."""


@dataclass(frozen=True)
class Estimate:
    """One calibrated figure with its sample size and 95% interval.

    Attributes
    ----------
    value, low, high : float or tuple of float
        The estimate and its interval (tuples for curves and indices).
    n : int
        The sample size behind it (deals, reps, rep-months or people; see
        ``method``).
    method : str
        How it was computed.
    fallback : bool
        True when the data were too thin and ``value`` is the all-segment
        estimate or the stated prior.
    note : str
        Anything a reader must know (why it fell back, a caveat).
    """

    value: Any
    low: Any
    high: Any
    n: int
    method: str
    fallback: bool = False
    note: str = ""


@dataclass(frozen=True)
class SegmentCalibration:
    """All estimates of one segment.

    Attributes
    ----------
    name : str
        The segment.
    estimates : dict of str to Estimate
        Keyed by dotted name (``win_rate.mean``, ``deal_size.mu``, ...).
    tables : dict of str to pandas.DataFrame
        Detail behind the estimates: ``reps`` (per-rep shrunk win rates),
        ``tenure`` (productivity by tenure month), ``attrition`` (bands),
        ``survival`` (Kaplan-Meier curve), ``seasonality``, ``stages``.
    """

    name: str
    estimates: dict[str, Estimate]
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)


@dataclass(frozen=True)
class Calibration:
    """The result of :func:`calibrate`.

    Attributes
    ----------
    segments : dict of str to SegmentCalibration
        One per segment.
    pooled : SegmentCalibration
        The same estimates on all segments together (the first fallback).
    segment_by : str or None
        The column segments were read from.
    as_of : datetime.date
        The end of observation: open deals and employed reps are censored here.
    first_month, last_month : datetime.date
        The whole months counted for rates per rep-month.
    notes : tuple of str
        Caveats about the input (limitations, rows left out).
    """

    segments: dict[str, SegmentCalibration]
    pooled: SegmentCalibration
    segment_by: str | None
    as_of: dt.date
    first_month: dt.date
    last_month: dt.date
    notes: tuple[str, ...] = ()


# --------------------------------------------------------------------------
# small statistical helpers


def _z() -> float:
    return float(stats.norm.ppf(0.5 + LEVEL / 2))


def _poisson_interval(count: float, exposure: float) -> tuple[float, float]:
    """Exact (Garwood) interval of a Poisson rate ``count / exposure``."""
    a = 1 - LEVEL
    low = stats.chi2.ppf(a / 2, 2 * count) / 2 if count > 0 else 0.0
    high = stats.chi2.ppf(1 - a / 2, 2 * count + 2) / 2
    return float(low / exposure), float(high / exposure)


def _wilson(k: float, n: float) -> tuple[float, float]:
    """Wilson score interval of a binomial proportion at the calibration level."""
    return wilson_interval(k, n, LEVEL)


def _cluster_ratio(num: np.ndarray, den: np.ndarray) -> tuple[float, float, float]:
    """Ratio ``sum(num) / sum(den)`` with a cluster-robust t interval.

    Each element is one rep (a cluster); the variance is the sandwich form
    ``R / (R - 1) * sum((num_i - r den_i)^2) / (sum den)^2`` with ``R - 1``
    degrees of freedom, so spread between reps beyond Poisson or binomial
    noise widens the interval.
    """
    total = float(den.sum())
    ratio = float(num.sum()) / total
    reps = len(num)
    if reps < 2:
        return ratio, math.nan, math.nan
    resid = num - ratio * den
    se = math.sqrt(reps / (reps - 1) * float((resid**2).sum())) / total
    t = float(stats.t.ppf(0.5 + LEVEL / 2, reps - 1))
    return ratio, ratio - t * se, ratio + t * se


def isotonic(y: np.ndarray, w: np.ndarray | None = None) -> np.ndarray:
    """Non-decreasing least-squares fit (pool adjacent violators).

    Parameters
    ----------
    y
        Values in order.
    w
        Positive weights; default all one.

    Examples
    --------
    >>> isotonic(np.array([0.1, 0.4, 0.3, 0.8])).round(2).tolist()
    [0.1, 0.35, 0.35, 0.8]
    """
    y = np.asarray(y, dtype=float)
    w = np.ones_like(y) if w is None else np.asarray(w, dtype=float)
    values, weights, sizes = [], [], []
    for yi, wi in zip(y, w, strict=True):
        values.append(yi)
        weights.append(wi)
        sizes.append(1)
        while len(values) > 1 and values[-2] > values[-1]:
            wsum = weights[-2] + weights[-1]
            merged = (values[-2] * weights[-2] + values[-1] * weights[-1]) / wsum
            size = sizes[-2] + sizes[-1]
            del values[-1], weights[-1], sizes[-1]
            values[-1], weights[-1], sizes[-1] = merged, wsum, size
    return np.repeat(values, sizes)


def kaplan_meier(tenure: np.ndarray, left: np.ndarray) -> pd.DataFrame:
    """Kaplan-Meier survival of tenure with right censoring (scipy.stats.ecdf).

    Parameters
    ----------
    tenure
        Months employed (to leaving, or to the end of observation).
    left
        True where the person left (an event), False where still employed
        (censored).

    Returns
    -------
    pandas.DataFrame
        One row per distinct tenure: ``months``, ``survival`` and its 95%
        pointwise interval ``low``, ``high`` (Greenwood, log-log transform).
    """
    tenure = np.asarray(tenure, dtype=float)
    left = np.asarray(left, dtype=bool)
    data = stats.CensoredData(uncensored=tenure[left], right=tenure[~left])
    sf = stats.ecdf(data).sf
    with np.errstate(divide="ignore", invalid="ignore"), warnings.catch_warnings():
        # scipy warns where the log-log interval is undefined (survival 0 or 1); NaN there
        warnings.simplefilter("ignore", RuntimeWarning)
        ci = sf.confidence_interval(LEVEL, method="log-log")
    return pd.DataFrame(
        {
            "months": sf.quantiles,
            "survival": sf.probabilities,
            "low": ci.low.probabilities,
            "high": ci.high.probabilities,
        }
    )


# --------------------------------------------------------------------------
# input checking and preparation


def _month(values: pd.Series) -> np.ndarray:
    """Month index ``year * 12 + month - 1`` (-1 where the date is missing)."""
    d = pd.to_datetime(values)
    out = (d.dt.year * 12 + d.dt.month - 1).to_numpy(dtype=float, na_value=np.nan)
    return np.where(np.isnan(out), -1, out).astype(np.int64)


def _month_date(index: int) -> dt.date:
    return dt.date(index // 12, index % 12 + 1, 1)


def _check_frame(frame: Any, name: str, columns: tuple[str, ...]) -> pd.DataFrame:
    if not isinstance(frame, pd.DataFrame):
        raise CalibrationError(f"{name} must be a pandas DataFrame; got {type(frame).__name__}")
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise CalibrationError(
            f"{name} has no column {missing[0]!r}; it needs {', '.join(columns)} "
            f"(found: {', '.join(map(str, frame.columns))}). Read it with "
            "rampcast.io.crm, which maps export layouts to these names"
        )
    return frame


def _check_input(opportunities, roster, hr, as_of) -> dt.date | None:
    _check_frame(opportunities, "opportunities", _OPP_COLUMNS)
    if len(opportunities) == 0:
        raise CalibrationError("opportunities is empty; calibration needs closed deals")
    if not bool(opportunities["is_closed"].astype(bool).any()):
        raise CalibrationError(
            "opportunities has no closed deal (is_closed all false); "
            "win rates and deal sizes need closed deals"
        )
    for name, frame in (("roster", roster), ("hr", hr)):
        if frame is not None:
            _check_frame(frame, name, _ROSTER_COLUMNS[:1])
    if as_of is None:
        return None
    try:
        return pd.Timestamp(as_of).date()
    except (ValueError, TypeError):
        raise CalibrationError(f"as_of {as_of!r} is not a date; write YYYY-MM-DD") from None


def _segments(
    opps: pd.DataFrame, roster: pd.DataFrame | None, segment_by: str | None
) -> pd.Series:
    """Each owner's segment: from the roster, or the owner's most frequent value
    of an opportunity column."""
    owners = pd.Index(opps["owner"].dropna().unique())
    column = segment_by or "segment"
    if roster is not None and column in roster.columns and roster[column].notna().any():
        by_rep = roster.dropna(subset=[column]).drop_duplicates("rep", keep="last")
        return by_rep.set_index("rep")[column].astype(str)
    if column in opps.columns and opps[column].notna().any():
        pairs = opps.dropna(subset=["owner", column])
        return pairs.groupby("owner")[column].agg(lambda s: s.astype(str).mode().iloc[0])
    if segment_by is not None:
        where = ["opportunities", *(["roster"] if roster is not None else [])]
        raise CalibrationError(
            f"segment_by {segment_by!r} is not a column of {' or '.join(where)}; "
            f"opportunities has: {', '.join(map(str, opps.columns))}"
        )
    return pd.Series(ALL, index=owners)


def _prepare(opportunities, roster, segment_by, as_of):
    """Clean copies of the inputs with month indices and segments attached."""
    opps = opportunities.copy()
    opps["is_closed"] = opps["is_closed"].astype(bool)
    opps["is_won"] = opps["is_won"].astype(bool) & opps["is_closed"]
    opps["amount"] = pd.to_numeric(opps["amount"], errors="coerce")
    opps["closed"] = pd.to_datetime(opps["closed"])
    opps["created"] = pd.to_datetime(opps["created"])
    seg = _segments(opps, roster, segment_by)
    opps["segment"] = opps["owner"].map(seg).fillna("unassigned").astype(str)
    closed = opps[opps["is_closed"] & opps["closed"].notna()]
    if as_of is None:
        dates = [closed["closed"].max(), opps["created"].max()]
        if roster is not None:
            dates += [
                pd.to_datetime(roster.get(c)).max()
                for c in ("start", "end")
                if c in roster.columns
            ]
        as_of = max(pd.Timestamp(d) for d in dates if pd.notna(d)).date()
    opps = opps[opps["closed"].isna() | (opps["closed"] <= pd.Timestamp(as_of))]
    opps = opps.assign(close_month=_month(opps["closed"]))
    last = as_of.year * 12 + as_of.month - 1
    if (as_of + dt.timedelta(days=1)).month == as_of.month:
        last -= 1  # a partial last month would look like a slow month
    first = int(opps.loc[opps["is_closed"] & (opps["close_month"] >= 0), "close_month"].min())
    if last < first:
        raise CalibrationError(
            f"as_of {as_of} leaves no whole month with closed deals "
            f"(the first close is in {_month_date(first):%Y-%m})"
        )
    return opps, seg, as_of, first, last


def _people(frame: pd.DataFrame | None, seg: pd.Series, as_of: dt.date) -> pd.DataFrame:
    """Reps (or HR records) with start/end months, tenure in months and a leave flag."""
    if frame is None:
        return pd.DataFrame({
            "rep": pd.Series(dtype=object), "segment": pd.Series(dtype=object),
            "start_m": pd.Series(dtype=float), "end_m": pd.Series(dtype=float),
            "tenure": pd.Series(dtype=float), "left": pd.Series(dtype=bool),
        })
    out = pd.DataFrame({"rep": frame["rep"].astype(str)})
    segment = frame["segment"] if "segment" in frame.columns else pd.Series(np.nan, frame.index)
    out["segment"] = segment.where(segment.notna(), out["rep"].map(seg)).astype(object)
    start = pd.to_datetime(frame["start"]) if "start" in frame.columns else None
    end = pd.to_datetime(frame["end"]) if "end" in frame.columns else None
    n = len(frame)
    out["start_m"] = _month(start) if start is not None else np.full(n, -1)
    out["end_m"] = _month(end) if end is not None else np.full(n, -1)
    left = frame["left"] if "left" in frame.columns else None
    if left is None or left.isna().all():
        left = end.notna() & (end <= pd.Timestamp(as_of)) if end is not None else None
    out["left"] = left.fillna(False).astype(bool) if left is not None else False
    tenure = (
        pd.to_numeric(frame["tenure_months"], errors="coerce")
        if "tenure_months" in frame.columns
        else pd.Series(np.nan, frame.index)
    )
    if start is not None:
        if end is None:  # a roster with start dates only: everyone is still there
            end = pd.Series(pd.NaT, index=frame.index, dtype="datetime64[ns]")
        stop = end.where(end.notna() & (end <= pd.Timestamp(as_of)), pd.Timestamp(as_of))
        days = (stop - start).dt.days
        tenure = tenure.where(tenure.notna(), days / (365.25 / 12))
    out["tenure"] = tenure.to_numpy(dtype=float)
    return out


def _rep_months(
    opps: pd.DataFrame, reps: pd.DataFrame, seg: pd.Series, first: int, last: int
) -> tuple[pd.DataFrame, int]:
    """One row per rep and month of the window the rep was on the books.

    A rep on the roster with a start date counts from its start month to its
    end month (inclusive, as the engine counts a leaver's last month); a rep
    without one counts from its first to its last month with a closed deal.
    Each row carries the rep's elapsed tenure (-1 when unknown), its closed
    and won deals and won amount that month. Returns the frame and the number
    of closed deals that fell outside every rep-month.
    """
    closed = opps[
        opps["is_closed"] & (opps["close_month"] >= first) & (opps["close_month"] <= last)
    ]
    activity = closed.groupby("owner")["close_month"].agg(["min", "max"])
    known = reps[reps["start_m"] >= 0].drop_duplicates("rep", keep="last").set_index("rep")
    rows = pd.DataFrame(index=activity.index.union(known.index))
    rows["start"] = known["start_m"].reindex(rows.index)
    rows["end"] = known["end_m"].reindex(rows.index)
    rows["lo"] = np.maximum(rows["start"].fillna(activity["min"].reindex(rows.index)), first)
    hi_end = rows["end"].where(rows["end"] >= 0)
    active_to = activity["max"].reindex(rows.index)
    hi = hi_end.fillna(active_to.where(rows["start"].isna(), last))
    rows["hi"] = np.minimum(hi, last)
    rows = rows[rows["hi"] >= rows["lo"]]
    lengths = (rows["hi"] - rows["lo"] + 1).astype(int).to_numpy()
    rep = np.repeat(rows.index.to_numpy(), lengths)
    offset = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    month = np.repeat(rows["lo"].to_numpy(dtype=np.int64), lengths) + offset
    start = np.repeat(rows["start"].fillna(-1).to_numpy(dtype=np.int64), lengths)
    frame = pd.DataFrame(
        {"rep": rep, "month": month, "tenure": np.where(start >= 0, month - start, -1)}
    )
    frame["segment"] = frame["rep"].map(seg).fillna("unassigned").astype(str)
    won_amount = closed["amount"].where(closed["is_won"], 0.0).fillna(0.0)
    counts = (
        closed.assign(won_amount=won_amount)
        .groupby(["owner", "close_month"])
        .agg(closed=("is_won", "size"), won=("is_won", "sum"), won_amount=("won_amount", "sum"))
    )
    counts.index = counts.index.set_names(["rep", "month"])
    frame = frame.merge(counts, how="left", left_on=["rep", "month"], right_index=True)
    frame[["closed", "won", "won_amount"]] = frame[["closed", "won", "won_amount"]].fillna(0)
    outside = int(len(closed) - frame["closed"].sum())
    return frame, outside


# --------------------------------------------------------------------------
# estimators: each takes one segment's data and returns estimates


def _fallback(key: str, parent: Estimate | None, n: int, why: str) -> Estimate:
    """The parent (all-segment) estimate, or the prior, flagged as a fallback."""
    if parent is not None and not parent.fallback:
        return dataclasses.replace(
            parent,
            n=n,
            fallback=True,
            method=f"all-segment estimate ({parent.method})",
            note=f"{why}; took the all-segment estimate",
        )
    prior = PRIORS.get(key)
    if prior is None:
        return Estimate(
            math.nan,
            math.nan,
            math.nan,
            n,
            "not estimable",
            True,
            f"{why}; no prior, the scenario must state it",
        )
    value = tuple(prior) if isinstance(prior, list) else prior
    return Estimate(
        value, value, value, n, "prior (docs/calibration.md)", True, f"{why}; took the prior"
    )


def _win_rate(opps: pd.DataFrame, parent: dict) -> tuple[dict, pd.DataFrame]:
    """Pooled win rate with a rep-cluster interval; Beta concentration by moments."""
    closed = opps[opps["is_closed"]]
    by_rep = closed.groupby("owner")["is_won"].agg(n="size", k="sum")
    n_deals = int(by_rep["n"].sum())
    out = {}
    if n_deals < THRESHOLDS["win_rate.closed_deals"] or len(by_rep) < 2:
        out["win_rate.mean"] = _fallback(
            "win_rate.mean", parent.get("win_rate.mean"), n_deals, f"{n_deals} closed deals"
        )
    else:
        k, n = by_rep["k"].to_numpy(float), by_rep["n"].to_numpy(float)
        m, lo, hi = _cluster_ratio(k, n)
        wlo, whi = _wilson(k.sum(), n.sum())
        out["win_rate.mean"] = Estimate(
            m,
            max(0.0, min(lo, wlo)),
            min(1.0, max(hi, whi)),
            n_deals,
            f"won / closed; interval the wider of rep-cluster t ({len(by_rep)} reps) and Wilson",
        )
    m = out["win_rate.mean"].value
    big = by_rep[by_rep["n"] >= THRESHOLDS["win_rate.deals_per_rep"]]
    if len(big) < THRESHOLDS["win_rate.reps"] or out["win_rate.mean"].fallback:
        out["win_rate.concentration"] = _fallback(
            "win_rate.concentration",
            parent.get("win_rate.concentration"),
            len(big),
            f"{len(big)} reps with {THRESHOLDS['win_rate.deals_per_rep']}+ closed deals",
        )
    else:
        out["win_rate.concentration"] = _concentration(big, m)
    conc = out["win_rate.concentration"].value
    a, b = m * conc, (1 - m) * conc
    k, n = by_rep["k"].to_numpy(float), by_rep["n"].to_numpy(float)
    reps = pd.DataFrame(
        {
            "rep": by_rep.index,
            "closed": n.astype(int),
            "won": k.astype(int),
            "raw": k / n,
            "shrunk": (k + a) / (n + a + b),
            "low": stats.beta.ppf((1 - LEVEL) / 2, k + a, n - k + b),
            "high": stats.beta.ppf((1 + LEVEL) / 2, k + a, n - k + b),
        }
    )
    return out, reps


def _concentration(by_rep: pd.DataFrame, m: float) -> Estimate:
    """Beta concentration from the spread of rep win rates, binomial noise removed.

    With ``h`` the mean of ``1/n_i`` and ``s2`` the sample variance of rep
    rates, the between-rep variance is ``b = (s2 - m(1-m) h) / (1 - h)`` and
    ``concentration = m(1-m)/b - 1``. The interval maps the chi-square
    interval of ``s2`` (``R - 1`` degrees of freedom) through the same formula.
    """
    rates = (by_rep["k"] / by_rep["n"]).to_numpy(float)
    reps = len(rates)
    h = float((1.0 / by_rep["n"]).mean())
    s2 = float(rates.var(ddof=1))
    a = 1 - LEVEL
    s2_low = s2 * (reps - 1) / stats.chi2.ppf(1 - a / 2, reps - 1)
    s2_high = s2 * (reps - 1) / stats.chi2.ppf(a / 2, reps - 1)

    def conc(var: float) -> float:
        between = (var - m * (1 - m) * h) / (1 - h)
        if between <= 0:
            return MAX_CONCENTRATION
        return float(min(MAX_CONCENTRATION, max(m * (1 - m) / between - 1, 1e-3)))

    value = conc(s2)
    note = ""
    if value >= MAX_CONCENTRATION:
        note = (
            "rep win rates spread no more than binomial noise; concentration set to "
            f"{MAX_CONCENTRATION:g}"
        )
    return Estimate(
        value,
        conc(s2_high),
        conc(s2_low),
        reps,
        "method of moments on rep win rates, binomial noise removed; n = reps",
        note=note,
    )


def _deal_size(opps: pd.DataFrame, parent: dict) -> dict:
    """Lognormal fit of won amounts: mu, sigma, KS figure; sample mean and cv."""
    won = opps.loc[opps["is_won"], "amount"].to_numpy(float)
    won = won[np.isfinite(won) & (won > 0)]
    n = len(won)
    keys = (
        "deal_size.mu",
        "deal_size.sigma",
        "deal_size.mean",
        "deal_size.cv",
        "deal_size.median",
        "deal_size.ks",
        "deal_size.p10",
        "deal_size.p50",
        "deal_size.p90",
    )
    if n < THRESHOLDS["deal_size.won_deals"]:
        return {k: _fallback(k, parent.get(k), n, f"{n} won deals with an amount") for k in keys}
    logs = np.log(won)
    mu, sd = float(logs.mean()), float(logs.std(ddof=1))
    a = 1 - LEVEL
    t = float(stats.t.ppf(1 - a / 2, n - 1))
    se = sd / math.sqrt(n)
    s_low = sd * math.sqrt((n - 1) / stats.chi2.ppf(1 - a / 2, n - 1))
    s_high = sd * math.sqrt((n - 1) / stats.chi2.ppf(a / 2, n - 1))
    ks = stats.kstest(logs, "norm", args=(mu, sd))
    mean, sdev = float(won.mean()), float(won.std(ddof=1))
    mse = sdev / math.sqrt(n)

    def cv_of(s: float) -> float:
        return math.sqrt(math.expm1(s * s))

    fit = "maximum likelihood on log amounts (sigma with n - 1)"
    ordered = np.sort(won)
    quantiles = {
        f"deal_size.p{round(q * 100)}": _quantile(ordered, q, "won amounts")
        for q in (0.1, 0.5, 0.9)
    }
    return quantiles | {
        "deal_size.mu": Estimate(mu, mu - t * se, mu + t * se, n, fit + "; t interval"),
        "deal_size.sigma": Estimate(sd, s_low, s_high, n, fit + "; chi-square interval"),
        "deal_size.median": Estimate(
            math.exp(mu), math.exp(mu - t * se), math.exp(mu + t * se), n, "exp(mu)"
        ),
        "deal_size.mean": Estimate(
            mean, mean - t * mse, mean + t * mse, n, "sample mean of won amounts; t interval"
        ),
        "deal_size.cv": Estimate(
            sdev / mean,
            sdev / mean * cv_of(s_low) / cv_of(sd),
            sdev / mean * cv_of(s_high) / cv_of(sd),
            n,
            "sample sd / mean; interval scaled from sigma's under the lognormal",
        ),
        "deal_size.ks": Estimate(
            float(ks.statistic),
            float(ks.pvalue),
            float(ks.pvalue),
            n,
            "Kolmogorov-Smirnov distance of log amounts to the fitted "
            "normal; low and high hold its p-value (optimistic: the "
            "parameters were fitted to the same data)",
        ),
    }


def _quantile(sorted_values: np.ndarray, q: float, what: str, note: str = "") -> Estimate:
    """Sample quantile with its distribution-free order-statistic interval."""
    n = len(sorted_values)
    # 0-based index k is the (k + 1)-th order statistic, which exceeds the
    # true quantile with probability F(k) >= alpha / 2; one lower keeps it below
    lo_i = max(0, int(stats.binom.ppf((1 - LEVEL) / 2, n, q)) - 1)
    hi_i = min(n - 1, int(stats.binom.ppf((1 + LEVEL) / 2, n, q)))
    return Estimate(
        float(np.quantile(sorted_values, q)),
        float(sorted_values[lo_i]),
        float(sorted_values[hi_i]),
        n,
        f"sample quantile {q:g} of {what}; order-statistic (binomial) interval",
        note=note,
    )


def _cycle(opps: pd.DataFrame, parent: dict) -> dict:
    """Days from created to closed on closed deals: quantiles, median interval."""
    closed = opps[opps["is_closed"] & opps["created"].notna() & opps["closed"].notna()]
    days = (closed["closed"] - closed["created"]).dt.days.to_numpy(float)
    bad = int((days < 0).sum())
    days = np.sort(days[days >= 0])
    n = len(days)
    keys = ("cycle_days.median", "cycle_days.p10", "cycle_days.p90", "cycle_days.mean")
    if n < THRESHOLDS["cycle_days.closed_deals"]:
        return {
            k: _fallback(k, parent.get(k), n, f"{n} closed deals with both dates") for k in keys
        }
    note = f"{bad} deals closed before they were created were left out" if bad else ""
    out = {}
    for key, q in (("median", 0.5), ("p10", 0.1), ("p90", 0.9)):
        out[f"cycle_days.{key}"] = _quantile(days, q, "days", note)
    mean, se = float(days.mean()), float(days.std(ddof=1)) / math.sqrt(n)
    z = _z()
    out["cycle_days.mean"] = Estimate(
        mean, mean - z * se, mean + z * se, n, "sample mean of days; normal interval", note=note
    )
    return out


def _opportunities(rm: pd.DataFrame, ramp_months: int, parent: dict) -> dict:
    """Closed deals per ramped rep-month; rep-cluster and Poisson intervals, wider kept."""
    ramped = rm[(rm["tenure"] < 0) | (rm["tenure"] >= ramp_months)]
    by_rep = ramped.groupby("rep").agg(count=("closed", "sum"), months=("month", "size"))
    months, reps = int(by_rep["months"].sum()), len(by_rep)
    key = "opportunities_per_month"
    if months < THRESHOLDS["opportunities.rep_months"] or reps < THRESHOLDS["opportunities.reps"]:
        return {
            key: _fallback(
                key, parent.get(key), months, f"{months} ramped rep-months of {reps} reps"
            )
        }
    count = by_rep["count"].to_numpy(float)
    rate, lo, hi = _cluster_ratio(count, by_rep["months"].to_numpy(float))
    plo, phi = _poisson_interval(count.sum(), months)
    unknown = int((ramped["tenure"] < 0).sum())
    note = (
        f"{unknown} rep-months of reps without a start date counted as ramped" if unknown else ""
    )
    return {
        key: Estimate(
            rate,
            min(lo, plo),
            max(hi, phi),
            months,
            f"closed deals per rep-month at tenure {ramp_months}+ (or "
            f"unknown); interval the wider of rep-cluster t ({reps} reps) and "
            "exact Poisson; n = rep-months",
            note=note,
        )
    }


def _tenure(rm: pd.DataFrame, ramp_months: int) -> pd.DataFrame:
    """Closed deals and won amount per rep-month by tenure month (ramped pooled)."""
    known = rm[rm["tenure"] >= 0]
    band = np.minimum(known["tenure"].to_numpy(), ramp_months)
    rows = []
    for k, group in known.groupby(band):
        by_rep = group.groupby("rep").agg(
            c=("closed", "sum"), a=("won_amount", "sum"), m=("month", "size")
        )
        months = by_rep["m"].to_numpy(float)
        amount, alo, ahi = _cluster_ratio(by_rep["a"].to_numpy(float), months)
        count = float(by_rep["c"].sum())
        rows.append(
            {
                "tenure": int(k),
                "label": f"{k}+" if k == ramp_months else str(k),
                "rep_months": int(months.sum()),
                "reps": len(by_rep),
                "closed": count,
                "closed_per_month": count / months.sum(),
                "won_amount_per_month": amount,
                "won_amount_low": alo,
                "won_amount_high": ahi,
            }
        )
    return pd.DataFrame(rows)


def _ramp(rm: pd.DataFrame, table: pd.DataFrame, ramp_months: int, parent: dict) -> dict:
    """Ramp curve: closed deals per rep-month by tenure month over the ramped rate,
    made non-decreasing (weighted PAV) and capped at 1."""
    key = "ramp.curve"
    new = rm.loc[rm["tenure"] == 0, "rep"].nunique()
    ref = table[table["tenure"] == ramp_months] if len(table) else table
    ref_months = int(ref["rep_months"].sum()) if len(ref) else 0
    if new < THRESHOLDS["ramp.new_reps"] or ref_months < THRESHOLDS["ramp.ramped_rep_months"]:
        return {
            key: _fallback(
                key,
                parent.get(key),
                int(new),
                f"{new} reps seen from tenure month 0 and {ref_months} ramped rep-months",
            )
        }
    ref_rate = float(ref["closed_per_month"].iloc[0])
    ramping = table[table["tenure"] < ramp_months].set_index("tenure").reindex(range(ramp_months))
    months = ramping["rep_months"].fillna(0).to_numpy(float)
    counts = ramping["closed"].fillna(0).to_numpy(float)
    raw = np.where(months > 0, counts / np.maximum(months, 1) / ref_rate, np.nan)
    seen = months > 0
    fitted = np.full(ramp_months, np.nan)
    fitted[seen] = isotonic(raw[seen], months[seen])
    fitted = np.minimum(pd.Series(fitted).ffill().fillna(0).to_numpy(), 1.0)
    bounds = [
        _poisson_interval(c, max(m, 1e-9)) if m > 0 else (0.0, math.inf)
        for c, m in zip(counts, months, strict=True)
    ]
    low = tuple(min(1.0, b[0] / ref_rate) for b in bounds)
    high = tuple(min(1.0, b[1] / ref_rate) for b in bounds)
    curve = [round(float(v), 4) for v in fitted]
    while curve and curve[-1] >= 1.0:
        curve.pop()
    return {
        key: Estimate(
            tuple(curve),
            low[: len(curve)],
            high[: len(curve)],
            int(new),
            f"closed deals per rep-month by tenure month / rate at tenure "
            f"{ramp_months}+, weighted isotonic (PAV), capped at 1; interval "
            "exact Poisson of each month's raw ratio; n = reps seen from "
            "tenure month 0",
        )
    }


def _merge_thin(t: np.ndarray, left: np.ndarray, bands: tuple[int, ...]) -> tuple[int, ...]:
    """Drop band starts (last first) until every band has enough leavers."""
    bands = list(bands)
    least = THRESHOLDS["attrition.leavers_per_band"]
    while len(bands) > 1:
        edges = [*bands, math.inf]
        events = [
            int((left & (t >= a) & (t < b)).sum()) for a, b in zip(edges, edges[1:], strict=False)
        ]
        thin = [i for i, e in enumerate(events) if e < least]
        if not thin:
            break
        del bands[max(thin[-1], 1)]
    return tuple(bands)


def _attrition(
    people: pd.DataFrame, bands: tuple[int, ...], parent: dict
) -> tuple[dict, pd.DataFrame, pd.DataFrame]:
    """Hazard by tenure band (piecewise-constant, events over exposure) and the
    Kaplan-Meier curve (scipy.stats.ecdf), both with right censoring."""
    people = people[np.isfinite(people["tenure"]) & (people["tenure"] >= 0)]
    t = people["tenure"].to_numpy(float)
    left = people["left"].to_numpy(bool)
    events = int(left.sum())
    bands = _merge_thin(t, left, bands)
    rows = []
    edges = [*bands, math.inf]
    for a, b in zip(edges[:-1], edges[1:], strict=True):
        exposure = float(np.clip(t - a, 0, b - a).sum())
        d = int((left & (t >= a) & (t < b)).sum())
        lam = d / exposure if exposure > 0 else math.nan
        lo, hi = _poisson_interval(d, exposure) if exposure > 0 else (math.nan, math.nan)
        rows.append(
            {
                "from_month": a,
                "events": d,
                "exposure_months": exposure,
                "monthly_hazard": -math.expm1(-lam),
                "low": -math.expm1(-lo),
                "high": -math.expm1(-hi),
                "annual_rate": -math.expm1(-12 * lam),
                "annual_low": -math.expm1(-12 * lo),
                "annual_high": -math.expm1(-12 * hi),
            }
        )
    table = pd.DataFrame(rows)
    survival = kaplan_meier(t, left) if len(t) else pd.DataFrame()
    out = {}
    method = (
        "events / months at risk per tenure band (piecewise-constant hazard, right "
        "censored), as monthly probability 1 - exp(-rate); exact Poisson interval; "
        "n = leavers"
    )
    if events < THRESHOLDS["attrition.leavers"]:
        out["attrition.annual_rate"] = _fallback(
            "attrition.annual_rate",
            parent.get("attrition.annual_rate"),
            events,
            f"{events} leavers",
        )
    else:
        lo, hi = _poisson_interval(events, float(t.sum()))
        lam = events / float(t.sum())
        out["attrition.annual_rate"] = Estimate(
            -math.expm1(-12 * lam),
            -math.expm1(-12 * lo),
            -math.expm1(-12 * hi),
            events,
            method.replace("per tenure band", "over all tenures"),
        )
    if events >= THRESHOLDS["attrition.leavers"] and len(bands) > 1:
        out["attrition.bands"] = Estimate(
            tuple(table["annual_rate"]),
            tuple(table["annual_low"]),
            tuple(table["annual_high"]),
            events,
            method
            + "; values are annual rates 1 - exp(-12 rate) of bands from months "
            + ", ".join(map(str, bands)),
        )
    if len(survival):
        at12 = survival[survival["months"] <= 12]
        s, lo, hi = (
            (1.0, 1.0, 1.0) if at12.empty else tuple(at12.iloc[-1][["survival", "low", "high"]])
        )
        out["attrition.first_year_km"] = Estimate(
            1 - s,
            1 - hi,
            1 - lo,
            events,
            "1 - Kaplan-Meier survival at 12 months (scipy.stats.ecdf, log-log Greenwood "
            "interval)",
            fallback=events < THRESHOLDS["attrition.leavers"],
            note=(
                f"only {events} leavers (< {THRESHOLDS['attrition.leavers']})"
                if events < THRESHOLDS["attrition.leavers"]
                else ""
            ),
        )
    return out, table, survival


def _seasonality(rm: pd.DataFrame, ramp_months: int, parent: dict) -> tuple[dict, pd.DataFrame]:
    """Closed deals per ramped rep-month by calendar month, over their mean."""
    key = "seasonality"
    ramped = rm[(rm["tenure"] < 0) | (rm["tenure"] >= ramp_months)]
    cal = ramped["month"] % 12
    years = ramped.groupby(cal)["month"].agg(lambda m: (m // 12).nunique())
    table = ramped.groupby(cal).agg(closed=("closed", "sum"), rep_months=("month", "size"))
    table = table.reindex(range(12))
    table["years"] = years.reindex(range(12)).fillna(0).astype(int)
    rate = table["closed"] / table["rep_months"]
    mean = rate.mean()
    table["index"] = rate / mean
    se = np.sqrt(1 / table["closed"].clip(lower=0.5))
    table["low"] = table["index"] * np.exp(-_z() * se)
    table["high"] = table["index"] * np.exp(_z() * se)
    table.index.name = "month"
    table = table.reset_index()
    table["month"] += 1
    n = int(table["closed"].fillna(0).sum())
    thin = (table["years"] < THRESHOLDS["seasonality.years_per_month"]) | (
        table["closed"].fillna(0) < THRESHOLDS["seasonality.deals_per_month"]
    )
    if thin.any():
        months = ", ".join(str(m) for m in table.loc[thin, "month"])
        est = _fallback(
            key,
            parent.get(key),
            n,
            f"calendar months {months} seen in fewer than "
            f"{THRESHOLDS['seasonality.years_per_month']} years or with fewer than "
            f"{THRESHOLDS['seasonality.deals_per_month']} deals",
        )
        return {key: est}, table
    return {
        key: Estimate(
            tuple(table["index"]),
            tuple(table["low"]),
            tuple(table["high"]),
            n,
            "closed deals per ramped rep-month by calendar month / mean of "
            "the 12; interval from Poisson counts (sqrt(1/count) on the log)",
        )
    }, table


def _stages(opps: pd.DataFrame, history: pd.DataFrame | None) -> pd.DataFrame:
    """Share of closed deals won among those that reached each stage (Wilson)."""
    if history is None or len(history) == 0:
        return pd.DataFrame()
    closed = opps.loc[opps["is_closed"], ["opportunity_id", "is_won"]]
    reached = history[["opportunity_id", "stage", "changed"]].merge(closed, on="opportunity_id")
    order = reached.groupby("stage")["changed"].median().sort_values().index
    rows = []
    for stage in order:
        deals = reached[reached["stage"] == stage].drop_duplicates("opportunity_id")
        n, k = len(deals), int(deals["is_won"].sum())
        if n == 0:
            continue
        lo, hi = _wilson(k, n)
        rows.append(
            {
                "stage": stage,
                "deals": n,
                "won": k,
                "conversion": k / n,
                "low": lo,
                "high": hi,
                "fallback": n < THRESHOLDS["stage.deals"],
            }
        )
    return pd.DataFrame(rows)


def _segment(
    name: str, opps, rm, people, history, ramp_months, bands, parent: SegmentCalibration | None
) -> SegmentCalibration:
    p = parent.estimates if parent is not None else {}
    est: dict[str, Estimate] = {}
    wr, reps = _win_rate(opps, p)
    est |= wr
    est |= _deal_size(opps, p)
    est |= _cycle(opps, p)
    est |= _opportunities(rm, ramp_months, p)
    tenure = _tenure(rm, ramp_months)
    est |= _ramp(rm, tenure, ramp_months, p)
    if len(tenure) and (tenure["tenure"] == ramp_months).any():
        row = tenure[tenure["tenure"] == ramp_months].iloc[0]
        est["productivity.won_per_ramped_month"] = Estimate(
            row["won_amount_per_month"],
            row["won_amount_low"],
            row["won_amount_high"],
            int(row["rep_months"]),
            "won amount per rep-month at tenure "
            f"{ramp_months}+; rep-cluster t interval; n = rep-months",
        )
    att, bands_table, survival = _attrition(people, bands, p)
    est |= att
    season, season_table = _seasonality(rm, ramp_months, p)
    est |= season
    tables = {
        "reps": reps,
        "tenure": tenure,
        "attrition": bands_table,
        "survival": survival,
        "seasonality": season_table,
        "stages": _stages(opps, history),
    }
    return SegmentCalibration(name, est, tables)


def calibrate(
    opportunities: pd.DataFrame,
    roster: pd.DataFrame | None = None,
    hr: pd.DataFrame | None = None,
    segment_by: str | None = None,
    as_of: Any = None,
    *,
    stage_history: pd.DataFrame | None = None,
    ramp_months: int = 12,
    bands: tuple[int, ...] = (0, 12, 24),
) -> Calibration:
    """Estimate each segment's ramp, attrition, win rate, deal size and more.

    Parameters
    ----------
    opportunities
        Canonical opportunities (:func:`rampcast.io.crm.read_opportunities`):
        ``opportunity_id, owner, stage, amount, created, closed, is_closed,
        is_won`` and optionally ``segment`` or the ``segment_by`` column.
    roster
        Canonical roster (:func:`rampcast.io.crm.read_roster`): ``rep,
        segment, start, end, left, tenure_months``. Start dates give tenure
        (ramp, tenure-adjusted productivity); start and end dates give
        attrition when ``hr`` is not given.
    hr
        HR records in the roster's columns, used for attrition instead of
        the roster (e.g. a longer employment history). Records without a
        segment count in every segment.
    segment_by
        Column of the roster or of the opportunities naming each rep's
        segment; default the roster's ``segment``, else one segment.
    as_of
        End of observation (a date); default the latest date in the data.
        Later deals are ignored; employed reps are censored here.
    stage_history
        Canonical stage history (``opportunity_id, stage, changed``) for
        stage-to-win conversion.
    ramp_months
        Tenure month from which a rep counts as ramped (the reference of the
        ramp curve and of opportunities per month).
    bands
        Starts of the attrition tenure bands, in months.

    Returns
    -------
    Calibration

    Raises
    ------
    CalibrationError
        If a frame lacks a needed column, has no closed deal, or ``as_of``
        is not a date.

    Notes
    -----
    Rates per rep-month count whole months from the first month with a
    closed deal to the last whole month up to ``as_of``. A rep without a
    start date is taken as ramped and active from its first to its last
    closed deal. Left truncation (leavers before the HR export's coverage)
    is not modelled: an export listing only current staff understates
    attrition, and the notes say so when no one in it has left.
    """
    as_of = _check_input(opportunities, roster, hr, as_of)
    if ramp_months < 1 or list(bands) != sorted(set(bands)) or bands[0] != 0:
        raise CalibrationError(
            f"ramp_months must be >= 1 and bands start at 0 and increase; "
            f"got {ramp_months}, {bands}"
        )
    opps, seg, as_of, first, last = _prepare(opportunities, roster, segment_by, as_of)
    reps = _people(roster, seg, as_of)
    staff = _people(hr, seg, as_of) if hr is not None else reps
    rm, outside = _rep_months(opps, reps, seg, first, last)
    names = sorted(set(seg.astype(str)) | set(opps["segment"]))
    names = [n for n in names if n != "unassigned"] or [ALL]
    notes = []
    if outside:
        notes.append(
            f"{outside} closed deals fell in months their owner was not on the "
            "roster; they count in win rates and deal sizes, not in rates per month"
        )
    if hr is not None and len(staff) and not staff["segment"].isin(names).all():
        notes.append(
            "HR records with no segment, or one that is not a segment of the "
            "opportunities, count in every segment's attrition"
        )
    if len(staff) and not staff["left"].any():
        notes.append(
            "no one in the roster or HR records has left: attrition falls back to "
            "the prior (an export of current staff only cannot show leavers)"
        )
    history = stage_history
    pooled = _segment(ALL, opps, rm, staff, history, ramp_months, tuple(bands), None)
    segments = {}
    for name in names:
        if names == [ALL]:
            segments[name] = pooled
            continue
        mine = ~staff["segment"].isin(names) | (staff["segment"] == name)
        segments[name] = _segment(
            name,
            opps[opps["segment"] == name],
            rm[rm["segment"] == name],
            staff[mine],
            _history_of(history, opps, name),
            ramp_months,
            tuple(bands),
            pooled,
        )
    unassigned = int((opps["segment"] == "unassigned").sum())
    if unassigned:
        notes.append(
            f"{unassigned} deals have an owner with no segment; they count only in "
            "the all-segment estimates"
        )
    for note in notes:
        log.info(note)
    return Calibration(
        segments, pooled, segment_by, as_of, _month_date(first), _month_date(last), tuple(notes)
    )


def _history_of(history, opps, name):
    if history is None:
        return None
    ids = opps.loc[opps["segment"] == name, "opportunity_id"]
    return history[history["opportunity_id"].isin(ids)]
