"""Read CRM and HR exports into canonical frames.

Three kinds of file, each with a few *layouts* (the column names a tool
exports) and a *mapping* option for anything else:

- opportunities (:func:`read_opportunities`): one row per deal;
- stage histories (:func:`read_stage_history`): one row per stage change;
- rosters and HR records (:func:`read_roster`): one row per rep.

Every reader returns the canonical columns listed in
:data:`OPPORTUNITY_COLUMNS`, :data:`HISTORY_COLUMNS` and
:data:`ROSTER_COLUMNS`, whatever the layout. The frame's index is the row's
position in the file, so ``index + 2`` is its line number (header on line
1, no multi-line cells). A file that does not match its layout raises one
:class:`~rampcast.errors.DataError` naming the file, the column, an example
bad row and the mapping that fixes it. Readers never write to their input.

Dates are read in ISO form (``2017-03-01``, ``2017-03-01 10:00``,
``2017-03-01T10:00:00Z``) or with slashes or dots (``14/03/2022``). Whether
slashed dates are day-first is decided per file from the values (a first
part above 12 means day-first, a second part above 12 month-first); when no
value settles it, pass ``dayfirst``. Time zones are dropped (wall time kept).
"""

from __future__ import annotations

import csv
import logging
import re
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from rampcast.errors import DataError, DataWarning

__all__ = [
    "HISTORY_COLUMNS",
    "OPPORTUNITY_COLUMNS",
    "OPPORTUNITY_LAYOUTS",
    "ROSTER_COLUMNS",
    "ROSTER_LAYOUTS",
    "Layout",
    "read_catalogue",
    "read_opportunities",
    "read_roster",
    "read_stage_history",
]

logger = logging.getLogger(__name__)

OPPORTUNITY_COLUMNS = (
    "opportunity_id",
    "owner",
    "account",
    "product",
    "stage",
    "amount",
    "created",
    "closed",
    "is_closed",
    "is_won",
    "segment",
)
HISTORY_COLUMNS = ("opportunity_id", "stage", "changed", "amount")
ROSTER_COLUMNS = ("rep", "segment", "start", "end", "left", "tenure_months", "source_note")

_DATES = {"created", "closed", "changed", "start", "end"}
_FLAGS = {"is_closed", "is_won", "left"}
_NUMBERS = {"amount", "tenure_months"}
_DAYS_PER_MONTH = 365.25 / 12


@dataclass(frozen=True)
class Layout:
    """The column names one tool exports, and what its stage names mean.

    Parameters
    ----------
    name
        The layout's name (``layout=`` and ``--layout``).
    columns
        Canonical column -> candidate file columns; the first one present wins.
    required
        Canonical columns the file must have (directly or by mapping).
    won, lost, open
        Stage names meaning won, lost and still open. Flags are derived from
        them when the file has no flag columns; stages outside the three
        lists are *unknown* to the audit (when the lists are not empty).
    extra
        Non-canonical columns kept when present (name -> file column).
    tenure_unit
        Months per unit of a tenure column (12 for years).
    note
        What the layout can and cannot tell (rosters: ``source_note``).
    """

    name: str
    columns: Mapping[str, tuple[str, ...]]
    required: tuple[str, ...]
    won: tuple[str, ...] = ()
    lost: tuple[str, ...] = ()
    open: tuple[str, ...] = ()
    extra: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    tenure_unit: float = 1.0
    note: str = ""

    @property
    def stages(self) -> tuple[str, ...]:
        """Every stage name the layout knows."""
        return self.won + self.lost + self.open


_SALESFORCE_OPEN = (
    "Prospecting",
    "Qualification",
    "Needs Analysis",
    "Value Proposition",
    "Id. Decision Makers",
    "Perception Analysis",
    "Proposal/Price Quote",
    "Negotiation/Review",
)
_HUBSPOT_OPEN = (
    "appointmentscheduled",
    "qualifiedtobuy",
    "presentationscheduled",
    "decisionmakerboughtin",
    "contractsent",
    "Appointment Scheduled",
    "Qualified To Buy",
    "Presentation Scheduled",
    "Decision Maker Bought-In",
    "Contract Sent",
)
_OPP_REQUIRED = ("opportunity_id", "owner", "stage", "amount", "created", "closed")

OPPORTUNITY_LAYOUTS: dict[str, Layout] = {
    "generic": Layout(
        "generic",
        {c: (c,) for c in OPPORTUNITY_COLUMNS},
        _OPP_REQUIRED,
        won=("Won", "Closed Won"),
        lost=("Lost", "Closed Lost"),
    ),
    "salesforce": Layout(
        "salesforce",
        {
            "opportunity_id": ("Id", "Opportunity ID"),
            "owner": ("OwnerId", "Opportunity Owner"),
            "account": ("AccountId", "Account Name"),
            "stage": ("StageName", "Stage"),
            "amount": ("Amount",),
            "created": ("CreatedDate", "Created Date"),
            "closed": ("CloseDate", "Close Date"),
            "is_closed": ("IsClosed", "Closed"),
            "is_won": ("IsWon", "Won"),
        },
        _OPP_REQUIRED,
        won=("Closed Won",),
        lost=("Closed Lost",),
        open=_SALESFORCE_OPEN,
        extra={"forecast_category": ("ForecastCategoryName", "Forecast Category")},
    ),
    "hubspot": Layout(
        "hubspot",
        {
            "opportunity_id": ("hs_object_id", "Record ID", "Deal ID", "dealId"),
            "owner": ("hubspot_owner_id", "Deal owner", "Deal Owner"),
            "account": ("associatedcompanyid", "Associated Company", "Associated Company IDs"),
            "stage": ("dealstage", "Deal Stage"),
            "amount": ("amount", "Amount"),
            "created": ("createdate", "Create Date"),
            "closed": ("closedate", "Close Date"),
            "is_closed": ("hs_is_closed", "Is Closed"),
            "is_won": ("hs_is_closed_won", "Is Closed Won", "Is closed won"),
        },
        _OPP_REQUIRED,
        won=("closedwon", "Closed Won"),
        lost=("closedlost", "Closed Lost"),
        open=_HUBSPOT_OPEN,
        extra={"pipeline": ("pipeline", "Pipeline")},
    ),
    "maven": Layout(
        "maven",
        {
            "opportunity_id": ("opportunity_id",),
            "owner": ("sales_agent",),
            "account": ("account",),
            "product": ("product",),
            "stage": ("deal_stage",),
            "amount": ("close_value",),
            "created": ("engage_date",),
            "closed": ("close_date",),
        },
        _OPP_REQUIRED,
        won=("Won",),
        lost=("Lost",),
        open=("Engaging", "Prospecting"),
    ),
}

HISTORY_LAYOUTS: dict[str, Layout] = {
    "generic": Layout(
        "generic", {c: (c,) for c in HISTORY_COLUMNS}, ("opportunity_id", "stage", "changed")
    ),
    "salesforce": Layout(
        "salesforce",
        {
            "opportunity_id": ("OpportunityId", "OppID", "Opportunity ID"),
            "stage": ("StageName", "Stage"),
            "changed": ("CreatedDate", "Created Date"),
            "amount": ("Amount",),
        },
        ("opportunity_id", "stage", "changed"),
    ),
}

_IBM_NOTE = (
    "cross-sectional snapshot: Attrition has no date or observation window, and "
    "YearsAtCompany is tenure at exit for leavers but at the snapshot for stayers; "
    "a hazard from this file (leavers at tenure t / everyone with tenure >= t) is an "
    "assumption, not a measurement"
)

ROSTER_LAYOUTS: dict[str, Layout] = {
    "generic": Layout(
        "generic",
        {c: (c,) for c in ROSTER_COLUMNS if c != "source_note"},
        ("rep",),
        note="roster with start and end dates; left means an end date is recorded",
    ),
    "babushkin": Layout(
        "babushkin",
        {"segment": ("profession",), "tenure_months": ("stag",), "left": ("event",)},
        ("tenure_months", "left"),
        note="tenure in months (stag) with an event flag: event 0 is censored (still "
        "employed); no calendar dates",
    ),
    "ibm": Layout(
        "ibm",
        {
            "rep": ("EmployeeNumber",),
            "segment": ("Department",),
            "tenure_months": ("YearsAtCompany",),
            "left": ("Attrition",),
        },
        ("rep", "tenure_months", "left"),
        tenure_unit=12.0,
        note=_IBM_NOTE,
    ),
    "maven_teams": Layout(
        "maven_teams",
        {"rep": ("sales_agent",), "segment": ("regional_office",)},
        ("rep",),
        note="team list only: no start or end dates, so tenure is unknown",
    ),
}


# --- public readers --------------------------------------------------------------------


def read_opportunities(
    path,
    layout: str = "generic",
    mapping: Mapping[str, str] | None = None,
    history=None,
    dayfirst: bool | None = None,
) -> pd.DataFrame:
    """Read an opportunity export into the canonical columns.

    Parameters
    ----------
    path
        CSV file (comma, semicolon or tab separated; UTF-8 with or without
        a BOM, Latin-1 as a fallback).
    layout
        ``"generic"``, ``"salesforce"``, ``"hubspot"`` or ``"maven"``: which
        file columns hold which canonical column (see ``docs/data.md``).
    mapping
        Canonical column -> file column, overriding the layout, e.g.
        ``{"closed": "CloseDate"}`` (``--map closed=CloseDate``).
    history
        Optional stage-history file (Salesforce OpportunityHistory). It is
        read and checked with :func:`read_stage_history`; its path is kept
        in ``frame.attrs["stage_history"]`` for the caller to read the table.
    dayfirst
        Force day-first (True) or month-first (False) slashed dates;
        ``None`` detects it from the values.

    Returns
    -------
    pandas.DataFrame
        ``opportunity_id``, ``owner``, ``account``, ``product``, ``stage``
        (strings, missing as NA), ``amount`` (float), ``created``, ``closed``
        (datetime64, missing as NaT), ``is_closed``, ``is_won`` (bool),
        ``segment`` (NA unless mapped), plus layout extras such as
        Salesforce's ``forecast_category``. ``attrs`` holds ``source``,
        ``layout`` and the layout's ``won``, ``lost`` and ``open`` stage names.

    Notes
    -----
    Flag columns, where the file has them, are kept as given (so that the
    audit can report flags that contradict the stage); where it has none
    they follow the stage: won stages are closed and won, lost stages closed.
    Generic files know ``Won``/``Closed Won`` and ``Lost``/``Closed Lost``
    (case, spaces and punctuation ignored).
    """
    spec = _layout(OPPORTUNITY_LAYOUTS, layout, "layout")
    source = Path(path)
    raw = _read_csv(source)
    columns = _resolve(raw, spec, mapping, source, OPPORTUNITY_LAYOUTS, OPPORTUNITY_COLUMNS)
    out = pd.DataFrame(index=raw.index)
    for name in ("opportunity_id", "owner", "account", "product", "stage"):
        out[name] = _text(raw, columns.get(name))
    out["amount"] = _number(raw, columns.get("amount"), "amount", source)
    dates = _dates(raw, {n: columns.get(n) for n in ("created", "closed")}, source, dayfirst)
    out["created"], out["closed"] = dates["created"], dates["closed"]
    won, lost = _stage_flags(out["stage"], spec)
    is_won = _flag(raw, columns.get("is_won"), "is_won", source)
    is_closed = _flag(raw, columns.get("is_closed"), "is_closed", source)
    out["is_won"] = is_won.fillna(won).astype(bool) if is_won is not None else won
    derived_closed = won | lost | out["is_won"]
    out["is_closed"] = (
        is_closed.fillna(derived_closed).astype(bool) if is_closed is not None else derived_closed
    )
    out["segment"] = _text(raw, columns.get("segment"))
    out = out[list(OPPORTUNITY_COLUMNS)]
    for name, candidates in spec.extra.items():
        found = next((c for c in candidates if c in raw.columns), None)
        if found is not None:
            out[name] = _text(raw, found)
    out.attrs.update(
        source=str(source), layout=spec.name, won=spec.won, lost=spec.lost, open=spec.open
    )
    if history is not None:
        table = read_stage_history(
            history,
            layout="salesforce" if spec.name == "salesforce" else "generic",
            dayfirst=dayfirst,
        )
        unknown = ~table["opportunity_id"].isin(out["opportunity_id"])
        if unknown.any():
            logger.warning(
                "%s: %d stage-history rows name opportunities not in %s",
                history,
                int(unknown.sum()),
                source,
            )
        out.attrs["stage_history"] = str(history)
    logger.info("%s: %d opportunities (%s layout)", source, len(out), spec.name)
    return out


def read_stage_history(
    path,
    layout: str = "salesforce",
    mapping: Mapping[str, str] | None = None,
    dayfirst: bool | None = None,
) -> pd.DataFrame:
    """Read a stage-change table (one row per opportunity and stage change).

    Parameters
    ----------
    path
        CSV file, e.g. Salesforce ``OpportunityHistory`` (``OpportunityId``
        or ``OppID``, ``StageName``, ``CreatedDate``, ``Amount``).
    layout
        ``"salesforce"`` or ``"generic"`` (``opportunity_id``, ``stage``,
        ``changed``, ``amount``).
    mapping
        Canonical column -> file column, overriding the layout.
    dayfirst
        As in :func:`read_opportunities`.

    Returns
    -------
    pandas.DataFrame
        ``opportunity_id``, ``stage`` (strings), ``changed`` (datetime64)
        and ``amount`` (float; NaN where the file has no amount), in file
        order. Sort by ``changed`` for a timeline: exports are not sorted.
    """
    spec = _layout(HISTORY_LAYOUTS, layout, "layout")
    source = Path(path)
    raw = _read_csv(source)
    columns = _resolve(raw, spec, mapping, source, HISTORY_LAYOUTS, HISTORY_COLUMNS)
    out = pd.DataFrame(index=raw.index)
    out["opportunity_id"] = _text(raw, columns.get("opportunity_id"))
    out["stage"] = _text(raw, columns.get("stage"))
    out["changed"] = _dates(raw, {"changed": columns.get("changed")}, source, dayfirst)["changed"]
    out["amount"] = _number(raw, columns.get("amount"), "amount", source)
    out.attrs.update(source=str(source), layout=spec.name)
    return out


def read_roster(
    path,
    layout: str = "generic",
    mapping: Mapping[str, str] | None = None,
    dayfirst: bool | None = None,
    as_of=None,
) -> pd.DataFrame:
    """Read a rep roster or HR record into the canonical roster columns.

    Parameters
    ----------
    path
        CSV file.
    layout
        ``"generic"`` (``rep``, ``segment``, ``start``, ``end``; optional
        ``left``, ``tenure_months``), ``"babushkin"`` (``stag`` tenure in
        months, ``event`` left flag, ``profession`` as segment), ``"ibm"``
        (``EmployeeNumber``, ``Attrition`` Yes/No, ``YearsAtCompany``,
        ``Department`` as segment) or ``"maven_teams"`` (``sales_agent``,
        ``regional_office`` as segment).
    mapping
        Canonical column -> file column, e.g. ``{"segment": "industry"}``.
    dayfirst
        As in :func:`read_opportunities`.
    as_of
        Date up to which reps without an end date are counted as still on
        the books; with it their ``tenure_months`` runs to ``as_of``,
        without it it is NaN.

    Returns
    -------
    pandas.DataFrame
        ``rep`` (str), ``segment`` (str or NA), ``start``, ``end``
        (datetime64 or NaT), ``left`` (bool: an exit is observed),
        ``tenure_months`` (float, at exit or censoring) and ``source_note``
        (what the file can and cannot tell).

    Warns
    -----
    DataWarning
        For the ``ibm`` layout: the file is a cross-section, so hazards
        derived from it are assumptions (the same text is in ``source_note``).

    Notes
    -----
    Files without a rep identifier (``babushkin``) get ``row-<line>`` as rep.
    """
    spec = _layout(ROSTER_LAYOUTS, layout, "layout")
    source = Path(path)
    raw = _read_csv(source)
    columns = _resolve(raw, spec, mapping, source, ROSTER_LAYOUTS, ROSTER_COLUMNS[:-1])
    if spec.name == "generic" and not (columns.get("start") or columns.get("tenure_months")):
        raise _missing_error(
            source,
            spec,
            ["start"],
            raw,
            ROSTER_LAYOUTS,
            ROSTER_COLUMNS,
            extra="a generic roster needs start dates or tenure_months",
        )
    out = pd.DataFrame(index=raw.index)
    rep = _text(raw, columns.get("rep"))
    if columns.get("rep") is None:
        rep = pd.Series([f"row-{i + 2}" for i in raw.index], index=raw.index, dtype="str")
    out["rep"] = rep
    out["segment"] = _text(raw, columns.get("segment"))
    dates = _dates(
        raw, {"start": columns.get("start"), "end": columns.get("end")}, source, dayfirst
    )
    out["start"], out["end"] = dates["start"], dates["end"]
    left = _flag(raw, columns.get("left"), "left", source)
    out["left"] = out["end"].notna() if left is None else left.fillna(out["end"].notna())
    out["left"] = out["left"].astype(bool)
    out["tenure_months"] = _tenure(raw, columns, out, spec, source, as_of)
    out["source_note"] = pd.Series(spec.note, index=raw.index, dtype="str")
    out.attrs.update(source=str(source), layout=spec.name)
    if spec.name == "ibm":
        warnings.warn(
            DataWarning(
                f"{source}: {_IBM_NOTE}. Use it for a tenure-band attrition assumption, or "
                "prefer an HR file with start and end dates (or tenure plus an event flag)."
            ),
            stacklevel=2,
        )
    return out


def read_catalogue(path, column: str = "product") -> pd.Series:
    """Read the names in one column of a reference list (e.g. Maven ``products.csv``).

    Returns the distinct, stripped, non-empty names in file order.
    """
    source = Path(path)
    raw = _read_csv(source)
    if column not in raw.columns:
        raise DataError(
            f"no column {column!r}; columns are: {_list(raw.columns)}. "
            f"Name the column holding the names (column=...)",
            source,
            column,
        )
    names = _text(raw, column).dropna().drop_duplicates()
    return names.reset_index(drop=True)


# --- file and column handling ----------------------------------------------------------


def _layout(layouts: Mapping[str, Layout], name: str, option: str) -> Layout:
    if name not in layouts:
        raise DataError(f"{option} {name!r} is not known; allowed: {', '.join(layouts)}")
    return layouts[name]


def _read_csv(source: Path) -> pd.DataFrame:
    """All cells as stripped strings (empty cells as empty strings); header stripped."""
    if not source.is_file():
        raise DataError("no such file", source)
    with open(source, "rb") as handle:
        head = handle.read(65536)
    encoding = "utf-8-sig"
    try:
        head.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:  # a cut multi-byte character at the end is fine
            encoding = "latin-1"
            logger.info("%s is not UTF-8; reading it as Latin-1", source)
    first = head.decode(encoding, errors="replace").splitlines()[0] if head else ""
    sep = max((",", ";", "\t"), key=first.count)
    try:
        raw = pd.read_csv(
            source,
            sep=sep,
            dtype=str,
            keep_default_na=False,
            encoding=encoding,
            quoting=csv.QUOTE_MINIMAL,
        )
    except pd.errors.EmptyDataError:
        raise DataError("the file is empty (no header line)", source) from None
    except pd.errors.ParserError as exc:
        raise DataError(f"not a well-formed CSV table: {exc}", source) from None
    except UnicodeDecodeError as exc:
        raise DataError(f"cannot decode the file as {encoding}: {exc}", source) from None
    raw.columns = [str(c).strip() for c in raw.columns]
    return raw


def _resolve(
    raw: pd.DataFrame,
    spec: Layout,
    mapping,
    source: Path,
    layouts: Mapping[str, Layout],
    canonical: tuple[str, ...],
) -> dict[str, str]:
    """Canonical column -> file column, from the mapping and the layout's candidates."""
    mapping = dict(mapping or {})
    for key, value in mapping.items():
        if key not in canonical:
            raise DataError(
                f"mapping key {key!r} is not a canonical column; allowed: {', '.join(canonical)}",
                source,
                key,
            )
        if value not in raw.columns:
            raise DataError(
                f"mapping {key}={value!r}: the file has no column {value!r}; columns are: "
                f"{_list(raw.columns)}",
                source,
                value,
            )
    resolved = {}
    for name in canonical:
        if name in mapping:
            resolved[name] = mapping[name]
            continue
        found = next((c for c in spec.columns.get(name, ()) if c in raw.columns), None)
        if found is not None:
            resolved[name] = found
    missing = [n for n in spec.required if n not in resolved]
    if missing:
        raise _missing_error(source, spec, missing, raw, layouts, canonical)
    return resolved


def _missing_error(source, spec, missing, raw, layouts, canonical, extra="") -> DataError:
    """One error for every missing column, with the option that would fix it."""
    wanted = ", ".join(
        f"{n} (column {' or '.join(map(repr, spec.columns.get(n, (n,))))})" for n in missing
    )
    message = (
        f"missing column for {wanted} in the {spec.name} layout"
        f"{'; ' + extra if extra else ''}. The file's columns are: "
        f"{_list(raw.columns)}. "
    )
    fits = [
        name
        for name, other in layouts.items()
        if name != spec.name
        and all(any(c in raw.columns for c in other.columns.get(n, ())) for n in other.required)
    ]
    if fits:
        message += (
            f"The file looks like the {fits[0]} layout: --layout {fits[0]} "
            f"(layout={fits[0]!r}); or map each column: "
        )
    else:
        message += "Map each to a file column: "
    used: set[str] = set()
    fixes = {}
    for name in missing:
        fixes[name] = _guess(name, raw.columns, used)
        used.add(fixes[name])
    cli = " ".join(f"--map {n}={c or '<column>'}" for n, c in fixes.items())
    api = ", ".join(f"{n!r}: {(c or '<column>')!r}" for n, c in fixes.items())
    return DataError(f"{message}{cli} (mapping={{{api}}})", source, missing[0])


_HINTS = {
    "opportunity_id": ("opportunityid", "dealid", "recordid", "id"),
    "owner": ("owner", "salesagent", "agent", "rep", "seller"),
    "account": ("account", "company", "customer", "client"),
    "product": ("product",),
    "stage": ("stage", "status"),
    "amount": ("amount", "closevalue", "value", "revenue"),
    "created": ("createdate", "createddate", "created", "engagedate", "opendate"),
    "closed": ("closedate", "closeddate", "wondate", "closed"),
    "changed": ("changed", "createddate", "date"),
    "rep": ("rep", "employee", "agent", "name"),
    "start": ("start", "hire"),
    "tenure_months": ("tenure", "stag", "years"),
    "left": ("left", "attrition", "event", "terminated"),
}


def _guess(name: str, columns, used) -> str | None:
    """The file column whose normalised name best fits the canonical column."""
    free = [c for c in columns if c not in used]
    for hint in _HINTS.get(name, (_norm(name),)):
        for column in free:
            if hint in _norm(column):
                return column
    return None


def _norm(text: str) -> str:
    return re.sub(r"[^0-9a-z]", "", str(text).lower())


def _list(columns, limit: int = 20) -> str:
    names = [str(c) for c in columns]
    shown = ", ".join(names[:limit])
    return shown + (f" ... ({len(names)} in all)" if len(names) > limit else "")


def _where(index) -> str:
    return f"line {int(index) + 2}"


# --- typed columns ---------------------------------------------------------------------


def _text(raw: pd.DataFrame, column: str | None) -> pd.Series:
    if column is None:
        return pd.Series(np.nan, index=raw.index, dtype="str")
    values = raw[column].astype("str").str.strip()
    return values.where(values != "", np.nan)


def _number(raw: pd.DataFrame, column: str | None, name: str, source: Path) -> pd.Series:
    if column is None:
        return pd.Series(np.nan, index=raw.index, dtype=float)
    text = _text(raw, column)
    cleaned = text.str.replace(r"[\s$€£]|,(?=\d{3}(\D|$))", "", regex=True)
    values = pd.to_numeric(cleaned, errors="coerce")
    bad = text.notna() & values.isna()
    if bad.any():
        at = bad.idxmax()
        raise DataError(
            f"column {column!r} ({name}): {_where(at)} has {text[at]!r}, not a number "
            f"({int(bad.sum())} such rows). Clean the column, or map {name} to another "
            f"column: --map {name}=<column> (mapping={{{name!r}: '<column>'}})",
            source,
            column,
        )
    return values.astype(float)


_TRUE = {"true", "t", "yes", "y", "1", "1.0"}
_FALSE = {"false", "f", "no", "n", "0", "0.0"}


def _flag(raw: pd.DataFrame, column: str | None, name: str, source: Path) -> pd.Series | None:
    """Booleans from TRUE/FALSE, Yes/No, 1/0 (any case); missing cells as NA."""
    if column is None:
        return None
    text = _text(raw, column)
    lower = text.str.lower()
    out = pd.Series(pd.NA, index=raw.index, dtype="boolean")
    out[lower.isin(_TRUE)] = True
    out[lower.isin(_FALSE)] = False
    bad = text.notna() & out.isna()
    if bad.any():
        at = bad.idxmax()
        raise DataError(
            f"column {column!r} ({name}): {_where(at)} has {text[at]!r}; a flag must be "
            f"TRUE/FALSE, Yes/No or 1/0 ({int(bad.sum())} such rows). Map {name} to "
            f"another column with --map {name}=<column> (mapping={{{name!r}: '<column>'}})",
            source,
            column,
        )
    return out


def _stage_flags(stage: pd.Series, spec: Layout) -> tuple[pd.Series, pd.Series]:
    key = stage.fillna("").map(_norm)
    won = key.isin({_norm(s) for s in spec.won}).astype(bool)
    lost = key.isin({_norm(s) for s in spec.lost}).astype(bool)
    return won, lost


_ISO = (
    r"^(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})"
    r"(?:[ T](?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2})(?:\.\d+)?)?)?"
    r"\s*(?:Z|UTC|[+-]\d{2}:?\d{2})?$"
)
_SLASHED = (
    r"^(?P<a>\d{1,2})[/.-](?P<b>\d{1,2})[/.-](?P<y>\d{4})"
    r"(?:[ T](?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2}))?)?$"
)
_FORMATS = "YYYY-MM-DD[ HH:MM[:SS]], DD/MM/YYYY or MM/DD/YYYY [HH:MM]"


def _dates(
    raw: pd.DataFrame, columns: Mapping[str, str | None], source: Path, dayfirst: bool | None
) -> dict[str, pd.Series]:
    """Parse date columns; one day-first decision for the whole file."""
    texts = {n: _text(raw, c) for n, c in columns.items()}
    iso, slashed = {}, {}
    for name, text in texts.items():
        present = text.dropna()
        iso[name] = present.str.extract(_ISO)
        slashed[name] = present.str.extract(_SLASHED)
        bad = iso[name]["y"].isna() & slashed[name]["y"].isna()
        if bad.any():
            at = bad.idxmax()
            raise DataError(
                f"column {columns[name]!r} ({name}): {_where(at)} has {present[at]!r}, not a "
                f"date; expected {_FORMATS} ({int(bad.sum())} such rows). Fix the cells or "
                f"map {name} to another column: --map {name}=<column> "
                f"(mapping={{{name!r}: '<column>'}})",
                source,
                columns[name],
            )
    first = _day_first(slashed, columns, source, dayfirst)
    return {
        name: _assemble(texts[name], iso[name], slashed[name], first, columns[name], name, source)
        for name in texts
    }


def _day_first(slashed, columns, source, dayfirst) -> bool:
    if dayfirst is not None:
        return bool(dayfirst)
    day_hint = month_hint = None
    for name, parts in slashed.items():
        parts = parts.dropna(subset=["y"])
        a, b = parts["a"].astype(int), parts["b"].astype(int)
        if day_hint is None and (a > 12).any():
            day_hint = (name, (a > 12).idxmax())
        if month_hint is None and (b > 12).any():
            month_hint = (name, (b > 12).idxmax())
    if day_hint and month_hint:
        raise DataError(
            f"slashed dates mix day-first ({columns[day_hint[0]]!r}, {_where(day_hint[1])}) "
            f"and month-first ({columns[month_hint[0]]!r}, {_where(month_hint[1])}) forms; "
            "a file must use one. Fix the file, or force one with --dayfirst / --monthfirst "
            "(dayfirst=True / False)",
            source,
        )
    if day_hint or month_hint:
        return bool(day_hint)
    if any(parts["y"].notna().any() for parts in slashed.values()):
        name = next(n for n, p in slashed.items() if p["y"].notna().any())
        at = slashed[name]["y"].first_valid_index()
        raise DataError(
            f"column {columns[name]!r} ({name}): slashed dates such as {_where(at)} can be "
            "read day-first or month-first (no part is above 12 anywhere in the file); say "
            "which with --dayfirst or --monthfirst (dayfirst=True / False)",
            source,
            columns[name],
        )
    return False


def _assemble(text, iso, slashed, dayfirst, column, name, source) -> pd.Series:
    out = pd.Series(pd.NaT, index=text.index, dtype="datetime64[ns]")
    if iso.empty and slashed.empty:
        return out
    parts = iso.copy()
    use = parts["y"].isna()
    if use.any():
        day, month = ("a", "b") if dayfirst else ("b", "a")
        parts.loc[use, "y"] = slashed.loc[use, "y"]
        parts.loc[use, "d"] = slashed.loc[use, day]
        parts.loc[use, "m"] = slashed.loc[use, month]
        for unit in ("H", "M", "S"):
            parts.loc[use, unit] = slashed.loc[use, unit]
    numbers = parts.apply(pd.to_numeric).fillna({"H": 0, "M": 0, "S": 0})
    stamps = pd.to_datetime(
        numbers.rename(
            columns={
                "y": "year",
                "m": "month",
                "d": "day",
                "H": "hour",
                "M": "minute",
                "S": "second",
            }
        ),
        errors="coerce",
    )
    bad = stamps.isna()
    if bad.any():
        at = bad.idxmax()
        how = "" if not use[at] else (" read day-first" if dayfirst else " read month-first")
        raise DataError(
            f"column {column!r} ({name}): {_where(at)} has {text[at]!r}, not a valid "
            f"date{how} ({int(bad.sum())} such rows). Fix the cells, or force the order with "
            "--dayfirst / --monthfirst (dayfirst=True / False)",
            source,
            column,
        )
    out[stamps.index] = stamps.astype("datetime64[ns]")
    return out


def _tenure(raw, columns, out, spec, source, as_of) -> pd.Series:
    """Months from start to end (or to ``as_of``), or the file's tenure column."""
    given = _number(raw, columns.get("tenure_months"), "tenure_months", source)
    given = given * spec.tenure_unit
    negative = given < 0
    if negative.any():
        at = negative.idxmax()
        raise DataError(
            f"column {columns['tenure_months']!r} (tenure_months): {_where(at)} has "
            f"{raw.loc[at, columns['tenure_months']]!r}; tenure cannot be negative",
            source,
            columns["tenure_months"],
        )
    stop = out["end"]
    if as_of is not None:
        stop = stop.fillna(pd.Timestamp(as_of))
    from_dates = (stop - out["start"]).dt.days / _DAYS_PER_MONTH
    backwards = from_dates < 0
    if backwards.any():
        at = backwards.idxmax()
        raise DataError(
            f"column {columns.get('end', 'end')!r} (end): {_where(at)} ends "
            f"{out.loc[at, 'end']:%Y-%m-%d}, before its start {out.loc[at, 'start']:%Y-%m-%d}",
            source,
            columns.get("end"),
        )
    return given.fillna(from_dates).astype(float)


def with_options(error: DataError, prefix: str, mapping: bool = True) -> DataError:
    """The same error with its option hints renamed for a second input.

    Commands that read a roster beside the opportunities name its options
    ``--roster-layout`` and ``--roster-map``; the reader's hints say
    ``--layout`` and ``--map``.
    """
    text = error.detail.replace("--layout ", f"--{prefix}-layout ")
    if mapping:
        text = text.replace("--map ", f"--{prefix}-map ")
    return DataError(text, error.source, error.column)
