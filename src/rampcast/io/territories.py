"""Write a territory assignment: ``assignment.csv``, ``reps.csv``, ``metrics.json``.

Each file goes through :func:`rampcast.io.results.atomic_path`;
``metrics.json`` is written last, so its presence says the set is complete.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

__all__ = ["write_territories"]


def write_territories(out_dir: Path, result) -> list[Path]:
    """Write the three files of ``result`` (a ``TerritoryResult``); return their paths."""
    from rampcast.io.results import atomic_path
    from rampcast.territory.metrics import assignment_table, metrics, rep_table

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, table in (
        ("assignment.csv", assignment_table(result)),
        ("reps.csv", rep_table(result)),
    ):
        path = out_dir / name
        with atomic_path(path) as tmp:
            table.to_csv(tmp, index=False, float_format="%.10g")
        written.append(path)
    path = out_dir / "metrics.json"
    text = json.dumps(_clean(metrics(result)), indent=2, sort_keys=True, default=str) + "\n"
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    written.append(path)
    return written


def _clean(value):
    """JSON has no infinity or NaN: write null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value
