"""The scenario: a typed, validated description of one planning question.

A scenario file is YAML. :func:`load_scenario` reads it, resolves the roster
(inline or a CSV beside the file) and validates everything into frozen
pydantic models. Unknown keys are errors. Every error names the file, the key
path, the bad value and what is allowed; see ``docs/scenario.md`` for each key.
"""

from __future__ import annotations

import csv
import datetime as dt
import difflib
import hashlib
import math
import typing
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)

from rampcast.errors import ScenarioError

__all__ = [
    "Scenario",
    "load_scenario",
    "scenario_from_dict",
    "month_index",
]


def _parse_month(value: Any) -> dt.date:
    """Accept ``YYYY-MM``, ``YYYY-MM-DD`` or a date; return the month's first day."""
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, dt.date):
        return value.replace(day=1)
    if isinstance(value, str):
        text = value.strip()
        for fmt in ("%Y-%m", "%Y-%m-%d"):
            try:
                return dt.datetime.strptime(text, fmt).date().replace(day=1)
            except ValueError:
                continue
    raise ValueError(f"{value!r} is not a month; write YYYY-MM (e.g. 2027-01) or YYYY-MM-DD")


def _parse_date(value: Any) -> dt.date:
    """Accept ``YYYY-MM-DD``, ``YYYY-MM`` or a date; keep the day."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        text = value.strip()
        for fmt in ("%Y-%m-%d", "%Y-%m"):
            try:
                return dt.datetime.strptime(text, fmt).date()
            except ValueError:
                continue
    raise ValueError(f"{value!r} is not a date; write YYYY-MM-DD (e.g. 2026-03-15) or YYYY-MM")


Month = Annotated[dt.date, BeforeValidator(_parse_month)]
Date = Annotated[dt.date, BeforeValidator(_parse_date)]
Fraction = Annotated[float, Field(ge=0.0, le=1.0)]
NonNegative = Annotated[float, Field(ge=0.0, allow_inf_nan=False)]
Positive = Annotated[float, Field(gt=0.0, allow_inf_nan=False)]


def _given(model: BaseModel, *names: str) -> str:
    """Which of the alternative keys ``names`` a model was given, for messages."""
    given = [n for n in names if getattr(model, n) is not None]
    return "got " + (" and ".join(given) if given else "none of them")


def month_index(month: dt.date, origin: dt.date) -> int:
    """Whole months from ``origin`` to ``month`` (negative when earlier)."""
    return (month.year - origin.year) * 12 + (month.month - origin.month)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Horizon(_Model):
    """The months simulated: ``months`` consecutive months from ``start``."""

    start: Month
    months: int = Field(ge=1, le=240)


class Simulation(_Model):
    """How many trials, from which seed, drawn how.

    ``sampler: table`` draws normals from a tabulated inverse CDF (fast, within
    0.1% on quantiles); ``exact`` inverts the normal CDF to machine precision.
    """

    trials: int = Field(default=10_000, ge=1, le=10_000_000)
    seed: int = Field(default=0, ge=0, lt=2**63)
    sampler: Literal["table", "exact"] = "table"
    chunk_trials: int = Field(default=2048, ge=1)


class Targets(_Model):
    """Bookings targets. ``annual`` applies to each 12-month year of the horizon;
    ``quarterly`` gives the four quarters of each year, in order."""

    annual: NonNegative | None = None
    quarterly: list[NonNegative] | None = Field(default=None, min_length=4, max_length=4)


class Conventions(_Model):
    """The conventions that change the answer; each is echoed in every output.

    See ``docs/conventions.md`` and ``shared/reference/worked-examples.md``.
    """

    tenure_index: Literal["elapsed", "first_month_is_one"] = "elapsed"
    attrition_conversion: Literal["compounded", "divide_by_12"] = "compounded"
    attrition_applies_to: Literal["all", "ramped"] = "all"
    leaver_month_share: Fraction = 1.0
    attainment_applies_to: Literal["all", "ramped"] = "all"
    quantiles: list[Annotated[float, Field(gt=0.0, lt=1.0)]] = Field(
        default_factory=lambda: [0.1, 0.5, 0.9], min_length=1
    )
    risk_level: Annotated[float, Field(gt=0.0, lt=1.0)] = 0.9


class Ramp(_Model):
    """Share of full productivity by tenure month; 1.0 after the curve ends.

    ``curve[k]`` is the fraction in tenure month ``k``. ``speed_sd`` spreads
    ramp speed across reps: a rep's ramp clock runs at speed
    ``v = exp(speed_sd * Z - speed_sd**2 / 2)`` (mean one), so in tenure month
    ``k`` it produces ``ramp(k * v)``, interpolating linearly between months.
    """

    curve: list[Fraction] = Field(default_factory=list, max_length=120)
    speed_sd: NonNegative = 0.0


class HazardBand(_Model):
    """Attrition from tenure month ``from_month`` on (until the next band)."""

    from_month: int = Field(ge=0)
    annual_rate: Annotated[float, Field(ge=0.0, lt=1.0)] | None = None
    monthly_hazard: Fraction | None = None

    @model_validator(mode="after")
    def _one_rate(self) -> HazardBand:
        if (self.annual_rate is None) == (self.monthly_hazard is None):
            raise ValueError(
                "give exactly one of annual_rate or monthly_hazard; "
                + _given(self, "annual_rate", "monthly_hazard")
            )
        return self


class Attrition(_Model):
    """Leaving: one annual rate, one monthly hazard, or hazard bands by tenure."""

    annual_rate: Annotated[float, Field(ge=0.0, lt=1.0)] | None = None
    monthly_hazard: Fraction | None = None
    bands: list[HazardBand] | None = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _one_form(self) -> Attrition:
        given = [self.annual_rate, self.monthly_hazard, self.bands]
        if sum(v is not None for v in given) != 1:
            raise ValueError(
                "give exactly one of annual_rate, monthly_hazard or bands; "
                + _given(self, "annual_rate", "monthly_hazard", "bands")
            )
        if self.bands is not None:
            starts = [b.from_month for b in self.bands]
            if starts[0] != 0 or starts != sorted(set(starts)):
                raise ValueError(
                    f"bands must start at from_month 0 and increase strictly; got {starts}"
                )
        return self


class Delay(_Model):
    """A delay in whole months: ``fixed``, a ``pmf`` over 0, 1, 2, ... months,
    or a Poisson ``mean``."""

    fixed: int | None = Field(default=None, ge=0, le=120)
    pmf: list[Fraction] | None = Field(default=None, min_length=1, max_length=121)
    mean: Annotated[float, Field(ge=0.0, le=60.0)] | None = None

    @model_validator(mode="after")
    def _one_form(self) -> Delay:
        given = [self.fixed, self.pmf, self.mean]
        if sum(v is not None for v in given) != 1:
            raise ValueError(
                "give exactly one of fixed, pmf or mean; " + _given(self, "fixed", "pmf", "mean")
            )
        if self.pmf is not None and not math.isclose(sum(self.pmf), 1.0, abs_tol=1e-6):
            raise ValueError(
                f"pmf {self.pmf} sums to {sum(self.pmf):.6g}; its probabilities must sum to 1"
            )
        return self


def _delay(value: Any) -> Any:
    """Let a bare integer stand for ``{fixed: n}``."""
    if isinstance(value, int) and not isinstance(value, bool):
        return {"fixed": value}
    return value


DelaySpec = Annotated[Delay, BeforeValidator(_delay)]


class Backfill(_Model):
    """Whether a departure opens a vacancy, and how long it takes to fill."""

    enabled: bool = False
    time_to_fill: DelaySpec = Field(default_factory=lambda: Delay(fixed=3))


class Hiring(_Model):
    """How planned hires behave: start slip and offer acceptance."""

    slip: DelaySpec = Field(default_factory=lambda: Delay(fixed=0))
    acceptance: Annotated[float, Field(gt=0.0, le=1.0)] = 1.0


class WinRate(_Model):
    """A rep's win rate ``p ~ Beta(alpha, beta)``, given as ``mean`` and
    ``concentration`` (alpha + beta) or as ``alpha`` and ``beta``."""

    mean: Annotated[float, Field(gt=0.0, lt=1.0)] | None = None
    concentration: Positive | None = None
    alpha: Positive | None = None
    beta: Positive | None = None

    @model_validator(mode="after")
    def _one_form(self) -> WinRate:
        by_mean = self.mean is not None and self.concentration is not None
        by_shape = self.alpha is not None and self.beta is not None
        others = (self.alpha, self.beta) if by_mean else (self.mean, self.concentration)
        if by_mean == by_shape or any(v is not None for v in others):
            raise ValueError(
                "give mean and concentration, or alpha and beta; "
                + _given(self, "mean", "concentration", "alpha", "beta")
            )
        return self

    @property
    def shape(self) -> tuple[float, float]:
        """``(alpha, beta)`` of the Beta distribution."""
        if self.alpha is not None:
            return self.alpha, self.beta
        return self.mean * self.concentration, (1 - self.mean) * self.concentration


class DealSize(_Model):
    """Won deal size ``~ LogNormal(mu, sigma)``, given as ``median`` and
    ``sigma``, or as ``mean`` and ``cv``."""

    median: Positive | None = None
    sigma: NonNegative | None = None
    mean: Positive | None = None
    cv: NonNegative | None = None

    @model_validator(mode="after")
    def _one_form(self) -> DealSize:
        by_median = self.median is not None and self.sigma is not None
        by_mean = self.mean is not None and self.cv is not None
        others = (self.mean, self.cv) if by_median else (self.median, self.sigma)
        if by_median == by_mean or any(v is not None for v in others):
            raise ValueError(
                "give median and sigma, or mean and cv; "
                + _given(self, "median", "sigma", "mean", "cv")
            )
        return self

    @property
    def log_params(self) -> tuple[float, float]:
        """``(mu, sigma)`` of the log of deal size."""
        if self.median is not None:
            return math.log(self.median), self.sigma
        sigma = math.sqrt(math.log1p(self.cv**2))
        return math.log(self.mean) - sigma**2 / 2, sigma


class CapacityProductivity(_Model):
    """Capacity-level bookings: a ramped rep's month is
    ``Gamma(mean = monthly_capacity * multipliers, cv)``."""

    model: Literal["capacity"]
    monthly_capacity: NonNegative
    cv: NonNegative = 0.0
    skill_sd: NonNegative = 0.0
    attainment: Annotated[float, Field(gt=0.0, le=10.0)] = 1.0


class DealProductivity(_Model):
    """Deal-level bookings: opportunities ~ Poisson, won with the rep's
    Beta win rate, each won deal sized from a lognormal."""

    model: Literal["deal"]
    opportunities_per_month: Positive
    win_rate: WinRate
    deal_size: DealSize
    skill_sd: NonNegative = 0.0
    attainment: Annotated[float, Field(gt=0.0, le=10.0)] = 1.0


Productivity = Annotated[
    CapacityProductivity | DealProductivity, Field(discriminator="model")
]


class Segment(_Model):
    """One segment's ramp, attrition, productivity, seasonality and policies."""

    ramp: Ramp = Field(default_factory=Ramp)
    attrition: Attrition | None = None
    productivity: Productivity
    seasonality: list[NonNegative] = Field(
        default_factory=lambda: [1.0] * 12, min_length=12, max_length=12
    )
    backfill: Backfill = Field(default_factory=Backfill)
    hiring: Hiring = Field(default_factory=Hiring)
    cost_per_month: NonNegative = 0.0


class Rep(_Model):
    """A rep on the roster at (or before) the horizon start."""

    id: str = Field(min_length=1)
    segment: str
    start: Date
    end: Date | None = None
    productivity: Annotated[float, Field(gt=0.0, le=10.0)] = 1.0

    @model_validator(mode="after")
    def _ordered(self) -> Rep:
        if self.end is not None and self.end < self.start:
            raise ValueError(f"end {self.end} is before start {self.start}")
        return self


class Hire(_Model):
    """``count`` planned hires into ``segment`` starting in ``month``."""

    segment: str
    month: Month
    count: int = Field(default=1, ge=1, le=10_000)


class HiringLimit(_Model):
    """Recruiting limits of one segment for the hiring optimiser.

    ``window`` is ``[first, last]``: the months (inclusive) hires may be
    planned in; ``max_per_month`` caps hires per month and ``max_total``
    over the whole plan.
    """

    max_per_month: int | None = Field(default=None, ge=0, le=100)
    max_total: int | None = Field(default=None, ge=0, le=10_000)
    window: list[Month] | None = Field(default=None, min_length=2, max_length=2)

    @model_validator(mode="after")
    def _ordered(self) -> HiringLimit:
        if self.window is not None and self.window[1] < self.window[0]:
            raise ValueError(
                f"window ends ({self.window[1]:%Y-%m}) before it starts "
                f"({self.window[0]:%Y-%m}); write [first, last]"
            )
        return self


class Optimiser(_Model):
    """Settings of ``rampcast plan-hiring``; see ``docs/planning_optimiser.md``."""

    confidence: Annotated[float, Field(gt=0.0, lt=1.0)] = 0.9
    margin: Annotated[float, Field(ge=0.0, lt=1.0)] = 0.0
    budget: NonNegative | None = None
    cost_basis: Literal["planned", "expected"] = "planned"
    trials: int = Field(default=1000, ge=10, le=100_000)
    validation_trials: int | None = Field(default=None, ge=100, le=10_000_000)
    max_per_month: int = Field(default=2, ge=0, le=100)
    limits: dict[str, HiringLimit] = Field(default_factory=dict)
    solver: Literal["highs", "cbc"] = "highs"
    time_limit: Positive = 60.0
    gap: Annotated[float, Field(ge=0.0, lt=1.0)] = 1e-4


class Scenario(_Model):
    """A whole planning scenario; see ``docs/scenario.md``.

    Attributes
    ----------
    source : str or None
        The file it was read from (not a YAML key).
    inputs : dict
        sha256 of each file read (the scenario, its roster CSV and its
        calibration file).
    calibration : str or None
        The calibration file the scenario's ``calibration:`` key named.
    sources : dict
        Where each calibratable value came from, by key path
        (``segments.smb.productivity.win_rate``): ``scenario``,
        ``calibration``, ``calibration (fallback)`` or ``default``. Empty
        without a calibration file. Neither this nor ``calibration`` is
        dumped: a dumped scenario states every value itself.
    """

    name: str = "scenario"
    description: str = ""
    currency: str = "USD"
    horizon: Horizon
    simulation: Simulation = Field(default_factory=Simulation)
    targets: Targets = Field(default_factory=Targets)
    conventions: Conventions = Field(default_factory=Conventions)
    segments: dict[str, Segment] = Field(min_length=1)
    roster: list[Rep] = Field(default_factory=list)
    hiring_plans: dict[str, list[Hire]] = Field(
        default_factory=lambda: {"none": []}, min_length=1
    )
    plan: str | None = None
    optimiser: Optimiser = Field(default_factory=Optimiser)
    source: str | None = Field(default=None, exclude=True)
    inputs: dict[str, str] = Field(default_factory=dict, exclude=True)
    calibration: str | None = Field(default=None, exclude=True)
    sources: dict[str, str] = Field(default_factory=dict, exclude=True)

    @model_validator(mode="after")
    def _references(self) -> Scenario:
        _check_references(self)
        return self

    @property
    def plan_name(self) -> str:
        """The hiring plan ``run`` uses: ``plan`` or the first one listed."""
        return self.plan if self.plan is not None else next(iter(self.hiring_plans))

    @property
    def months(self) -> list[dt.date]:
        """First day of each simulated month."""
        start = self.horizon.start
        return [_add_months(start, m) for m in range(self.horizon.months)]


def _add_months(month: dt.date, n: int) -> dt.date:
    total = month.year * 12 + month.month - 1 + n
    return dt.date(total // 12, total % 12 + 1, 1)


class _RefError(ValueError):
    """A cross-reference error carrying its key path.

    ``rep`` and ``column`` locate errors in the roster, so that a roster read
    from a CSV can be reported by line and column instead of key path.
    """

    def __init__(self, path: str, message: str, rep: int | None = None, column: str = ""):
        self.path = path
        self.rep = rep
        self.column = column
        super().__init__(message)


def _check_references(s: Scenario) -> None:
    names = sorted(s.segments)
    allowed = f"allowed: {', '.join(names)}"
    for i, rep in enumerate(s.roster):
        if rep.segment not in s.segments:
            raise _RefError(
                f"roster[{i}].segment",
                f"unknown segment {rep.segment!r} ({allowed})",
                rep=i,
                column="segment",
            )
    last = _add_months(s.horizon.start, s.horizon.months - 1)
    for plan, hires in s.hiring_plans.items():
        for j, hire in enumerate(hires):
            where = f"hiring_plans.{plan}[{j}]"
            if hire.segment not in s.segments:
                raise _RefError(
                    f"{where}.segment", f"unknown segment {hire.segment!r} ({allowed})"
                )
            if not s.horizon.start <= hire.month <= last:
                raise _RefError(
                    f"{where}.month",
                    f"{hire.month:%Y-%m} is outside the horizon "
                    f"({s.horizon.start:%Y-%m} to {last:%Y-%m})",
                )
    for name, limit in s.optimiser.limits.items():
        where = f"optimiser.limits.{name}"
        if name not in s.segments:
            raise _RefError(where, f"unknown segment {name!r} ({allowed})")
        for j, month in enumerate(limit.window or []):
            if not s.horizon.start <= month <= last:
                raise _RefError(
                    f"{where}.window[{j}]",
                    f"{month:%Y-%m} is outside the horizon "
                    f"({s.horizon.start:%Y-%m} to {last:%Y-%m})",
                )
    if s.plan is not None and s.plan not in s.hiring_plans:
        raise _RefError(
            "plan", f"unknown hiring plan {s.plan!r} (allowed: {', '.join(s.hiring_plans)})"
        )
    seen: dict[str, int] = {}
    for i, rep in enumerate(s.roster):
        if rep.id in seen:
            raise _RefError(
                f"roster[{i}].id",
                f"rep id {rep.id!r} appears more than once (first as rep {seen[rep.id] + 1} "
                "of the roster); ids must be unique",
                rep=i,
                column="id",
            )
        seen[rep.id] = i


ROSTER_COLUMNS = ("id", "segment", "start", "end", "productivity")
_REQUIRED_COLUMNS = ("id", "segment", "start")


def _read_roster_csv(path: Path, key: str) -> tuple[list[dict[str, Any]], list[int]]:
    """Read a roster CSV into rep dicts, naming file, row and column on error.

    Returns the rows and the line each row ends on (blank lines are skipped,
    so the line is not simply the row number plus one).
    """
    if not path.is_file():
        raise ScenarioError(f"roster file {str(path)!r} does not exist", path=key)
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        header = [h.strip() for h in (reader.fieldnames or [])]
        missing = [c for c in _REQUIRED_COLUMNS if c not in header]
        if missing:
            raise ScenarioError(
                f"missing column {missing[0]!r}; the roster needs columns "
                f"{', '.join(_REQUIRED_COLUMNS)} and may have end, productivity "
                f"(found: {', '.join(header) or 'no header'})",
                source=str(path),
            )
        unknown = [c for c in header if c not in ROSTER_COLUMNS]
        if unknown:
            raise ScenarioError(
                f"unknown column {unknown[0]!r}; allowed: {', '.join(ROSTER_COLUMNS)}",
                source=str(path),
            )
        rows, lines = [], []
        for row in reader:
            if None in row:  # DictReader files surplus values under the key None
                raise ScenarioError(
                    f"{len(header) + len(row[None])} values but the header has "
                    f"{len(header)} columns ({', '.join(header)})",
                    source=str(path),
                    path=f"line {reader.line_num}",
                )
            clean = {k.strip(): (v or "").strip() for k, v in row.items() if k}
            rows.append({k: v for k, v in clean.items() if v != ""})
            lines.append(reader.line_num)
    return rows, lines


def _resolve_roster(raw: dict[str, Any], base: Path | None, inputs: dict[str, str]) -> None:
    """Replace a roster path (``roster: reps.csv`` or ``{csv: reps.csv}``) by its rows."""
    roster = raw.get("roster")
    if isinstance(roster, dict) and set(roster) == {"csv"}:
        roster = roster["csv"]
    if not isinstance(roster, str):
        return
    path = Path(roster)
    if not path.is_absolute() and base is not None:
        path = base / path
    rows, lines = _read_roster_csv(path, "roster")
    inputs[str(path)] = _sha256(path)
    raw["roster"] = rows
    raw["_roster_csv"] = (str(path), lines)


#: Top-level keys of a calibration file (written by rampcast calibrate).
CALIBRATION_KEYS = ("rampcast_calibration", "rampcast_version", "created_utc", "as_of",
                    "window", "segment_by", "inputs", "notes", "thresholds", "segments",
                    "provenance", "estimates")
#: The segment keys a calibration may fill in.
CALIBRATION_SEGMENT_KEYS = ("ramp", "attrition", "productivity", "seasonality")
#: Calibratable values, by key path inside a segment.
CALIBRATED_PATHS = ("ramp.curve", "attrition", "productivity.opportunities_per_month",
                    "productivity.win_rate", "productivity.deal_size", "seasonality")


def _read_calibration(value: Any, base: Path | None, source: str | None,
                      inputs: dict[str, str]) -> tuple[Path, dict]:
    """Locate, read and shape-check the calibration file a scenario names."""
    if not isinstance(value, str) or not value.strip():
        raise ScenarioError(f"must be the path of a calibration YAML file (got {value!r})",
                            source=source, path="calibration")
    path = Path(value.strip())
    if not path.is_absolute() and base is not None:
        path = base / path
    if not path.is_file():
        raise ScenarioError(f"calibration file {str(path)!r} does not exist; write it with "
                            "rampcast calibrate -o, or fix the path (relative to the "
                            "scenario file)", source=source, path="calibration")
    try:
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=_TextDates)  # noqa: S506
    except yaml.YAMLError as exc:
        problem = getattr(exc, "problem", None) or str(exc)
        raise ScenarioError(f"not valid YAML: {problem}", source=str(path)) from None
    if not isinstance(raw, dict) or not isinstance(raw.get("segments"), dict):
        raise ScenarioError("not a calibration file: it needs a mapping with a segments: "
                            "section (written by rampcast calibrate)", source=str(path))
    unknown = [k for k in raw if k not in CALIBRATION_KEYS]
    if unknown:
        raise ScenarioError(f"unknown key; allowed: {', '.join(CALIBRATION_KEYS)}",
                            source=str(path), path=str(unknown[0]))
    inputs[str(path)] = _sha256(path)
    return path, raw


def _apply_calibration(data: dict[str, Any], value: Any, base: Path | None,
                       source: str | None, inputs: dict[str, str]) -> None:
    """Fill segment values the scenario does not state from its calibration file.

    Scenario keys win. ``data`` gets ``calibration`` (the file) and
    ``sources`` (key path -> where the value came from).
    """
    path, cal = _read_calibration(value, base, source, inputs)
    segments = data.get("segments")
    if not isinstance(segments, dict):
        return
    segments = {k: (dict(v) if isinstance(v, dict) else v) for k, v in segments.items()}
    provenance = cal.get("provenance") or {}
    sources: dict[str, str] = {}
    for name, values in cal["segments"].items():
        where = f"segments.{name}"
        if name not in segments:
            raise ScenarioError(
                f"segment {name!r} is not in the scenario (its segments: "
                f"{', '.join(map(str, segments))}); add it to the scenario or "
                "drop it from the calibration", source=str(path), path=where)
        if not isinstance(values, dict):
            raise ScenarioError("must be a mapping of segment keys", source=str(path),
                                path=where)
        unknown = [k for k in values if k not in CALIBRATION_SEGMENT_KEYS]
        if unknown:
            raise ScenarioError(f"unknown key; a calibration may give "
                                f"{', '.join(CALIBRATION_SEGMENT_KEYS)}", source=str(path),
                                path=f"{where}.{unknown[0]}")
    for name, seg in segments.items():
        if not isinstance(seg, dict):
            continue
        filled = _fill_segment(seg, cal["segments"].get(name) or {})
        fallback = {k for k, rec in (provenance.get(name) or {}).items()
                    if isinstance(rec, dict) and rec.get("fallback")}
        for key in CALIBRATED_PATHS:
            origin = filled.get(key, "default")
            if origin == "calibration" and any(f.startswith(key) for f in fallback):
                origin = "calibration (fallback)"
            sources[f"segments.{name}.{key}"] = origin
    data["segments"] = segments
    data["calibration"] = str(path)
    data["sources"] = sources


def _fill_segment(seg: dict[str, Any], cal: dict[str, Any]) -> dict[str, str]:
    """Fill ``seg`` in place from ``cal``; return key path -> origin."""
    origin: dict[str, str] = {}

    def take(key: str, stated: bool, available: bool) -> bool:
        if stated:
            origin[key] = "scenario"
        elif available:
            origin[key] = "calibration"
        return not stated and available

    ramp = seg.get("ramp")
    cal_curve = (cal.get("ramp") or {}).get("curve")
    stated = isinstance(ramp, dict) and "curve" in ramp
    if take("ramp.curve", stated, cal_curve is not None) and (ramp is None
                                                               or isinstance(ramp, dict)):
        seg["ramp"] = {**(ramp or {}), "curve": cal_curve}
    for key in ("attrition", "seasonality"):
        if take(key, key in seg, key in cal):
            seg[key] = cal[key]
    prod, cal_prod = seg.get("productivity"), cal.get("productivity") or {}
    if prod is None and cal_prod:
        seg["productivity"] = dict(cal_prod)
        for key in ("opportunities_per_month", "win_rate", "deal_size"):
            take(f"productivity.{key}", False, key in cal_prod)
    elif isinstance(prod, dict):
        deal = prod.get("model", "deal") == "deal"
        prod = dict(prod)
        for key in ("opportunities_per_month", "win_rate", "deal_size"):
            if take(f"productivity.{key}", key in prod, deal and key in cal_prod):
                prod[key] = cal_prod[key]
                prod.setdefault("model", "deal")
        seg["productivity"] = prod
    return origin


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _format_loc(loc: tuple[Any, ...]) -> str:
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts.append(f"[{item}]")
        elif item in ("function-after", "function-before") or "[" in str(item):
            continue
        elif item in ("capacity", "deal") and parts and parts[-1].endswith("productivity"):
            continue
        else:
            parts.append(("." if parts else "") + str(item))
    return "".join(parts)


# the discriminated unions: discriminator key -> the values it may take
_TAGS = {
    "model": tuple(
        get_args(m.model_fields["model"].annotation)[0]
        for m in (CapacityProductivity, DealProductivity)
    )
}


def _csv_error(message: str, roster_csv: tuple[str, list[int]], rep: int, column: str):
    """An error in a roster read from CSV, located by the CSV's line and column."""
    file, lines = roster_csv
    where = f"line {lines[rep]}" + (f", column {column}" if column else "")
    return ScenarioError(message, source=file, path=where)


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    """The scenario models named anywhere inside a field's type."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in typing.get_args(annotation) for m in _models_in(arg)]


def _keys_at(parent: tuple[Any, ...]) -> list[str]:
    """Keys allowed at a location (list indices and mapping names are stepped over)."""
    models: list[type[BaseModel]] = [Scenario]
    for part in parent:
        inner = [m for model in models if isinstance(part, str) and part in model.model_fields
                 for m in _models_in(model.model_fields[part].annotation)]
        models = inner or models  # an index or a segment/plan name: same models
    hidden = {"source", "inputs", "sources"}
    return sorted({k for m in models for k in m.model_fields} - hidden)


def _did_you_mean(loc: tuple[Any, ...]) -> str:
    allowed = _keys_at(loc[:-1])
    close = difflib.get_close_matches(str(loc[-1]), allowed, n=1, cutoff=0.75)
    if close:
        return f"; did you mean {close[0]!r}?"
    return f"; allowed here: {', '.join(allowed)}"


def _error_from_validation(
    exc: ValidationError, source: str | None, roster_csv: tuple[str, list[int]] | None
) -> ScenarioError:
    errors = exc.errors(include_url=False)
    # a misspelt key also makes its real key "missing": report the misspelling
    err = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
    loc = tuple(err["loc"])
    message = err["msg"].removeprefix("Value error, ").replace(" after validation", "")
    value = err.get("input")
    shown = "" if isinstance(value, dict) or value is None else f" (got {value!r})"
    if repr(value) in message:
        shown = ""
    if err["type"] == "extra_forbidden":
        message = "unknown key" + _did_you_mean(loc)
        shown = ""
    elif err["type"] in ("union_tag_invalid", "union_tag_not_found"):
        key = err["ctx"]["discriminator"].strip("'")
        allowed = ", ".join(_TAGS.get(key, ()))
        loc = (*loc, key)
        message = (
            f"unknown {key} {err['ctx']['tag']!r}; allowed: {allowed}"
            if err["type"] == "union_tag_invalid"
            else f"missing key {key!r}; give one of: {allowed}"
        )
    if roster_csv and len(loc) > 1 and loc[0] == "roster" and isinstance(loc[1], int):
        column = ".".join(str(p) for p in loc[2:])
        return _csv_error(f"{message}{shown}", roster_csv, loc[1], column)
    return ScenarioError(f"{message}{shown}", source=source, path=_format_loc(loc) or None)


def scenario_from_dict(
    raw: dict[str, Any], source: str | None = None, base: Path | None = None
) -> Scenario:
    """Validate a parsed scenario mapping.

    Parameters
    ----------
    raw
        The scenario as plain data (what YAML gives). It is not modified.
    source
        File name used in error messages.
    base
        Folder that relative roster paths are resolved against.

    Raises
    ------
    ScenarioError
        Naming the file, key path, bad value and what is allowed.
    """
    if raw is None:
        raise ScenarioError(
            "the file is empty; it must hold a mapping of keys (horizon, segments, ...)",
            source=source,
        )
    if not isinstance(raw, dict):
        raise ScenarioError(
            f"the file must hold a mapping of keys, not {type(raw).__name__}", source=source
        )
    data = dict(raw)
    inputs: dict[str, str] = {}
    try:
        _resolve_roster(data, base, inputs)
    except ScenarioError as exc:
        raise ScenarioError(exc.detail, source=exc.source or source, path=exc.path) from None
    roster_csv = data.pop("_roster_csv", None)
    if "calibration" in data:
        _apply_calibration(data, data.pop("calibration"), base, source, inputs)
    data["source"] = source
    if source is not None and Path(source).is_file():
        inputs = {str(source): _sha256(Path(source)), **inputs}
    data["inputs"] = inputs
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        inner = exc.errors(include_url=False)[0].get("ctx", {}).get("error")
        if isinstance(inner, _RefError):
            if roster_csv is not None and inner.rep is not None:
                raise _csv_error(str(inner), roster_csv, inner.rep, inner.column) from None
            raise ScenarioError(str(inner), source=source, path=inner.path) from None
        error = _error_from_validation(exc, source, roster_csv)
        raise _blame_calibration(error, data) from None


def _blame_calibration(error: ScenarioError, data: dict[str, Any]) -> ScenarioError:
    """Name the calibration file when the bad value came from it."""
    for key, origin in data.get("sources", {}).items():
        if origin.startswith("calibration") and (error.path or "").startswith(key):
            return ScenarioError(error.detail, source=data["calibration"], path=error.path)
    return error


class _TextDates(yaml.SafeLoader):
    """Safe YAML that leaves dates as text, so that a date which is not a real
    day (2024-02-30) reaches validation and is reported with its key path."""


_TextDates.yaml_implicit_resolvers = {
    first: [(tag, regex) for tag, regex in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario YAML file.

    Parameters
    ----------
    path
        The scenario file. A roster given as a CSV path is read relative to it.

    Returns
    -------
    Scenario
        The validated scenario; ``scenario.inputs`` holds the sha256 of each
        file read.

    Raises
    ------
    ScenarioError
        If the file is missing, is not YAML, or any value is invalid.
    """
    path = Path(path)
    if path.is_dir():
        raise ScenarioError("is a folder; give a scenario YAML file", source=str(path))
    if not path.is_file():
        raise ScenarioError("scenario file does not exist", source=str(path))
    try:
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=_TextDates)  # noqa: S506
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc)
        raise ScenarioError(f"not valid YAML: {problem}", source=str(path), path=where) from None
    return scenario_from_dict(raw, source=str(path), base=path.parent)


def dump_scenario(scenario: Scenario) -> dict[str, Any]:
    """The scenario as plain data that :func:`scenario_from_dict` reads back."""
    return scenario.model_dump(mode="json", exclude_none=True)
