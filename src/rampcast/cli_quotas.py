"""Command line of ``rampcast quotas``.

Registered by :mod:`rampcast.cli`; parsing, printing and exit codes only.
Imports nothing heavy until the command runs.
"""

from __future__ import annotations

import math
from pathlib import Path


def add_quotas(sub) -> None:
    """The ``quotas`` subcommand."""
    cmd = sub.add_parser(
        "quotas",
        help="set quotas from capacity, territory potential and history, then simulate "
        "each rep's chance of reaching quota",
    )
    cmd.add_argument("scenario", type=Path, help="scenario YAML file")
    cmd.add_argument(
        "--assignment",
        type=Path,
        help="assignment.csv from rampcast territories (rep, potential); "
        "without it the potential weight falls back to capacity",
    )
    cmd.add_argument(
        "--over-assignment",
        type=float,
        default=0.15,
        help="x >= 0 in street quota = (1 + x) * plan (default 0.15)",
    )
    cmd.add_argument(
        "--history",
        type=Path,
        help="CSV of last year's bookings: rep, period (2026 or 2026Q3), bookings",
    )
    cmd.add_argument(
        "--weights",
        default=None,
        help="blend weights summing to 1 (default capacity=0.5,potential=0.3,history=0.2)",
    )
    cmd.add_argument(
        "--bounds",
        type=float,
        default=0.30,
        help="with --history: quota within +/- this share of last year (default 0.30)",
    )
    cmd.add_argument(
        "--target-share-at-quota",
        type=float,
        help="solve for the quota level putting this share of ramped reps at quota, in (0, 1)",
    )
    cmd.add_argument(
        "--tolerance",
        type=float,
        default=0.005,
        help="tolerance on the share at quota (default 0.005)",
    )
    cmd.add_argument(
        "--target", type=float, help="plan (first-year bookings target; default the scenario's)"
    )
    cmd.add_argument("--plan", help="hiring plan to use (default: the scenario's)")
    cmd.add_argument("--trials", type=int, help="number of trials (overrides the scenario)")
    cmd.add_argument("--seed", type=int, help="random seed (overrides the scenario)")
    cmd.add_argument(
        "-o", "--output", type=Path, help="folder for quotas.csv, summary.csv and run.json"
    )
    cmd.set_defaults(handler=_quotas)


def _check(args, scenario) -> None:
    from rampcast.cli import _InputError

    if not (math.isfinite(args.over_assignment) and args.over_assignment >= 0):
        raise _InputError(
            f"--over-assignment must be >= 0 (quota = (1 + x) * plan); got {args.over_assignment}"
        )
    share = args.target_share_at_quota
    if share is not None and not 0.0 < share < 1.0:
        raise _InputError(f"--target-share-at-quota must be strictly between 0 and 1; got {share}")
    if not 0.0 < args.tolerance < 1.0:
        raise _InputError(f"--tolerance must be in (0, 1); got {args.tolerance}")
    if not (math.isfinite(args.bounds) and args.bounds >= 0):
        raise _InputError(f"--bounds must be >= 0 (e.g. 0.3); got {args.bounds}")
    if args.trials is not None and args.trials < 2:
        raise _InputError(f"--trials must be at least 2; got {args.trials}")
    if args.seed is not None and args.seed < 0:
        raise _InputError(f"--seed must be 0 or more; got {args.seed}")
    if args.plan is not None and args.plan not in scenario.hiring_plans:
        raise _InputError(
            f"--plan {args.plan!r} is not a hiring plan of {args.scenario}; "
            f"allowed: {', '.join(scenario.hiring_plans)}"
        )


def _quotas(args, console) -> int:
    import time

    import rampcast
    from rampcast.cli import EXIT_OK
    from rampcast.quota import parse_weights

    started = time.perf_counter()
    scenario = rampcast.load_scenario(args.scenario)
    _check(args, scenario)
    try:
        weights = parse_weights(args.weights)
    except ValueError as exc:
        raise type(exc)(f"--weights: {exc}") from None
    from rampcast.io.quota import read_assignment, read_history, write_quotas
    from rampcast.quota import (
        evaluate,
        quota_tables,
        sample_attainment,
        set_quotas,
        target_share_at_quota,
    )

    potential = None if args.assignment is None else read_assignment(args.assignment)
    history = None if args.history is None else read_history(args.history)
    plan = set_quotas(
        scenario,
        potential=potential,
        history=history,
        over_assignment=args.over_assignment,
        weights=weights,
        band=args.bounds,
        target=args.target,
        plan=args.plan,
        assignment_source=None if args.assignment is None else str(args.assignment),
        history_source=None if args.history is None else str(args.history),
    )
    trials = args.trials or scenario.simulation.trials
    seed = scenario.simulation.seed if args.seed is None else args.seed
    sample = sample_attainment(
        plan.holders, seed, trials, exact=scenario.simulation.sampler == "exact"
    )
    targeting = None
    if args.target_share_at_quota is not None:
        targeting = target_share_at_quota(
            plan, sample, args.target_share_at_quota, tolerance=args.tolerance
        )
        plan = targeting.plan
    result = evaluate(plan, sample)
    quotas, summary = quota_tables(plan, result, targeting)

    console.print(_table(quotas, scenario, plan, trials, seed))
    for line in _lines(plan, result, targeting):
        console.print(line, markup=False, highlight=False)
    if args.output is not None:
        info = _info(
            args, scenario, plan, result, targeting, trials, seed, time.perf_counter() - started
        )
        written = write_quotas(args.output, quotas, summary, info)
        console.print("wrote " + ", ".join(str(p) for p in written))
    return EXIT_OK


def _table(quotas, scenario, plan, trials: int, seed: int):
    from rich.table import Table

    from rampcast.cli import _money

    sign = "+" if plan.over_assignment >= 0 else "-"
    title = (
        f"{scenario.name}: first-year quotas, street {_money(plan.street_quota)} = "
        f"(1 {sign} {abs(plan.over_assignment):.1%}) x plan {_money(plan.target)}; "
        f"{trials:,} trials, seed {seed}"
    )
    table = Table(title=title, title_justify="left")
    for name in (
        "rep",
        "segment",
        "Q1",
        "Q2",
        "Q3",
        "Q4",
        "year",
        "ramped",
        "P(>=100%)",
        "mean att.",
    ):
        table.add_column(name, justify="left" if name in ("rep", "segment") else "right")
    for rep, rows in quotas.groupby("rep", sort=False):
        year = rows[rows["quarter"] == "Y1"].iloc[0]
        quarters = [_money(v) for v in rows.loc[rows["quarter"] != "Y1", "quota"]]
        p, e = year["p_at_quota"], year["expected_attainment"]
        table.add_row(
            rep,
            year["segment"],
            *quarters,
            _money(year["quota"]),
            "yes" if year["ramped"] else "ramping",
            "-" if math.isnan(p) else f"{p:.0%}",
            "-" if math.isnan(e) else f"{e:.0%}",
        )
    return table


def _lines(plan, result, targeting) -> list[str]:
    lines = [
        f"attainment factor {plan.attainment_factor:.1%} (= plan / street quota = "
        f"1 / (1 + x)); over-assignment convention: quota = (1 + x) * plan",
        f"share of the {result.n_ramped} ramped reps at quota (attainment >= 100%, "
        f"inclusive): {result.share:.1%} (standard error {result.share_se:.2%})",
        f"P(team first-year bookings >= plan) {result.p_team_plan:.1%}; "
        f">= street quota {result.p_team_street:.1%}",
    ]
    if targeting is not None:
        below = " (quotas below plan)" if plan.over_assignment < 0 else ""
        lines.append(
            f"targeting {targeting.target:.1%} at quota: {targeting.status}, reached "
            f"{targeting.share:.2%} at over-assignment {plan.over_assignment:+.2%}{below} "
            f"(tolerance {targeting.tolerance:g}, {targeting.iterations} bisection steps)"
        )
    weights = ", ".join(f"{k} {v:g}" for k, v in plan.weights.as_dict().items())
    lines.append(
        f"weights: {weights}; bounds and sum solved by scaling with clipping "
        "(exact at the breakpoints)"
    )
    lines += [f"note: {n}" for n in plan.notes]
    return lines


def _info(args, scenario, plan, result, targeting, trials, seed, seconds) -> dict:
    import platform
    import time

    from rampcast import __version__
    from rampcast.quota import AT_QUOTA_CONVENTION, OVER_ASSIGNMENT_CONVENTION
    from rampcast.scenario import _sha256

    inputs = dict(scenario.inputs)
    for path in (args.assignment, args.history):
        if path is not None:
            inputs[str(path)] = _sha256(Path(path))
    h = plan.holders
    reps = [
        {
            "rep": r,
            "segment": h.segments[i],
            "quota": round(float(plan.quota[i]), 2),
            "full_quota": round(float(plan.full_quota[i]), 2),
            "utilisation": float(h.utilisation[i]),
            "expected_capacity": float(h.capacity[i]),
            "shares": {c: float(s[i]) for c, s in plan.shares.items()},
            "basis": float(plan.basis[i]),
            "lower": float(plan.lower[i]),
            "upper": None if math.isinf(plan.upper[i]) else float(plan.upper[i]),
            "p_at_quota": float(result.p_at_quota[i]),
        }
        for i, r in enumerate(h.reps)
    ]
    info = {
        "rampcast_version": __version__,
        "python": platform.python_version(),
        "command": "quotas",
        "scenario": scenario.name,
        "scenario_file": scenario.source,
        "plan": args.plan or scenario.plan_name,
        "inputs_sha256": inputs,
        "conventions": {
            **scenario.conventions.model_dump(mode="json"),
            "over_assignment": OVER_ASSIGNMENT_CONVENTION,
            "at_quota": AT_QUOTA_CONVENTION,
        },
        "seed": seed,
        "trials": trials,
        "target": plan.target,
        "street_quota": plan.street_quota,
        "over_assignment": plan.over_assignment,
        "attainment_factor": plan.attainment_factor,
        "weights": plan.weights.as_dict(),
        "bounds_band": plan.band,
        "projection": "scale with clipping: Q = clip(lambda * basis, lower, upper), "
        "lambda exact on the piecewise-linear sum",
        "notes": list(plan.notes),
        "share_at_quota": result.share,
        "share_at_quota_se": result.share_se,
        "ramped_reps": result.n_ramped,
        "p_team_reaches_plan": result.p_team_plan,
        "p_team_reaches_street_quota": result.p_team_street,
        "reps": reps,
        "seconds": round(seconds, 3),
        "finished_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    if targeting is not None:
        info["targeting"] = {
            "target": targeting.target,
            "tolerance": targeting.tolerance,
            "share": targeting.share,
            "share_se": targeting.share_se,
            "status": targeting.status,
            "iterations": targeting.iterations,
            "method": "bisection on the over-assignment, fixed sample",
        }
    return info
