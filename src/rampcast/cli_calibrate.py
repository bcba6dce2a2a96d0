"""Command line of ``rampcast calibrate`` and ``rampcast synth``.

Registered by :mod:`rampcast.cli`; parsing, printing and exit codes only.
Imports nothing heavy until a command runs.
"""

from __future__ import annotations

import hashlib
import math
from pathlib import Path

OPPORTUNITY_LAYOUTS = ("generic", "salesforce", "hubspot", "maven")
ROSTER_LAYOUTS = ("generic", "babushkin", "ibm", "maven_teams")


def add_calibrate(sub) -> None:
    """The ``calibrate`` subcommand."""
    cmd = sub.add_parser(
        "calibrate",
        help="estimate ramp, attrition, win rate, deal size, seasonality from "
        "CRM and HR exports, with n and intervals",
    )
    cmd.add_argument("--opportunities", type=Path, required=True, help="opportunity CSV")
    cmd.add_argument(
        "--layout",
        default="generic",
        choices=OPPORTUNITY_LAYOUTS,
        help="the opportunity export's layout (default generic)",
    )
    cmd.add_argument(
        "--map",
        action="append",
        default=[],
        metavar="CANONICAL=COLUMN",
        help="read a canonical opportunity column from a file column (repeatable)",
    )
    cmd.add_argument("--history", type=Path, help="stage-history CSV (stage-to-win conversion)")
    cmd.add_argument("--roster", type=Path, help="roster CSV: segments and start/end dates")
    cmd.add_argument(
        "--roster-layout",
        default="generic",
        choices=ROSTER_LAYOUTS,
        help="the roster's layout (default generic)",
    )
    cmd.add_argument(
        "--roster-map",
        action="append",
        default=[],
        metavar="CANONICAL=COLUMN",
        help="column mapping for the roster (repeatable)",
    )
    cmd.add_argument("--hr", type=Path, help="HR records CSV, used for attrition")
    cmd.add_argument(
        "--hr-layout",
        default="generic",
        choices=ROSTER_LAYOUTS,
        help="the HR file's layout (default generic)",
    )
    cmd.add_argument(
        "--segment-by",
        help="roster or opportunity column naming each rep's "
        "segment (default: the roster's segment)",
    )
    cmd.add_argument(
        "--as-of", help="end of observation, YYYY-MM-DD (default: the latest date in the data)"
    )
    cmd.add_argument("-o", "--output", type=Path, help="calibration YAML to write")
    cmd.set_defaults(handler=_calibrate)


def add_synth(sub) -> None:
    """The ``synth`` subcommand."""
    cmd = sub.add_parser(
        "synth",
        help="write CRM, roster and HR exports drawn from known parameters "
        "(truth.yaml), for trying calibrate",
    )
    cmd.add_argument("-o", "--output", type=Path, required=True, help="folder to write")
    cmd.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    cmd.add_argument("--months", type=int, default=36, help="CRM months (default 36)")
    cmd.add_argument(
        "--scale", type=float, default=1.0, help="multiply every segment's seats (default 1)"
    )
    cmd.set_defaults(handler=_synth)


def _sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _calibrate(args, console) -> int:
    from rampcast.cli import EXIT_OK, _InputError, _mapping

    for option, path in (
        ("--opportunities", args.opportunities),
        ("--roster", args.roster),
        ("--hr", args.hr),
        ("--history", args.history),
    ):
        if path is not None and not path.is_file():
            raise _InputError(f"{option} {str(path)!r}: no such file")
    import pandas as pd

    from rampcast.calibrate.estimate import calibrate
    from rampcast.errors import DataError
    from rampcast.io.crm import (
        read_opportunities,
        read_roster,
        read_stage_history,
        with_options,
    )

    as_of = None
    if args.as_of is not None:
        try:
            as_of = pd.Timestamp(args.as_of).date()
        except ValueError:
            raise _InputError(f"--as-of {args.as_of!r} is not a date; write YYYY-MM-DD") from None
    opps = read_opportunities(
        args.opportunities, layout=args.layout, mapping=_mapping(args.map, "--map")
    )
    try:
        roster = (
            None
            if args.roster is None
            else read_roster(
                args.roster,
                layout=args.roster_layout,
                mapping=_mapping(args.roster_map, "--roster-map"),
            )
        )
    except DataError as exc:
        raise with_options(exc, "roster") from None
    try:
        hr = None if args.hr is None else read_roster(args.hr, layout=args.hr_layout)
    except DataError as exc:
        raise with_options(exc, "hr", mapping=False) from None
    history = None
    if args.history is not None:
        layout = "salesforce" if args.layout == "salesforce" else "generic"
        history = read_stage_history(args.history, layout=layout)
    result = calibrate(
        opps, roster=roster, hr=hr, segment_by=args.segment_by, as_of=as_of, stage_history=history
    )
    for table in _tables(result):
        console.print(table)
    for note in result.notes:
        console.print(f"note: {note}", markup=False, highlight=False)
    if args.output is not None:
        from rampcast.io.calibration import write_calibration

        inputs = {
            str(p): _sha256(p)
            for p in (args.opportunities, args.roster, args.hr, args.history)
            if p is not None
        }
        path = write_calibration(result, args.output, inputs=inputs)
        console.print(f"wrote {path}")
    return EXIT_OK


_SHOWN = (
    "win_rate.mean",
    "win_rate.concentration",
    "deal_size.median",
    "deal_size.sigma",
    "deal_size.mean",
    "deal_size.cv",
    "deal_size.ks",
    "cycle_days.median",
    "opportunities_per_month",
    "productivity.won_per_ramped_month",
    "ramp.curve",
    "attrition.annual_rate",
    "attrition.bands",
    "attrition.first_year_km",
    "seasonality",
)


def _fmt(value) -> str:
    if isinstance(value, tuple):
        return "[" + ", ".join(_fmt(v) for v in value) + "]"
    x = float(value)
    if math.isnan(x):
        return "-"
    if math.isinf(x):
        return "inf"
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    return f"{x:.3g}"


def _tables(result) -> list:
    """One rich table per segment: estimate, interval, n, method and fallback flag."""
    from rich.table import Table

    tables = []
    for name, seg in result.segments.items():
        table = Table(
            title=f"calibration of {name} (as of {result.as_of}, rates over "
            f"{result.first_month:%Y-%m} to {result.last_month:%Y-%m})",
            title_justify="left",
        )
        for head in ("estimate", "value", "95% interval", "n", "fallback"):
            table.add_column(
                head,
                justify="left" if head in ("estimate", "fallback") else "right",
                overflow="fold",
            )
        for key in _SHOWN:
            est = seg.estimates.get(key)
            if est is None:
                continue
            interval = (
                f"p = {_fmt(est.low)}"
                if key == "deal_size.ks"
                else f"{_fmt(est.low)} to {_fmt(est.high)}"
            )
            flag = "FALLBACK: " + est.note if est.fallback else ""
            table.add_row(
                key,
                _fmt(est.value),
                interval,
                f"{est.n:,}",
                flag,
                style="yellow" if est.fallback else None,
            )
        tables.append(table)
    return tables


def _synth(args, console) -> int:
    from rampcast.cli import EXIT_OK, _InputError

    if args.seed < 0:
        raise _InputError(f"--seed must be 0 or more; got {args.seed}")
    if args.months < 1 or not args.scale > 0:
        raise _InputError(
            f"--months must be at least 1 and --scale above 0; got {args.months}, {args.scale}"
        )
    from rampcast.calibrate.synth import synth

    data = synth(args.seed, months=args.months, scale=args.scale)
    written = data.write(args.output)
    console.print(
        f"{len(data.opportunities):,} opportunities, {len(data.roster):,} reps on "
        f"the roster, {len(data.hr):,} HR records (seed {args.seed}); wrote "
        + ", ".join(str(p) for p in written),
        markup=False,
        highlight=False,
    )
    return EXIT_OK
