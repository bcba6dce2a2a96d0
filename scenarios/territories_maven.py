"""Build territory inputs from the Maven CRM export: 85 accounts across 35 agents.

Usage::

    python scenarios/territories_maven.py OUT_DIR [--data MAVEN_CSV_FOLDER]

Writes ``OUT_DIR/accounts.csv`` and ``OUT_DIR/reps.csv`` (not committed data):

* potential = the account's ``revenue`` (annual revenue, USD millions);
* current owner = the agent with the most closed-won ``close_value`` on the
  account in ``sales_pipeline.csv`` (ties: the first agent alphabetically);
* segment = the owner's ``regional_office`` in ``sales_teams.csv``; reps are
  the 35 agents with their offices, so each office's accounts are shared
  among its agents.

Then: ``rampcast territories --accounts OUT_DIR/accounts.csv --reps
OUT_DIR/reps.csv [--scenario scenarios/maven.yaml] -o OUT_DIR/result``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

DEFAULT = Path(__file__).resolve().parents[2] / "shared/data/maven_crm_sales_opportunities"


def build(data: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The account and rep tables of the Maven export."""
    accounts = pd.read_csv(data / "accounts.csv")
    pipeline = pd.read_csv(data / "sales_pipeline.csv")
    teams = pd.read_csv(data / "sales_teams.csv")
    won = pipeline[pipeline["deal_stage"] == "Won"]
    value = won.groupby(["account", "sales_agent"], as_index=False)["close_value"].sum()
    value = value.sort_values(
        ["account", "close_value", "sales_agent"], ascending=[True, False, True]
    )
    owner = value.drop_duplicates("account").set_index("account")["sales_agent"]
    office = teams.set_index("sales_agent")["regional_office"]
    table = pd.DataFrame(
        {
            "account": accounts["account"],
            "potential": accounts["revenue"],
            "owner": accounts["account"].map(owner),
        }
    )
    missing = table["owner"].isna()
    if missing.any():
        names = list(table.loc[missing, "account"])
        raise SystemExit(f"accounts without a closed-won deal: {names}")
    table["segment"] = table["owner"].map(office)
    table["workload"] = 1.0
    table["locked"] = False
    reps = pd.DataFrame({"rep": teams["sales_agent"], "segment": teams["regional_office"]})
    return table[["account", "segment", "potential", "workload", "owner", "locked"]], reps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="folder for accounts.csv and reps.csv")
    parser.add_argument("--data", type=Path, default=DEFAULT, help="Maven CSV folder")
    args = parser.parse_args()
    if not args.data.is_dir():
        parser.error(f"--data {args.data}: no such folder; point it at the dataset folder")
    accounts, reps = build(args.data)
    args.out.mkdir(parents=True, exist_ok=True)
    accounts.to_csv(args.out / "accounts.csv", index=False)
    reps.to_csv(args.out / "reps.csv", index=False)
    print(f"wrote {len(accounts)} accounts and {len(reps)} reps to {args.out}")


if __name__ == "__main__":
    main()
