"""End-to-end tests of ``rampcast run``, each in its own Python process.

Starting a process costs a few seconds of imports, so the module fixture
``runs`` prepares every input first, then starts all the commands together
(a few at a time) and hands the tests their finished results by name.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr
import yaml

import rampcast

DEFAULT = rampcast.default_scenario_path()
TRIALS = 2000
# numba refuses more threads than NUMBA_NUM_THREADS (the core count by default)
TOO_MANY_THREADS = max(99, 2 * (os.cpu_count() or 1))


@dataclass(frozen=True)
class Run:
    """A finished ``rampcast`` command."""

    returncode: int
    stdout: str
    stderr: str


def rampcast_cli(*args) -> Run:
    """Run ``python -m rampcast.cli *args`` in a fresh process."""
    proc = subprocess.run(
        [sys.executable, "-m", "rampcast.cli", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    return Run(proc.returncode, proc.stdout, proc.stderr)


def sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _inputs(root: Path) -> dict[str, Path]:
    """Scenario files for the runs: the default with its roster in a CSV, and a bad one."""
    raw = yaml.safe_load(DEFAULT.read_text(encoding="utf-8"))
    folder = root / "inputs"
    folder.mkdir()
    roster = pd.DataFrame(raw.pop("roster"))
    roster.to_csv(folder / "reps.csv", index=False)
    raw["roster"] = "reps.csv"
    (folder / "scenario.yaml").write_text(yaml.safe_dump(raw, sort_keys=False), "utf-8")

    raw = yaml.safe_load(DEFAULT.read_text(encoding="utf-8"))
    raw["segments"]["mid_market"]["ramp"]["curve"][2] = 1.4
    (folder / "bad.yaml").write_text(yaml.safe_dump(raw, sort_keys=False), "utf-8")
    return {
        "csv": folder / "reps.csv",
        "scenario": folder / "scenario.yaml",
        "bad": folder / "bad.yaml",
    }


def _old_output(folder: Path) -> None:
    """A folder holding a previous Monte Carlo run's files."""
    folder.mkdir()
    (folder / "run.json").write_text('{"old": true, "trials": 1}\n')
    (folder / "summary.csv").write_text("old\n")
    (folder / "trials.parquet").write_bytes(b"not parquet")


@dataclass(frozen=True)
class Runs:
    """Every command of this module, finished, with the files they used."""

    root: Path
    files: dict[str, Path]
    sha_before: dict[str, str]
    results: dict[str, Run]

    def __getitem__(self, name: str) -> Run:
        return self.results[name]

    def out(self, name: str) -> Path:
        return self.root / f"out-{name}"


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> Runs:
    root = tmp_path_factory.mktemp("cli")
    files = {**_inputs(root), "default": DEFAULT}
    sha_before = {name: sha256(path) for name, path in files.items()}
    _old_output(root / "out-replace")

    def out(name):
        return ["-o", root / f"out-{name}"]

    own = files["scenario"]
    commands = {
        "default": ["run", "--trials", TRIALS, *out("default")],
        "deterministic": ["run", "--deterministic", *out("deterministic")],
        "seed-11": ["run", own, "--trials", 300, "--seed", 11, *out("seed-11")],
        "seed-11-again": ["run", own, "--trials", 300, "--seed", 11, *out("seed-11-again")],
        "seed-12": ["run", own, "--trials", 300, "--seed", 12, *out("seed-12")],
        "replace": ["run", "--deterministic", *out("replace")],
        "bad-scenario": ["run", files["bad"], *out("bad-scenario")],
        "missing-file": ["run", root / "absent.yaml", *out("missing-file")],
        "zero-trials": ["run", "--trials", 0, *out("zero-trials")],
        "unknown-plan": ["run", "--plan", "stretch", *out("unknown-plan")],
        "too-many-threads": ["run", "--threads", TOO_MANY_THREADS, *out("too-many-threads")],
    }
    with ThreadPoolExecutor(max_workers=4) as pool:
        done = pool.map(lambda args: rampcast_cli(*args), commands.values())
        results = dict(zip(commands, done, strict=True))
    return Runs(root, files, sha_before, results)


# --- a Monte Carlo run of the bundled scenario -------------------------------


def test_run_writes_the_four_files(runs):
    run = runs["default"]
    assert run.returncode == 0, run.stderr
    assert "Traceback" not in run.stderr
    assert sorted(p.name for p in runs.out("default").iterdir()) == [
        "results.nc",
        "run.json",
        "summary.csv",
        "trials.parquet",
    ]


def test_stdout_has_the_table(runs):
    stdout = runs["default"].stdout
    for header in ("P10", "P50", "P90", "mean", "target", "P(target)"):
        assert header in stdout
    for period in ("Y1Q1", "Y1Q4", "Y1"):
        assert period in stdout
    assert "conventions: tenure elapsed" in stdout


def test_results_nc_is_labelled(runs):
    with xr.open_dataset(runs.out("default") / "results.nc", engine="h5netcdf") as ds:
        assert {"quantile", "month", "segment", "period"} <= set(ds.dims)
        assert ds.sizes["month"] == 12
        assert list(ds["quantile"].values) == [0.1, 0.5, 0.9]
        assert set(ds["segment"].values) == {"mid_market", "enterprise", "total"}
        assert ds["bookings_q"].dims == ("quantile", "month", "segment")
        assert ds["bookings_q"].attrs["units"] == "USD"
        assert ds["headcount_q"].attrs["units"] == "reps"
        assert ds.attrs["convention_tenure_index"] == "elapsed"
        assert ds.attrs["convention_attrition_conversion"] == "compounded"
        assert ds.attrs["trials"] == TRIALS
        assert ds.attrs["seed"] == 20270101


def test_summary_csv_bands_and_p_target(runs):
    table = pd.read_csv(runs.out("default") / "summary.csv")
    total = table[table["segment"] == "total"]

    assert list(total["period"]) == ["Y1Q1", "Y1Q2", "Y1Q3", "Y1Q4", "Y1"]
    assert total["period"].is_unique
    for metric in ("bookings", "capacity", "headcount_end", "rre_end"):
        assert (table[f"{metric}_p10"] <= table[f"{metric}_p50"]).all()
        assert (table[f"{metric}_p50"] <= table[f"{metric}_p90"]).all()
    assert total["p_target"].between(0.0, 1.0).all()
    assert total["target"].iloc[-1] == 9_000_000


def test_trials_parquet_totals_are_sums_of_segments(runs):
    trials = pd.read_parquet(runs.out("default") / "trials.parquet")
    counts = trials.groupby(["period", "segment"]).size()

    assert (counts == TRIALS).all()
    assert set(trials["segment"]) == {"mid_market", "enterprise", "total"}
    wide = trials.pivot(index=["period", "trial"], columns="segment", values="bookings")
    np.testing.assert_allclose(wide["total"], wide["mid_market"] + wide["enterprise"], rtol=1e-12)


def test_run_json_records_provenance(runs):
    info = json.loads((runs.out("default") / "run.json").read_text())

    assert info["rampcast_version"] == rampcast.__version__
    assert info["seed"] == 20270101
    assert info["trials"] == TRIALS
    assert info["scenario_sha256"] == sha256(DEFAULT)
    assert info["inputs_sha256"] == {str(DEFAULT): sha256(DEFAULT)}
    assert info["wall_s"] > 0
    assert info["compile_s"] >= 0


# --- deterministic mode ------------------------------------------------------


def test_deterministic_writes_no_trials(runs):
    run = runs["deterministic"]
    folder = runs.out("deterministic")

    assert run.returncode == 0, run.stderr
    assert "deterministic" in run.stdout
    assert not (folder / "trials.parquet").exists()
    assert (folder / "summary.csv").exists()
    assert json.loads((folder / "run.json").read_text())["mode"] == "deterministic"


# --- bad input: exit code 2, one clear line, nothing written -----------------


@pytest.mark.parametrize(
    ("name", "pieces"),
    [
        ("bad-scenario", ["bad.yaml", "segments.mid_market.ramp.curve[2]", "1.4"]),
        ("missing-file", ["absent.yaml", "does not exist"]),
        ("zero-trials", ["--trials must be at least 1; got 0"]),
        ("unknown-plan", ["--plan 'stretch'", "allowed: base, aggressive"]),
        ("too-many-threads", ["--threads must be between 1 and", f"got {TOO_MANY_THREADS}"]),
    ],
)
def test_bad_input_exits_2_with_a_message_and_no_output(runs, name, pieces):
    run = runs[name]
    folder = runs.out(name)

    assert run.returncode == 2
    assert run.stderr.startswith("rampcast: error: ")
    assert "Traceback" not in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1  # not folded at 80 columns
    for piece in pieces:
        assert piece in run.stderr
    assert not folder.exists() or not any(folder.iterdir())


# --- outputs and inputs ------------------------------------------------------


def test_old_run_is_replaced_whole(runs):
    folder = runs.out("replace")

    assert runs["replace"].returncode == 0, runs["replace"].stderr
    info = json.loads((folder / "run.json").read_text())
    assert info["mode"] == "deterministic"
    assert "old" not in info and "trials" not in info
    assert pd.read_csv(folder / "summary.csv")["segment"].eq("total").any()
    with xr.open_dataset(folder / "results.nc", engine="h5netcdf") as ds:
        assert "bookings_period_mean" in ds
    assert not [p.name for p in folder.iterdir() if p.name.startswith(".")]  # no temp files


def test_deterministic_run_leaves_no_stale_trials(runs):
    assert runs["replace"].returncode == 0, runs["replace"].stderr
    assert not (runs.out("replace") / "trials.parquet").exists()


def test_inputs_are_never_modified(runs):
    for name in ("default", "seed-11", "seed-11-again", "seed-12", "bad-scenario"):
        assert runs[name].returncode in (0, 2)
    after = {name: sha256(path) for name, path in runs.files.items()}

    assert after == runs.sha_before


def test_run_json_hashes_scenario_and_roster_csv(runs):
    info = json.loads((runs.out("seed-11") / "run.json").read_text())
    scenario, roster = runs.files["scenario"], runs.files["csv"]

    assert info["scenario_sha256"] == runs.sha_before["scenario"]
    assert info["inputs_sha256"] == {
        str(scenario): runs.sha_before["scenario"],
        str(roster): runs.sha_before["csv"],
    }


def test_same_seed_same_numbers_other_seed_other_numbers(runs):
    for name in ("seed-11", "seed-11-again", "seed-12"):
        assert runs[name].returncode == 0, runs[name].stderr
    first, again, other = (
        (runs.out(name) / "summary.csv").read_bytes()
        for name in ("seed-11", "seed-11-again", "seed-12")
    )

    assert first == again
    assert first != other
    assert json.loads((runs.out("seed-12") / "run.json").read_text())["seed"] == 12
