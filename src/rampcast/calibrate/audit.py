"""Audit an opportunity table before calibrating from it.

:func:`audit` runs every check on a canonical opportunity frame (from
:func:`rampcast.io.crm.read_opportunities`) and returns an :class:`Audit`:
one row per check with a severity, a count, examples and an explanation.
:func:`cleaned` applies the safe fixes (drop repeated rows, one spelling
per name, flags that follow the stage) and leaves everything else as it is.

Severities:

- ``blocking``: calibrating from the data as it is would give wrong
  numbers (double counts, impossible values, contradicting flags);
- ``warning``: the data can be used, but some rows are left out of some
  estimates, or a join will miss rows;
- ``info``: worth knowing, nothing to fix.

Examples name rows by file line (``index + 2``), which holds for frames
straight from the readers.
"""

from __future__ import annotations

import difflib
import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from rampcast.errors import DataError

__all__ = ["CHECKS", "Audit", "audit", "cleaned"]

logger = logging.getLogger(__name__)

BLOCKING, WARNING, INFO = "blocking", "warning", "info"

#: check -> (severity, what it means and what to do)
CHECKS: dict[str, tuple[str, str]] = {
    "missing_id": (BLOCKING, "deals without an opportunity id cannot be told apart"),
    "exact_duplicate": (
        BLOCKING,
        "rows repeated in every column would be counted twice; the cleaned copy keeps the first",
    ),
    "duplicate_id": (
        BLOCKING,
        "one opportunity id on rows that differ; the cleaned copy "
        "keeps the first, so check which row is current",
    ),
    "near_duplicate_id": (
        WARNING,
        "ids equal but for case or spaces: probably one deal typed twice",
    ),
    "near_duplicate": (
        WARNING,
        "same owner, account, product and amount, closed within "
        "a few days under different ids: possibly one deal twice",
    ),
    "missing_owner": (BLOCKING, "deals without an owner cannot be credited to a rep"),
    "open_past_close": (
        WARNING,
        "open deals whose close date has passed: update the "
        "close date or close them, else forecasts count them as due",
    ),
    "open_no_close_date": (
        WARNING,
        "open deals with no close date (nor, often, an amount): "
        "a pipeline forecast cannot place them in a month",
    ),
    "stale_open": (
        WARNING,
        "open deals created longer ago than almost every closed deal "
        "took to close: probably dead pipeline",
    ),
    "closed_no_close_date": (
        BLOCKING,
        "closed deals without a close date break cycle length, seasonality and bookings by month",
    ),
    "closed_no_amount": (
        WARNING,
        "closed deals without an amount are left out of deal size and bookings",
    ),
    "closed_no_created": (
        WARNING,
        "closed deals without a created date are left out of cycle length",
    ),
    "won_nonpositive_amount": (BLOCKING, "won deals must book a positive amount"),
    "negative_amount": (BLOCKING, "a deal amount cannot be negative"),
    "close_before_create": (BLOCKING, "a deal cannot close before it was created"),
    "flags_contradict": (
        BLOCKING,
        "closed/won flags disagree with the stage; win rates "
        "depend on which is right (the cleaned copy follows the "
        "stage)",
    ),
    "unknown_stage": (
        WARNING,
        "stages the layout does not know are treated as open; map "
        "them or fix the layout's stage list",
    ),
    "owner_not_in_roster": (
        WARNING,
        "deal owners missing from the roster get no segment, start date or tenure",
    ),
    "roster_rep_without_deals": (
        INFO,
        "roster reps with no opportunities: new hires, vacancies or people outside sales",
    ),
    "product_name_variants": (
        WARNING,
        "product names that differ only in case, spacing, "
        "punctuation or a typo; the cleaned copy uses one",
    ),
    "account_name_variants": (
        WARNING,
        "account names that differ only in case, spacing, "
        "punctuation or a typo; the cleaned copy uses one",
    ),
    "product_not_in_catalogue": (
        WARNING,
        "product names spelled differently from the "
        "catalogue; joins on product miss them until "
        "mapped (the cleaned copy uses the catalogue's)",
    ),
    "unknown_product": (WARNING, "products not in the catalogue at all"),
    "no_account": (
        WARNING,
        "deals without an account: account-level joins and territory potential miss them",
    ),
}

_COLUMNS = ("check", "severity", "count", "examples", "explanation")
_GENERIC_WON, _GENERIC_LOST = ("Won", "Closed Won"), ("Lost", "Closed Lost")


@dataclass(frozen=True)
class Audit:
    """What :func:`audit` found.

    Attributes
    ----------
    findings
        One row per check run: ``check``, ``severity`` (blocking, warning,
        info), ``count`` (rows or names affected, 0 when clean),
        ``examples`` and ``explanation``.
    as_of
        The date open deals were judged against.
    rows
        Check -> row labels of the opportunity frame it flags.
    renames
        Column -> {variant spelling: spelling to use}, for :func:`cleaned`.
    stages
        ``won``, ``lost`` and ``open`` stage names the checks used.
    """

    findings: pd.DataFrame
    as_of: pd.Timestamp | None
    rows: Mapping[str, tuple] = field(default_factory=dict, repr=False)
    renames: Mapping[str, Mapping[str, str]] = field(default_factory=dict, repr=False)
    stages: Mapping[str, tuple[str, ...]] = field(default_factory=dict, repr=False)

    @property
    def blocking(self) -> bool:
        """Whether any blocking check found something."""
        f = self.findings
        return bool(((f["severity"] == BLOCKING) & (f["count"] > 0)).any())

    def count(self, check: str) -> int:
        """The count of one check (0 when it found nothing or did not run)."""
        hit = self.findings.loc[self.findings["check"] == check, "count"]
        return int(hit.iloc[0]) if len(hit) else 0


def audit(
    opportunities: pd.DataFrame,
    roster=None,
    as_of=None,
    products=None,
    stages: Mapping[str, Iterable[str]] | None = None,
    near_days: int = 3,
    stale_days: float | None = None,
) -> Audit:
    """Check an opportunity table for the problems that bias calibration.

    Parameters
    ----------
    opportunities
        Canonical frame from :func:`rampcast.io.crm.read_opportunities`.
    roster
        Optional roster frame (``rep`` column) or list of rep names: owners
        missing from it, and reps without deals, are reported.
    as_of
        Date open deals are judged against (default: the latest created or
        close date in the table, i.e. the export's end).
    products
        Optional catalogue of product names (e.g. Maven ``products.csv``
        via :func:`rampcast.io.crm.read_catalogue`).
    stages
        ``{"won": [...], "lost": [...], "open": [...]}``; default: the
        reader's layout (``opportunities.attrs``), else ``Won``/``Closed Won``
        and ``Lost``/``Closed Lost`` with no open list (then unknown stages
        are not checked).
    near_days
        Close dates at most this many days apart count as "near" for
        near-duplicates.
    stale_days
        Open deals created more than this many days before ``as_of`` are
        stale; default: the 95th percentile of closed deals' cycle length
        (created to closed) when 20 or more closed deals have both dates,
        else 180.

    Returns
    -------
    Audit
    """
    frame = _check_frame(opportunities)
    vocab = _vocabulary(frame, stages)
    as_of = _as_of(frame, as_of)
    results = []
    add = results.append
    for check in (
        _ids,
        _duplicates,
        _owners,
        _open_deals,
        _closed_deals,
        _amounts,
        _dates_order,
        _flags,
        _accounts,
    ):
        for item in check(
            frame, vocab=vocab, as_of=as_of, near_days=near_days, stale_days=stale_days
        ):
            add(item)
    renames: dict[str, dict[str, str]] = {}
    for column in ("product", "account"):
        found, rename = _variants(frame, column)
        results.append(found)
        renames[column] = rename
    if products is not None:
        for item, rename in _catalogue(frame, products):
            results.append(item)
            renames["product"].update(rename)
    if roster is not None:
        results.extend(_roster(frame, roster))
    findings = pd.DataFrame([r[0] for r in results], columns=_COLUMNS)
    findings["count"] = findings["count"].astype(int)
    rows = {r[0][0]: r[1] for r in results}
    logger.info(
        "audit: %d checks, %d with findings", len(findings), int((findings["count"] > 0).sum())
    )
    return Audit(
        findings=findings,
        as_of=as_of,
        rows=rows,
        renames={k: v for k, v in renames.items() if v},
        stages=vocab,
    )


def cleaned(opportunities: pd.DataFrame, result: Audit) -> pd.DataFrame:
    """A copy with the audit's safe fixes applied; the input is not changed.

    Fixes: repeated rows (``exact_duplicate``) and later rows of a repeated
    id (``duplicate_id``) are dropped; product and account spellings are
    unified (catalogue spelling first, else the most frequent variant);
    where flags contradict a known stage, the flags follow the stage.
    Everything else (missing dates, stale deals, odd amounts) is kept as it
    is: which rows to leave out depends on the estimate, so calibration
    decides. ``attrs["cleaning"]`` lists what was done.
    """
    out = opportunities.copy()
    notes = []
    drop = set(result.rows.get("exact_duplicate", ())) | set(result.rows.get("duplicate_id", ()))
    if drop:
        out = out.drop(index=sorted(drop))
        notes.append(f"dropped {len(drop)} repeated rows")
    for column, rename in result.renames.items():
        hit = out[column].isin(list(rename))
        if hit.any():
            out.loc[hit, column] = out.loc[hit, column].map(rename)
            notes.append(
                f"{column}: {int(hit.sum())} rows respelled "
                f"({', '.join(f'{a!r} -> {b!r}' for a, b in rename.items())})"
            )
    fix = [i for i in result.rows.get("flags_contradict", ()) if i in out.index]
    if fix:
        won, lost, known = _stage_sets(out.loc[fix, "stage"], result.stages)
        keep = known.to_numpy()
        idx = np.asarray(fix)[keep]
        out.loc[idx, "is_won"] = won.to_numpy()[keep]
        out.loc[idx, "is_closed"] = (won | lost).to_numpy()[keep]
        notes.append(f"flags set from the stage on {int(keep.sum())} rows")
    out.attrs = {**opportunities.attrs, "cleaning": tuple(notes)}
    return out


# --- setup -----------------------------------------------------------------------------


def _check_frame(frame) -> pd.DataFrame:
    from rampcast.io.crm import OPPORTUNITY_COLUMNS

    if not isinstance(frame, pd.DataFrame):
        raise DataError(
            f"opportunities must be a pandas DataFrame from read_opportunities; "
            f"got {type(frame).__name__}"
        )
    missing = [c for c in OPPORTUNITY_COLUMNS if c not in frame.columns]
    if missing:
        raise DataError(
            f"opportunities lack the canonical columns {', '.join(missing)}; "
            "read the file with rampcast.io.crm.read_opportunities"
        )
    return frame


def _vocabulary(frame, stages) -> dict[str, tuple[str, ...]]:
    source = stages if stages is not None else frame.attrs
    won = tuple(source.get("won", ()) or ())
    lost = tuple(source.get("lost", ()) or ())
    if not won and not lost:
        won, lost = _GENERIC_WON, _GENERIC_LOST
    return {"won": won, "lost": lost, "open": tuple(source.get("open", ()) or ())}


def _as_of(frame, as_of) -> pd.Timestamp | None:
    if as_of is not None:
        try:
            return pd.Timestamp(as_of)
        except (TypeError, ValueError):
            raise DataError(f"as_of {as_of!r} is not a date; write YYYY-MM-DD") from None
    latest = pd.concat([frame["created"], frame["closed"]]).max()
    return None if pd.isna(latest) else pd.Timestamp(latest)


def _norm(value: str) -> str:
    return re.sub(r"[^0-9a-z]", "", str(value).lower())


def _stage_sets(stage: pd.Series, vocab):
    key = stage.fillna("").map(_norm)
    won = key.isin({_norm(s) for s in vocab["won"]})
    lost = key.isin({_norm(s) for s in vocab["lost"]})
    known = won | lost | key.isin({_norm(s) for s in vocab["open"]})
    return won, lost, known


# --- findings --------------------------------------------------------------------------


def _row_finding(check: str, frame: pd.DataFrame, mask, detail=None, extra: str = ""):
    """A finding over rows: count, up to three examples by line, the explanation."""
    mask = pd.Series(mask, index=frame.index).fillna(False).astype(bool)
    hits = frame.index[mask.to_numpy()]
    examples = []
    for i in hits[:3]:
        row = frame.loc[i]
        text = f"line {int(i) + 2}: {row['opportunity_id']}"
        if detail is not None:
            text += f" ({detail(row)})"
        examples.append(text)
    severity, explanation = CHECKS[check]
    if extra and len(hits):
        explanation = f"{explanation}; {extra}"
    return (check, severity, len(hits), "; ".join(examples), explanation), tuple(hits)


def _name_finding(check: str, count: int, examples: list[str], extra: str = ""):
    severity, explanation = CHECKS[check]
    if extra and count:
        explanation = f"{explanation}; {extra}"
    return (check, severity, count, "; ".join(examples[:3]), explanation), ()


def _by_stage(frame, mask) -> str:
    counts = frame.loc[np.asarray(mask, dtype=bool), "stage"].fillna("(none)").value_counts()
    return "by stage: " + ", ".join(f"{s} {n:,}" for s, n in counts.items())


def _day(value) -> str:
    return "-" if pd.isna(value) else f"{value:%Y-%m-%d}"


def _ids(frame, **_):
    yield _row_finding("missing_id", frame, frame["opportunity_id"].isna())


def _duplicates(frame, near_days, **_):
    exact = frame.duplicated(keep="first")
    yield _row_finding("exact_duplicate", frame, exact)
    ids = frame["opportunity_id"]
    repeated = ids.notna() & ids.duplicated(keep="first") & ~exact
    yield _row_finding("duplicate_id", frame, repeated, lambda r: f"owner {r['owner']}")
    key = ids.fillna("").str.lower().str.replace(r"\s+", "", regex=True)
    collide = key.ne("") & key.duplicated(keep=False)
    groups = ids[collide].groupby(key[collide]).transform("nunique")
    near = pd.Series(False, index=frame.index)
    near[groups.index] = groups > 1
    yield _row_finding("near_duplicate_id", frame, near)
    yield _row_finding(
        "near_duplicate",
        frame,
        _near_duplicates(frame, near_days),
        lambda r: f"{r['owner']}, {r['account']}, {r['amount']:g}, closed {_day(r['closed'])}",
        f"close dates at most {near_days} days apart",
    )


def _near_duplicates(frame, near_days) -> pd.Series:
    """Rows whose owner, account, product and positive amount match a row closed nearby."""
    usable = (
        frame["owner"].notna()
        & frame["account"].notna()
        & (frame["amount"] > 0)
        & frame["closed"].notna()
    )
    part = frame.loc[
        usable, ["opportunity_id", "owner", "account", "product", "amount", "closed"]
    ].copy()
    part["product"] = part["product"].fillna("")
    keys = ["owner", "account", "product", "amount"]
    part = part.sort_values([*keys, "closed"])
    same = (part[keys] == part[keys].shift()).all(axis=1)
    close = (part["closed"] - part["closed"].shift()).dt.days.abs() <= near_days
    other = part["opportunity_id"] != part["opportunity_id"].shift()
    pair = same & close & other
    mark = pair | pair.shift(-1, fill_value=False)
    out = pd.Series(False, index=frame.index)
    out[part.index[mark.to_numpy()]] = True
    return out


def _owners(frame, **_):
    yield _row_finding("missing_owner", frame, frame["owner"].isna())


def _open_deals(frame, vocab, as_of, stale_days, **_):
    # a closed stage with an "open" flag is a contradiction, reported there, not here
    won, lost, _known = _stage_sets(frame["stage"], vocab)
    open_ = ~frame["is_closed"].astype(bool) & ~won & ~lost
    when = "" if as_of is None else f"as of {as_of:%Y-%m-%d}"
    past = open_ & frame["closed"].notna() & (frame["closed"] < as_of if as_of else False)
    yield _row_finding(
        "open_past_close", frame, past, lambda r: f"{r['stage']}, close {_day(r['closed'])}", when
    )
    missing = open_ & frame["closed"].isna()
    yield _row_finding(
        "open_no_close_date", frame, missing, lambda r: f"{r['stage']}", _by_stage(frame, missing)
    )
    days = _stale_days(frame, stale_days)
    stale = open_ & frame["created"].notna()
    if as_of is not None:
        stale &= frame["created"] < as_of - pd.Timedelta(days=days)
    else:
        stale &= False
    yield _row_finding(
        "stale_open",
        frame,
        stale,
        lambda r: f"{r['stage']}, created {_day(r['created'])}",
        f"open more than {days:.0f} days {when}; {_by_stage(frame, stale)}",
    )


def _stale_days(frame, stale_days) -> float:
    if stale_days is not None:
        return float(stale_days)
    closed = frame["is_closed"].astype(bool)
    cycle = (frame.loc[closed, "closed"] - frame.loc[closed, "created"]).dt.days.dropna()
    return float(np.percentile(cycle, 95)) if len(cycle) >= 20 else 180.0


def _closed_deals(frame, **_):
    closed = frame["is_closed"].astype(bool)
    yield _row_finding(
        "closed_no_close_date", frame, closed & frame["closed"].isna(), lambda r: r["stage"]
    )
    no_amount = closed & frame["amount"].isna()
    won = int((no_amount & frame["is_won"]).sum())
    yield _row_finding(
        "closed_no_amount", frame, no_amount, lambda r: r["stage"], f"{won} of them won"
    )
    yield _row_finding(
        "closed_no_created", frame, closed & frame["created"].isna(), lambda r: r["stage"]
    )


def _amounts(frame, **_):
    won = frame["is_won"].astype(bool)
    yield _row_finding(
        "won_nonpositive_amount",
        frame,
        won & (frame["amount"] <= 0),
        lambda r: f"amount {r['amount']:g}",
    )
    yield _row_finding(
        "negative_amount",
        frame,
        ~won & (frame["amount"] < 0),
        lambda r: f"{r['stage']}, amount {r['amount']:g}",
    )


def _dates_order(frame, **_):
    yield _row_finding(
        "close_before_create",
        frame,
        frame["closed"] < frame["created"],
        lambda r: f"created {_day(r['created'])}, closed {_day(r['closed'])}",
    )


def _flags(frame, vocab, **_):
    won, lost, known = _stage_sets(frame["stage"], vocab)
    is_won = frame["is_won"].astype(bool)
    is_closed = frame["is_closed"].astype(bool)
    open_stage = known & ~won & ~lost
    bad = (
        (won & ~(is_won & is_closed))
        | (lost & (is_won | ~is_closed))
        | (open_stage & (is_closed | is_won))
        | (is_won & ~is_closed)
    )
    yield _row_finding(
        "flags_contradict",
        frame,
        bad,
        lambda r: f"{r['stage']}, closed {r['is_closed']}, won {r['is_won']}",
        _by_stage(frame, bad),
    )
    if vocab["open"]:
        unknown = frame["stage"].notna() & ~known
        names = frame.loc[unknown, "stage"].value_counts()
        yield _row_finding(
            "unknown_stage",
            frame,
            unknown | frame["stage"].isna(),
            lambda r: f"stage {r['stage']}",
            "stages: " + ", ".join(f"{s!r} {n:,}" for s, n in names.items()),
        )


def _accounts(frame, **_):
    missing = frame["account"].isna()
    yield _row_finding(
        "no_account", frame, missing, lambda r: r["stage"], _by_stage(frame, missing)
    )


def _variants(frame, column):
    """Names in one column that normalise (or nearly) to the same name."""
    counts = frame[column].dropna().value_counts()
    groups = _group_names(list(counts.index))
    rename, examples, rows = {}, [], 0
    for members in groups:
        ranked = sorted(members, key=lambda n: (-counts[n], n))
        for name in ranked[1:]:
            rename[name] = ranked[0]
        rows += int(sum(counts[n] for n in ranked[1:]))
        examples.append(" vs ".join(f"{n!r} ({counts[n]:,} rows)" for n in ranked))
    check = f"{column}_name_variants"
    return _name_finding(
        check, rows, examples, f"{len(groups)} groups of names" if groups else ""
    ), rename


def _group_names(names: list[str], cutoff: float = 0.9, limit: int = 2000) -> list[list[str]]:
    """Groups of names equal after normalisation, or alike by ``difflib`` ratio.

    The typo comparison is pairwise, so it runs only up to ``limit``
    distinct names; beyond that only case, space and punctuation count.
    """
    by_key: dict[str, list[str]] = {}
    for name in names:
        by_key.setdefault(_norm(name), []).append(name)
    keys = [k for k in by_key if k]
    parent = {k: k for k in keys}

    def root(k):
        while parent[k] != k:
            k = parent[k]
        return k

    if len(keys) <= limit:
        for i, a in enumerate(keys):
            if len(a) < 6:
                continue
            matcher = difflib.SequenceMatcher(None, a)
            for b in keys[i + 1 :]:
                if len(b) < 6 or abs(len(a) - len(b)) > 2:
                    continue
                matcher.set_seq1(b)
                if matcher.ratio() >= cutoff:
                    parent[root(b)] = root(a)
    merged: dict[str, list[str]] = {}
    for k in keys:
        merged.setdefault(root(k), []).extend(by_key[k])
    return [sorted(m) for m in merged.values() if len(m) > 1]


def _catalogue(frame, products):
    """Pipeline product names against a catalogue of names."""
    catalogue = [str(p).strip() for p in pd.Series(list(products)).dropna()]
    exact = set(catalogue)
    by_key = {_norm(p): p for p in catalogue}
    counts = frame["product"].dropna().value_counts()
    rename, examples, rows = {}, [], 0
    unknown, unknown_rows = [], 0
    for name, n in counts.items():
        if name in exact:
            continue
        match = by_key.get(_norm(name))
        if match is None:
            close = difflib.get_close_matches(_norm(name), list(by_key), n=1, cutoff=0.9)
            match = by_key[close[0]] if close else None
        if match is None:
            unknown.append(f"{name!r} ({n:,} rows)")
            unknown_rows += int(n)
            continue
        rename[name] = match
        rows += int(n)
        examples.append(f"{name!r} ({n:,} rows) vs catalogue {match!r}")
    yield _name_finding("product_not_in_catalogue", rows, examples), rename
    yield _name_finding("unknown_product", unknown_rows, unknown), {}


def _roster(frame, roster):
    if isinstance(roster, pd.DataFrame):
        if "rep" not in roster.columns:
            raise DataError("roster must have a 'rep' column (read it with read_roster)")
        reps = roster["rep"]
    else:
        reps = pd.Series(list(roster))
    reps = set(reps.dropna().astype(str).str.strip())
    owners = frame["owner"]
    missing = owners.notna() & ~owners.isin(reps)
    names = owners[missing].value_counts()
    yield _row_finding(
        "owner_not_in_roster",
        frame,
        missing,
        lambda r: f"owner {r['owner']}",
        f"{len(names)} owners: " + ", ".join(names.index[:5]),
    )
    idle = sorted(reps - set(owners.dropna()))
    yield _name_finding("roster_rep_without_deals", len(idle), [", ".join(idle)])
