"""Command line: ``rampcast run``, ``compare``, ``sensitivity``.

Parsing, progress, printing and exit codes only.

Exit codes: 0 success, 2 bad input (scenario, options, files), 1 unexpected
failure; ``rampcast audit`` returns 3 when it finds blocking problems.
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import sys
from pathlib import Path

from rampcast.errors import RampcastError

EXIT_OK, EXIT_FAILURE, EXIT_INPUT, EXIT_BLOCKING = 0, 1, 2, 3


def _parser() -> argparse.ArgumentParser:
    from rampcast import __version__

    parser = argparse.ArgumentParser(
        prog="rampcast",
        description="Monte Carlo sales capacity planning: ramp, attrition, hiring, bookings.",
    )
    parser.add_argument("--version", action="version", version=f"rampcast {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    sub = parser.add_subparsers(dest="command", required=True)
    for add in (_add_run, _add_compare, _add_sensitivity, _add_plan_hiring,
                _add_audit, _add_calibrate, _add_synth, _add_quotas, _add_territories):
        add(sub)
    return parser


def _add_run(sub) -> None:
    run = sub.add_parser("run", help="simulate a scenario and summarise capacity and bookings")
    run.add_argument("scenario", nargs="?", type=Path,
                     help="scenario YAML file (default: the bundled default scenario)")
    run.add_argument("-o", "--output", type=Path,
                     help="folder for results.nc, summary.csv, trials.parquet, run.json")
    run.add_argument("--deterministic", action="store_true",
                     help="expected values without sampling")
    run.add_argument("--plan", help="hiring plan to use (default: the scenario's)")
    run.add_argument("--trials", type=int, help="number of trials (overrides the scenario)")
    run.add_argument("--seed", type=int, help="random seed (overrides the scenario)")
    run.add_argument("--threads", type=int, help="numba threads (default: all cores)")
    run.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    run.set_defaults(handler=_run)


def _money(value: float) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    size = abs(value)
    if size >= 1e6:
        return f"{value / 1e6:,.2f}M"
    if size >= 1e3:
        return f"{value / 1e3:,.1f}k"
    return f"{value:,.0f}"


_ROWS = (("bookings", "bookings", _money), ("capacity", "capacity", _money),
         ("headcount_end", "headcount", lambda v: f"{v:,.1f}"),
         ("rre_end", "RRE", lambda v: f"{v:,.1f}"))


def _table(output, scenario):
    """Per period: bands of bookings, capacity, headcount and RRE; target and P(target)."""
    from rich.table import Table

    rows = output.table[output.table["segment"] == "total"]
    info = output.info
    mc = info["mode"] == "monte_carlo"
    bands = [c.split("_")[1] for c in rows.columns if c.startswith("bookings_p")]
    title = f"{scenario.name}, plan {info['plan']}, {scenario.currency}: " + (
        f"{info['trials']:,} trials, seed {info['seed']}" if mc
        else "expected values (deterministic)")
    table = Table(title=title, title_justify="left")
    for name in ["period", "", *[b.upper() for b in bands], "mean", "target"]:
        table.add_column(name, justify="left" if name in ("period", "") else "right")
    if mc:
        table.add_column("P(target)", justify="right")
    for _, r in rows.iterrows():
        for i, (key, label, fmt) in enumerate(_ROWS):
            cells = [r["period"] if i == 0 else "", label]
            cells += [fmt(r[f"{key}_{b}"]) for b in bands] + [fmt(r[f"{key}_mean"])]
            first = i == 0
            cells.append(_money(r["target"]) if first else "")
            if mc:
                p = r["p_target"]
                cells.append("" if not first else "-" if math.isnan(p) else f"{p:.1%}")
            table.add_row(*cells, end_section=i == len(_ROWS) - 1)
    return table


def _risk_lines(output) -> list[str]:
    """Year-level risk figures under the table (Monte Carlo only)."""
    if output.info["mode"] != "monte_carlo":
        return []
    rows = output.table[(output.table["segment"] == "total")
                        & ~output.table["period"].str.contains("Q")]
    level = output.summary.attrs.get("convention_risk_level", 0.9)
    lines = []
    for _, r in rows.iterrows():
        reference = "target" if not math.isnan(r["target"]) else "mean"
        lines.append(
            f"{r['period']} shortfall vs {reference}: VaR{level:.0%} {_money(r['var'])}, "
            f"expected shortfall {_money(r['es'])}, revenue at risk "
            f"{_money(r['mean_shortfall'])}")
    return lines


def _run(args, console) -> int:
    import rampcast

    path = args.scenario or rampcast.default_scenario_path()
    scenario = rampcast.load_scenario(path)
    if args.trials is not None and args.trials < 1:
        raise _InputError(f"--trials must be at least 1; got {args.trials}")
    if args.seed is not None and args.seed < 0:
        raise _InputError(f"--seed must be 0 or more; got {args.seed}")
    if args.plan is not None and args.plan not in scenario.hiring_plans:
        raise _InputError(f"--plan {args.plan!r} is not a hiring plan of {path}; "
                          f"allowed: {', '.join(scenario.hiring_plans)}")
    if args.threads is not None:
        _set_threads(args.threads)
    # the engine loads only once the input is known to be good
    from rampcast.io.results import write_run
    from rampcast.run import run

    output = _with_progress(args, console, scenario, run)
    console.print(_table(output, scenario))
    for line in _risk_lines(output):
        console.print(line)
    conv = scenario.conventions
    console.print(f"conventions: tenure {conv.tenure_index}, attrition "
                  f"{conv.attrition_conversion} on {conv.attrition_applies_to} reps, leaver "
                  f"month share {conv.leaver_month_share:g}, attainment on "
                  f"{conv.attainment_applies_to} reps; headcount and RRE at period end")
    if args.output is not None:
        written = write_run(args.output, output.summary, output.table, output.trials,
                            output.info)
        console.print("wrote " + ", ".join(str(p) for p in written))
    return EXIT_OK


def _with_progress(args, console, scenario, run):
    trials = args.trials or scenario.simulation.trials
    options = {"plan": args.plan, "deterministic": args.deterministic,
               "trials": args.trials, "seed": args.seed}
    if args.deterministic or args.quiet or not console.is_terminal:
        return run(scenario, **options)
    from rich.progress import Progress

    with Progress(console=console, transient=True) as bar:
        task = bar.add_task("simulating", total=trials)
        return run(scenario, progress=lambda n: bar.advance(task, n), **options)


def _set_threads(threads: int) -> None:
    import numba

    top = numba.config.NUMBA_NUM_THREADS
    if not 1 <= threads <= top:
        raise _InputError(f"--threads must be between 1 and {top}; got {threads}")
    numba.set_num_threads(threads)


def _common_options(cmd) -> None:
    cmd.add_argument("-o", "--output", type=Path,
                     help="folder for the CSV tables, results.nc and run.json")
    cmd.add_argument("--trials", type=int, help="number of trials (overrides the scenario)")
    cmd.add_argument("--seed", type=int, help="random seed (overrides the scenario)")
    cmd.add_argument("--threads", type=int, help="numba threads (default: all cores)")


def _add_compare(sub) -> None:
    cmd = sub.add_parser(
        "compare", help="compare hiring plans (or scenario files) with common random numbers")
    cmd.add_argument("scenarios", nargs="+", type=Path, metavar="scenario",
                     help="one scenario file (compare its plans) or several (each file's plan)")
    cmd.add_argument("--plans", help="comma-separated plans of one scenario, baseline first "
                                     "(default: all its plans)")
    cmd.add_argument("--no-attribution", action="store_true",
                     help="skip the gap attribution (four fewer runs per scenario)")
    _common_options(cmd)
    cmd.set_defaults(handler=_compare)


def _add_sensitivity(sub) -> None:
    cmd = sub.add_parser(
        "sensitivity", help="tornado of first-year bookings over the key assumptions")
    cmd.add_argument("scenario", type=Path, help="scenario YAML file")
    cmd.add_argument("--plan", help="hiring plan to use (default: the scenario's)")
    cmd.add_argument("--range", action="append", default=[], metavar="NAME=LOW,HIGH",
                     help="override an assumption's range, e.g. attrition=0.5,1.5 "
                          "(repeatable)")
    _common_options(cmd)
    cmd.set_defaults(handler=_sensitivity)


def _check_common(args) -> None:
    if args.trials is not None and args.trials < 1:
        raise _InputError(f"--trials must be at least 1; got {args.trials}")
    if args.seed is not None and args.seed < 0:
        raise _InputError(f"--seed must be 0 or more; got {args.seed}")
    if args.threads is not None:
        _set_threads(args.threads)


def _percent(value: float) -> str:
    return "-" if value is None or math.isnan(value) else f"{value:.1%}"


def _compare_tables(cmp) -> list:
    """Rich tables of the year periods: plans, differences, gap attribution."""
    from rich.table import Table

    from rampcast.plan.compare import ATTRIBUTION_TERMS

    years = cmp.summary[~cmp.summary["period"].str.contains("Q")]
    bands = [c.split("_")[1] for c in years.columns if c.startswith("bookings_p")]
    plans = Table(title=f"plans: {cmp.info['trials']:,} trials, seed {cmp.info['seed']} "
                        "(common random numbers)", title_justify="left")
    heads = ["plan", "period", "hires", "hire cost", *[b.upper() for b in bands], "mean",
             "P(target)", "VaR", "ES", "HC end", "RRE end", "cost/$"]
    for h in heads:
        plans.add_column(h, justify="left" if h in ("plan", "period") else "right")
    for _, r in years.iterrows():
        plans.add_row(r["plan"], r["period"], str(r["planned_hires"]), _money(r["hire_cost"]),
                      *[_money(r[f"bookings_{b}"]) for b in bands], _money(r["bookings_mean"]),
                      _percent(r["p_target"]), _money(r["var"]), _money(r["es"]),
                      f"{r['headcount_end']:.1f}", f"{r['rre_end']:.1f}",
                      f"{r['cost_per_booked']:.3f}")
    out = [plans]
    diffs = cmp.differences[~cmp.differences["period"].str.contains("Q")]
    table = Table(title=f"paired differences with {cmp.plans[0]} (same trials)",
                  title_justify="left")
    dbands = [c.split("_")[1] for c in diffs.columns if c.startswith("diff_p")]
    for h in ["plan", "period", *[b.upper() for b in dbands], "mean", "P(more)", "P(equal)",
              "P(less)"]:
        table.add_column(h, justify="left" if h in ("plan", "period") else "right")
    for _, r in diffs.iterrows():
        table.add_row(r["plan"], r["period"], *[_money(r[f"diff_{b}"]) for b in dbands],
                      _money(r["diff_mean"]), _percent(r["p_more"]), _percent(r["p_equal"]),
                      _percent(r["p_less"]))
    out.append(table)
    if cmp.attribution is not None:
        attr = cmp.attribution[~cmp.attribution["period"].str.contains("Q")]
        table = Table(title="gap to target = plan capacity + ramp + vacancies + attrition "
                            "+ productivity variance; plan capacity = target - ideal capacity "
                            "(negative: the plan could book more than target)",
                      title_justify="left")
        for h in ["plan", "period", "target", "mean", "gap", *ATTRIBUTION_TERMS]:
            table.add_column(h.replace("_", " "),
                             justify="left" if h in ("plan", "period") else "right")
        for _, r in attr.iterrows():
            table.add_row(r["plan"], r["period"], _money(r["target"]),
                          _money(r["bookings_mean"]), _money(r["gap"]),
                          *[_money(r[t]) for t in ATTRIBUTION_TERMS])
        out.append(table)
    return out


def _compare(args, console) -> int:
    import rampcast

    scenarios = [rampcast.load_scenario(p) for p in args.scenarios]
    _check_common(args)
    from rampcast.plan.compare import compare

    if len(scenarios) > 1:
        if args.plans is not None:
            raise _InputError("--plans selects plans of one scenario file; with several "
                              "files each file's own plan is compared")
        target, plans = scenarios, None
    else:
        target = scenarios[0]
        plans = None if args.plans is None else [p.strip() for p in args.plans.split(",")
                                                 if p.strip()]
        unknown = [p for p in plans or [] if p not in target.hiring_plans]
        if unknown:
            raise _InputError(f"--plans: {unknown[0]!r} is not a hiring plan of "
                              f"{args.scenarios[0]}; allowed: "
                              f"{', '.join(target.hiring_plans)}")
    # compare checks the rest (at least two plans, one horizon) before it simulates
    cmp = compare(target, plans=plans, trials=args.trials, seed=args.seed,
                  attribution=not args.no_attribution)
    for table in _compare_tables(cmp):
        console.print(table)
    console.print("quarterly rows, standard errors and costs: see summary.csv, "
                  "differences.csv and attribution.csv (-o)")
    if args.output is not None:
        from rampcast.io.results import write_outputs

        tables = {"summary": cmp.summary, "differences": cmp.differences}
        if cmp.attribution is not None:
            tables["attribution"] = cmp.attribution
        written = write_outputs(args.output, tables, cmp.data, cmp.info)
        console.print("wrote " + ", ".join(str(p) for p in written))
    return EXIT_OK


def _parse_ranges(items: list[str]) -> dict[str, tuple[float, float]]:
    out = {}
    for item in items:
        name, _, values = item.partition("=")
        parts = values.split(",")
        try:
            low, high = (float(v) for v in parts)
        except ValueError:
            raise _InputError(f"--range {item!r}: write NAME=LOW,HIGH, "
                              "e.g. attrition=0.5,1.5") from None
        if low > high:
            raise _InputError(f"--range {item!r}: LOW ({low:g}) is above HIGH ({high:g}); "
                              "write the smaller value first")
        out[name.strip()] = (low, high)
    return out


def _sensitivity_tables(result) -> list:
    from rich.table import Table

    info = result.info
    table = Table(title=f"tornado of {info['period']} bookings, plan {info['plan']}: "
                        f"{info['trials']:,} trials, seed {info['seed']} (same draws in "
                        "every run)", title_justify="left")
    for h in ["rank", "assumption", "low", "high", "P50 low", "P50 high", "swing P50",
              "P(target) low", "P(target) high", "rank P(target)"]:
        table.add_column(h, justify="left" if h == "assumption" else "right")
    for _, r in result.tornado.iterrows():
        unit = " mo" if r["unit"] == "months" else "x"
        table.add_row(str(r["rank"]), r["assumption"], f"{r['low']:+g}{unit}"
                      if unit == " mo" else f"{r['low']:g}{unit}",
                      f"{r['high']:+g}{unit}" if unit == " mo" else f"{r['high']:g}{unit}",
                      _money(r["p50_low"]), _money(r["p50_high"]), _money(r["swing_p50"]),
                      _percent(r["p_target_low"]), _percent(r["p_target_high"]),
                      str(r["rank_p_target"]))
    versus = Table(title="one month less ramp vs one more hire (at the horizon start)",
                   title_justify="left")
    for h in ["segment", "ramp -1 mo: mean", "ramp: P(target)", "+1 hire: mean",
              "+1 hire: P(target)", "hire cost", "ramp month in hires"]:
        versus.add_column(h, justify="left" if h == "segment" else "right")
    for _, r in result.ramp_vs_hire.iterrows():
        versus.add_row(r["segment"], _money(r["ramp_value_mean"]),
                       f"{r['ramp_p_target']:+.1%}", _money(r["hire_value_mean"]),
                       f"{r['hire_p_target']:+.1%}", _money(r["hire_cost"]),
                       f"{r['ramp_month_in_hires']:.2f}")
    return [table, versus]


def _sensitivity(args, console) -> int:
    import rampcast

    scenario = rampcast.load_scenario(args.scenario)
    _check_common(args)
    ranges = _parse_ranges(args.range)
    if args.plan is not None and args.plan not in scenario.hiring_plans:
        raise _InputError(f"--plan {args.plan!r} is not a hiring plan of {args.scenario}; "
                          f"allowed: {', '.join(scenario.hiring_plans)}")
    from rampcast.plan.sensitivity import sensitivity

    result = sensitivity(scenario, plan=args.plan, trials=args.trials, seed=args.seed,
                         ranges=ranges)
    for table in _sensitivity_tables(result):
        console.print(table)
    if args.output is not None:
        from rampcast.io.results import write_outputs

        tables = {"tornado": result.tornado, "ramp_vs_hire": result.ramp_vs_hire}
        written = write_outputs(args.output, tables, result.data, result.info)
        console.print("wrote " + ", ".join(str(p) for p in written))
    return EXIT_OK


def _add_plan_hiring(sub) -> None:
    plan = sub.add_parser(
        "plan-hiring",
        help="cheapest hiring plan reaching the annual target with a given confidence")
    plan.add_argument("scenario", type=Path, help="scenario YAML file")
    plan.add_argument("--confidence", type=float,
                      help="required P(first-year bookings >= target), in (0, 1) "
                           "(default: optimiser.confidence, 0.9)")
    plan.add_argument("--budget", type=float, help="most the plan may cost (currency)")
    plan.add_argument("--margin", type=float,
                      help="added to the confidence on the optimisation sample only, against "
                           "the sample average's optimism (default: optimiser.margin, 0)")
    plan.add_argument("--trials", type=int,
                      help="trials of the optimisation sample (default: optimiser.trials)")
    plan.add_argument("--seed", type=int, help="random seed (default: simulation.seed)")
    plan.add_argument("--solver", choices=("highs", "cbc"), help="MILP solver (default highs)")
    plan.add_argument("--time-limit", type=float, help="solver time limit in seconds")
    plan.add_argument("--threads", type=int, help="numba threads (default: all cores)")
    plan.add_argument("-o", "--output", type=Path,
                      help="folder for plan.csv, plan.yaml and run.json")
    plan.set_defaults(handler=_plan_hiring)


def _plan_hiring(args, console) -> int:
    import rampcast

    scenario = rampcast.load_scenario(args.scenario)
    if args.confidence is not None and not 0.0 < args.confidence < 1.0:
        raise _InputError(f"--confidence must be strictly between 0 and 1; got {args.confidence}")
    if args.budget is not None and not (args.budget >= 0 and math.isfinite(args.budget)):
        raise _InputError(f"--budget must be a finite amount >= 0; got {args.budget}")
    if args.trials is not None and args.trials < 10:
        raise _InputError(f"--trials must be at least 10; got {args.trials}")
    if args.seed is not None and args.seed < 0:
        raise _InputError(f"--seed must be 0 or more; got {args.seed}")
    if args.time_limit is not None and not args.time_limit > 0:
        raise _InputError(f"--time-limit must be more than 0 seconds; got {args.time_limit}")
    if args.threads is not None:
        _set_threads(args.threads)
    from rampcast.plan.optimise import optimise_hiring

    result = optimise_hiring(scenario, confidence=args.confidence, budget=args.budget,
                             trials=args.trials, seed=args.seed, solver=args.solver,
                             time_limit=args.time_limit, margin=args.margin)
    console.print(_plan_table(result, scenario))
    for line in _plan_lines(result):
        console.print(line, markup=False, highlight=False)
    if args.output is not None:
        from rampcast.io.hiring_plan import write_hiring_plan

        written = write_hiring_plan(args.output, result, _plan_info(result, scenario))
        console.print("wrote " + ", ".join(str(p) for p in written))
    return EXIT_OK


def _plan_table(result, scenario):
    from rich.table import Table

    title = (f"{scenario.name}: hires for P(Y1 bookings >= {_money(result.target)}) "
             f">= {result.confidence:.0%}")
    table = Table(title=title, title_justify="left")
    for name in ("segment", "month", "hires", "cost"):
        table.add_column(name, justify="left" if name in ("segment", "month") else "right")
    for h in result.hires:
        table.add_row(h.segment, f"{h.month:%Y-%m}", str(h.count), _money(h.cost))
    total = sum(h.count for h in result.hires)
    table.add_row("total", "", str(total), _money(result.cost), end_section=True)
    return table


def _plan_lines(result) -> list[str]:
    """The verdict, in words: reachable or not, achieved probability and its interval."""
    v, sol = result.validation, result.solution
    lines = []
    if not result.reachable:
        ceiling = ("within the limits" if result.budget is None
                   else f"within the limits and a budget of {_money(result.budget)}")
        lines.append(
            f"TARGET UNREACHABLE at {result.confidence:.0%} {ceiling}: the best plan reaches "
            f"the target in {result.sample_probability:.1%} of the optimisation trials "
            f"(every allowed hire, no budget: {result.all_hires_probability:.1%}). "
            "The plan shown is the cheapest reaching that best probability.")
    elif not result.hires:
        lines.append(f"No hires needed: the roster alone reaches the target in "
                     f"{result.roster_probability:.1%} of the optimisation trials.")
    lines.append(
        f"re-simulated: P(target) = {v.probability:.1%} "
        f"({v.level:.0%} Wilson interval {v.low:.1%} to {v.high:.1%}; {v.trials:,} trials, "
        f"seed {v.seed}); mean Y1 bookings {_money(v.bookings_mean)}")
    if result.reachable and result.confidence_rejected:
        lines.append(f"warning: the re-simulated interval lies below {result.confidence:.0%} "
                     "(sample-average bias); raise --trials or --margin")
    elif result.reachable and not result.meets_confidence:
        lines.append(f"note: the re-simulated estimate is below {result.confidence:.0%} but "
                     "its interval reaches it; raise --margin for more certainty")
    gap = "" if sol.gap is None else f", gap {sol.gap:.2%}"
    lines.append(
        f"optimisation: {result.sample_trials:,} trials (seed {result.sample_seed}), "
        f"P on sample {result.sample_probability:.1%}, solver {sol.solver} {sol.status}"
        f"{gap}, {sol.seconds:.1f} s; cost basis {result.cost_basis}")
    if sol.status == "time_limit":
        bound = "" if sol.gap is None else f" (relative gap {sol.gap:.0%} to the best bound)"
        lines.append(f"warning: the solver stopped at its time limit; a cheaper plan may exist"
                     f"{bound}. Raise --time-limit or lower --trials to close the gap")
    return lines


def _plan_info(result, scenario) -> dict:
    import dataclasses
    import platform
    import time

    from rampcast import __version__

    sol = result.solution
    return {
        "rampcast_version": __version__,
        "python": platform.python_version(),
        "command": "plan-hiring",
        "scenario": scenario.name,
        "scenario_file": scenario.source,
        "inputs_sha256": dict(scenario.inputs),
        "conventions": scenario.conventions.model_dump(mode="json"),
        "target": result.target,
        "confidence": result.confidence,
        "margin": result.margin,
        "budget": result.budget,
        "cost_basis": result.cost_basis,
        "status": "reachable" if result.reachable else "unreachable",
        "cost": result.cost,
        "hires": result.plan_entries(),
        "sample": {"trials": result.sample_trials, "seed": result.sample_seed,
                   "probability": result.sample_probability,
                   "roster_probability": result.roster_probability,
                   "all_hires_probability": result.all_hires_probability},
        "solver": {"name": sol.solver, "status": sol.status, "pulp": sol.solver_status,
                   "gap": sol.gap, "seconds": round(sol.seconds, 4),
                   "binaries": sol.binaries},
        "validation": dataclasses.asdict(result.validation),
        "timings_s": {k: round(v, 4) for k, v in result.timings.items()},
        "finished_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def _add_audit(sub) -> None:
    cmd = sub.add_parser(
        "audit", help="check a CRM opportunity export before calibrating from it "
                      "(exit 3 when blocking problems are found)")
    cmd.add_argument("--opportunities", type=Path, required=True, help="opportunity CSV")
    cmd.add_argument("--layout", default="generic",
                     choices=("generic", "salesforce", "hubspot", "maven"),
                     help="the export's column names (default generic)")
    cmd.add_argument("--map", action="append", default=[], metavar="CANONICAL=COLUMN",
                     help="read a canonical column from a file column, e.g. "
                          "closed=CloseDate (repeatable)")
    cmd.add_argument("--history", type=Path, help="stage-history CSV (OpportunityHistory)")
    order = cmd.add_mutually_exclusive_group()
    order.add_argument("--dayfirst", dest="dayfirst", action="store_const", const=True,
                       help="slashed dates are DD/MM/YYYY (default: detected)")
    order.add_argument("--monthfirst", dest="dayfirst", action="store_const", const=False,
                       help="slashed dates are MM/DD/YYYY (default: detected)")
    cmd.add_argument("--roster", type=Path, help="roster CSV: owners missing from it")
    cmd.add_argument("--roster-layout", default="generic",
                     choices=("generic", "babushkin", "ibm", "maven_teams"),
                     help="the roster's layout (default generic)")
    cmd.add_argument("--roster-map", action="append", default=[], metavar="CANONICAL=COLUMN",
                     help="column mapping for the roster (repeatable)")
    cmd.add_argument("--products", type=Path,
                     help="product catalogue CSV with a 'product' column (e.g. products.csv)")
    cmd.add_argument("--as-of", help="date open deals are judged against, YYYY-MM-DD "
                                     "(default: the export's latest date)")
    cmd.add_argument("-o", "--output", type=Path, help="folder for audit.csv")
    cmd.add_argument("--write-clean", action="store_true",
                     help="also write <name>.clean.csv (into -o, else beside the input; "
                          "never over it)")
    cmd.set_defaults(handler=_audit)


def _mapping(items: list[str], option: str) -> dict[str, str]:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise _InputError(f"{option} {item!r}: write CANONICAL=COLUMN, e.g. "
                              "closed=CloseDate")
        out[key.strip()] = value.strip()
    return out


def _audit(args, console) -> int:
    from rampcast.calibrate.audit import audit, cleaned
    from rampcast.errors import DataError
    from rampcast.io.crm import read_catalogue, read_opportunities, read_roster, with_options

    as_of = None
    if args.as_of is not None:
        import pandas as pd

        try:
            as_of = pd.Timestamp(args.as_of)
        except ValueError:
            raise _InputError(f"--as-of {args.as_of!r} is not a date; write YYYY-MM-DD") \
                from None
    frame = read_opportunities(args.opportunities, layout=args.layout,
                               mapping=_mapping(args.map, "--map"), history=args.history,
                               dayfirst=args.dayfirst)
    try:
        roster = None if args.roster is None else read_roster(
            args.roster, layout=args.roster_layout,
            mapping=_mapping(args.roster_map, "--roster-map"))
    except DataError as exc:
        raise with_options(exc, "roster") from None
    products = None if args.products is None else read_catalogue(args.products)
    result = audit(frame, roster=roster, as_of=as_of, products=products)
    console.print(_audit_table(result, args.opportunities, len(frame)))
    if args.output is not None:
        from rampcast.io.audit import write_audit

        console.print(f"wrote {write_audit(args.output, result.findings)}")
    if args.write_clean:
        from rampcast.io.audit import write_cleaned

        clean = cleaned(frame, result)
        path = write_cleaned(clean, args.opportunities, args.output)
        console.print(f"wrote {path} ({len(clean):,} rows; "
                      f"{'; '.join(clean.attrs['cleaning']) or 'nothing to fix'})",
                      markup=False, highlight=False)
    if result.blocking:
        advice = ("calibrate from the cleaned copy (generic layout)" if args.write_clean
                  else "fix them or use --write-clean before calibrating")
        console.print(f"blocking problems found (exit code 3): {advice}", markup=False)
        return EXIT_BLOCKING
    return EXIT_OK


def _audit_table(result, source, rows: int):
    from rich.table import Table

    as_of = "-" if result.as_of is None else f"{result.as_of:%Y-%m-%d}"
    table = Table(title=f"audit of {source}: {rows:,} opportunities, as of {as_of}",
                  title_justify="left")
    for name in ("check", "severity", "count", "examples", "explanation"):
        table.add_column(name, justify="right" if name == "count" else "left",
                         no_wrap=name == "check")
    style = {"blocking": "bold red", "warning": "yellow", "info": "cyan"}
    found = result.findings[result.findings["count"] > 0]
    for _, r in found.iterrows():
        table.add_row(r["check"], r["severity"], f"{r['count']:,}", r["examples"],
                      r["explanation"], style=style[r["severity"]])
    clean = result.findings.loc[result.findings["count"] == 0, "check"]
    table.caption = "no findings: " + (", ".join(clean) if len(clean) else "-")
    table.caption_justify = "left"
    return table


def _add_calibrate(sub) -> None:
    from rampcast.cli_calibrate import add_calibrate

    add_calibrate(sub)


def _add_synth(sub) -> None:
    from rampcast.cli_calibrate import add_synth

    add_synth(sub)


def _add_territories(sub) -> None:
    from rampcast.cli_territories import add_territories

    add_territories(sub)


def _add_quotas(sub) -> None:
    from rampcast.cli_quotas import add_quotas

    add_quotas(sub)


class _InputError(RampcastError, ValueError):
    """A bad command-line option."""


def _check_output(args) -> None:
    """Refuse an unusable ``-o`` before any work is done."""
    out = getattr(args, "output", None)
    if out is None:
        return
    wants_file = args.command == "calibrate"
    if not wants_file and out.exists() and not out.is_dir():
        raise _InputError(f"-o {out}: is a file, not a folder; name a folder for the outputs")
    if wants_file and out.is_dir():
        raise _InputError(f"-o {out}: is a folder; name the calibration YAML file to write")
    parent = out.parent if wants_file else out
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not os.access(parent, os.W_OK):
        raise _InputError(f"-o {out}: {parent} is not writable")


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``rampcast`` command; returns the exit code."""
    from rich.console import Console

    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    # piped output keeps whole tables instead of cutting them to 80 columns
    console = Console() if sys.stdout.isatty() else Console(width=160)
    errors = Console(stderr=True, soft_wrap=True)
    try:
        _check_output(args)
        return args.handler(args, console)
    except (RampcastError, OSError) as exc:
        # soft_wrap: one line per error, never folded at the terminal width
        errors.print(f"rampcast: error: {exc}", markup=False, highlight=False, soft_wrap=True)
        return EXIT_INPUT
    except Exception as exc:  # noqa: BLE001 - the CLI reports, never dumps a traceback
        errors.print(f"rampcast: unexpected failure: {type(exc).__name__}: {exc}",
                     markup=False, highlight=False, soft_wrap=True)
        return EXIT_FAILURE


if __name__ == "__main__":
    sys.exit(main())
