"""Synthetic CRM, roster and HR exports drawn from known parameters.

:func:`synth` simulates a sales team month by month (hires, ramp,
attrition, backfill) and the opportunities its reps decide, from the
parameters in :class:`SegmentTruth`. The exports are in the generic layouts
of :mod:`rampcast.io.crm`, so ``rampcast calibrate`` reads them back and its
estimates can be held against the truth (``truth.yaml``): that is the
parameter-recovery test of the calibration.

The model is the engine's deal-level model (``docs/model.md``): a rep in
tenure month ``k`` decides ``Poisson(n ramp(k) g(month) K)`` opportunities in
a calendar month, each won with the rep's ``p ~ Beta``, each sized
``LogNormal(mu, sigma)``; each month a rep leaves with the hazard of its
tenure band and its seat is refilled after a Poisson time to fill.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

__all__ = ["DEFAULT_SEASONALITY", "DEFAULT_TRUTH", "SegmentTruth", "SynthData", "synth"]

OPEN_STAGES = ("Prospecting", "Qualification", "Proposal", "Negotiation")
_LOST_DEPTH = (0.4, 0.3, 0.2, 0.1)  # last open stage a lost deal reached


@dataclass(frozen=True)
class SegmentTruth:
    """The known parameters of one synthetic segment.

    Attributes
    ----------
    seats : int
        Seats in the segment (each holds one rep at a time).
    opportunities_per_month : float
        Opportunities a ramped rep decides per month (before seasonality).
    win_rate_mean, win_rate_concentration : float
        The Beta distribution of rep win rates.
    deal_median, deal_sigma : float
        The lognormal deal size: ``mu = ln(deal_median)``.
    ramp : tuple of float
        Ramp curve by elapsed tenure month (1.0 after it).
    attrition : tuple of (int, float)
        ``(from_month, annual_rate)`` bands; monthly hazard
        ``1 - (1 - annual) ** (1/12)``.
    cycle_median_days, cycle_sigma : float
        Lognormal days from created to closed.
    skill_sd : float
        Log-sd of each rep's persistent multiplier of its opportunity rate.
    time_to_fill : float
        Mean (Poisson) months a seat stays empty after a departure.
    """

    seats: int
    opportunities_per_month: float
    win_rate_mean: float
    win_rate_concentration: float
    deal_median: float
    deal_sigma: float
    ramp: tuple[float, ...]
    attrition: tuple[tuple[int, float], ...]
    cycle_median_days: float
    cycle_sigma: float
    skill_sd: float = 0.15
    time_to_fill: float = 1.0

    def hazard(self, tenure: np.ndarray) -> np.ndarray:
        """Monthly leaving probability at elapsed tenure months ``tenure``."""
        starts = np.array([b[0] for b in self.attrition])
        annual = np.array([b[1] for b in self.attrition])
        band = np.searchsorted(starts, tenure, side="right") - 1
        return 1 - (1 - annual[band]) ** (1 / 12)

    def ramp_at(self, tenure: np.ndarray) -> np.ndarray:
        """Share of full productivity at elapsed tenure months ``tenure``."""
        curve = np.append(np.asarray(self.ramp, dtype=float), 1.0)
        return curve[np.minimum(tenure, len(self.ramp))]


DEFAULT_TRUTH = {
    "smb": SegmentTruth(
        seats=24,
        opportunities_per_month=20.0,
        win_rate_mean=0.30,
        win_rate_concentration=40.0,
        deal_median=8_000.0,
        deal_sigma=0.8,
        ramp=(0.2, 0.4, 0.6, 0.8),
        attrition=((0, 0.40), (12, 0.20)),
        cycle_median_days=30.0,
        cycle_sigma=0.6,
    ),
    "enterprise": SegmentTruth(
        seats=12,
        opportunities_per_month=6.0,
        win_rate_mean=0.22,
        win_rate_concentration=30.0,
        deal_median=60_000.0,
        deal_sigma=1.0,
        ramp=(0.1, 0.2, 0.35, 0.5, 0.65, 0.8, 0.9),
        attrition=((0, 0.30), (12, 0.15)),
        cycle_median_days=90.0,
        cycle_sigma=0.5,
        time_to_fill=2.0,
    ),
}

#: Calendar-month multipliers, January first; they average 1.
DEFAULT_SEASONALITY = (0.85, 0.90, 1.10, 0.90, 0.95, 1.10, 0.85, 0.90, 1.10, 0.95, 1.05, 1.35)


@dataclass(frozen=True)
class SynthData:
    """Synthetic exports and the parameters they were drawn from.

    Attributes
    ----------
    opportunities : pandas.DataFrame
        Canonical opportunity columns (generic layout).
    roster : pandas.DataFrame
        Reps on the books at any time in the CRM window: ``rep, segment,
        start, end`` (end empty while employed at ``as_of``).
    hr : pandas.DataFrame
        Every sales employee since the team was founded: ``rep, segment,
        start, end, left``.
    stage_history : pandas.DataFrame
        ``opportunity_id, stage, changed, amount`` (empty when not asked for).
    truth : dict
        The parameters, as written to ``truth.yaml``.
    """

    opportunities: pd.DataFrame
    roster: pd.DataFrame
    hr: pd.DataFrame
    stage_history: pd.DataFrame
    truth: dict = field(default_factory=dict)

    def write(self, folder: str | Path) -> list[Path]:
        """Write ``opportunities.csv``, ``roster.csv``, ``hr.csv``,
        ``stage_history.csv`` (when present) and ``truth.yaml``, each atomically."""
        from rampcast.io.results import atomic_path

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        tables = {"opportunities": self.opportunities, "roster": self.roster, "hr": self.hr}
        if len(self.stage_history):
            tables["stage_history"] = self.stage_history
        written = []
        for name, frame in tables.items():
            path = folder / f"{name}.csv"
            with atomic_path(path) as tmp:
                frame.to_csv(tmp, index=False, date_format="%Y-%m-%d")
            written.append(path)
        path = folder / "truth.yaml"
        with atomic_path(path) as tmp:
            tmp.write_text(yaml.safe_dump(self.truth, sort_keys=False), encoding="utf-8")
        written.append(path)
        return written


def _month_start(index: np.ndarray) -> np.ndarray:
    """First day (datetime64[D]) of month indices ``year * 12 + month - 1``."""
    years = index // 12
    months = index % 12 + 1
    text = [f"{y:04d}-{m:02d}-01" for y, m in zip(years, months, strict=True)]
    return np.array(text, dtype="datetime64[D]")


def _days_in(index: np.ndarray) -> np.ndarray:
    return (_month_start(index + 1) - _month_start(index)).astype(int)


def _workforce(rng, truth: SegmentTruth, founded: int, last: int, name: str) -> pd.DataFrame:
    """Reps of one segment, month by month: start month, end month (-1 if none)."""
    seats = truth.seats
    occupant = np.full(seats, -1)  # row in `reps`, -1 while vacant
    fill_at = np.full(seats, founded)
    starts, ends = [], []
    for m in range(founded, last + 1):
        arriving = (occupant < 0) & (fill_at == m)
        for s in np.flatnonzero(arriving):
            occupant[s] = len(starts)
            starts.append(m)
            ends.append(-1)
        busy = np.flatnonzero(occupant >= 0)
        tenure = m - np.array([starts[occupant[s]] for s in busy], dtype=int)
        leave = rng.random(len(busy)) < truth.hazard(tenure)
        for s in busy[leave]:
            ends[occupant[s]] = m
            occupant[s] = -1
            fill_at[s] = m + 1 + rng.poisson(truth.time_to_fill)
    n = len(starts)
    frame = pd.DataFrame({"start_m": np.array(starts), "end_m": np.array(ends)})
    frame["rep"] = [f"{name}-{i:04d}" for i in range(n)]
    frame["segment"] = name
    frame["skill"] = np.exp(truth.skill_sd * rng.standard_normal(n) - truth.skill_sd**2 / 2)
    c = truth.win_rate_concentration
    frame["p"] = rng.beta(truth.win_rate_mean * c, (1 - truth.win_rate_mean) * c, n)
    start_day = rng.integers(0, _days_in(frame["start_m"].to_numpy()))
    frame["start"] = _month_start(frame["start_m"].to_numpy()) + start_day
    end_m = frame["end_m"].to_numpy()
    has_end = end_m >= 0
    end = np.full(n, np.datetime64("NaT"), dtype="datetime64[D]")
    if has_end.any():
        first = _month_start(end_m[has_end])
        lo = np.where(
            end_m[has_end] == frame["start_m"].to_numpy()[has_end], start_day[has_end], 0
        )
        end[has_end] = first + rng.integers(lo, _days_in(end_m[has_end]))
    frame["end"] = end
    return frame


def _deals(
    rng, truth: SegmentTruth, reps: pd.DataFrame, first: int, last: int, seasonality: np.ndarray
) -> pd.DataFrame:
    """Opportunities decided by each rep in each month from ``first`` to ``last``."""
    lo = np.maximum(reps["start_m"].to_numpy(), first)
    hi = np.where(reps["end_m"] >= 0, np.minimum(reps["end_m"], last), last)
    lengths = np.maximum(hi - lo + 1, 0)
    row = np.repeat(np.arange(len(reps)), lengths)
    month = np.repeat(lo, lengths) + (
        np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    )
    tenure = month - reps["start_m"].to_numpy()[row]
    rate = (
        truth.opportunities_per_month
        * truth.ramp_at(tenure)
        * seasonality[month % 12]
        * reps["skill"].to_numpy()[row]
    )
    count = rng.poisson(rate)
    who = np.repeat(row, count)
    when = np.repeat(month, count)
    n = len(who)
    month_first = _month_start(np.arange(first, last + 1))
    days = _days_in(np.arange(first, last + 1))
    offset = when - first
    closed = month_first[offset] + (rng.random(n) * days[offset]).astype(int)
    cycle = np.maximum(
        1, np.rint(truth.cycle_median_days * np.exp(truth.cycle_sigma * rng.standard_normal(n)))
    ).astype(int)
    won = rng.random(n) < reps["p"].to_numpy()[who]
    amount = np.rint(truth.deal_median * np.exp(truth.deal_sigma * rng.standard_normal(n)))
    return pd.DataFrame(
        {
            "owner": reps["rep"].to_numpy()[who],
            "created": closed - cycle,
            "closed": closed,
            "is_won": won,
            "amount": amount,
        }
    )


def _history(rng, opps: pd.DataFrame) -> pd.DataFrame:
    """Stage changes: won deals pass every open stage, lost ones stop early."""
    n = len(opps)
    is_closed = opps["is_closed"].to_numpy()
    won = opps["is_won"].to_numpy()
    depth = np.where(
        won, len(OPEN_STAGES), 1 + rng.choice(len(OPEN_STAGES), size=n, p=_LOST_DEPTH)
    )
    depth = np.where(is_closed, depth, 1 + rng.integers(0, len(OPEN_STAGES), n))
    created = opps["created"].to_numpy("datetime64[D]")
    end = opps["closed"].fillna(opps["created"]).to_numpy("datetime64[D]")
    span = (end - created).astype(int)
    ids = opps["opportunity_id"].to_numpy()
    amount = opps["amount"].to_numpy()
    idx = np.repeat(np.arange(n), depth)
    step = np.arange(len(idx)) - np.repeat(np.cumsum(depth) - depth, depth)
    changed = created[idx] + (span[idx] * step // np.maximum(depth[idx], 1)).astype(int)
    frame = pd.DataFrame(
        {
            "opportunity_id": ids[idx],
            "stage": np.array(OPEN_STAGES)[step],
            "changed": changed,
            "amount": amount[idx],
        }
    )
    final = opps.loc[is_closed, ["opportunity_id", "stage", "closed", "amount"]]
    final = final.rename(columns={"closed": "changed"})
    return pd.concat([frame, final], ignore_index=True).sort_values(
        ["opportunity_id", "changed"], kind="stable", ignore_index=True
    )


def synth(
    seed: int,
    *,
    truth: dict[str, SegmentTruth] | None = None,
    seasonality: tuple[float, ...] = DEFAULT_SEASONALITY,
    start: str = "2022-01",
    months: int = 36,
    history_months: int = 36,
    scale: float = 1.0,
    stage_history: bool = True,
) -> SynthData:
    """Draw CRM, roster and HR exports from known parameters.

    Parameters
    ----------
    seed
        Seed of the ``numpy.random.Generator`` that makes every draw (no
        global state: the same seed gives the same files).
    truth
        Parameters by segment; default :data:`DEFAULT_TRUTH`.
    seasonality
        Twelve calendar-month multipliers of the opportunity rate, January
        first.
    start, months
        The CRM window: its first month (``YYYY-MM``) and length. ``as_of``
        is the window's last day; deals deciding after it are open (if
        created by then) or absent.
    history_months
        How long before ``start`` the team was founded (every seat filled
        in the founding month); the HR records cover it all.
    scale
        Multiplies every segment's seats (a 1-million-opportunity benchmark
        uses about 56).
    stage_history
        Whether to draw the stage-change table.

    Returns
    -------
    SynthData

    Raises
    ------
    ValueError
        On a negative seed, a bad month, a seasonality that is not twelve
        non-negative numbers, or ``months``, ``history_months`` or ``scale``
        out of range.

    Examples
    --------
    >>> data = synth(1, months=12)
    >>> sorted(data.opportunities["is_closed"].unique().tolist())
    [False, True]
    """
    if not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(f"seed must be an integer >= 0; got {seed!r}")
    try:
        origin = dt.datetime.strptime(str(start), "%Y-%m").date()
    except ValueError:
        raise ValueError(f"start must be a month YYYY-MM; got {start!r}") from None
    season = np.asarray(seasonality, dtype=float)
    if season.shape != (12,) or (season < 0).any():
        raise ValueError(f"seasonality must be 12 numbers >= 0; got {seasonality!r}")
    if months < 1 or history_months < 0 or not scale > 0:
        raise ValueError(
            f"need months >= 1, history_months >= 0 and scale > 0; got "
            f"{months}, {history_months}, {scale}"
        )
    truth = dict(DEFAULT_TRUTH if truth is None else truth)
    if scale != 1.0:
        truth = {
            k: dataclasses.replace(v, seats=max(1, round(v.seats * scale)))
            for k, v in truth.items()
        }
    rng = np.random.default_rng(seed)
    first = origin.year * 12 + origin.month - 1
    last = first + months - 1
    tail = last + 6  # deals deciding after as_of may already be open at as_of
    as_of = _month_start(np.array([last + 1]))[0] - 1
    reps, deals = [], []
    for name, params in truth.items():
        team = _workforce(rng, params, first - history_months, tail, name)
        reps.append(team)
        deals.append(_deals(rng, params, team, first, tail, season))
    team = pd.concat(reps, ignore_index=True)
    opps = _opportunities(rng, pd.concat(deals, ignore_index=True), as_of)
    hr, roster = _staff(team, as_of, first)
    history = (
        _history(rng, opps)
        if stage_history
        else pd.DataFrame(columns=["opportunity_id", "stage", "changed", "amount"])
    )
    info = _truth(truth, season, seed, origin, months, history_months, as_of)
    return SynthData(opps, roster, hr, history, info)


def _opportunities(rng, deals: pd.DataFrame, as_of: np.datetime64) -> pd.DataFrame:
    """Order, label and censor the deals at ``as_of``."""
    deals = deals[deals["created"] <= as_of].sort_values(
        ["closed", "owner"], kind="stable", ignore_index=True
    )
    n = len(deals)
    is_closed = (deals["closed"] <= as_of).to_numpy()
    won = deals["is_won"].to_numpy() & is_closed
    stage = np.where(won, "Closed Won", np.where(is_closed, "Closed Lost", "Negotiation"))
    return pd.DataFrame(
        {
            "opportunity_id": [f"OPP-{i:07d}" for i in range(n)],
            "owner": deals["owner"].to_numpy(),
            "account": [f"ACC-{i:04d}" for i in rng.integers(0, 500, n)],
            "product": np.array(["Core", "Plus", "Suite"])[rng.integers(0, 3, n)],
            "stage": stage,
            "amount": deals["amount"].to_numpy(),
            "created": pd.to_datetime(deals["created"]),
            "closed": pd.to_datetime(deals["closed"].where(is_closed)),
            "is_closed": is_closed,
            "is_won": won,
        }
    )


def _staff(team: pd.DataFrame, as_of, first: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """HR records (everyone started by ``as_of``) and the roster (on the books in
    the CRM window), with ends after ``as_of`` unknown."""
    team = team[team["start"] <= as_of].copy()
    known = team["end"].notna() & (team["end"] <= as_of)
    team["end"] = pd.to_datetime(team["end"].where(known))
    team["start"] = pd.to_datetime(team["start"])
    team["left"] = known
    hr = team[["rep", "segment", "start", "end", "left"]].reset_index(drop=True)
    window = pd.Timestamp(_month_start(np.array([first]))[0])
    on = team["end"].isna() | (team["end"] >= window)
    roster = team.loc[on, ["rep", "segment", "start", "end"]].reset_index(drop=True)
    return hr, roster


def _truth(truth, season, seed, origin, months, history_months, as_of) -> dict:
    segments = {}
    for name, t in truth.items():
        segments[name] = {
            "ramp": {"curve": [float(v) for v in t.ramp]},
            "attrition": {
                "bands": [{"from_month": int(a), "annual_rate": float(r)} for a, r in t.attrition]
            },
            "productivity": {
                "model": "deal",
                "opportunities_per_month": float(t.opportunities_per_month),
                "win_rate": {
                    "mean": float(t.win_rate_mean),
                    "concentration": float(t.win_rate_concentration),
                },
                "deal_size": {"median": float(t.deal_median), "sigma": float(t.deal_sigma)},
                "skill_sd": float(t.skill_sd),
            },
            "seasonality": [float(v) for v in season],
            "extra": {
                "seats": int(t.seats),
                "deal_mu": math.log(t.deal_median),
                "cycle_median_days": float(t.cycle_median_days),
                "cycle_sigma": float(t.cycle_sigma),
                "time_to_fill_mean_months": float(t.time_to_fill),
            },
        }
    return {
        "seed": int(seed),
        "crm_start": f"{origin:%Y-%m}",
        "months": int(months),
        "history_months": int(history_months),
        "as_of": str(as_of),
        "segments": segments,
    }
