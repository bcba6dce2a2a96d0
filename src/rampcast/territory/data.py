"""Territory inputs: account and rep tables read into arrays, and rep target shares.

An :class:`Instance` holds everything the assignment model needs as plain
arrays indexed by account ``a`` and rep ``r``. Accounts and reps are matched
by their string ids; segments are matched by name.

Account CSV columns (``accounts.csv``)
    ``account`` (id, unique), ``segment``, ``potential`` (>= 0); optional
    ``workload`` (>= 0, default 1 so that workload counts accounts),
    ``lat`` and ``lon`` (degrees, both or neither), ``region``, ``owner``
    (current rep id, may be empty) and ``locked`` (true/false, 1/0, yes/no;
    a locked account stays with its owner).

Rep CSV columns (``reps.csv``)
    ``rep`` (id, unique), ``segment``; optional ``lat`` and ``lon`` (home),
    ``region``, ``max_accounts`` (integer >= 0) and ``capacity_weight``
    (> 0, default 1; the rep's share of its segment is its weight over the
    segment's total unless a scenario gives ramp-adjusted capacity).
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from rampcast.errors import DataError

__all__ = [
    "Instance",
    "read_accounts",
    "read_reps",
    "load_instance",
    "make_instance",
    "shares_from_weights",
]

_ALIASES = {
    "account": ("account", "account_id", "id"),
    "rep": ("rep", "rep_id", "id"),
    "owner": ("owner", "current_owner"),
    "lat": ("lat", "latitude"),
    "lon": ("lon", "lng", "longitude"),
    "capacity_weight": ("capacity_weight", "weight"),
}
_TRUE = {"1", "true", "yes", "y", "t"}
_FALSE = {"", "0", "false", "no", "n", "f"}


@dataclass(frozen=True)
class Instance:
    """One territory assignment problem as arrays.

    Attributes
    ----------
    accounts, reps, segments : tuple of str
        Ids in index order.
    segment : ndarray of int, shape (n_accounts,)
        Segment index of each account.
    potential, workload : ndarray of float, shape (n_accounts,)
    lat, lon : ndarray of float, shape (n_accounts,)
        Account location in degrees; NaN where unknown.
    region : tuple of str
        Account region ('' where unknown).
    owner : ndarray of int, shape (n_accounts,)
        Index of the current owner among ``reps``; -1 when the account has
        no owner or its owner is not a rep of this instance.
    owner_label : tuple of str
        The owner as written in the input ('' when none).
    locked : ndarray of bool, shape (n_accounts,)
    rep_segment : ndarray of int, shape (n_reps,)
    rep_lat, rep_lon : ndarray of float, shape (n_reps,)
    rep_region : tuple of str
    max_accounts : ndarray of float, shape (n_reps,)
        ``inf`` where unlimited.
    weight : ndarray of float, shape (n_reps,)
        Capacity behind each rep's share: the file's capacity weight (1 by
        default) or, with a scenario, the rep's expected capacity.
    target_share : ndarray of float, shape (n_reps,)
        Each rep's share of its segment's potential; sums to one per segment
        that has reps.
    share_source : str
        Where the shares come from (``equal``, ``capacity_weight``,
        ``scenario:<file>``).
    """

    accounts: tuple[str, ...]
    segment: np.ndarray
    potential: np.ndarray
    workload: np.ndarray
    lat: np.ndarray
    lon: np.ndarray
    region: tuple[str, ...]
    owner: np.ndarray
    owner_label: tuple[str, ...]
    locked: np.ndarray
    reps: tuple[str, ...]
    rep_segment: np.ndarray
    rep_lat: np.ndarray
    rep_lon: np.ndarray
    rep_region: tuple[str, ...]
    max_accounts: np.ndarray
    weight: np.ndarray
    segments: tuple[str, ...]
    target_share: np.ndarray
    share_source: str = "equal"

    @property
    def n_accounts(self) -> int:
        return len(self.accounts)

    @property
    def n_reps(self) -> int:
        return len(self.reps)

    def with_capacity(self, capacity: np.ndarray, source: str) -> Instance:
        """A copy whose shares follow ``capacity`` (one value per rep)."""
        capacity = np.asarray(capacity, dtype=float)
        return replace(
            self,
            weight=capacity,
            target_share=shares_from_weights(capacity, self.rep_segment, len(self.segments)),
            share_source=source,
        )


def _normalise(values: np.ndarray, group: np.ndarray, n_groups: int) -> np.ndarray:
    total = np.bincount(group, weights=values, minlength=n_groups)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = values / total[group]
    return np.where(np.isfinite(out), out, 0.0)


def shares_from_weights(
    weight: np.ndarray, rep_segment: np.ndarray, n_segments: int
) -> np.ndarray:
    """Each rep's weight over its segment's total weight."""
    return _normalise(np.asarray(weight, float), np.asarray(rep_segment), n_segments)


# --- CSV reading -------------------------------------------------------------------------


def _read_rows(
    path: Path, required: tuple[str, ...], optional: tuple[str, ...], kind: str
) -> tuple[dict[str, str | None], list[dict[str, str]]]:
    """Rows of ``path`` with canonical column names; the map says which exist."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{kind} file does not exist", source=str(path))
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        header = [h.strip() for h in (reader.fieldnames or [])]
        lower = {h.lower(): h for h in header}
        found: dict[str, str | None] = {}
        for name in required + optional:
            column = next((lower[a] for a in _ALIASES.get(name, (name,)) if a in lower), None)
            if column is None and name in required:
                raise DataError(
                    f"missing column {name!r}; the {kind} file needs columns "
                    f"{', '.join(required)} (optional: {', '.join(optional)}); "
                    f"found: {', '.join(header) or 'none'}",
                    source=str(path),
                    column=name,
                )
            found[name] = column
        rows = [
            {k.strip() if k else k: (v or "").strip() for k, v in row.items()} for row in reader
        ]
    if not rows:
        raise DataError(f"the {kind} file has a header but no rows", source=str(path))
    return found, rows


def _number(
    path, column, line, text, *, default=None, low=0.0, allow_equal=True, integer=False
) -> float:
    if text == "" and default is not None:
        return default
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    ok = math.isfinite(value) and (value >= low if allow_equal else value > low)
    if ok and integer:
        ok = value == int(value)
    if not ok:
        kind = "an integer" if integer else "a number"
        rel = ">=" if allow_equal else ">"
        raise DataError(
            f"line {line}, column {column!r}: value {text!r} is not {kind} {rel} {low:g}",
            source=str(path),
            column=column,
        )
    return value


def _coords(path, cols, row, line) -> tuple[float, float]:
    lat_t = row.get(cols["lat"], "") if cols["lat"] else ""
    lon_t = row.get(cols["lon"], "") if cols["lon"] else ""
    if lat_t == "" and lon_t == "":
        return math.nan, math.nan
    if (lat_t == "") != (lon_t == ""):
        column = cols["lat"] if lat_t == "" else cols["lon"]
        raise DataError(
            f"line {line}, column {column!r}: latitude and longitude go together; one is empty",
            source=str(path),
            column=column,
        )
    lat = _number(path, cols["lat"], line, lat_t, low=-90.0)
    lon = _number(path, cols["lon"], line, lon_t, low=-180.0)
    if lat > 90 or lon > 180:
        column = cols["lat"] if lat > 90 else cols["lon"]
        value = lat_t if lat > 90 else lon_t
        raise DataError(
            f"line {line}, column {column!r}: value {value!r} is out of range "
            "(latitude -90..90, longitude -180..180)",
            source=str(path),
            column=column,
        )
    return lat, lon


def _unique(path, column, ids, kind) -> None:
    seen: dict[str, int] = {}
    for i, key in enumerate(ids):
        if key == "":
            raise DataError(
                f"line {i + 2}, column {column!r}: empty {kind} id",
                source=str(path),
                column=column,
            )
        if key in seen:
            raise DataError(
                f"line {i + 2}, column {column!r}: value {key!r} repeats line "
                f"{seen[key] + 2}; {kind} ids must be unique",
                source=str(path),
                column=column,
            )
        seen[key] = i


def read_reps(path: str | Path) -> dict[str, object]:
    """Read a rep table; returns columns as lists and arrays (see module notes)."""
    cols, rows = _read_rows(
        Path(path),
        ("rep", "segment"),
        ("lat", "lon", "region", "max_accounts", "capacity_weight"),
        "reps",
    )
    ids = [r[cols["rep"]] for r in rows]
    _unique(path, cols["rep"], ids, "rep")
    out = {
        "reps": ids,
        "segment": [r[cols["segment"]] for r in rows],
        "lat": [],
        "lon": [],
        "region": [],
        "max_accounts": [],
        "weight": [],
    }
    for i, row in enumerate(rows):
        line = i + 2
        if out["segment"][i] == "":
            raise DataError(
                f"line {line}, column {cols['segment']!r}: empty segment",
                source=str(path),
                column=cols["segment"],
            )
        lat, lon = _coords(path, cols, row, line)
        out["lat"].append(lat)
        out["lon"].append(lon)
        out["region"].append(row.get(cols["region"], "") if cols["region"] else "")
        cap = row.get(cols["max_accounts"], "") if cols["max_accounts"] else ""
        out["max_accounts"].append(
            _number(path, cols["max_accounts"], line, cap, default=math.inf, integer=True)
        )
        weight = row.get(cols["capacity_weight"], "") if cols["capacity_weight"] else ""
        out["weight"].append(
            _number(path, cols["capacity_weight"], line, weight, default=1.0, allow_equal=False)
        )
    return out


def read_accounts(path: str | Path) -> dict[str, object]:
    """Read an account table; returns columns as lists (see module notes)."""
    cols, rows = _read_rows(
        Path(path),
        ("account", "segment", "potential"),
        ("workload", "lat", "lon", "region", "owner", "locked"),
        "accounts",
    )
    ids = [r[cols["account"]] for r in rows]
    _unique(path, cols["account"], ids, "account")
    out = {
        "accounts": ids,
        "segment": [],
        "potential": [],
        "workload": [],
        "lat": [],
        "lon": [],
        "region": [],
        "owner": [],
        "locked": [],
    }
    for i, row in enumerate(rows):
        line = i + 2
        segment = row[cols["segment"]]
        if segment == "":
            raise DataError(
                f"line {line}, column {cols['segment']!r}: empty segment",
                source=str(path),
                column=cols["segment"],
            )
        out["segment"].append(segment)
        out["potential"].append(_number(path, cols["potential"], line, row[cols["potential"]]))
        work = row.get(cols["workload"], "") if cols["workload"] else ""
        out["workload"].append(_number(path, cols["workload"], line, work, default=1.0))
        lat, lon = _coords(path, cols, row, line)
        out["lat"].append(lat)
        out["lon"].append(lon)
        out["region"].append(row.get(cols["region"], "") if cols["region"] else "")
        out["owner"].append(row.get(cols["owner"], "") if cols["owner"] else "")
        flag = (row.get(cols["locked"], "") if cols["locked"] else "").lower()
        if flag not in _TRUE | _FALSE:
            raise DataError(
                f"line {line}, column {cols['locked']!r}: value {flag!r} is not "
                "a flag; use true/false, yes/no or 1/0",
                source=str(path),
                column=cols["locked"],
            )
        if flag in _TRUE and out["owner"][-1] == "":
            raise DataError(
                f"line {line}, column {cols['locked']!r}: account "
                f"{ids[i]!r} is locked but has no owner to stay with",
                source=str(path),
                column=cols["locked"],
            )
        out["locked"].append(flag in _TRUE)
    return out


def make_instance(
    accounts: dict, reps: dict, accounts_source: str = "accounts", reps_source: str = "reps"
) -> Instance:
    """Arrays from the column dicts of :func:`read_accounts` and :func:`read_reps`.

    Segments are those of the reps followed by any that only accounts name
    (such a segment has no rep: :func:`~rampcast.territory.explain.explain`
    reports it). Unknown owners become ``-1``; an account locked to an
    unknown rep is a :class:`~rampcast.errors.DataError`.
    """
    segments = list(dict.fromkeys(list(reps["segment"]) + list(accounts["segment"])))
    seg_index = {s: i for i, s in enumerate(segments)}
    rep_index = {r: i for i, r in enumerate(reps["reps"])}
    owner = np.array([rep_index.get(o, -1) for o in accounts["owner"]], dtype=np.int64)
    locked = np.array(accounts["locked"], dtype=bool)
    bad = np.flatnonzero(locked & (owner < 0))
    if bad.size:
        a = int(bad[0])
        raise DataError(
            f"line {a + 2}: account {accounts['accounts'][a]!r} is locked to "
            f"owner {accounts['owner'][a]!r}, who is not in {reps_source}",
            source=accounts_source,
            column="owner",
        )
    rep_segment = np.array([seg_index[s] for s in reps["segment"]], dtype=np.int64)
    weight = np.array(reps["weight"], dtype=float)
    return Instance(
        accounts=tuple(accounts["accounts"]),
        segment=np.array([seg_index[s] for s in accounts["segment"]], dtype=np.int64),
        potential=np.array(accounts["potential"], dtype=float),
        workload=np.array(accounts["workload"], dtype=float),
        lat=np.array(accounts["lat"], dtype=float),
        lon=np.array(accounts["lon"], dtype=float),
        region=tuple(accounts["region"]),
        owner=owner,
        owner_label=tuple(accounts["owner"]),
        locked=locked,
        reps=tuple(reps["reps"]),
        rep_segment=rep_segment,
        rep_lat=np.array(reps["lat"], dtype=float),
        rep_lon=np.array(reps["lon"], dtype=float),
        rep_region=tuple(reps["region"]),
        max_accounts=np.array(reps["max_accounts"], dtype=float),
        weight=weight,
        segments=tuple(segments),
        target_share=shares_from_weights(weight, rep_segment, len(segments)),
        share_source="capacity_weight" if np.any(weight != 1.0) else "equal",
    )


def load_instance(accounts_path: str | Path, reps_path: str | Path) -> Instance:
    """Read both CSV files into an :class:`Instance` (shares from capacity weights)."""
    reps = read_reps(reps_path)
    accounts = read_accounts(accounts_path)
    return make_instance(accounts, reps, str(accounts_path), str(reps_path))
