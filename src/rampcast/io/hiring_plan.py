"""Write the hiring optimiser's outputs: ``plan.csv``, ``plan.yaml``, ``run.json``.

Each file goes through :func:`rampcast.io.results.atomic_path`, so it
appears whole or not at all; ``run.json`` is written last.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import yaml

from rampcast.io.results import atomic_path

__all__ = ["write_hiring_plan", "plan_fragment"]


def plan_fragment(result, name: str = "optimised") -> dict:
    """A scenario fragment holding the plan: paste it under a scenario's keys."""
    return {"hiring_plans": {name: result.plan_entries()}, "plan": name}


def write_hiring_plan(out_dir: Path, result, run_info: dict) -> list[Path]:
    """Write ``plan.csv`` (segment, month, hires), ``plan.yaml`` and ``run.json``."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []

    path = out_dir / "plan.csv"
    with atomic_path(path) as tmp, tmp.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["segment", "month", "hires", "cost"])
        for h in result.hires:
            writer.writerow([h.segment, f"{h.month:%Y-%m}", h.count, f"{h.cost:.2f}"])
    written.append(path)

    path = out_dir / "plan.yaml"
    header = (
        f"# rampcast plan-hiring: {result.scenario}, confidence {result.confidence:g}, "
        f"cost {result.cost:,.0f} ({result.cost_basis} basis)\n"
    )
    text = header + yaml.safe_dump(plan_fragment(result), sort_keys=False)
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    written.append(path)

    path = out_dir / "run.json"
    text = json.dumps(run_info, indent=2, sort_keys=True, default=str) + "\n"
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    written.append(path)
    return written
