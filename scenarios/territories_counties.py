"""Build a geographic territory instance: US counties split among about 30 reps.

Usage::

    python scenarios/territories_counties.py OUT_DIR [--reps 30] [--min-km 250]

Writes ``OUT_DIR/accounts.csv`` and ``OUT_DIR/reps.csv`` (not committed data):

* accounts = the 3,142 counties and county equivalents of the 2019 Census
  estimates (``co-est2019-alldata.csv``, ``SUMLEV`` 50), potential =
  ``POPESTIMATE2019``, location = the 2019 Gazetteer's internal point;
* reps live at the largest counties, taken in order of population and
  skipping any within ``--min-km`` of a rep already placed, so they spread;
* each county's current owner is its nearest rep (the status quo of a
  nearest-office carve), one segment ``US``.

Then, with distance in the objective::

    rampcast territories --accounts OUT_DIR/accounts.csv --reps OUT_DIR/reps.csv \\
        --tolerance 0.05 --distance-weight 0.001 -o OUT_DIR/result
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

SHARED = Path(__file__).resolve().parents[2] / "shared/data"
GAZ_COLUMNS = [
    "usps",
    "geoid",
    "ansicode",
    "name",
    "aland",
    "awater",
    "aland_sqmi",
    "awater_sqmi",
    "lat",
    "lon",
]


def _km(lat1, lon1, lat2, lon2):
    p1, p2 = np.radians(lat1), np.radians(lat2)
    h = (
        np.sin((p2 - p1) / 2) ** 2
        + np.cos(p1) * np.cos(p2) * np.sin(np.radians(lon2 - lon1) / 2) ** 2
    )
    return 2 * 6371.0088 * np.arcsin(np.sqrt(h))


def build(shared: Path, n_reps: int, min_km: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The county and rep tables."""
    pop = pd.read_csv(
        shared / "us_census_county_population_2019/co-est2019-alldata.csv",
        encoding="latin-1",
        dtype={"STATE": str, "COUNTY": str},
    )
    pop = pop[pop["SUMLEV"] == 50].copy()
    pop = pop.assign(geoid=pop["STATE"].str.zfill(2) + pop["COUNTY"].str.zfill(3))
    gaz_path = shared / "us_census_county_gazetteer_2019/2019_Gaz_counties_national.txt"
    gaz = pd.read_csv(
        gaz_path, header=None, names=GAZ_COLUMNS, dtype={"geoid": str}, encoding="latin-1"
    )
    if not gaz["geoid"].iloc[0].isdigit():  # a header row, where the file has one
        gaz = gaz.iloc[1:]
    gaz["geoid"] = gaz["geoid"].str.zfill(5)
    counties = pop.merge(gaz[["geoid", "lat", "lon"]], on="geoid", how="inner")
    counties = counties.assign(
        lat=counties["lat"].astype(float), lon=counties["lon"].astype(float)
    )
    order = counties.sort_values("POPESTIMATE2019", ascending=False)
    homes: list[int] = []
    for i, row in order.iterrows():
        if all(
            _km(row.lat, row.lon, counties.at[j, "lat"], counties.at[j, "lon"]) >= min_km
            for j in homes
        ):
            homes.append(i)
        if len(homes) == n_reps:
            break
    reps = pd.DataFrame(
        {
            "rep": [f"{counties.at[j, 'CTYNAME']}, {counties.at[j, 'STNAME']}" for j in homes],
            "segment": "US",
            "lat": [counties.at[j, "lat"] for j in homes],
            "lon": [counties.at[j, "lon"] for j in homes],
        }
    )
    d = _km(
        counties["lat"].to_numpy()[:, None],
        counties["lon"].to_numpy()[:, None],
        reps["lat"].to_numpy()[None, :],
        reps["lon"].to_numpy()[None, :],
    )
    accounts = pd.DataFrame(
        {
            "account": counties["geoid"],
            "segment": "US",
            "potential": counties["POPESTIMATE2019"].astype(float),
            "workload": 1.0,
            "lat": counties["lat"],
            "lon": counties["lon"],
            "region": counties["STNAME"],
            "owner": reps["rep"].to_numpy()[d.argmin(axis=1)],
            "locked": False,
        }
    )
    return accounts, reps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="folder for accounts.csv and reps.csv")
    parser.add_argument("--data", type=Path, default=SHARED, help="the shared data folder")
    parser.add_argument("--reps", type=int, default=30, help="number of reps (default 30)")
    parser.add_argument(
        "--min-km",
        type=float,
        default=250.0,
        help="least distance between two reps' homes (default 250)",
    )
    args = parser.parse_args()
    if not args.data.is_dir():
        parser.error(f"--data {args.data}: no such folder; point it at the dataset folder")
    accounts, reps = build(args.data, args.reps, args.min_km)
    args.out.mkdir(parents=True, exist_ok=True)
    accounts.to_csv(args.out / "accounts.csv", index=False)
    reps.to_csv(args.out / "reps.csv", index=False)
    print(f"wrote {len(accounts):,} counties and {len(reps)} reps to {args.out}")


if __name__ == "__main__":
    main()
