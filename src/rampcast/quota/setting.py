"""Quota setting: blend capacity, territory potential and history into quotas.

The quota year is the first 12 months of the horizon. Each quota holder (a
roster rep in a seat during that year, or a planned hire starting in it)
gets a first-year quota :math:`Q_r`, split by month along the rep's own
profile (nominal ramp x seasonality x months in the seat), so a new hire's
quota follows its ramp curve. See ``docs/quotas.md`` for the method.

Conventions, stated in every output:

* over-assignment ``x``: street quota :math:`\\sum_r Q_r = (1 + x)\\,T` for
  plan (target) :math:`T`; the attainment factor is
  :math:`T / \\sum_r Q_r = 1 / (1 + x)`;
* at quota: attainment :math:`\\ge 100\\%` (inclusive).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

import numpy as np

from rampcast.errors import DataError, QuotaError
from rampcast.model.build import Model, build_model
from rampcast.scenario import Scenario

__all__ = [
    "COMPONENTS",
    "OVER_ASSIGNMENT_CONVENTION",
    "AT_QUOTA_CONVENTION",
    "Fit",
    "Holders",
    "QuotaPlan",
    "Weights",
    "fit_to_total",
    "parse_weights",
    "quota_holders",
    "ramped_quota",
    "set_quotas",
]

COMPONENTS = ("capacity", "potential", "history")
OVER_ASSIGNMENT_CONVENTION = "quota = (1 + x) * plan; attainment factor = plan / street quota"
AT_QUOTA_CONVENTION = "at quota: attainment >= 100% (inclusive)"
YEAR = 12
DEFAULT_WEIGHTS = {"capacity": 0.5, "potential": 0.3, "history": 0.2}


@dataclass(frozen=True)
class Weights:
    """Blend weights of the three quota components; they sum to one."""

    capacity: float
    potential: float
    history: float

    def as_dict(self) -> dict[str, float]:
        return {c: getattr(self, c) for c in COMPONENTS}


def parse_weights(text: str | Mapping[str, float] | None) -> Weights:
    """Weights from ``"capacity=0.5,potential=0.3,history=0.2"`` or a mapping.

    Missing components weigh 0; ``None`` gives the defaults 0.5 / 0.3 / 0.2.

    Examples
    --------
    >>> parse_weights("capacity=0.6,potential=0.4")
    Weights(capacity=0.6, potential=0.4, history=0.0)
    """
    if text is None:
        return Weights(**DEFAULT_WEIGHTS)
    if isinstance(text, str):
        items = {}
        for part in filter(None, (p.strip() for p in text.split(","))):
            key, sep, value = part.partition("=")
            try:
                items[key.strip()] = float(value) if sep else math.nan
            except ValueError:
                items[key.strip()] = math.nan
    else:
        items = dict(text)
    unknown = [k for k in items if k not in COMPONENTS]
    if unknown:
        raise QuotaError(
            f"weights {text!r}: unknown component {unknown[0]!r}; "
            f"allowed: {', '.join(COMPONENTS)} (e.g. capacity=0.5,potential=0.5)"
        )
    bad = [k for k, v in items.items() if not (math.isfinite(v) and v >= 0)]
    if bad:
        raise QuotaError(
            f"weights {text!r}: {bad[0]} must be a number >= 0 "
            "(write name=value, e.g. capacity=0.5)"
        )
    total = sum(items.values())
    if not math.isclose(total, 1.0, abs_tol=1e-9):
        raise QuotaError(f"weights {text!r} sum to {total:.6g}; they must sum to 1")
    return Weights(**{c: float(items.get(c, 0.0)) for c in COMPONENTS})


def ramped_quota(
    full_quota: float,
    curve,
    start: int = 0,
    months: int = YEAR,
    tenure_shift: int = 0,
    seasonality=None,
) -> np.ndarray:
    """Monthly quotas of a rep on its ramp: full quota x ramp(k) x season.

    .. math:: q_m = F \\, \\frac{r(m - \\tau + \\delta)\\, g_m}{\\sum_{u<12} g_u}

    with :math:`F` the full (ramped) annual quota, :math:`\\tau` the start
    month, :math:`\\delta` the tenure shift and :math:`g` the seasonality
    (flat by default, so :math:`q_m = F\\,r / 12`).

    Examples
    --------
    The mod-us playbook (worked example R2): 1.4M, ramp 0/25/50/75/90/100%.

    >>> q = ramped_quota(1_400_000, [0, 0.25, 0.5, 0.75, 0.9])
    >>> [round(float(v), 2) for v in q[:6]]
    [0.0, 29166.67, 58333.33, 87500.0, 105000.0, 116666.67]
    >>> round(float(q.sum()), 2)
    1096666.67
    """
    season = np.ones(months) if seasonality is None else np.asarray(seasonality, float)
    padded = np.append(np.asarray(curve, dtype=float), 1.0)  # 1.0 once the curve ends
    month = np.arange(months)
    ramp = padded[np.clip(month - start + tenure_shift, 0, len(padded) - 1)]
    ramp = np.where(month < start, 0.0, ramp)
    return full_quota * ramp * season / season[:YEAR].sum()


@dataclass(frozen=True)
class Fit:
    """Quotas scaled to a total within bounds (:func:`fit_to_total`).

    Attributes
    ----------
    quota : ndarray
        :math:`Q_r = \\min(\\max(\\lambda b_r, l_r), u_r)`, summing to the total.
    scale : float
        :math:`\\lambda`.
    at_lower, at_upper : ndarray of bool
        Quotas held at a bound.
    """

    quota: np.ndarray
    scale: float
    at_lower: np.ndarray
    at_upper: np.ndarray


def fit_to_total(basis, total: float, lower=None, upper=None) -> Fit:
    """Scale ``basis`` to sum to ``total``, clipping each value into its bounds.

    Finds :math:`\\lambda` with :math:`\\sum_r \\mathrm{clip}(\\lambda b_r,
    l_r, u_r) = T`. The left side is continuous, non-decreasing and
    piecewise linear in :math:`\\lambda` with kinks at :math:`l_r / b_r` and
    :math:`u_r / b_r`, so :math:`\\lambda` is found exactly on the segment
    where it crosses :math:`T`, not by iteration. Reps off their bounds keep
    the proportions of their blend. A rep with :math:`b_r = 0` sits at its
    lower bound.

    Raises
    ------
    QuotaError
        When the bounds cannot meet ``total``, saying the range they allow.

    Examples
    --------
    >>> fit = fit_to_total([0.5, 0.3, 0.2], 100.0, upper=[40.0, 100.0, 100.0])
    >>> [round(float(v), 6) for v in fit.quota]
    [40.0, 36.0, 24.0]
    """
    b = np.asarray(basis, dtype=float)
    lo = np.zeros_like(b) if lower is None else np.asarray(lower, dtype=float)
    hi = np.full_like(b, np.inf) if upper is None else np.asarray(upper, dtype=float)
    if np.any(b < 0) or not np.all(np.isfinite(b)):
        raise QuotaError("quota basis must be finite and >= 0")
    if np.any(lo < 0) or np.any(lo > hi):
        raise QuotaError("quota bounds must satisfy 0 <= lower <= upper")
    if b.max(initial=0.0) > 0:
        b = b / b.max()  # the answer does not depend on the basis' scale
    pos = b > 0
    least, most = lo.sum(), hi[pos].sum() + lo[~pos].sum()
    slack = 1e-9 * max(1.0, abs(total))
    if not least - slack <= total <= most + slack:
        raise QuotaError(
            f"the bounds allow a street quota from {least:,.2f} to {most:,.2f}; "
            f"{total:,.2f} is outside that range: widen the bounds or change the "
            "over-assignment"
        )
    with np.errstate(over="ignore"):  # a kink past the float range is never reached
        knots = np.concatenate([[0.0], lo[pos] / b[pos], hi[pos] / b[pos]])
    knots = np.unique(knots[np.isfinite(knots)])
    g = np.array([np.clip(k * b, lo, hi).sum() for k in knots])
    above = np.nonzero(g >= total)[0]
    if len(above) == 0:  # past the last kink: capped reps sit at their caps
        grow = pos & ~np.isfinite(hi)
        quota = np.where(pos, hi, lo)
        scale = knots[-1]
        if grow.any():
            scale += (total - g[-1]) / b[grow].sum()
            quota[grow] = b[grow] * ((total - quota[~grow].sum()) / b[grow].sum())
        return Fit(quota, float(scale), ~pos, pos & ~grow)
    if above[0] == 0:
        scale = 0.0
    else:
        i = above[0]
        k0, k1 = knots[i - 1], knots[i]
        scale = k0 + (k1 - k0) * (total - g[i - 1]) / (g[i] - g[i - 1])
    quota = np.clip(scale * b, lo, hi)
    free = pos & (quota > lo) & (quota < hi)
    if free.any():  # the free reps share the rest in proportion (exact sum)
        quota[free] = b[free] * ((total - quota[~free].sum()) / b[free].sum())
    at_lower = ~free & (quota <= lo)
    at_upper = ~free & ~at_lower
    return Fit(quota, float(scale), at_lower, at_upper)


@dataclass(frozen=True)
class Holders:
    """The quota holders of a scenario and plan, and what quotas are set from.

    Attributes
    ----------
    reps : tuple of str
        Roster id, or the seat label ``hire:<segment>:<YYYY-MM>:<n>`` of a
        planned hire.
    segments : tuple of str
    seats : ndarray of int
        Each holder's seat in ``model``.
    model : Model
        The scenario's arrays with the holder kept in its seat: no
        attrition, no backfill, every planned hire starts (slip kept).
        Attainment is simulated on it, so it is attainment given the rep
        stays (leaving is independent of skill and bookings in the model).
    full_model : Model
        The scenario's arrays as they are (team bookings).
    profile : ndarray
        (rep, month): nominal ramp x seasonality x share of the month in the
        seat, over the quota year.
    ramped : ndarray of bool
        (rep, month): in the seat at the end of the ramp curve.
    capacity : ndarray
        Expected first-year capacity of each holder (deterministic mode on
        ``model``).
    utilisation : ndarray
        :math:`\\sum_m` profile / :math:`\\sum_m g_m`: the share of a full,
        ramped year the holder works (1 for a ramped rep all year).
    """

    reps: tuple[str, ...]
    segments: tuple[str, ...]
    seats: np.ndarray
    model: Model
    full_model: Model
    profile: np.ndarray
    ramped: np.ndarray
    capacity: np.ndarray
    utilisation: np.ndarray

    @property
    def ramped_all_year(self) -> np.ndarray:
        """Holders at full ramp in the seat for the whole quota year."""
        ends = self.model.seats.end[self.seats]
        return self.ramped.all(axis=1) & (ends >= YEAR)


def _stay_model(model: Model) -> Model:
    """``model`` with reps kept in their seats: no hazard, no backfill, all hires start."""
    p = model.params
    params = p._replace(
        hazard=np.zeros_like(p.hazard),
        backfill=np.zeros_like(p.backfill),
        acceptance=np.ones_like(p.acceptance),
    )
    return replace(model, params=params)


def quota_holders(scenario: Scenario, plan: str | None = None) -> Holders:
    """Quota holders of ``scenario`` under hiring ``plan`` and their profiles.

    Raises
    ------
    QuotaError
        When the horizon is shorter than a year or nobody holds a seat in it.
    """
    if scenario.horizon.months < YEAR:
        raise QuotaError(
            f"{scenario.source or 'scenario'}: horizon.months is "
            f"{scenario.horizon.months}; quotas need a 12-month quota year"
        )
    from rampcast.model.deterministic import expected_seat_capacity

    full = build_model(scenario, plan)
    model = _stay_model(full)
    p, conv, st = model.params, model.conventions, model.seats
    months = np.arange(YEAR)
    n_seats = len(model.seat_labels)
    profile = np.zeros((n_seats, YEAR))
    ramped = np.zeros((n_seats, YEAR), dtype=bool)
    for j in range(n_seats):
        s, start, end = int(st.segment[j]), int(st.start[j]), int(st.end[j])
        length = int(p.ramp_len[s])
        x = months - start + conv.tenure_shift
        ramp = np.where(x >= length, 1.0, p.ramp[s][np.clip(x, 0, p.ramp.shape[1] - 1)])
        present = (months >= start) & (months <= end)
        share = np.where(months == end, conv.leaver_share, 1.0)
        profile[j] = np.where(present, ramp * p.season[s, :YEAR] * share, 0.0)
        ramped[j] = present & (x >= length)
    keep = np.nonzero(profile.sum(axis=1) > 0)[0]
    if len(keep) == 0:
        raise QuotaError(
            f"{scenario.source or 'scenario'}: no rep holds a seat in the "
            "quota year (the first 12 months); add roster reps or hires"
        )
    capacity = expected_seat_capacity(model)[keep, :YEAR].sum(axis=1)
    labels = [model.seat_labels[j] for j in keep]
    reps = tuple(lab.removeprefix("roster:") for lab in labels)
    segments = tuple(model.segments[int(st.segment[j])] for j in keep)
    season_year = p.season[st.segment[keep], :YEAR].sum(axis=1)
    return Holders(
        reps,
        segments,
        keep,
        model,
        full,
        profile[keep],
        ramped[keep],
        capacity,
        profile[keep].sum(axis=1) / season_year,
    )


@dataclass(frozen=True)
class QuotaPlan:
    """First-year quotas of every holder, and how they were set.

    Attributes
    ----------
    holders : Holders
    target : float
        The plan :math:`T` (the scenario's first-year target unless given).
    over_assignment : float
        :math:`x` in :math:`\\sum_r Q_r = (1 + x)\\,T`.
    weights : Weights
        The weights asked for.
    shares : dict of str to ndarray
        Each component's share of the first-year quota, per holder, after
        fallbacks (each sums to one).
    basis : ndarray
        The blend :math:`b_r = \\sum_c w_c s_{c,r}`.
    lower, upper : ndarray
        Bounds on :math:`Q_r` (0 and infinity without history).
    quota : ndarray
        First-year quota :math:`Q_r`.
    notes : tuple of str
        Fallbacks and other choices made, in words.
    """

    holders: Holders
    target: float
    over_assignment: float
    weights: Weights
    shares: dict[str, np.ndarray]
    basis: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    quota: np.ndarray
    band: float | None = None
    notes: tuple[str, ...] = field(default=())

    @property
    def street_quota(self) -> float:
        """Sum of assigned quota, ramped and ramping."""
        return float(self.quota.sum())

    @property
    def attainment_factor(self) -> float:
        """Plan over street quota, :math:`1 / (1 + x)`."""
        return self.target / self.street_quota

    @property
    def monthly(self) -> np.ndarray:
        """(rep, month) quotas: :math:`q_{rm} = Q_r\\,w_{rm} / \\sum_u w_{ru}`."""
        w = self.holders.profile
        return self.quota[:, None] * w / w.sum(axis=1, keepdims=True)

    @property
    def full_quota(self) -> np.ndarray:
        """The annual quota of the same rep fully ramped all year: :math:`Q_r / u_r`."""
        return self.quota / self.holders.utilisation

    def at(self, over_assignment: float) -> QuotaPlan:
        """The same blend and bounds scaled to another over-assignment."""
        total = self.target * (1.0 + over_assignment)
        fit = fit_to_total(self.basis, total, self.lower, self.upper)
        return replace(self, over_assignment=float(over_assignment), quota=fit.quota)

    def over_assignment_range(self) -> tuple[float, float]:
        """The over-assignments the bounds allow."""
        pos = self.basis > 0
        least = self.lower.sum()
        most = self.upper[pos].sum() + self.lower[~pos].sum()
        return least / self.target - 1.0, most / self.target - 1.0


def _component_share(
    values: Mapping[str, float],
    reps: tuple[str, ...],
    fallback: np.ndarray,
    scale: np.ndarray | None = None,
):
    """A component's share per holder; holders without a value keep ``fallback``.

    The holders with a value share the fallback mass they would have had,
    in proportion to their values (times ``scale`` where given).
    """
    has = np.array([r in values for r in reps])
    v = np.array([float(values.get(r, 0.0)) for r in reps])
    if scale is not None:
        v = v * scale
    if not has.any() or v[has].sum() <= 0:
        return fallback.copy(), [r for r, h in zip(reps, has, strict=True) if not h]
    share = fallback.copy()
    share[has] = v[has] / v[has].sum() * fallback[has].sum()
    return share, [r for r, h in zip(reps, has, strict=True) if not h]


def _check_reps(
    values: Mapping[str, float] | None,
    holders: Holders,
    scenario: Scenario,
    what: str,
    source: str | None,
) -> None:
    if not values:
        return
    roster = {r.id: r for r in scenario.roster}
    known = set(holders.reps)
    for rep in values:
        if rep in known:
            continue
        shown = ", ".join(sorted(known)[:8]) + (", ..." if len(known) > 8 else "")
        if rep in roster:
            why = (
                f"rep {rep!r} is on the roster but holds no seat in the quota year "
                f"({scenario.horizon.start:%Y-%m} + 12 months)"
            )
        else:
            why = f"unknown rep {rep!r}: not in the roster of {scenario.source or 'the scenario'}"
        raise DataError(
            f"column rep: {why}; {what} reps must be quota holders ({shown})",
            source=source,
            column="rep",
        )


def _annual_target(scenario: Scenario, target: float | None) -> float:
    if target is not None:
        if not (math.isfinite(target) and target > 0):
            raise QuotaError(f"target must be a positive amount; got {target}")
        return float(target)
    t = scenario.targets
    if t.annual is not None and t.annual > 0:
        return float(t.annual)
    if t.quarterly is not None and sum(t.quarterly) > 0:
        return float(sum(t.quarterly))
    raise QuotaError(
        f"{scenario.source or 'scenario'}: targets: no first-year target; "
        "give targets.annual (or targets.quarterly) or --target"
    )


def set_quotas(
    scenario: Scenario,
    potential: Mapping[str, float] | None = None,
    history: Mapping[str, float] | None = None,
    over_assignment: float = 0.15,
    weights: Weights | str | Mapping[str, float] | None = None,
    band: float | None = 0.30,
    target: float | None = None,
    plan: str | None = None,
    assignment_source: str | None = None,
    history_source: str | None = None,
) -> QuotaPlan:
    """Set first-year quotas summing to plan x (1 + over-assignment).

    Parameters
    ----------
    scenario
        A validated scenario; its first 12 months are the quota year.
    potential
        Territory potential per rep (the sum over its accounts in
        ``assignment.csv``). Without it, the potential weight goes to
        capacity.
    history
        Last year's bookings per rep, annualised. Without it, the history
        weight goes to capacity.
    over_assignment
        :math:`x \\ge 0` in :math:`\\sum_r Q_r = (1 + x)\\,T`.
    weights
        Blend weights (:func:`parse_weights`); default 0.5 / 0.3 / 0.2.
    band
        Bounds relative to history: :math:`(1 \\pm \\text{band})\\,H_r u_r`
        for reps with history. ``None``: no bounds.
    target
        The plan :math:`T`; default the scenario's first-year target.
    plan
        Hiring plan; default the scenario's.
    assignment_source, history_source
        File names for error messages.

    Returns
    -------
    QuotaPlan

    Notes
    -----
    Shares :math:`s_{c,r}` sum to one per component. Capacity:
    :math:`C_r / \\sum C`, with :math:`C_r` the rep's expected first-year
    capacity if it stays. Potential: the rep's potential share, used as it
    is (territory books are already sized to ramp-adjusted capacity).
    History: :math:`H_r u_r`, last year's annualised bookings times this
    year's utilisation. Holders missing from a component keep their
    capacity share; those present share the rest in proportion. Then
    :math:`b_r = \\sum_c w_c s_{c,r}` and :math:`Q` is
    :func:`fit_to_total` of :math:`b` to :math:`(1 + x) T` within the bounds.
    """
    if not (math.isfinite(over_assignment) and over_assignment >= 0):
        raise QuotaError(
            f"over-assignment must be >= 0 (quota = (1 + x) * plan); got {over_assignment}"
        )
    if band is not None and not (math.isfinite(band) and 0 <= band):
        raise QuotaError(f"bounds band must be >= 0 (e.g. 0.3 for +/-30% of history); got {band}")
    if not isinstance(weights, Weights):
        weights = parse_weights(weights)
    total_plan = _annual_target(scenario, target)
    holders = quota_holders(scenario, plan)
    _check_reps(potential, holders, scenario, "assignment", assignment_source)
    _check_reps(history, holders, scenario, "history", history_source)
    for name, values, src in (
        ("potential", potential, assignment_source),
        ("bookings", history, history_source),
    ):
        for rep, v in (values or {}).items():
            if not (math.isfinite(v) and v >= 0):
                raise DataError(
                    f"column {name}: rep {rep!r} has {v!r}; it must be >= 0",
                    source=src,
                    column=name,
                )

    notes = []
    cap = holders.capacity / holders.capacity.sum()
    shares = {"capacity": cap}
    if potential:
        shares["potential"], missing = _component_share(potential, holders.reps, cap)
        if missing:
            notes.append(
                f"no accounts in the assignment for {', '.join(missing)}: "
                "their potential share is their capacity share"
            )
    else:
        shares["potential"] = cap.copy()
        notes.append("no assignment: the potential weight falls back to capacity")
    if history:
        shares["history"], missing = _component_share(
            history, holders.reps, cap, scale=holders.utilisation
        )
        if missing:
            notes.append(
                f"no history for {', '.join(missing)}: their history share is their capacity share"
            )
    else:
        shares["history"] = cap.copy()
        notes.append("no history: the history weight falls back to capacity")
    w = weights.as_dict()
    basis = sum(w[c] * shares[c] for c in COMPONENTS)

    n = len(holders.reps)
    lower, upper = np.zeros(n), np.full(n, np.inf)
    if history and band is not None:
        for i, rep in enumerate(holders.reps):
            if rep in history:
                base = history[rep] * holders.utilisation[i]
                lower[i] = max(0.0, 1.0 - band) * base
                upper[i] = (1.0 + band) * base
        notes.append(
            f"bounds: quota within +/-{band:.0%} of last year's bookings "
            "(annualised, times this year's utilisation)"
        )
    draft = QuotaPlan(
        holders,
        total_plan,
        0.0,
        weights,
        shares,
        basis,
        lower,
        upper,
        np.zeros(n),
        band if history else None,
        tuple(notes),
    )
    return draft.at(over_assignment)
