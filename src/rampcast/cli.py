"""Command line: the parser, ``rampcast run`` and the helpers shared by ``cli_*.py``.

Parsing, progress, printing and exit codes only; the other commands live in
:mod:`rampcast.cli_plan`, :mod:`rampcast.cli_audit`, :mod:`rampcast.cli_calibrate`,
:mod:`rampcast.cli_quotas` and :mod:`rampcast.cli_territories`.

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


def _percent(value: float) -> str:
    return "-" if value is None or math.isnan(value) else f"{value:.1%}"


def _mapping(items: list[str], option: str) -> dict[str, str]:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise _InputError(f"{option} {item!r}: write CANONICAL=COLUMN, e.g. "
                              "closed=CloseDate")
        out[key.strip()] = value.strip()
    return out


def _add_compare(sub) -> None:
    from rampcast.cli_plan import add_compare

    add_compare(sub)


def _add_sensitivity(sub) -> None:
    from rampcast.cli_plan import add_sensitivity

    add_sensitivity(sub)


def _add_plan_hiring(sub) -> None:
    from rampcast.cli_plan import add_plan_hiring

    add_plan_hiring(sub)


def _add_audit(sub) -> None:
    from rampcast.cli_audit import add_audit

    add_audit(sub)


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
