"""Command line of ``rampcast compare``, ``rampcast sensitivity`` and ``rampcast plan-hiring``.

Registered by :mod:`rampcast.cli`; parsing, printing and exit codes only.
Imports nothing heavy until a command runs.
"""

from __future__ import annotations

import math
from pathlib import Path


def _common_options(cmd) -> None:
    cmd.add_argument("-o", "--output", type=Path,
                     help="folder for the CSV tables, results.nc and run.json")
    cmd.add_argument("--trials", type=int, help="number of trials (overrides the scenario)")
    cmd.add_argument("--seed", type=int, help="random seed (overrides the scenario)")
    cmd.add_argument("--threads", type=int, help="numba threads (default: all cores)")


def add_compare(sub) -> None:
    """The ``compare`` subcommand."""
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


def add_sensitivity(sub) -> None:
    """The ``sensitivity`` subcommand."""
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
    from rampcast.cli import _InputError, _set_threads

    if args.trials is not None and args.trials < 1:
        raise _InputError(f"--trials must be at least 1; got {args.trials}")
    if args.seed is not None and args.seed < 0:
        raise _InputError(f"--seed must be 0 or more; got {args.seed}")
    if args.threads is not None:
        _set_threads(args.threads)


def _compare_tables(cmp) -> list:
    """Rich tables of the year periods: plans, differences, gap attribution."""
    from rich.table import Table

    from rampcast.cli import _money, _percent
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
    from rampcast.cli import EXIT_OK, _InputError

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
    from rampcast.cli import _InputError

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

    from rampcast.cli import _money, _percent

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
    from rampcast.cli import EXIT_OK, _InputError

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


def add_plan_hiring(sub) -> None:
    """The ``plan-hiring`` subcommand."""
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
    from rampcast.cli import EXIT_OK, _InputError, _set_threads

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

    from rampcast.cli import _money

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
    from rampcast.cli import _money

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
