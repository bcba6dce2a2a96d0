"""``rampcast territories``: parsing, printing and exit codes of territory assignment.

Exit codes: 0 assigned; 2 bad input (files, options, scenario); 4 infeasible
(the reasons are printed; ``--soft`` always returns an assignment); 1 no
assignment found within the time limit, or an unexpected failure.
"""

from __future__ import annotations

import math
from pathlib import Path

from rampcast.errors import InfeasibleError, RampcastError

EXIT_OK, EXIT_FAILURE, EXIT_INPUT, EXIT_INFEASIBLE = 0, 1, 2, 4

__all__ = ["add_territories", "EXIT_INFEASIBLE"]


class _OptionError(RampcastError, ValueError):
    """A bad command-line option of ``rampcast territories``."""


def add_territories(sub) -> None:
    """Register the ``territories`` subcommand on an argparse subparsers object."""
    cmd = sub.add_parser(
        "territories",
        help="assign accounts to reps: balanced books, little disruption",
        description="Assign each account to one rep of its segment so that every rep's "
        "potential is within the tolerance of its target share, locked accounts "
        "stay, and as little potential as possible moves. Exit codes: 0 done, "
        "2 bad input, 4 infeasible (reasons printed; try --soft), 1 no "
        "assignment within the time limit.",
    )
    cmd.add_argument(
        "--accounts",
        type=Path,
        required=True,
        help="accounts CSV: account, segment, potential[, workload, lat, lon, "
        "region, owner, locked]",
    )
    cmd.add_argument(
        "--reps",
        type=Path,
        required=True,
        help="reps CSV: rep, segment[, lat, lon, region, max_accounts, capacity_weight]",
    )
    cmd.add_argument(
        "--scenario",
        type=Path,
        help="scenario YAML: target shares follow each roster rep's expected "
        "ramp-adjusted capacity over the horizon (matched by rep id)",
    )
    cmd.add_argument("--plan", help="hiring plan of the scenario (default: its first)")
    cmd.add_argument(
        "--tolerance",
        type=float,
        default=0.10,
        help="potential band around each target, as a fraction (default 0.10)",
    )
    cmd.add_argument(
        "--workload-tolerance",
        type=float,
        help="also keep workload within this band (default: workload free)",
    )
    cmd.add_argument(
        "--solver",
        choices=("highs", "cbc"),
        default="highs",
        help="MILP solver of the exact path (default highs)",
    )
    cmd.add_argument(
        "--time-limit", type=float, default=60.0, help="seconds for the whole solve (default 60)"
    )
    cmd.add_argument(
        "--gap", type=float, default=0.01, help="relative gap at which to stop (default 0.01)"
    )
    cmd.add_argument(
        "--soft",
        action="store_true",
        help="penalise deviation from the band instead of forbidding it; "
        "always returns an assignment and reports the deviations",
    )
    cmd.add_argument(
        "--penalty",
        type=float,
        default=10.0,
        help="soft variant: cost of one unit of potential outside the band, "
        "against 1 for moving one unit (default 10)",
    )
    cmd.add_argument(
        "--distance-weight",
        type=float,
        default=0.0,
        help="W: an account of potential p at d km from its rep's home costs "
        "W*p*d, against p for moving it (default 0)",
    )
    cmd.add_argument(
        "--cross-segment",
        action="store_true",
        help="let any rep take any account (balance against the grand total)",
    )
    cmd.add_argument(
        "--strategy",
        choices=("auto", "exact", "large"),
        default="auto",
        help="exact PuLP model, large-instance strategy, or auto by size",
    )
    cmd.add_argument(
        "--candidates",
        type=int,
        default=16,
        help="large strategy: nearest reps kept per account (default 16)",
    )
    cmd.add_argument(
        "-o", "--output", type=Path, help="folder for assignment.csv, reps.csv and metrics.json"
    )
    cmd.set_defaults(handler=run_territories)


def _check(args) -> None:
    checks = [
        (0 <= args.tolerance < 1, "--tolerance must be in [0, 1)", args.tolerance),
        (
            args.workload_tolerance is None or 0 <= args.workload_tolerance < 1,
            "--workload-tolerance must be in [0, 1)",
            args.workload_tolerance,
        ),
        (
            args.time_limit > 0 and math.isfinite(args.time_limit),
            "--time-limit must be a positive number of seconds",
            args.time_limit,
        ),
        (0 <= args.gap < 1, "--gap must be in [0, 1)", args.gap),
        (args.penalty > 0 and math.isfinite(args.penalty), "--penalty must be > 0", args.penalty),
        (
            args.distance_weight >= 0 and math.isfinite(args.distance_weight),
            "--distance-weight must be >= 0",
            args.distance_weight,
        ),
        (args.candidates >= 1, "--candidates must be at least 1", args.candidates),
    ]
    for ok, message, value in checks:
        if not ok:
            raise _OptionError(f"{message}; got {value}")


def run_territories(args, console) -> int:
    """Handler of ``rampcast territories``."""
    _check(args)
    from rampcast.territory import Options, assign_territories, load_instance
    from rampcast.territory.solve import SolverError

    inst = load_instance(args.accounts, args.reps)
    if args.scenario is not None:
        import rampcast
        from rampcast.territory.capacity import with_scenario_capacity

        scenario = rampcast.load_scenario(args.scenario)
        if args.plan is not None and args.plan not in scenario.hiring_plans:
            raise _OptionError(
                f"--plan {args.plan!r} is not a hiring plan of "
                f"{args.scenario}; allowed: {', '.join(scenario.hiring_plans)}"
            )
        inst = with_scenario_capacity(inst, scenario, args.scenario, args.reps, args.plan)
    opts = Options(
        tolerance=args.tolerance,
        workload_tolerance=args.workload_tolerance,
        distance_weight=args.distance_weight,
        soft=args.soft,
        penalty=args.penalty,
        cross_segment=args.cross_segment,
    )
    try:
        result = assign_territories(
            inst,
            opts,
            solver=args.solver,
            time_limit=args.time_limit,
            gap=args.gap,
            strategy=args.strategy,
            k=args.candidates,
        )
    except InfeasibleError as exc:
        console.print(f"infeasible: {exc}", markup=False, highlight=False, soft_wrap=True)
        return EXIT_INFEASIBLE
    except SolverError as exc:
        console.print(f"no assignment: {exc}", markup=False, highlight=False, soft_wrap=True)
        return EXIT_FAILURE
    for item in _summary(result):
        console.print(item, markup=False, highlight=False) if isinstance(
            item, str
        ) else console.print(item)
    if args.output is not None:
        from rampcast.io.territories import write_territories

        written = write_territories(args.output, result)
        console.print("wrote " + ", ".join(str(p) for p in written), markup=False)
    return EXIT_OK


def _fmt(x: float) -> str:
    if x is None or not math.isfinite(x):
        return "-"
    size = abs(x)
    if size >= 1e6:
        return f"{x / 1e6:,.2f}M"
    if size >= 1e3:
        return f"{x / 1e3:,.1f}k"
    return f"{x:,.4g}"


def _summary(result) -> list:
    """A per-segment table and the solver's verdict in lines."""
    from rich.table import Table

    from rampcast.territory.metrics import balance, metrics, rep_table

    reps = rep_table(result)
    m = metrics(result)
    inst = result.instance
    table = Table(
        title=f"territories: {inst.n_accounts:,} accounts, {inst.n_reps} reps, "
        f"+/-{result.options.tolerance:.0%}" + (" (soft)" if result.options.soft else ""),
        title_justify="left",
    )
    for name in (
        "segment",
        "reps",
        "accounts",
        "potential",
        "max/min",
        "CV",
        "Gini",
        "moved",
        "moved potential",
        "outside band",
    ):
        table.add_column(name, justify="left" if name == "segment" else "right")
    for seg, rows in reps.groupby("segment", sort=False):
        bal = balance(rows["potential"].to_numpy(), rows["target_potential"].to_numpy())
        table.add_row(
            str(seg),
            str(len(rows)),
            f"{int(rows['accounts'].sum()):,}",
            _fmt(rows["potential"].sum()),
            f"{bal['max_min_ratio']:.3f}",
            f"{bal['cv']:.3f}",
            f"{bal['gini']:.3f}",
            f"{int(rows['moved_in'].sum()):,}",
            _fmt(_moved_potential(result, seg)),
            str(int((rows["deviation"].abs() > 1e-6).sum())),
        )
    s = m["solver"]
    lines = [
        table,
        f"moved {m['moved']['accounts']:,} accounts, potential "
        f"{_fmt(m['moved']['potential'])}"
        f" ({m['moved']['potential_share']:.1%} of the total); objective "
        f"{_fmt(result.objective)}",
        f"{s['strategy']} path, {result.solver}: {result.status} ({s['solver_status']}), "
        f"bound {_fmt(result.bound)} [{result.bound_kind}], gap "
        + ("-" if not math.isfinite(result.gap) else f"{result.gap:.2%}")
        + f" (absolute {_fmt(result.objective - result.bound)}), "
        f"{result.binaries:,} binaries, {result.seconds:.1f} s",
    ]
    if result.options.soft:
        d = m["deviation"]
        lines.append(
            f"soft balance: {d['reps_outside_band']} reps outside the band; "
            f"{_fmt(d['potential_below_band'])} below and "
            f"{_fmt(d['potential_above_band'])} above in total"
        )
    if result.candidate_bound is not None and result.strategy == "large":
        lines.append(
            f"bound of the pruned model {_fmt(result.candidate_bound)} "
            "(valid for the pruned model only)"
        )
    lines += [f"note: {n}" for n in result.notes]
    return lines


def _moved_potential(result, segment: str) -> float:
    inst = result.instance
    seg = inst.segments.index(segment)
    moved = (result.assign != inst.owner) & (inst.segment == seg)
    return float(inst.potential[moved].sum())
