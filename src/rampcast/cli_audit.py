"""Command line of ``rampcast audit``.

Registered by :mod:`rampcast.cli`; parsing, printing and exit codes only.
Imports nothing heavy until the command runs.
"""

from __future__ import annotations

from pathlib import Path


def add_audit(sub) -> None:
    """The ``audit`` subcommand."""
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


def _audit(args, console) -> int:
    from rampcast.calibrate.audit import audit, cleaned
    from rampcast.cli import EXIT_BLOCKING, EXIT_OK, _InputError, _mapping
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
