"""Summaries of simulated paths: quantile bands, means, P(target) and risk.

Periods are consecutive quarters and 12-month years counted from the horizon
start (the fiscal year starts with the horizon). Flows (bookings, capacity,
hires, departures) add up over a period; stocks (headcount, ramped-rep
equivalents, vacancies) are read at the period's last month.

Risk is measured on the gap :math:`G = T - B` between a period's target
:math:`T` and its bookings :math:`B` (or, with no target, the gap to mean
bookings):

* value at risk :math:`\\mathrm{VaR}_\\alpha = q_\\alpha(G) = T - q_{1-\\alpha}(B)`;
* expected shortfall :math:`\\mathrm{ES}_\\alpha = E[G \\mid G \\ge
  \\mathrm{VaR}_\\alpha]`, the mean of the worst :math:`1 - \\alpha` of trials;
* revenue at risk :math:`E[\\max(0, G)]`, the mean shortfall below target.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import xarray as xr

from rampcast.scenario import Scenario

__all__ = ["Period", "periods", "summarize", "risk_metrics", "STOCKS", "FLOWS"]

STOCKS = ("headcount", "rre", "vacancies")
FLOWS = ("capacity", "bookings", "hires", "departures")
TOTAL = "total"


@dataclass(frozen=True)
class Period:
    """A quarter or year of the horizon: months ``first .. last`` (inclusive)."""

    label: str
    kind: str  # "quarter" or "year"
    first: int
    last: int
    target: float | None


def periods(scenario: Scenario) -> list[Period]:
    """Quarters then years of the horizon, with their targets.

    A trailing partial quarter or year is dropped: its target would not compare.
    """
    n = scenario.horizon.months
    t = scenario.targets
    out = []
    for y in range(n // 12 + (1 if n % 12 >= 3 else 0)):
        for q in range(4):
            first = 12 * y + 3 * q
            if first + 3 > n:
                break
            target = t.quarterly[q] if t.quarterly is not None else None
            out.append(Period(f"Y{y + 1}Q{q + 1}", "quarter", first, first + 2, target))
        if 12 * y + 12 <= n:
            out.append(Period(f"Y{y + 1}", "year", 12 * y, 12 * y + 11, t.annual))
    return out


def risk_metrics(bookings: np.ndarray, reference: float, level: float) -> dict[str, float]:
    """VaR, expected shortfall and mean shortfall of ``reference - bookings``.

    Parameters
    ----------
    bookings
        One value per trial.
    reference
        The target (or the mean, when there is no target).
    level
        Confidence level :math:`\\alpha` (0.9 looks at the worst 10%).

    Returns
    -------
    dict
        ``var``, ``es`` and ``mean_shortfall``.

    Examples
    --------
    >>> out = risk_metrics(np.arange(1.0, 11.0), reference=10.0, level=0.8)
    >>> out["es"], out["mean_shortfall"]
    (8.5, 4.5)
    """
    gap = reference - np.asarray(bookings, dtype=float)
    var = float(np.quantile(gap, level))
    worst = max(1, math.ceil(round((1.0 - level) * gap.size, 9)))
    es = float(np.sort(gap)[-worst:].mean())
    return {"var": var, "es": es, "mean_shortfall": float(np.maximum(gap, 0.0).mean())}


def _with_total(da: xr.DataArray) -> xr.DataArray:
    total = da.sum("segment").expand_dims(segment=[TOTAL])
    return xr.concat([da, total], dim="segment")


def _period_values(data: xr.Dataset, plist: list[Period]) -> xr.Dataset:
    """Per-period totals (flows) and period-end values (stocks)."""
    parts = []
    for p in plist:
        window = data.isel(month=slice(p.first, p.last + 1))
        flows = window[list(FLOWS)].sum("month")
        stocks = window[list(STOCKS)].isel(month=-1, drop=True)
        parts.append(xr.merge([flows, stocks]))
    return xr.concat(parts, dim="period").assign_coords(period=[p.label for p in plist])


def _band_variables(values: xr.Dataset, qs: list[float], suffix: str) -> dict:
    out = {}
    for name, da in values.data_vars.items():
        out[f"{name}{suffix}_mean"] = da.mean("trial").assign_attrs(da.attrs)
        out[f"{name}{suffix}_q"] = da.quantile(qs, dim="trial").assign_attrs(da.attrs)
    return out


def _target_variables(per: xr.Dataset, plist: list[Period], level: float) -> dict:
    total = per["bookings"].sel(segment=TOTAL)
    target = np.array([np.nan if p.target is None else p.target for p in plist])
    rows = {"p_target": [], "var": [], "es": [], "mean_shortfall": []}
    for i, p in enumerate(plist):
        b = total.isel(period=i).values
        ref = float(b.mean()) if p.target is None else p.target
        r = risk_metrics(b, ref, level)
        rows["p_target"].append(np.nan if p.target is None else float((b >= p.target).mean()))
        for key in ("var", "es", "mean_shortfall"):
            rows[key].append(r[key])
    out = {"target": ("period", target, {"description": "bookings target of the period"})}
    texts = {
        "p_target": "probability that total bookings reach the target (>=)",
        "var": f"value at risk at {level:g}: {level:g}-quantile of target - bookings",
        "es": f"expected shortfall at {level:g}: mean gap in the worst {1 - level:.0%}",
        "mean_shortfall": "mean of max(0, target - bookings)",
    }
    for key, values in rows.items():
        out[key] = ("period", np.array(values), {"description": texts[key]})
    return out


def summarize(result) -> xr.Dataset:
    """Summarise a :class:`~rampcast.model.SimulationResult`.

    Returns
    -------
    xarray.Dataset
        Dimensions ``quantile``, ``month``, ``period`` and ``segment`` (the
        scenario's segments plus ``total``). ``<metric>_q`` and
        ``<metric>_mean`` are monthly bands and means; ``<metric>_period_q``
        and ``<metric>_period_mean`` the same per quarter and year;
        ``target``, ``p_target``, ``var``, ``es`` and ``mean_shortfall`` are
        per period, for all segments together. Conventions, seed and units
        are in the attributes.
    """
    scenario = result.scenario
    conv = scenario.conventions
    qs = list(conv.quantiles)
    data = result.data.map(_with_total, keep_attrs=True)
    plist = periods(scenario)
    per = _period_values(data, plist)

    variables = _band_variables(data, qs, "")
    if plist:
        variables |= _band_variables(per, qs, "_period")
        variables |= _target_variables(per, plist, conv.risk_level)
    ds = xr.Dataset(variables)
    if plist:
        ds = ds.assign_coords(
            period_kind=("period", [p.kind for p in plist]),
            period_start=("period", [scenario.months[p.first] for p in plist]),
        )
        ds["period_start"] = ds["period_start"].astype("datetime64[ns]")
    ds.attrs = run_attributes(result)
    return ds


def summarize_expected(scenario: Scenario, expected: xr.Dataset) -> xr.Dataset:
    """Per-period expected values from :func:`rampcast.expected` output."""
    data = expected.map(_with_total, keep_attrs=True)
    plist = periods(scenario)
    ds = data.rename({v: f"{v}_mean" for v in data.data_vars})
    if plist:
        per = _period_values(data, plist)
        ds = ds.merge(per.rename({v: f"{v}_period_mean" for v in per.data_vars}))
        ds["target"] = ("period", [np.nan if p.target is None else p.target for p in plist])
        ds = ds.assign_coords(period_kind=("period", [p.kind for p in plist]))
    ds.attrs = {**expected.attrs, **_convention_attrs(scenario)}
    return ds


def _convention_attrs(scenario: Scenario) -> dict:
    conv = scenario.conventions.model_dump(mode="json")
    attrs = {f"convention_{k}": (v if not isinstance(v, list) else ",".join(map(str, v)))
             for k, v in conv.items()}
    attrs["currency"] = scenario.currency
    attrs["scenario"] = scenario.name
    attrs["stocks"] = "headcount, rre and vacancies are month-end (period-end) values"
    attrs["flows"] = "capacity, bookings, hires and departures are sums over the month/period"
    return attrs


def run_attributes(result) -> dict:
    """Attributes that make a summary self-describing."""
    from rampcast import __version__

    return {
        "mode": "monte_carlo",
        "rampcast_version": __version__,
        "plan": result.plan,
        "seed": result.seed,
        "trials": result.trials,
        "sampler": result.scenario.simulation.sampler,
        **_convention_attrs(result.scenario),
    }
