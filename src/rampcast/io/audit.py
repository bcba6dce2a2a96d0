"""Write an audit's findings and a cleaned copy of the opportunities, atomically."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from rampcast.errors import DataError
from rampcast.io.results import atomic_path

__all__ = ["cleaned_path", "write_audit", "write_cleaned"]


def write_audit(out_dir, findings: pd.DataFrame) -> Path:
    """Write ``audit.csv`` (one row per check) into ``out_dir``; return its path."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "audit.csv"
    with atomic_path(path) as tmp:
        findings.to_csv(tmp, index=False)
    return path


def cleaned_path(source, out_dir=None) -> Path:
    """``<stem>.clean.csv`` in ``out_dir``, or beside ``source`` when no folder is given."""
    source = Path(source)
    folder = Path(out_dir) if out_dir is not None else source.parent
    return folder / f"{source.stem}.clean.csv"


def write_cleaned(frame: pd.DataFrame, source, out_dir=None) -> Path:
    """Write a cleaned canonical table as ``<stem>.clean.csv``; never over ``source``.

    The file holds the canonical columns with ISO dates, so it reads back
    with ``read_opportunities(path, layout="generic")``.
    """
    target = cleaned_path(source, out_dir)
    if target.resolve() == Path(source).resolve():
        raise DataError(f"refusing to write the cleaned copy over its input {source}")
    target.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(target) as tmp:
        frame.to_csv(tmp, index=False, date_format="%Y-%m-%d %H:%M:%S")
    return target
