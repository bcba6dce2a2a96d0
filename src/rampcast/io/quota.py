"""Quota inputs and outputs: assignment and history CSVs in, quotas out.

``assignment.csv`` is what ``rampcast territories`` writes (one row per
account: account, rep, previous_owner, moved, potential, workload,
segment); quotas read ``rep`` and ``potential``. A history file has one row
per rep and period: ``rep``, ``period`` (or ``quarter`` / ``year``) and
``bookings``, with periods written ``2026`` or ``2026Q3`` (also
``2026-Q3``).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd

from rampcast.errors import DataError
from rampcast.io.results import atomic_path

__all__ = ["read_assignment", "read_history", "write_quotas"]

_QUARTER = re.compile(r"^(?:FY)?(\d{4})-?Q([1-4])$", re.IGNORECASE)
_YEAR = re.compile(r"^(?:FY)?(\d{4})$", re.IGNORECASE)


def _read_csv(path: Path, required: tuple[str, ...], what: str) -> pd.DataFrame:
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{what} file does not exist", source=str(path))
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise DataError(f"not a readable CSV ({exc})", source=str(path)) from None
    frame.columns = [c.strip() for c in frame.columns]
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise DataError(
            f"missing column {missing[0]!r}; a {what} file needs columns "
            f"{', '.join(required)} (found: {', '.join(frame.columns) or 'none'})",
            source=str(path),
            column=missing[0],
        )
    return frame


def _amounts(frame: pd.DataFrame, column: str, path: Path) -> pd.Series:
    """Parse a column of amounts >= 0, naming the first bad line."""
    values = pd.to_numeric(frame[column].str.strip().str.replace(",", ""), errors="coerce")
    bad = ~np.isfinite(values.to_numpy(dtype=float)) | (values.to_numpy(dtype=float) < 0)
    if bad.any():
        i = int(bad.nonzero()[0][0])
        raise DataError(
            f"line {i + 2}, column {column}: {frame[column].iloc[i]!r} is not an amount >= 0",
            source=str(path),
            column=column,
        )
    return values


def read_assignment(path: str | Path) -> dict[str, float]:
    """Territory potential per rep: the sum of ``potential`` over its accounts.

    Raises
    ------
    DataError
        Naming the file, line, column and value.
    """
    path = Path(path)
    frame = _read_csv(path, ("rep", "potential"), "assignment")
    reps = frame["rep"].str.strip()
    if (reps == "").any():
        i = int((reps == "").to_numpy().nonzero()[0][0])
        raise DataError(
            f"line {i + 2}, column rep: empty; every account needs a rep",
            source=str(path),
            column="rep",
        )
    potential = _amounts(frame, "potential", path)
    return {str(k): float(v) for k, v in potential.groupby(reps, sort=False).sum().items()}


def _quarters_of(period: str) -> int | None:
    if _QUARTER.match(period):
        return 1
    if _YEAR.match(period):
        return 4
    return None


def read_history(path: str | Path) -> dict[str, float]:
    """Last year's bookings per rep, annualised.

    Each rep's rows are summed and scaled to a year by the quarters they
    cover: :math:`H_r = 4 \\sum B / n_{quarters}` (a year row counts 4).
    The file should hold the last 12 months before the quota year.
    """
    path = Path(path)
    frame = _read_csv(path, ("rep", "bookings"), "history")
    column = next((c for c in ("period", "quarter", "year") if c in frame.columns), None)
    if column is None:
        raise DataError(
            "missing column 'period' (or 'quarter' / 'year'); a history file "
            "needs columns rep, period, bookings",
            source=str(path),
            column="period",
        )
    bookings = _amounts(frame, "bookings", path)
    quarters = []
    for i, text in enumerate(frame[column].str.strip()):
        n = _quarters_of(text)
        if n is None:
            raise DataError(
                f"line {i + 2}, column {column}: {text!r} is not a period; "
                "write a year (2026) or a quarter (2026Q3)",
                source=str(path),
                column=column,
            )
        quarters.append(n)
    reps = frame["rep"].str.strip()
    covered = pd.Series(quarters, index=frame.index).groupby(reps).sum()
    total = bookings.groupby(reps).sum()
    return {str(r): float(total[r] * 4.0 / covered[r]) for r in total.index}


def write_quotas(
    out_dir: str | Path, quotas: pd.DataFrame, summary: pd.DataFrame, info: dict
) -> list[Path]:
    """Write ``quotas.csv``, ``summary.csv`` and ``run.json``, each atomically.

    Amounts are written to the cent, probabilities to six decimals;
    ``run.json`` goes last, so its presence says the others are complete.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, table in (("quotas", quotas), ("summary", summary)):
        path = out_dir / f"{name}.csv"
        with atomic_path(path) as tmp:
            table.to_csv(tmp, index=False)
        written.append(path)
    path = out_dir / "run.json"
    text = json.dumps(info, indent=2, sort_keys=True, default=str) + "\n"
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    written.append(path)
    return written
