"""The data audit: Maven's known problems, every check on crafted rows, the CLI."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from rampcast.calibrate.audit import CHECKS, audit, cleaned
from rampcast.errors import DataError
from rampcast.io.crm import OPPORTUNITY_COLUMNS, read_catalogue, read_opportunities, read_roster

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
MAVEN = DATA / "maven_crm_sales_opportunities"
needs_data = pytest.mark.skipif(not DATA.is_dir(), reason="shared data folder not present")


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _frame(rows: list[dict]) -> pd.DataFrame:
    """Canonical rows; unspecified columns take a clean won deal's values."""
    base = {
        "owner": "ann",
        "account": "Acme",
        "product": "Widget",
        "stage": "Won",
        "amount": 100.0,
        "created": "2017-01-01",
        "closed": "2017-02-01",
        "is_closed": True,
        "is_won": True,
        "segment": None,
    }
    frame = pd.DataFrame([{**base, "opportunity_id": f"D{i}", **r} for i, r in enumerate(rows)])[
        list(OPPORTUNITY_COLUMNS)
    ]
    for column in ("created", "closed"):
        frame[column] = pd.to_datetime(frame[column])
    frame["amount"] = frame["amount"].astype(float)
    return frame


STAGES = {"won": ["Won"], "lost": ["Lost"], "open": ["Open"]}
OPEN = {"stage": "Open", "is_closed": False, "is_won": False}


@needs_data
def test_maven_known_problems():
    path = MAVEN / "sales_pipeline.csv"
    frame = read_opportunities(path, layout="maven")
    roster = read_roster(MAVEN / "sales_teams.csv", layout="maven_teams")
    products = read_catalogue(MAVEN / "products.csv")
    result = audit(frame, roster=roster, products=products)
    assert result.as_of == pd.Timestamp("2017-12-31")
    assert result.count("open_no_close_date") == 500 + 1589
    explained = result.findings.set_index("check")["explanation"]
    assert "Engaging 1,589, Prospecting 500" in explained["open_no_close_date"]
    # SOURCE.md, data quality problems 2 and 5: 337 + 1,088 open deals with no
    # account; 1,480 pipeline rows say GTXPro where products.csv says GTX Pro
    assert result.count("no_account") == 337 + 1088
    assert "Engaging 1,088, Prospecting 337" in explained["no_account"]
    assert result.count("product_not_in_catalogue") == 1480
    assert result.renames["product"] == {"GTXPro": "GTX Pro"}
    idle = result.findings.set_index("check").loc["roster_rep_without_deals"]
    assert idle["count"] == 5 and idle["severity"] == "info"
    for name in (
        "Mei-Mei Johns",
        "Carol Thompson",
        "Elizabeth Anderson",
        "Carl Lin",
        "Natalya Ivanova",
    ):
        assert name in idle["examples"]
    for check in (
        "duplicate_id",
        "exact_duplicate",
        "won_nonpositive_amount",
        "negative_amount",
        "close_before_create",
        "flags_contradict",
        "closed_no_close_date",
        "owner_not_in_roster",
        "unknown_stage",
    ):
        assert result.count(check) == 0, check
    assert result.count("stale_open") > 0  # Engaging deals from 2016-11-03 onward
    assert not result.blocking
    # lost deals carry 0: not reported as bad won amounts; stale and no-date are open only
    assert (frame.loc[frame["stage"] == "Lost", "amount"] == 0).all()
    without = audit(frame)
    assert "product_not_in_catalogue" not in set(without.findings["check"])


def test_every_check_fires_on_crafted_rows():
    frame = _frame(
        [
            {},  # D0 clean
            {"opportunity_id": None},  # missing_id
            {"opportunity_id": "D0", "owner": "bob"},  # duplicate_id
            {"opportunity_id": "d 0 "},  # near_duplicate_id
            {"amount": 777.0, "closed": "2017-05-01"},  # near_duplicate pair
            {"amount": 777.0, "closed": "2017-05-03"},
            {"owner": None},  # missing_owner
            {**OPEN, "closed": "2017-03-01"},  # open_past_close
            {**OPEN, "closed": None},  # open_no_close_date
            {**OPEN, "created": "2015-01-01", "closed": "2018-01-01"},  # stale_open
            {"closed": None},  # closed_no_close_date
            {"amount": None},  # closed_no_amount
            {"created": None},  # closed_no_created
            {"amount": 0.0},  # won_nonpositive_amount
            {"stage": "Lost", "is_won": False, "amount": -5.0},  # negative_amount
            {"created": "2017-03-01", "closed": "2017-02-01"},  # close_before_create
            {"is_closed": False},  # flags_contradict (won stage)
            {"stage": "Limbo", "is_closed": False, "is_won": False},  # unknown_stage
            {"owner": "zed"},  # owner_not_in_roster
            {"product": "wid-get"},  # product_name_variants
            {"account": "ACME "},  # account_name_variants
            {"product": "Gadget"},  # unknown_product
            {"account": None},  # no_account
        ]
    )
    frame = pd.concat([frame, frame.iloc[[0]]], ignore_index=True)  # exact_duplicate
    result = audit(
        frame,
        roster=["ann", "bob", "idle"],
        products=["Widget", "Wid get"],
        as_of="2017-12-31",
        stages=STAGES,
        stale_days=365,
    )
    counts = result.findings.set_index("check")["count"]
    assert set(counts.index) == set(CHECKS)
    for check in CHECKS:
        assert counts[check] > 0, check
    assert {4, 5} <= set(result.rows["near_duplicate"])  # the default rows match too
    assert counts["roster_rep_without_deals"] == 1
    assert result.rows["exact_duplicate"] == (23,)
    assert result.rows["duplicate_id"] == (2,)
    assert set(result.rows["flags_contradict"]) == {16}
    assert result.blocking
    severities = result.findings.set_index("check")["severity"]
    assert severities["flags_contradict"] == "blocking"
    assert severities["no_account"] == "warning"
    examples = result.findings.set_index("check")["examples"]
    assert examples["close_before_create"].startswith("line 17: D15 (created 2017-03-01")


def test_clean_table_has_no_blocking_findings():
    frame = _frame([{}, {"stage": "Lost", "is_won": False, "amount": 0.0}, {**OPEN}])
    result = audit(frame, stages=STAGES)
    assert not result.blocking
    assert result.count("won_nonpositive_amount") == 0


def test_cleaned_applies_safe_fixes_and_leaves_the_input():
    frame = _frame(
        [
            {},
            {"product": "WIDGET"},
            {"product": "Widget"},
            {"is_closed": False},
            {"opportunity_id": "D0", "owner": "bob"},
        ]
    )
    frame = pd.concat([frame, frame.iloc[[1]]], ignore_index=True)
    before = frame.copy()
    result = audit(frame, stages=STAGES)
    out = cleaned(frame, result)
    pd.testing.assert_frame_equal(frame, before)
    assert list(out.index) == [0, 1, 2, 3]
    assert set(out["product"]) == {"Widget"}
    assert out.loc[3, "is_closed"] and out.loc[3, "is_won"]
    assert not audit(out, stages=STAGES).blocking
    assert any("dropped 2" in note for note in out.attrs["cleaning"])


def test_audit_input_errors():
    with pytest.raises(DataError, match="lack the canonical columns"):
        audit(pd.DataFrame({"opportunity_id": ["a"]}))
    with pytest.raises(DataError, match="as_of 'soon' is not a date"):
        audit(_frame([{}]), as_of="soon")


# --- command line ----------------------------------------------------------------------


def _cli(*args, cwd):
    return subprocess.run(
        [sys.executable, "-m", "rampcast.cli", "audit", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
        env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"},
    )


@needs_data
def test_cli_maven_exit_zero_and_files(tmp_path):
    path = MAVEN / "sales_pipeline.csv"
    before = _sha(path)
    out = tmp_path / "audit"
    done = _cli(
        "--opportunities",
        path,
        "--layout",
        "maven",
        "--roster",
        MAVEN / "sales_teams.csv",
        "--roster-layout",
        "maven_teams",
        "--products",
        MAVEN / "products.csv",
        "-o",
        out,
        "--write-clean",
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert "product_not_in_catalogue" in done.stdout
    findings = pd.read_csv(out / "audit.csv")
    assert list(findings.columns) == ["check", "severity", "count", "examples", "explanation"]
    assert findings.set_index("check").loc["no_account", "count"] == 1425
    clean = read_opportunities(out / "sales_pipeline.clean.csv")
    assert len(clean) == 8800 and "GTXPro" not in set(clean["product"])
    assert _sha(path) == before


def test_cli_blocking_and_bad_input(tmp_path):
    path = tmp_path / "deals.csv"
    path.write_text(
        "opportunity_id,owner,stage,amount,created,closed\n"
        "A1,ann,Won,100,2017-01-02,2017-02-03\n"
        "A1,ann,Won,100,2017-01-02,2017-02-03\n"
        "A2,bob,Won,-4,2017-03-02,2017-02-03\n"
    )
    before = _sha(path)
    done = _cli("--opportunities", path, "--write-clean", cwd=tmp_path)
    assert done.returncode == 3, done.stderr
    assert "exact_duplicate" in done.stdout and "blocking" in done.stdout
    assert (tmp_path / "deals.clean.csv").is_file()
    assert _sha(path) == before

    done = _cli("--opportunities", path, "--map", "closed=Close", cwd=tmp_path)
    assert done.returncode == 2
    assert "the file has no column 'Close'" in done.stderr
    done = _cli("--opportunities", path, "--map", "closed", cwd=tmp_path)
    assert done.returncode == 2 and "write CANONICAL=COLUMN" in done.stderr
    done = _cli("--opportunities", tmp_path / "none.csv", cwd=tmp_path)
    assert done.returncode == 2 and "no such file" in done.stderr


def test_roster_hints_name_the_roster_options(tmp_path):
    # the reader says --layout / --map; beside opportunities they are --roster-*
    from rampcast.errors import DataError
    from rampcast.io.crm import read_roster, with_options

    path = tmp_path / "teams.csv"
    path.write_text("sales_agent,manager,regional_office\nA,B,East\n")
    with pytest.raises(DataError) as info:
        read_roster(path)
    renamed = str(with_options(info.value, "roster"))
    assert "--roster-map rep=sales_agent" in renamed
    assert "--map " not in renamed.replace("--roster-map ", "")
