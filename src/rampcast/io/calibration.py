"""Write a :class:`~rampcast.calibrate.estimate.Calibration` as YAML.

The file has a ``segments:`` section in the scenario's own keys (so a
scenario's ``calibration:`` key can fill in what the scenario does not
state), a ``provenance:`` section with n, interval, method and fallback of
each value written there, and an ``estimates:`` section with the figures
that have no scenario key (cycle length, goodness of fit, productivity).
See ``docs/calibration.md``.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

import yaml

from rampcast import __version__
from rampcast.calibrate.estimate import THRESHOLDS, Calibration, Estimate, SegmentCalibration
from rampcast.io.results import atomic_path

__all__ = ["KS_PVALUE", "calibration_dict", "write_calibration"]

#: Deal size is written as median and sigma (the lognormal fit) when the fit's
#: KS p-value is at least this; otherwise as the sample's mean and cv.
KS_PVALUE = 0.01

FORMAT_VERSION = 1


def _plain(value: Any, digits: int = 6) -> Any:
    """Python floats rounded to ``digits`` significant digits, tuples as lists."""
    if isinstance(value, tuple | list):
        return [_plain(v, digits) for v in value]
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value
    try:
        x = float(value)
    except (TypeError, ValueError):
        return value
    if not math.isfinite(x) or x == 0:
        return x
    return float(f"{x:.{digits}g}")


def _record(est: Estimate) -> dict:
    out = {
        "value": _plain(est.value),
        "low": _plain(est.low),
        "high": _plain(est.high),
        "n": int(est.n),
        "method": est.method,
        "fallback": bool(est.fallback),
    }
    if est.note:
        out["note"] = est.note
    return out


def _usable(est: Estimate | None) -> bool:
    if est is None:
        return False
    values = est.value if isinstance(est.value, tuple) else (est.value,)
    return all(math.isfinite(float(v)) for v in values)


def _segment(seg: SegmentCalibration) -> tuple[dict, dict, dict]:
    """(scenario keys, provenance, other estimates) of one segment."""
    e = seg.estimates
    keys: dict[str, Any] = {}
    prov: dict[str, dict] = {}
    used: set[str] = set()

    def put(path: str, name: str) -> Any:
        used.add(name)
        prov[path] = _record(e[name])
        return _plain(e[name].value, 4 if name in ("ramp.curve", "seasonality") else 6)

    if _usable(e.get("ramp.curve")):
        keys["ramp"] = {"curve": put("ramp.curve", "ramp.curve")}
    if _usable(e.get("attrition.bands")):
        starts = seg.tables["attrition"]["from_month"].tolist()
        rates = put("attrition.bands", "attrition.bands")
        keys["attrition"] = {
            "bands": [
                {"from_month": int(a), "annual_rate": r}
                for a, r in zip(starts, rates, strict=True)
            ]
        }
        used.add("attrition.annual_rate")
    elif _usable(e.get("attrition.annual_rate")):
        keys["attrition"] = {"annual_rate": put("attrition.annual_rate", "attrition.annual_rate")}
    prod: dict[str, Any] = {}
    if _usable(e.get("opportunities_per_month")):
        prod["opportunities_per_month"] = put(
            "productivity.opportunities_per_month", "opportunities_per_month"
        )
    if _usable(e.get("win_rate.mean")) and _usable(e.get("win_rate.concentration")):
        prod["win_rate"] = {
            "mean": put("productivity.win_rate.mean", "win_rate.mean"),
            "concentration": put("productivity.win_rate.concentration", "win_rate.concentration"),
        }
    if _usable(e.get("deal_size.mu")):
        ks = e.get("deal_size.ks")
        if ks is not None and _usable(ks) and float(ks.low) >= KS_PVALUE:
            prod["deal_size"] = {
                "median": put("productivity.deal_size.median", "deal_size.median"),
                "sigma": put("productivity.deal_size.sigma", "deal_size.sigma"),
            }
        else:
            prod["deal_size"] = {
                "mean": put("productivity.deal_size.mean", "deal_size.mean"),
                "cv": put("productivity.deal_size.cv", "deal_size.cv"),
            }
    if prod:
        keys["productivity"] = {"model": "deal", **prod}
    if _usable(e.get("seasonality")):
        keys["seasonality"] = put("seasonality", "seasonality")
    others = {name: _record(est) for name, est in e.items() if name not in used}
    return keys, prov, others


def calibration_dict(calibration: Calibration, inputs: dict[str, str] | None = None) -> dict:
    """The calibration as the plain data :func:`write_calibration` writes."""
    segments, provenance, estimates = {}, {}, {}
    for name, seg in calibration.segments.items():
        segments[name], provenance[name], estimates[name] = _segment(seg)
    out = {
        "rampcast_calibration": FORMAT_VERSION,
        "rampcast_version": __version__,
        "created_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "as_of": calibration.as_of.isoformat(),
        "window": {
            "first_month": f"{calibration.first_month:%Y-%m}",
            "last_month": f"{calibration.last_month:%Y-%m}",
        },
        "segment_by": calibration.segment_by,
        "inputs": dict(inputs or {}),
        "notes": list(calibration.notes),
        "thresholds": dict(THRESHOLDS),
        "segments": segments,
        "provenance": provenance,
        "estimates": estimates,
    }
    return out


def write_calibration(
    calibration: Calibration, path: str | Path, inputs: dict[str, str] | None = None
) -> Path:
    """Write ``calibration`` to a YAML file, atomically.

    Parameters
    ----------
    calibration
        The result of :func:`rampcast.calibrate.estimate.calibrate`.
    path
        The file to write; its folder is created if needed.
    inputs
        Input file -> sha256, recorded under ``inputs:``.

    Returns
    -------
    pathlib.Path
        The path written.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = (
        "# rampcast calibration: the segments section fills in what a scenario does not "
        "state\n# (scenario key `calibration: <this file>`); see docs/calibration.md\n"
    )
    text += yaml.safe_dump(
        calibration_dict(calibration, inputs), sort_keys=False, allow_unicode=True, width=96
    )
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return path
