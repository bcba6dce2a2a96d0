"""Derive the figures of ``scenarios/maven.yaml`` from the Maven CRM export.

The Maven Analytics "CRM + Sales + Opportunities" dataset is fictional
teaching data (see ``SOURCE.md`` beside it). This script reads it, checks
the files against the checksums recorded in ``SOURCE.md``, and prints
every figure the scenario uses, each with the way it was computed. The
scenario's comments quote these printouts, so each number can be
reproduced.

Usage::

    python scenarios/derive_maven.py [DATA_DIR] [--write-roster CSV]

``DATA_DIR`` defaults to ``../shared/data/maven_crm_sales_opportunities``
relative to the repository root. ``--write-roster`` also writes the
derived roster (agent, office, start date) that ``maven.yaml`` reads.

Notes
-----
Close dates run from 2017-03-01 to 2017-12-31 only. Every close-based
figure uses the window April to December 2017: three complete quarters,
so the quarter-end pattern averages out inside it. March, the first month
with any close and possibly a backlog of earlier engagements, is left out.
"""

from __future__ import annotations

import argparse
import hashlib
import math
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
DATASET = "maven_crm_sales_opportunities"
DEFAULT_DATA = REPO.parent / "shared" / "data" / DATASET

SHA256 = {
    "sales_pipeline.csv": "825ce8f6c32d4009548b468df3173d55a46fd73f2531f532c5459371dc52adf2",
    "sales_teams.csv": "aeff1272ebe196f5a27e3fc0578aa27abf48ed9ae461aa344fb95990e5ad8bd1",
}

WINDOW = pd.period_range("2017-04", "2017-12", freq="M")
DATA_END = pd.Period("2017-12", freq="M")
HORIZON_START = "2018-01-01"
GROWTH = 1.10


def load(data_dir: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Read the pipeline and team files, checking their checksums.

    Returns the pipeline (one row per opportunity, with the agent's
    office joined on) and the team roster.
    """
    for name, expected in SHA256.items():
        digest = hashlib.sha256((data_dir / name).read_bytes()).hexdigest()
        status = "ok" if digest == expected else f"DIFFERS ({digest})"
        print(f"sha256 {name}: {status}")

    teams = pd.read_csv(data_dir / "sales_teams.csv")
    dates = ["engage_date", "close_date"]
    pipe = pd.read_csv(data_dir / "sales_pipeline.csv", parse_dates=dates)
    pipe = pipe.merge(teams, on="sales_agent", how="left", validate="m:1")
    if pipe["regional_office"].isna().any():
        raise ValueError("opportunities of agents not in sales_teams.csv")

    pipe["engage_month"] = pipe["engage_date"].dt.to_period("M")
    pipe["close_month"] = pipe["close_date"].dt.to_period("M")
    return pipe, teams


def closed_in_window(pipe: pd.DataFrame) -> pd.DataFrame:
    """Won and lost opportunities whose close month is in ``WINDOW``."""
    closed = pipe[pipe["deal_stage"].isin(["Won", "Lost"])]
    closed = closed[closed["close_month"].isin(WINDOW)].copy()
    closed["won"] = closed["deal_stage"].eq("Won")
    closed["won_value"] = closed["close_value"].where(closed["won"], 0.0)
    return closed


def _months_between(first: pd.Series, last: pd.Series) -> pd.Series:
    """Whole months from ``first`` to ``last`` inclusive (periods)."""
    return (last - first).map(lambda offset: offset.n + 1)


def per_agent(closed: pd.DataFrame) -> pd.DataFrame:
    """Closed and won counts, won revenue and active months per agent.

    An agent's active months run from its first to its last close month
    inside the window, inclusive.
    """
    g = closed.groupby("sales_agent")
    month = g["close_month"]
    agents = pd.DataFrame(
        {
            "office": g["regional_office"].first(),
            "closed": g.size(),
            "won": g["won"].sum(),
            "revenue": g["won_value"].sum(),
            "months": _months_between(month.min(), month.max()),
        }
    )
    agents["win_rate"] = agents["won"] / agents["closed"]
    return agents


def win_rates(closed: pd.DataFrame, agents: pd.DataFrame) -> tuple[pd.Series, float]:
    """Office win rate (won / closed) and one pooled Beta concentration.

    The concentration is a method-of-moments fit to the spread of
    per-agent win rates around their office mean, after removing the
    binomial noise each agent's rate carries:

        v_between = v_observed - mean_i(p_i (1 - p_i) / n_i)
        concentration = m (1 - m) / v_between - 1

    pooled over all agents (ten per office are too few to fit one each).
    """
    rate = closed.groupby("regional_office")["won"].mean()
    m = closed["won"].mean()

    p = agents["win_rate"]
    dev = p - p.groupby(agents["office"]).transform("mean")
    dof = len(agents) - agents["office"].nunique()
    v_obs = float((dev**2).sum() / dof)
    noise = float((p * (1 - p) / agents["closed"]).mean())
    naive = m * (1 - m) / v_obs - 1
    if v_obs > noise:
        conc = m * (1 - m) / (v_obs - noise) - 1
    else:
        conc = math.inf

    print("\n# win rate = won / closed, closes Apr-Dec 2017")
    n_closed = closed.groupby("regional_office").size()
    for office, value in rate.items():
        print(f"  {office}: {value:.4f} (closed n={n_closed[office]}) -> yaml mean {value:.3f}")
    print(f"  all offices: {m:.4f}")
    print(f"  per-agent rates: {p.min():.3f} to {p.max():.3f}")
    print(f"  within-office variance of agent rates: {v_obs:.6f} (dof {dof})")
    print(f"  binomial noise, mean p(1-p)/n: {noise:.6f}")
    print(f"  concentration without noise removal: {naive:.1f} (not used)")
    print(f"  concentration, noise removed: {conc:.1f} -> yaml concentration {_sig3(conc)}")
    return rate, conc


def opportunities(closed: pd.DataFrame, agents: pd.DataFrame, pipe: pd.DataFrame) -> pd.Series:
    """Closed opportunities per agent-month by office, in ``WINDOW``.

    The engine decides each opportunity (won with the rep's win rate, or
    lost) in the month it counts it, and the win rate is measured on
    closed deals, so the rate counts closed deals per agent-month. The
    engaged count (closed plus still open, by engage month, over each
    agent's whole active window) is printed as a cross-check.
    """
    months = agents.groupby("office")["months"].sum()
    rate = closed.groupby("regional_office").size() / months

    engaged = pipe[pipe["engage_date"].notna()]
    by_agent = engaged.groupby("sales_agent")
    first = by_agent["engage_month"].min()
    active = _months_between(first, pd.Series(DATA_END, index=first.index))
    office = by_agent["regional_office"].first()
    engaged_n = engaged.groupby("regional_office").size()
    engaged_rate = engaged_n / active.groupby(office).sum()

    print("\n# opportunities per agent-month = closed deals / agent-months, closes Apr-Dec 2017")
    for name, value in rate.items():
        print(f"  {name}: {value:.3f} ({months[name]} agent-months) -> yaml {value:.2f}")
    print(
        "  cross-check: engaged (won + lost + open) per agent-month,"
        " first engage month to 2017-12:"
    )
    for name, value in engaged_rate.items():
        print(f"    {name}: {value:.2f}")
    return rate


def deal_sizes(closed: pd.DataFrame) -> pd.DataFrame:
    """Won deal size by office: moments, and the ML lognormal.

    The scenario uses ``mean`` and ``cv`` (the lognormal with the
    sample's mean and variance). The maximum-likelihood lognormal (median
    exp(mean log), sigma = sd log) is printed to show why it is not used:
    won values mix seven products averaging 55 to 26,707, and that fit
    overstates the mean deal size by more than half.
    """
    won = closed[closed["won"]]
    rows = {}
    print("\n# deal size, won close_value, closes Apr-Dec 2017")
    for office, values in won.groupby("regional_office")["close_value"]:
        mean, sd = values.mean(), values.std(ddof=1)
        cv = sd / mean
        logs = np.log(values)
        ml_median, ml_sigma = math.exp(logs.mean()), logs.std(ddof=1)
        ml_mean = ml_median * math.exp(ml_sigma**2 / 2)
        rows[office] = {"mean": mean, "cv": cv}
        print(
            f"  {office}: n={len(values)} mean {mean:.1f} sd {sd:.1f}"
            f" cv {cv:.3f} median {values.median():.0f}"
            f" -> yaml mean {mean:.0f}, cv {cv:.2f}"
        )
        print(
            f"    ML lognormal: median {ml_median:.0f},"
            f" sigma {ml_sigma:.3f}, mean {ml_mean:.0f}"
            f" ({ml_mean / mean - 1:+.0%}; not used)"
        )
    return pd.DataFrame(rows).T


def skill_sd(agents: pd.DataFrame, rate: pd.Series, conc: float, sizes: pd.DataFrame) -> pd.Series:
    """Log-sd of the persistent skill multiplier, by office.

    Skill multiplies a rep's opportunity rate, so it carries every
    persistent difference in won revenue between agents other than the
    win rate (workload and product mix). From the within-office variance
    of log won revenue per active month we take away the part due to win
    rates (Beta variance over m^2) and the sampling noise of a compound
    Poisson total, (1 + cv^2) / wins:

        skill_sd^2 = var(log R_i) - var(p) / m^2 - mean_i((1 + cv^2) / w_i)
    """
    log_r = np.log(agents["revenue"] / agents["months"])
    out = {}
    print("\n# skill_sd, from won revenue per active month per agent, closes Apr-Dec 2017")
    for office, idx in agents.groupby("office").groups.items():
        m = rate[office]
        v_rev = float(log_r[idx].var(ddof=1))
        v_win = m * (1 - m) / (conc + 1) / m**2
        cv2 = sizes.loc[office, "cv"] ** 2
        noise = float(((1 + cv2) / agents.loc[idx, "won"]).mean())
        value = math.sqrt(max(v_rev - v_win - noise, 0.0))
        out[office] = value
        rev = agents.loc[idx, "revenue"]
        print(
            f"  {office}: sd log R {math.sqrt(v_rev):.3f},"
            f" win part {v_win:.4f}, noise {noise:.4f}"
            f" -> skill_sd {value:.3f} -> yaml {value:.2f}"
        )
        print(
            f"    won revenue per agent {rev.min():,.0f}"
            f" to {rev.max():,.0f}, median {rev.median():,.0f}"
        )
    return pd.Series(out)


def seasonality(closed: pd.DataFrame) -> list[float]:
    """Month-in-quarter index of won revenue, all offices pooled.

    Each calendar month appears once (Jan and Feb never), so a
    twelve-month calendar pattern cannot be estimated. The three complete
    quarters do show one repeated pattern by position in the quarter; its
    index is the mean won revenue of that position over the mean of all
    nine months.
    """
    monthly = closed.groupby("close_month")["won_value"].sum()
    pos = np.array([(p.month - 1) % 3 for p in monthly.index])
    level = monthly.mean()
    index = [float(monthly[pos == k].mean() / level) for k in range(3)]

    print("\n# seasonality: won revenue by close month / mean month, Apr-Dec 2017")
    for month, value in monthly.items():
        print(f"  {month}: {value:,.0f} ({value / level:.3f})")
    shown = ", ".join(f"{v:.3f}" for v in index)
    print(f"  month-in-quarter index (1st, 2nd, 3rd): {shown}")
    print(f"  -> yaml {[round(v, 2) for v in index] * 4}")
    return index


def ramp_hint(pipe: pd.DataFrame) -> None:
    """Engagements per agent by months since the agent's first engagement.

    Every agent starts within Oct to Dec 2016, so tenure here is
    confounded with the CRM's own start-up; printed as a hint for the
    assumed ramp only.
    """
    engaged = pipe[pipe["engage_date"].notna()]
    first = engaged.groupby("sales_agent")["engage_month"].transform("min")
    tenure = _months_between(first, engaged["engage_month"]) - 1
    agents = engaged["sales_agent"].nunique()
    per_agent = tenure.value_counts().sort_index() / agents
    full = per_agent.loc[5:11].mean()
    shown = ", ".join(f"{k}:{v / full:.2f}" for k, v in per_agent.loc[:8].items())
    print("\n# ramp hint: engagements per agent by tenure month / mean of tenure 5-11")
    print(f"  {shown}")


def attrition_bound(pipe: pd.DataFrame) -> None:
    """Upper bound on the monthly hazard from a record with no leaver.

    No active agent stops working deals before Nov 2017, so the record
    shows no departure; the rule of three bounds the hazard at
    3 / agent-months.
    """
    engaged = pipe[pipe["engage_date"].notna()]
    span = engaged.groupby("sales_agent")["engage_month"].agg(["min", "max"])
    months = int(_months_between(span["min"], span["max"]).sum())
    h = 3 / months
    annual = 1 - (1 - h) ** 12
    print("\n# attrition: not in the data; zero leavers observed")
    print(f"  earliest last engagement: {span['max'].min()}")
    print(
        f"  agent-months at risk {months}; 95% bound on monthly hazard"
        f" {h:.4f} = annual {annual:.3f}"
    )


def target(pipe: pd.DataFrame, closed: pd.DataFrame) -> None:
    """The 2018 target: Apr-Dec 2017 won revenue, annualised, x GROWTH."""
    won_2017 = pipe.loc[pipe["deal_stage"].eq("Won"), "close_value"].sum()
    window = closed["won_value"].sum()
    annual = window / len(WINDOW) * 12
    goal = annual * GROWTH
    print("\n# target")
    print(f"  won revenue, all 2017 closes (Mar-Dec): {won_2017:,.0f}")
    print(f"  won revenue Apr-Dec 2017: {window:,.0f}; x 12/9 = {annual:,.0f}")
    print(f"  x growth {GROWTH} = {goal:,.0f} -> yaml {round(goal, -4):,.0f}")


def roster(pipe: pd.DataFrame, teams: pd.DataFrame) -> pd.DataFrame:
    """One row per agent: id, office as segment, first engage date as start.

    Agents with no opportunity at all start at the horizon start (tenure
    0 in January 2018), as new hires with no history.
    """
    first = pipe.groupby("sales_agent")["engage_date"].min()
    start = teams["sales_agent"].map(first)
    new = start.isna()
    out = pd.DataFrame(
        {
            "id": teams["sales_agent"],
            "segment": teams["regional_office"],
            "start": start.dt.strftime("%Y-%m-%d").where(~new, HORIZON_START),
        }
    )
    counts = out["segment"].value_counts().sort_index()
    print(f"\n# roster: {len(out)} agents")
    print(f"  first engagements {first.min():%Y-%m-%d} to {first.max():%Y-%m-%d}")
    print(f"  no opportunities, start {HORIZON_START}: " + ", ".join(out.loc[new, "id"]))
    print("  by office: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    return out


def _sig3(x: float) -> str:
    """Three significant figures, as YAML would take them."""
    return "inf" if math.isinf(x) else f"{float(f'{x:.3g}'):g}"


def main(argv: list[str] | None = None) -> None:
    """Print every derived figure; optionally write the roster CSV."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", nargs="?", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--write-roster", type=Path, metavar="CSV")
    args = parser.parse_args(argv)

    pipe, teams = load(args.data_dir)
    closed = closed_in_window(pipe)
    agents = per_agent(closed)

    rate, conc = win_rates(closed, agents)
    opportunities(closed, agents, pipe)
    sizes = deal_sizes(closed)
    skill_sd(agents, rate, conc, sizes)
    seasonality(closed)
    ramp_hint(pipe)
    attrition_bound(pipe)
    target(pipe, closed)

    reps = roster(pipe, teams)
    if args.write_roster is not None:
        reps.to_csv(args.write_roster, index=False, lineterminator="\n")
        print(f"  wrote {args.write_roster}")


if __name__ == "__main__":
    main()
