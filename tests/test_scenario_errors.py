"""Every scenario validation error, pinned: file, key path, bad value, what is allowed.

Each case writes a small valid scenario with one thing broken into a temporary
folder and loads it with :func:`rampcast.load_scenario`. The second half is a
hypothesis round-trip: scenario -> ``dump_scenario`` -> ``scenario_from_dict``
(and through a YAML file, with the roster in a CSV) gives the scenario back.
"""

from __future__ import annotations

import copy
import csv
import datetime as dt
import json
import re
import tempfile
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rampcast
from rampcast.errors import ScenarioError
from rampcast.scenario import dump_scenario, scenario_from_dict

MINIMAL = {
    "name": "errors",
    "horizon": {"start": "2027-01", "months": 12},
    "segments": {
        "smb": {
            "ramp": {"curve": [0.0, 0.5]},
            "attrition": {"annual_rate": 0.2},
            "productivity": {"model": "capacity", "monthly_capacity": 10_000.0},
        },
        "ent": {
            "productivity": {
                "model": "deal",
                "opportunities_per_month": 2.0,
                "win_rate": {"mean": 0.2, "concentration": 10.0},
                "deal_size": {"median": 50_000.0, "sigma": 0.5},
            },
        },
    },
    "roster": [
        {"id": "a", "segment": "smb", "start": "2026-01-01"},
        {"id": "b", "segment": "ent", "start": "2026-06-01"},
    ],
    "hiring_plans": {"base": [{"segment": "smb", "month": "2027-03", "count": 2}]},
}

ROSTER_CSV = "id,segment,start\na,smb,2026-01-01\nb,ent,2026-06-01\n"


def minimal() -> dict:
    """A fresh copy of a small valid scenario (two segments, two reps, one plan)."""
    return copy.deepcopy(MINIMAL)


def with_key(raw: dict, dotted: str, value) -> dict:
    """Set ``raw[a][b]...[z] = value`` for ``dotted == 'a.b...z'``; return ``raw``."""
    *parents, last = dotted.split(".")
    node = raw
    for key in parents:
        node = node[key]
    node[last] = value
    return raw


def write(folder: Path, raw, name: str = "scenario.yaml") -> Path:
    """Dump ``raw`` as YAML into ``folder``."""
    path = folder / name
    path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return path


def load_error(path: Path, match: str) -> ScenarioError:
    """Load ``path``, expecting a ScenarioError matching ``match``; return it."""
    with pytest.raises(ScenarioError, match=match) as info:
        rampcast.load_scenario(path)
    return info.value


def test_scenario_error_is_a_value_error():
    assert issubclass(ScenarioError, ValueError)


def test_minimal_scenario_is_valid(tmp_path):
    scenario = rampcast.load_scenario(write(tmp_path, minimal()))
    assert sorted(scenario.segments) == ["ent", "smb"]


# One key changed per case: the key set, its new value, the key path the error
# must name, pieces of the bad value it must show, and a pattern for what is
# allowed.
KEY_CASES = [
    pytest.param(
        "segments.smb.ramp.curve",
        [0.0, 0.5, 1.4],
        "segments.smb.ramp.curve[2]",
        ["1.4"],
        r"less than or equal to 1",
        id="ramp-curve-above-one",
    ),
    pytest.param(
        "segments.smb.attrition",
        {"annual_rate": -0.05},
        "segments.smb.attrition.annual_rate",
        ["-0.05"],
        r"greater than or equal to 0",
        id="negative-annual-attrition",
    ),
    pytest.param(
        "segments.smb.attrition",
        {"annual_rate": 0.2, "bands": [{"from_month": 0, "annual_rate": 0.3}]},
        "segments.smb.attrition",
        ["got annual_rate and bands"],
        r"exactly one of annual_rate, monthly_hazard or bands",
        id="attrition-rate-and-bands",
    ),
    pytest.param(
        "segments.smb.attrition",
        {"bands": [{"from_month": 0, "annual_rate": 0.3, "monthly_hazard": 0.02}]},
        "segments.smb.attrition.bands[0]",
        ["got annual_rate and monthly_hazard"],
        r"exactly one of annual_rate or monthly_hazard",
        id="band-rate-and-hazard",
    ),
    pytest.param(
        "segments.smb.attrition",
        {"bands": [{"from_month": 3, "annual_rate": 0.3}]},
        "segments.smb.attrition",
        ["got [3]"],
        r"must start at from_month 0 and increase strictly",
        id="bands-not-from-zero",
    ),
    pytest.param(
        "hiring_plans.base",
        [{"segment": "smbb", "month": "2027-03"}],
        "hiring_plans.base[0].segment",
        ["'smbb'"],
        r"allowed: ent, smb",
        id="hire-unknown-segment",
    ),
    pytest.param(
        "hiring_plans.base",
        [{"segment": "smb", "month": "2027-03"}, {"segment": "smb", "month": "2028-01"}],
        "hiring_plans.base[1].month",
        ["2028-01"],
        r"outside the horizon \(2027-01 to 2027-12\)",
        id="hire-after-horizon",
    ),
    pytest.param(
        "hiring_plans.base",
        [{"segment": "smb", "month": "2026-12"}],
        "hiring_plans.base[0].month",
        ["2026-12"],
        r"outside the horizon \(2027-01 to 2027-12\)",
        id="hire-before-horizon",
    ),
    pytest.param(
        "horizon.start",
        "2027-13",
        "horizon.start",
        ["'2027-13'"],
        r"is not a month; write YYYY-MM",
        id="start-month-13",
    ),
    pytest.param(
        "horizon.start",
        "Jan 2027",
        "horizon.start",
        ["'Jan 2027'"],
        r"is not a month; write YYYY-MM",
        id="start-month-name",
    ),
    pytest.param(
        "horizon.months",
        0,
        "horizon.months",
        ["0"],
        r"greater than or equal to 1",
        id="zero-months",
    ),
    pytest.param(
        "seeds",
        7,
        "seeds",
        [],
        r"unknown key; allowed here: .*simulation",
        id="unknown-top-level-key",
    ),
    pytest.param(
        "segments.smb.rmp",
        {"curve": [0.5]},
        "segments.smb.rmp",
        [],
        r"unknown key; did you mean 'ramp'\?",
        id="unknown-nested-key",
    ),
    pytest.param(
        "segments.smb.productivity.opportunities_per_month",
        3.0,
        "segments.smb.productivity.opportunities_per_month",
        [],
        r"unknown key",
        id="deal-key-in-capacity-model",
    ),
    pytest.param(
        "segments.ent.productivity.win_rate",
        {"mean": 1.2, "concentration": 10.0},
        "segments.ent.productivity.win_rate.mean",
        ["1.2"],
        r"less than 1",
        id="win-rate-mean-above-one",
    ),
    pytest.param(
        "segments.ent.productivity.win_rate",
        {"alpha": 2.0},
        "segments.ent.productivity.win_rate",
        ["got alpha"],
        r"give mean and concentration, or alpha and beta",
        id="win-rate-alpha-only",
    ),
    pytest.param(
        "segments.ent.productivity.deal_size",
        {"median": 50_000.0, "cv": 0.5},
        "segments.ent.productivity.deal_size",
        ["got median and cv"],
        r"give median and sigma, or mean and cv",
        id="deal-size-mixed-forms",
    ),
    pytest.param(
        "segments.smb.hiring",
        {"slip": {"pmf": [0.5, 0.4]}},
        "segments.smb.hiring.slip",
        ["[0.5, 0.4]", "sums to 0.9"],
        r"must sum to 1",
        id="pmf-not-summing-to-one",
    ),
    pytest.param(
        "segments.smb.backfill",
        {"enabled": True, "time_to_fill": {"fixed": 2, "mean": 2.0}},
        "segments.smb.backfill.time_to_fill",
        ["got fixed and mean"],
        r"exactly one of fixed, pmf or mean",
        id="delay-two-forms",
    ),
    pytest.param(
        "segments.smb.productivity.model",
        "foo",
        "segments.smb.productivity.model",
        ["'foo'"],
        r"unknown model 'foo'; allowed: capacity, deal",
        id="unknown-productivity-model",
    ),
    pytest.param(
        "segments.smb.seasonality",
        [1.0] * 11,
        "segments.smb.seasonality",
        ["not 11"],
        r"at least 12 items",
        id="seasonality-11-values",
    ),
    pytest.param(
        "segments.smb.seasonality",
        [1.0] * 13,
        "segments.smb.seasonality",
        ["not 13"],
        r"at most 12 items",
        id="seasonality-13-values",
    ),
    pytest.param(
        "roster",
        [
            {"id": "a", "segment": "smb", "start": "2026-01-01"},
            {"id": "a", "segment": "ent", "start": "2026-02-01"},
        ],
        "roster[1].id",
        ["'a'"],
        r"appears more than once.*ids must be unique",
        id="duplicate-rep-ids",
    ),
    pytest.param(
        "roster",
        [{"id": "a", "segment": "mid", "start": "2026-01-01"}],
        "roster[0].segment",
        ["'mid'"],
        r"allowed: ent, smb",
        id="rep-unknown-segment",
    ),
    pytest.param(
        "roster",
        [{"id": "a", "segment": "smb", "start": "2026-05-01", "end": "2026-04-30"}],
        "roster[0]",
        ["2026-04-30", "2026-05-01"],
        r"end .* is before start",
        id="rep-ends-before-start",
    ),
    pytest.param(
        "plan",
        "stretch",
        "plan",
        ["'stretch'"],
        r"allowed: base",
        id="unknown-plan",
    ),
]


@pytest.mark.parametrize(("key", "value", "path", "shown", "allowed"), KEY_CASES)
def test_bad_key_names_file_path_value_and_allowed(tmp_path, key, value, path, shown, allowed):
    file = write(tmp_path, with_key(minimal(), key, value))

    exc = load_error(file, allowed)

    message = str(exc)
    assert exc.source == str(file)
    assert exc.path == path
    assert message.startswith(f"{file}: {path}: ")
    for piece in shown:
        assert piece in message


def test_missing_productivity_model_lists_the_models(tmp_path):
    raw = minimal()
    del raw["segments"]["smb"]["productivity"]["model"]
    file = write(tmp_path, raw)

    exc = load_error(file, r"missing key 'model'; give one of: capacity, deal")

    assert exc.path == "segments.smb.productivity.model"
    assert str(file) in str(exc)


def test_missing_required_key(tmp_path):
    raw = minimal()
    del raw["horizon"]
    file = write(tmp_path, raw)

    exc = load_error(file, r"Field required")

    assert exc.path == "horizon"
    assert str(file) in str(exc)


# --- whole-file problems -----------------------------------------------------


def test_not_yaml_names_file_and_line(tmp_path):
    file = tmp_path / "broken.yaml"
    file.write_text("name: x\nhorizon: {start: 2027-01, months: [12\n", encoding="utf-8")

    exc = load_error(file, r"not valid YAML")

    assert exc.source == str(file)
    assert re.fullmatch(r"line \d+", exc.path)
    assert str(exc).startswith(f"{file}: line ")


def test_missing_file_names_it(tmp_path):
    file = tmp_path / "nowhere.yaml"

    exc = load_error(file, r"does not exist")

    assert exc.source == str(file)
    assert "nowhere.yaml" in str(exc)


@pytest.mark.parametrize(
    ("text", "kind"), [("- a\n- b\n", "list"), ("42\n", "int"), ("just words\n", "str")]
)
def test_scenario_must_be_a_mapping(tmp_path, text, kind):
    file = tmp_path / "scenario.yaml"
    file.write_text(text, encoding="utf-8")

    exc = load_error(file, rf"must hold a mapping of keys, not {kind}")

    assert str(exc).startswith(f"{file}: ")


def test_empty_file_says_so(tmp_path):
    file = tmp_path / "scenario.yaml"
    file.write_text("# nothing yet\n", encoding="utf-8")

    exc = load_error(file, r"the file is empty; it must hold a mapping of keys")

    assert exc.source == str(file)


# --- a roster read from a CSV beside the scenario ----------------------------


def csv_scenario(folder: Path, csv_text: str) -> Path:
    """Write ``reps.csv`` with ``csv_text`` and a scenario that reads it."""
    (folder / "reps.csv").write_text(csv_text, encoding="utf-8")
    return write(folder, with_key(minimal(), "roster", "reps.csv"))


def test_csv_roster_is_read(tmp_path):
    scenario = rampcast.load_scenario(csv_scenario(tmp_path, ROSTER_CSV))

    assert [rep.id for rep in scenario.roster] == ["a", "b"]
    assert str(tmp_path / "reps.csv") in scenario.inputs


def test_csv_missing_column_names_csv_column_and_needed_columns(tmp_path):
    file = csv_scenario(tmp_path, "id,segment\na,smb\n")

    exc = load_error(file, r"missing column 'start'")

    assert exc.source == str(tmp_path / "reps.csv")
    assert str(exc).startswith(f"{tmp_path / 'reps.csv'}: ")
    assert "needs columns id, segment, start" in str(exc)
    assert "found: id, segment" in str(exc)


def test_csv_bad_start_date_names_csv_line_and_column(tmp_path):
    file = csv_scenario(tmp_path, "id,segment,start\na,smb,2026-01-01\nb,ent,2026-02-30\n")

    exc = load_error(file, r"is not a date; write YYYY-MM-DD")

    assert exc.source == str(tmp_path / "reps.csv")
    assert exc.path == "line 3, column start"
    assert "'2026-02-30'" in str(exc)


def test_csv_line_numbers_count_blank_lines(tmp_path):
    file = csv_scenario(tmp_path, "id,segment,start\n\na,smb,2026-01-01\n\nb,ent,someday\n")

    exc = load_error(file, r"is not a date")

    assert exc.path == "line 5, column start"


def test_csv_unknown_column_names_it_and_allowed(tmp_path):
    file = csv_scenario(tmp_path, "id,segment,start,team\na,smb,2026-01-01,red\n")

    exc = load_error(file, r"unknown column 'team'; allowed: id, segment, start, end")

    assert exc.source == str(tmp_path / "reps.csv")


def test_csv_bad_number_names_line_column_and_value(tmp_path):
    file = csv_scenario(tmp_path, "id,segment,start,productivity\na,smb,2026-01-01,high\n")

    exc = load_error(file, r"valid number")

    assert exc.path == "line 2, column productivity"
    assert "'high'" in str(exc)


def test_csv_end_before_start_names_line(tmp_path):
    file = csv_scenario(tmp_path, "id,segment,start,end\na,smb,2026-05-01,2026-04-01\n")

    exc = load_error(file, r"end 2026-04-01 is before start 2026-05-01")

    assert exc.source == str(tmp_path / "reps.csv")
    assert exc.path == "line 2"


def test_csv_unknown_segment_names_csv_line_and_column(tmp_path):
    file = csv_scenario(tmp_path, "id,segment,start\na,smb,2026-01-01\nb,mid,2026-01-01\n")

    exc = load_error(file, r"unknown segment 'mid' \(allowed: ent, smb\)")

    assert exc.source == str(tmp_path / "reps.csv")
    assert exc.path == "line 3, column segment"


def test_csv_duplicate_ids_names_csv_line(tmp_path):
    file = csv_scenario(tmp_path, "id,segment,start\na,smb,2026-01-01\na,ent,2026-01-01\n")

    exc = load_error(file, r"rep id 'a' appears more than once")

    assert exc.source == str(tmp_path / "reps.csv")
    assert exc.path == "line 3, column id"


def test_csv_row_with_extra_values(tmp_path):
    file = csv_scenario(tmp_path, "id,segment,start\na,smb,2026-01-01,oops\n")

    exc = load_error(file, r"4 values but the header has 3 columns \(id, segment, start\)")

    assert exc.path == "line 2"


def test_csv_roster_file_missing(tmp_path):
    file = write(tmp_path, with_key(minimal(), "roster", "absent.csv"))

    exc = load_error(file, r"roster file .*absent\.csv' does not exist")

    assert exc.source == str(file)
    assert exc.path == "roster"


# --- round trip: scenario -> plain data (-> YAML, CSV) -> scenario -----------

MONTHS = st.builds(dt.date, st.integers(2000, 2060), st.integers(1, 12), st.just(1))
DATES = st.dates(dt.date(2000, 1, 1), dt.date(2060, 12, 31))
FRACTION = st.floats(0.0, 1.0, allow_nan=False)
SMALL = st.floats(0.0, 3.0, allow_nan=False)
POSITIVE = st.floats(0.01, 1e6, allow_nan=False)
NAMES = st.text("abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=8)


@st.composite
def delays(draw):
    """A delay in any of its four spellings: a bare int, fixed, pmf or mean."""
    kind = draw(st.sampled_from(["int", "fixed", "pmf", "mean"]))
    if kind == "int":
        return draw(st.integers(0, 6))
    if kind == "fixed":
        return {"fixed": draw(st.integers(0, 6))}
    if kind == "mean":
        return {"mean": draw(st.floats(0.0, 6.0))}
    weights = draw(st.lists(st.integers(0, 5), min_size=1, max_size=6).filter(any))
    return {"pmf": [w / sum(weights) for w in weights]}


ATTRITION = st.one_of(
    st.none(),
    st.builds(dict, annual_rate=st.floats(0.0, 0.99)),
    st.builds(dict, monthly_hazard=FRACTION),
    st.lists(st.floats(0.0, 0.99), min_size=1, max_size=3).map(
        lambda rates: {
            "bands": [{"from_month": 12 * i, "annual_rate": r} for i, r in enumerate(rates)]
        }
    ),
)

CAPACITY = st.fixed_dictionaries(
    {"model": st.just("capacity"), "monthly_capacity": st.floats(0.0, 1e6)},
    optional={"cv": SMALL, "skill_sd": SMALL, "attainment": st.floats(0.1, 2.0)},
)

DEAL = st.fixed_dictionaries(
    {
        "model": st.just("deal"),
        "opportunities_per_month": POSITIVE,
        "win_rate": st.one_of(
            st.builds(dict, mean=st.floats(0.01, 0.99), concentration=POSITIVE),
            st.builds(dict, alpha=POSITIVE, beta=POSITIVE),
        ),
        "deal_size": st.one_of(
            st.builds(dict, median=POSITIVE, sigma=SMALL),
            st.builds(dict, mean=POSITIVE, cv=SMALL),
        ),
    },
    optional={"skill_sd": SMALL},
)


@st.composite
def segments(draw):
    """One segment with capacity or deal productivity and some optional keys."""
    segment = {"productivity": draw(st.one_of(CAPACITY, DEAL))}
    attrition = draw(ATTRITION)
    if attrition is not None:
        segment["attrition"] = attrition
    if draw(st.booleans()):
        curve = draw(st.lists(FRACTION, max_size=12))
        segment["ramp"] = {"curve": curve, "speed_sd": draw(SMALL)}
    if draw(st.booleans()):
        segment["seasonality"] = draw(st.lists(SMALL, min_size=12, max_size=12))
    if draw(st.booleans()):
        segment["backfill"] = {"enabled": draw(st.booleans()), "time_to_fill": draw(delays())}
    if draw(st.booleans()):
        segment["hiring"] = {"slip": draw(delays()), "acceptance": draw(st.floats(0.01, 1.0))}
    return segment


@st.composite
def reps(draw, segment_names):
    """A roster rep with an optional end on or after its start."""
    start = draw(DATES)
    rep = {"segment": draw(st.sampled_from(segment_names)), "start": start.isoformat()}
    if draw(st.booleans()):
        rep["end"] = (start + dt.timedelta(days=draw(st.integers(0, 2000)))).isoformat()
    if draw(st.booleans()):
        rep["productivity"] = draw(st.floats(0.01, 10.0))
    return rep


def month_after(start: dt.date, months: int) -> str:
    """``YYYY-MM`` of the month ``months`` after ``start``."""
    index = start.year * 12 + start.month - 1 + months
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


@st.composite
def scenarios(draw):
    """A valid scenario as plain data, as a planner would write it."""
    start = draw(MONTHS)
    months = draw(st.integers(1, 36))
    names = draw(st.lists(NAMES, min_size=1, max_size=3, unique=True))
    roster = draw(st.lists(reps(names), max_size=6))
    for i, rep in enumerate(roster):
        rep["id"] = f"rep-{i}"

    in_horizon = st.integers(0, months - 1).map(lambda m: month_after(start, m))
    hire = st.fixed_dictionaries(
        {"segment": st.sampled_from(names), "month": in_horizon},
        optional={"count": st.integers(1, 20)},
    )
    plans = draw(st.dictionaries(NAMES, st.lists(hire, max_size=4), min_size=1, max_size=3))
    raw = {
        "name": draw(st.text(max_size=12)),
        "horizon": {"start": start.strftime("%Y-%m"), "months": months},
        "simulation": {
            "trials": draw(st.integers(1, 10**6)),
            "seed": draw(st.integers(0, 2**63 - 1)),
        },
        "conventions": draw(
            st.fixed_dictionaries(
                {},
                optional={
                    "tenure_index": st.sampled_from(["elapsed", "first_month_is_one"]),
                    "attrition_conversion": st.sampled_from(["compounded", "divide_by_12"]),
                    "attrition_applies_to": st.sampled_from(["all", "ramped"]),
                    "leaver_month_share": FRACTION,
                    "attainment_applies_to": st.sampled_from(["all", "ramped"]),
                    "quantiles": st.lists(st.floats(0.01, 0.99), min_size=1, max_size=5),
                    "risk_level": st.floats(0.5, 0.99),
                },
            )
        ),
        "segments": {name: draw(segments()) for name in names},
        "roster": roster,
        "hiring_plans": plans,
    }
    if draw(st.booleans()):
        raw["plan"] = draw(st.sampled_from(list(plans)))
    if draw(st.booleans()):
        raw["targets"] = {
            "annual": draw(st.floats(0.0, 1e8)),
            "quarterly": draw(st.lists(st.floats(0.0, 1e7), min_size=4, max_size=4)),
        }
    return raw


def ordered(scenario) -> str:
    """The dumped scenario as JSON text: compares values and key order."""
    return json.dumps(dump_scenario(scenario))


@settings(max_examples=60, deadline=None)
@given(scenarios())
def test_dump_then_validate_gives_the_same_scenario(raw):
    scenario = scenario_from_dict(raw)

    again = scenario_from_dict(dump_scenario(scenario))

    assert again == scenario
    assert ordered(again) == ordered(scenario)
    assert again.plan_name == scenario.plan_name


def _write_roster_csv(path: Path, roster: list[dict]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, ["id", "segment", "start", "end", "productivity"])
        writer.writeheader()
        for rep in roster:
            writer.writerow({k: repr(v) if isinstance(v, float) else v for k, v in rep.items()})


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios(), st.booleans())
def test_yaml_round_trip_with_roster_resolved_inline(raw, roster_in_csv):
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        if roster_in_csv:
            _write_roster_csv(folder / "reps.csv", raw["roster"])
            raw = {**raw, "roster": {"csv": "reps.csv"}}
        loaded = rampcast.load_scenario(write(folder, raw))
        dumped = dump_scenario(loaded)
        again = rampcast.load_scenario(write(folder, dumped, "again.yaml"))

    assert isinstance(dumped["roster"], list)  # the CSV is read into the dump
    assert "source" not in dumped and "inputs" not in dumped
    assert again.model_copy(update={"source": None, "inputs": {}}) == loaded.model_copy(
        update={"source": None, "inputs": {}}
    )
    assert ordered(again) == ordered(loaded)


def test_default_scenario_round_trips():
    scenario = rampcast.load_scenario(rampcast.default_scenario_path())

    again = scenario_from_dict(dump_scenario(scenario))

    assert again == scenario.model_copy(update={"source": None, "inputs": {}})


def test_impossible_inline_date_names_its_key(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(
        "horizon: {start: 2027-01, months: 12}\n"
        "segments:\n  a: {productivity: {model: capacity, monthly_capacity: 10}}\n"
        "roster:\n  - {id: x, segment: a, start: 2024-02-30}\n"
    )
    with pytest.raises(ScenarioError, match="is not a date") as info:
        rampcast.load_scenario(path)
    assert f"{path}: roster[0].start: '2024-02-30'" in str(info.value)


def test_a_folder_is_not_a_scenario(tmp_path):
    with pytest.raises(ScenarioError, match="is a folder"):
        rampcast.load_scenario(tmp_path)
