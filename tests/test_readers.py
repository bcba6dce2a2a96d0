"""CRM, stage-history and roster readers: real exports, pinned errors, round trips."""

from __future__ import annotations

import csv
import hashlib
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rampcast.errors import DataError, DataWarning
from rampcast.io.crm import (
    OPPORTUNITY_COLUMNS,
    ROSTER_COLUMNS,
    read_catalogue,
    read_opportunities,
    read_roster,
    read_stage_history,
)

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
MAVEN = DATA / "maven_crm_sales_opportunities"
SALESFORCE = DATA / "salesforce_opportunity_history_preppin"
needs_data = pytest.mark.skipif(not DATA.is_dir(), reason="shared data folder not present")


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _rows(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8-sig") as handle:
        return list(csv.DictReader(handle))


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


GENERIC = (
    "opportunity_id,owner,stage,amount,created,closed\n"
    "A1,ann,Won,100,2017-01-02,2017-02-03\n"
    "A2,bob,Lost,0,2017-01-05,2017-03-01\n"
    "A3,bob,Open,50,2017-02-01,\n"
)


# --- real exports ----------------------------------------------------------------------


@needs_data
def test_maven_reads_with_stage_counts():
    path = MAVEN / "sales_pipeline.csv"
    before = _sha(path)
    frame = read_opportunities(path, layout="maven")
    assert _sha(path) == before
    assert list(frame.columns) == list(OPPORTUNITY_COLUMNS)
    # counts as published in the dataset's SOURCE.md ("Content summary")
    assert len(frame) == 8800
    assert frame["stage"].value_counts().to_dict() == {
        "Won": 4238,
        "Lost": 2473,
        "Engaging": 1589,
        "Prospecting": 500,
    }
    assert int(frame["is_won"].sum()) == 4238
    assert int(frame["is_closed"].sum()) == 4238 + 2473
    assert int((~frame["is_closed"]).sum()) == 2089
    assert frame["created"].min() == pd.Timestamp("2016-10-20")
    assert frame["closed"].min() == pd.Timestamp("2017-03-01")
    assert frame["closed"].max() == pd.Timestamp("2017-12-31")
    # won value against an independent csv-module sum
    raw = _rows(path)
    won = sum(float(r["close_value"]) for r in raw if r["deal_stage"] == "Won")
    assert frame.loc[frame["is_won"], "amount"].sum() == pytest.approx(won)
    assert frame["segment"].isna().all()


@needs_data
def test_salesforce_reads_day_first_dates_and_bom_history():
    opp_path = SALESFORCE / "Opportunity.csv"
    hist_path = SALESFORCE / "Opportunity History.csv"
    before = (_sha(opp_path), _sha(hist_path))
    frame = read_opportunities(opp_path, layout="salesforce", history=hist_path)
    raw = _rows(opp_path)
    assert len(frame) == len(raw) == 219
    for i in (0, 1, 57, 218):
        row = raw[i]
        assert frame.loc[i, "opportunity_id"] == row["Id"]
        assert frame.loc[i, "created"] == datetime.strptime(row["CreatedDate"], "%d/%m/%Y")
        assert frame.loc[i, "closed"] == datetime.strptime(row["CloseDate"], "%d/%m/%Y")
        assert frame.loc[i, "stage"] == row["StageName"]
        assert frame.loc[i, "is_closed"] == (row["IsClosed"] == "TRUE")
    assert frame["stage"].value_counts()["Closed Won"] == 89
    assert int(frame["amount"].isna().sum()) == 2
    assert frame["created"].min() == pd.Timestamp("2021-12-26")
    assert frame["closed"].max() == pd.Timestamp("2022-12-31")
    assert frame.attrs["stage_history"] == str(hist_path)

    history = read_stage_history(hist_path)
    hist_raw = _rows(hist_path)  # utf-8-sig: the BOM is not part of the first name
    assert len(history) == len(hist_raw) == 584
    assert list(history.columns) == ["opportunity_id", "stage", "changed", "amount"]
    for i in (0, 3, 583):
        assert history.loc[i, "opportunity_id"] == hist_raw[i]["OppID"]
        assert history.loc[i, "stage"] == hist_raw[i]["StageName"]
        assert history.loc[i, "changed"] == datetime.strptime(
            hist_raw[i]["CreatedDate"], "%d/%m/%Y"
        )
    assert history["opportunity_id"].isin(frame["opportunity_id"]).all()
    assert history["amount"].isna().all()
    assert (_sha(opp_path), _sha(hist_path)) == before


@needs_data
def test_rosters_from_the_shared_exports():
    teams = read_roster(MAVEN / "sales_teams.csv", layout="maven_teams")
    assert list(teams.columns) == list(ROSTER_COLUMNS)
    assert len(teams) == 35
    assert teams["segment"].value_counts().to_dict() == {"East": 12, "West": 12, "Central": 11}
    assert teams["tenure_months"].isna().all() and not teams["left"].any()

    path = DATA / "employee_turnover_babushkin" / "turnover.csv"
    staff = read_roster(path, layout="babushkin")
    # SOURCE.md: 1,129 rows, event = 1 for 571
    assert len(staff) == 1129 and int(staff["left"].sum()) == 571
    assert staff["tenure_months"].median() == pytest.approx(24.3, abs=0.05)
    assert staff["segment"].value_counts()["Sales"] == 66
    by_industry = read_roster(path, layout="babushkin", mapping={"segment": "industry"})
    assert by_industry["segment"].value_counts()["Retail"] == 289
    assert "HoReCa" in set(by_industry["segment"])  # the leading space is stripped

    ibm = DATA / "ibm_hr_employee_attrition" / "WA_Fn-UseC_-HR-Employee-Attrition.csv"
    with pytest.warns(DataWarning, match="cross-sectional"):
        hr = read_roster(ibm, layout="ibm")
    # SOURCE.md: 1,470 rows, attrition 237 / 1,470
    assert len(hr) == 1470 and int(hr["left"].sum()) == 237
    assert hr["source_note"].str.contains("cross-sectional").all()
    sales = hr[hr["segment"] == "Sales"]
    assert len(sales) == 446 and int(sales["left"].sum()) == 92
    assert hr.loc[0, "tenure_months"] == 6 * 12  # YearsAtCompany 6


@needs_data
def test_catalogue_names():
    names = read_catalogue(MAVEN / "products.csv")
    assert "GTX Pro" in set(names) and len(names) == 7


# --- generic files ---------------------------------------------------------------------


def test_generic_file_and_derived_flags(tmp_path):
    frame = read_opportunities(_write(tmp_path / "o.csv", GENERIC))
    assert frame["is_won"].tolist() == [True, False, False]
    assert frame["is_closed"].tolist() == [True, True, False]
    assert frame["account"].isna().all()
    assert pd.isna(frame.loc[2, "closed"])
    assert frame["amount"].dtype == float


def test_mapping_reads_other_column_names(tmp_path):
    text = GENERIC.replace("closed", "CloseDate").replace("owner", "rep_name")
    frame = read_opportunities(
        _write(tmp_path / "o.csv", text), mapping={"closed": "CloseDate", "owner": "rep_name"}
    )
    assert frame.loc[0, "closed"] == pd.Timestamp("2017-02-03")
    assert frame.loc[1, "owner"] == "bob"


def test_month_first_and_forced_order(tmp_path):
    text = GENERIC.replace("2017-02-03", "02/13/2017").replace("2017-03-01", "03/01/2017")
    frame = read_opportunities(_write(tmp_path / "o.csv", text))
    assert frame.loc[0, "closed"] == pd.Timestamp("2017-02-13")
    assert frame.loc[1, "closed"] == pd.Timestamp("2017-03-01")
    ambiguous = GENERIC.replace("2017-03-01", "03/01/2017")
    path = _write(tmp_path / "a.csv", ambiguous)
    assert read_opportunities(path, dayfirst=True).loc[1, "closed"] == pd.Timestamp("2017-01-03")
    assert read_opportunities(path, dayfirst=False).loc[1, "closed"] == pd.Timestamp("2017-03-01")


def test_semicolon_separator_bom_and_latin1(tmp_path):
    text = "\ufeff" + GENERIC.replace(",", ";").replace("ann", "Anné")
    path = tmp_path / "o.csv"
    path.write_bytes(text.encode("utf-8"))
    assert read_opportunities(path).loc[0, "owner"] == "Anné"
    path.write_bytes(GENERIC.replace("ann", "Anné").encode("latin-1"))
    assert read_opportunities(path).loc[0, "owner"] == "Anné"


def test_generic_roster_tenure_from_dates(tmp_path):
    path = _write(
        tmp_path / "r.csv",
        "rep,segment,start,end\na,smb,2020-01-01,2021-01-01\nb,ent,2020-07-01,\n",
    )
    roster = read_roster(path)
    assert roster["left"].tolist() == [True, False]
    assert roster.loc[0, "tenure_months"] == pytest.approx(366 / (365.25 / 12))
    assert np.isnan(roster.loc[1, "tenure_months"])
    later = read_roster(path, as_of="2021-07-01")
    assert later.loc[1, "tenure_months"] == pytest.approx(365 / (365.25 / 12))


# --- pinned error messages -------------------------------------------------------------


def test_missing_column_names_the_mapping_fix(tmp_path):
    path = _write(tmp_path / "o.csv", GENERIC.replace("closed", "CloseDate"))
    with pytest.raises(DataError) as info:
        read_opportunities(path)
    message = str(info.value)
    assert str(path) in message
    assert "missing column for closed (column 'closed')" in message
    assert "--map closed=CloseDate" in message
    assert "mapping={'closed': 'CloseDate'}" in message
    assert info.value.column == "closed"


def test_malformed_date_names_line_and_value(tmp_path):
    path = _write(tmp_path / "o.csv", GENERIC.replace("2017-03-01", "next week"))
    with pytest.raises(
        DataError,
        match=r"column 'closed' \(closed\): line 3 has 'next week', "
        r"not a date",
    ):
        read_opportunities(path)
    path = _write(tmp_path / "p.csv", GENERIC.replace("2017-03-01", "2017-02-30"))
    with pytest.raises(DataError, match=r"line 3 has '2017-02-30', not a valid date"):
        read_opportunities(path)


def test_wrong_layout_points_to_the_right_one(tmp_path):
    text = (
        "opportunity_id,sales_agent,product,account,deal_stage,engage_date,close_date,"
        "close_value\nX1,ann,GTX,Acme,Won,2017-01-01,2017-02-01,10\n"
    )
    path = _write(tmp_path / "maven.csv", text)
    with pytest.raises(
        DataError,
        match=r"looks like the maven layout: --layout maven "
        r"\(layout='maven'\)",
    ) as info:
        read_opportunities(path, layout="salesforce")
    assert "--map owner=sales_agent" in str(info.value)
    with pytest.raises(
        DataError,
        match=r"layout 'pipedrive' is not known; allowed: generic, "
        r"salesforce, hubspot, maven",
    ):
        read_opportunities(path, layout="pipedrive")


def test_bad_mapping_and_cells(tmp_path):
    path = _write(tmp_path / "o.csv", GENERIC)
    with pytest.raises(
        DataError,
        match=r"mapping closed='Close': the file has no column "
        r"'Close'; columns are: opportunity_id",
    ):
        read_opportunities(path, mapping={"closed": "Close"})
    with pytest.raises(DataError, match=r"mapping key 'close' is not a canonical column"):
        read_opportunities(path, mapping={"close": "closed"})
    bad = _write(tmp_path / "b.csv", GENERIC.replace(",100,", ",lots,"))
    with pytest.raises(
        DataError,
        match=r"column 'amount' \(amount\): line 2 has 'lots', "
        r"not a number",
    ):
        read_opportunities(bad)
    flags = _write(
        tmp_path / "f.csv",
        GENERIC.replace("created,closed", "created,closed,is_won")
        .replace("\n", ",TRUE\n")
        .replace("created,closed,is_won,TRUE", "created,closed,is_won"),
    )
    flags.write_text(flags.read_text().replace("2017-03-01,TRUE", "2017-03-01,maybe"))
    with pytest.raises(
        DataError,
        match=r"column 'is_won' \(is_won\): line 3 has 'maybe'; "
        r"a flag must be TRUE/FALSE",
    ):
        read_opportunities(flags)
    with pytest.raises(DataError, match="no such file"):
        read_opportunities(tmp_path / "absent.csv")


def test_ambiguous_and_mixed_slashed_dates(tmp_path):
    path = _write(tmp_path / "o.csv", GENERIC.replace("2017-03-01", "03/01/2017"))
    with pytest.raises(
        DataError,
        match=r"line 3 can be read day-first or month-first.*"
        r"--dayfirst or --monthfirst",
    ):
        read_opportunities(path)
    mixed = GENERIC.replace("2017-03-01", "13/01/2017").replace("2017-02-03", "01/13/2017")
    with pytest.raises(
        DataError,
        match=r"mix day-first \('closed', line 3\) and month-first "
        r"\('closed', line 2\)",
    ):
        read_opportunities(_write(tmp_path / "m.csv", mixed))


def test_roster_errors(tmp_path):
    path = _write(tmp_path / "r.csv", "rep,segment\na,smb\n")
    with pytest.raises(
        DataError,
        match=r"a generic roster needs start dates or tenure_months"
        r".*--map start=<column>",
    ):
        read_roster(path)
    hr = _write(
        tmp_path / "hr.csv",
        "EmployeeNumber,Department,YearsAtCompany,Attrition\n1,Sales,2,Perhaps\n",
    )
    with pytest.raises(DataError, match=r"column 'Attrition' \(left\): line 2 has 'Perhaps'"):
        read_roster(hr, layout="ibm")
    back = _write(tmp_path / "b.csv", "rep,start,end\na,2021-01-01,2020-01-01\n")
    with pytest.raises(DataError, match=r"line 2 ends 2020-01-01, before its start 2021-01-01"):
        read_roster(back)


# --- round trip ------------------------------------------------------------------------

_names = st.text(alphabet="abcdefgh XYZ-", min_size=1, max_size=8).map(str.strip).filter(bool)
_days = st.dates(min_value=datetime(2015, 1, 1).date(), max_value=datetime(2030, 1, 1).date())
_deal = st.fixed_dictionaries(
    {
        "owner": _names,
        "account": st.one_of(st.none(), _names),
        "stage": st.sampled_from(["Won", "Lost", "Open", "Closed Won"]),
        "amount": st.one_of(
            st.none(), st.floats(-1e6, 1e7, allow_nan=False).map(lambda x: round(x, 2))
        ),
        "created": _days,
        "closed": st.one_of(st.none(), _days),
    }
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(deals=st.lists(_deal, min_size=1, max_size=20))
def test_generic_round_trip(tmp_path, deals):
    frame = pd.DataFrame(deals)
    frame.insert(0, "opportunity_id", [f"id{i}" for i in range(len(frame))])
    path = tmp_path / "deals.csv"
    frame.to_csv(path, index=False)
    before = _sha(path)
    back = read_opportunities(path)
    assert _sha(path) == before
    assert back["opportunity_id"].tolist() == frame["opportunity_id"].tolist()
    assert back["owner"].tolist() == frame["owner"].tolist()
    assert back["account"].isna().tolist() == frame["account"].isna().tolist()
    np.testing.assert_allclose(back["amount"].to_numpy(), frame["amount"].astype(float).to_numpy())
    assert (back["created"] == pd.to_datetime(frame["created"])).all()
    assert back["closed"].isna().tolist() == frame["closed"].isna().tolist()
    assert back["is_won"].tolist() == frame["stage"].isin(["Won", "Closed Won"]).tolist()
