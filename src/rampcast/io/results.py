"""Write a run's outputs: each file appears whole or not at all.

Every writer writes to a temporary file in the destination folder and moves
it into place with :func:`os.replace`, which is atomic on POSIX and Windows:
a crash leaves either the previous file or the new one, never half of one.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from rampcast.summary import FLOWS, STOCKS, TOTAL, periods

__all__ = ["atomic_path", "summary_table", "trial_table", "write_outputs", "write_run"]


@contextmanager
def atomic_path(target: Path):
    """Yield a temporary path beside ``target``; move it over ``target`` on success."""
    target = Path(target)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; outputs are ordinary files
    try:
        yield Path(tmp)
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _write(target: Path, writer: Callable[[Path], None]) -> None:
    with atomic_path(target) as tmp:
        writer(tmp)


def summary_table(summary: xr.Dataset) -> pd.DataFrame:
    """One row per period and segment: bands of bookings and capacity, stocks, target.

    Works on Monte Carlo summaries (quantile columns ``p10`` ...) and on
    deterministic ones (means only).
    """
    if "period" not in summary.dims:
        return pd.DataFrame()
    rows = []
    has_q = "bookings_period_q" in summary
    for label in summary.period.values:
        for seg in summary.segment.values:
            row = {"period": str(label), "segment": str(seg)}
            for metric in ("bookings", "capacity", "headcount", "rre"):
                name = metric if metric in FLOWS else f"{metric}_end"
                if has_q:
                    bands = summary[f"{metric}_period_q"].sel(period=label, segment=seg)
                    for q, v in zip(bands["quantile"].values, bands.values, strict=True):
                        row[f"{name}_p{round(q * 100):02d}"] = float(v)
                row[f"{name}_mean"] = float(
                    summary[f"{metric}_period_mean"].sel(period=label, segment=seg))
            total = seg == TOTAL
            row["target"] = float(summary["target"].sel(period=label)) if total else np.nan
            if has_q:
                for key in ("p_target", "var", "es", "mean_shortfall"):
                    row[key] = float(summary[key].sel(period=label)) if total else np.nan
            rows.append(row)
    return pd.DataFrame(rows)


def trial_table(result) -> pd.DataFrame:
    """Per-trial totals for each year of the horizon, by segment and in total."""
    data = result.data
    frames = []
    for p in periods(result.scenario):
        if p.kind != "year":
            continue
        window = data.isel(month=slice(p.first, p.last + 1))
        values = window[list(FLOWS)].sum("month").merge(
            window[list(STOCKS)].isel(month=-1, drop=True)
            .rename({s: f"{s}_end" for s in STOCKS}))
        total = values.sum("segment").expand_dims(segment=[TOTAL])
        values = xr.concat([values, total], dim="segment")
        frame = values.to_dataframe().reset_index()
        frame.insert(1, "period", p.label)
        frames.append(frame)
    if not frames:
        return pd.DataFrame()
    return pd.concat(frames, ignore_index=True)


def write_run(out_dir: Path, summary: xr.Dataset, table: pd.DataFrame,
              trials: pd.DataFrame | None, run_info: dict) -> list[Path]:
    """Write ``results.nc``, ``summary.csv``, ``trials.parquet`` and ``run.json``.

    ``run.json`` is written last, so its presence says the run's files are
    complete. Returns the paths written.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []

    path = out_dir / "results.nc"
    _write(path, lambda tmp: summary.to_netcdf(tmp, engine="h5netcdf"))
    written.append(path)
    path = out_dir / "summary.csv"
    _write(path, lambda tmp: table.to_csv(tmp, index=False, float_format="%.12g"))
    written.append(path)
    path = out_dir / "trials.parquet"
    if trials is not None and not trials.empty:
        _write(path, lambda tmp: trials.to_parquet(tmp, index=False))
        written.append(path)
    else:
        path.unlink(missing_ok=True)  # a stale file from an earlier run would mislead
    path = out_dir / "run.json"
    text = json.dumps(run_info, indent=2, sort_keys=True, default=str) + "\n"
    _write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))
    written.append(path)
    return written


def write_outputs(out_dir: Path, tables: dict[str, pd.DataFrame], data: xr.Dataset | None,
                  info: dict) -> list[Path]:
    """Write ``<name>.csv`` per table, ``results.nc`` and ``run.json``, each atomically.

    Used by ``rampcast compare`` and ``rampcast sensitivity``. ``run.json`` is
    written last, so its presence says the other files are complete. Returns
    the paths written.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, table in tables.items():
        path = out_dir / f"{name}.csv"
        _write(path, lambda tmp, t=table: t.to_csv(tmp, index=False, float_format="%.12g"))
        written.append(path)
    if data is not None:
        path = out_dir / "results.nc"
        _write(path, lambda tmp: data.to_netcdf(tmp, engine="h5netcdf"))
        written.append(path)
    path = out_dir / "run.json"
    text = json.dumps(info, indent=2, sort_keys=True, default=str) + "\n"
    _write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))
    written.append(path)
    return written
