"""Territory assignment: optimality against enumeration, validity, explanations, CLI."""

from __future__ import annotations

import importlib.util
import itertools
import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rampcast.errors import DataError, InfeasibleError
from rampcast.territory import (
    Options,
    assign_territories,
    bounds,
    explain,
    load_instance,
    make_instance,
    violations,
)
from rampcast.territory.formulation import eligible_pairs, objective, pair_cost
from rampcast.territory.matrix import assignment_from, build, solve_mip
from rampcast.territory.synthetic import synthetic_instance

ROOT = Path(__file__).resolve().parents[1]
MAVEN = ROOT.parent / "shared/data/maven_crm_sales_opportunities"


def instance(
    potential,
    owner,
    reps=3,
    locked=None,
    segments=None,
    rep_segments=None,
    max_accounts=None,
    weight=None,
    lat=None,
):
    """A small instance from lists (reps named R0, R1, ...)."""
    n = len(potential)
    names = [f"R{r}" for r in range(reps)]
    seg = segments or ["s"] * n
    accounts = {
        "accounts": [f"A{i}" for i in range(n)],
        "segment": seg,
        "potential": list(map(float, potential)),
        "workload": [1.0] * n,
        "lat": lat or [math.nan] * n,
        "lon": [-90.0] * n if lat else [math.nan] * n,
        "region": [""] * n,
        "owner": [names[o] if o is not None and o >= 0 else "" for o in owner],
        "locked": locked or [False] * n,
    }
    rep = {
        "reps": names,
        "segment": rep_segments or ["s"] * reps,
        "lat": [30.0 + r for r in range(reps)] if lat else [math.nan] * reps,
        "lon": [-90.0] * reps if lat else [math.nan] * reps,
        "region": [""] * reps,
        "max_accounts": max_accounts or [math.inf] * reps,
        "weight": weight or [1.0] * reps,
    }
    return make_instance(accounts, rep)


def enumerate_optimum(inst, opts):
    """Best objective over every assignment meeting the constraints (None if none)."""
    b = bounds(inst, opts)
    best = None
    for combo in itertools.product(range(inst.n_reps), repeat=inst.n_accounts):
        assign = np.array(combo)
        if violations(inst, opts, b, assign):
            continue
        value = objective(inst, opts, b, assign)
        best = value if best is None else min(best, value)
    return best


def check_result(res, opts):
    inst = res.instance
    b = bounds(inst, opts)
    assert violations(inst, opts, b, res.assign) == []
    assert np.all(res.assign[inst.locked] == inst.owner[inst.locked])
    assert res.bound <= res.objective + 1e-6 * max(1.0, abs(res.objective))
    if res.objective > 1e-9:
        assert res.gap == pytest.approx((res.objective - res.bound) / res.objective, abs=1e-9)
    assert res.objective == pytest.approx(objective(inst, opts, b, res.assign))


small = st.tuples(
    st.lists(st.integers(1, 40), min_size=6, max_size=6),
    st.lists(st.integers(-1, 2), min_size=6, max_size=6),
    st.lists(st.booleans(), min_size=6, max_size=6),
    st.sampled_from([0.2, 0.35, 0.5, 0.8]),
    st.sampled_from([0.0, 0.002]),
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small)
def test_optimum_equals_enumeration(case):
    potential, owner, lock, tol, weight = case
    locked = [bool(k and o >= 0) for k, o in zip(lock, owner, strict=True)]
    lat = [30.0 + 0.7 * i for i in range(6)] if weight else None
    inst = instance(potential, owner, locked=locked, lat=lat)
    opts = Options(tolerance=tol, distance_weight=weight)
    best = enumerate_optimum(inst, opts)
    if best is None:
        with pytest.raises(InfeasibleError):
            assign_territories(inst, opts, gap=0.0, strategy="exact")
        return
    for strategy in ("exact", "large"):
        res = assign_territories(inst, opts, gap=0.0, strategy=strategy)
        check_result(res, opts)
        assert res.objective == pytest.approx(best, rel=1e-6, abs=1e-6), strategy
        assert res.status == "optimal"


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_pulp_and_array_paths_agree(seed):
    inst = synthetic_instance(80, 4, seed=seed, locked_share=0.05)
    opts = Options(tolerance=0.3, workload_tolerance=0.3, distance_weight=1e-4)
    b = bounds(inst, opts)
    a, r = eligible_pairs(inst, opts, b)
    cost = pair_cost(inst, opts, a, r)
    model = build(inst, opts, b, a, r, cost)
    mip = solve_mip(model, 30.0, 0.0)
    pulp_res = assign_territories(inst, opts, gap=0.0, strategy="exact")
    assert mip.objective == pytest.approx(pulp_res.objective, rel=1e-7)
    assign = assignment_from(model, mip.values, inst.n_accounts)
    assert violations(inst, opts, b, assign) == []


@pytest.mark.parametrize("solver", ["highs", "cbc"])
def test_solvers_return_verified_assignments(solver):
    inst = synthetic_instance(100, 4, seed=3, locked_share=0.05)
    opts = Options(tolerance=0.2)
    res = assign_territories(inst, opts, solver=solver, strategy="exact", gap=0.0)
    check_result(res, opts)
    assert res.status == "optimal"
    assert "full model" in res.bound_kind
    reference = assign_territories(inst, opts, strategy="large", gap=0.0, time_limit=30)
    assert res.objective == pytest.approx(reference.objective, rel=1e-7)


def test_large_path_reports_valid_bound():
    inst = synthetic_instance(1000, 20, seed=5)
    opts = Options(tolerance=0.05)
    res = assign_territories(inst, opts, strategy="large", time_limit=10, gap=0.05, k=6)
    check_result(res, opts)
    assert res.binaries < res.full_pairs
    assert "full model" in res.bound_kind
    assert res.time_to_first is not None


# --- infeasibility explanations -------------------------------------------------------


def reasons(inst, opts):
    return {r.kind: r.message for r in explain(inst, opts, bounds(inst, opts))}


def test_explains_account_too_big():
    inst = instance([100, 10, 10, 10], [0, 1, 2, 0])
    found = reasons(inst, Options(tolerance=0.1))
    assert found["account_too_big"] == (
        "account 'A0' alone has potential 100, more than any rep of segment 's' may carry "
        "at +/-10% (largest upper bound 47.6667)"
    )
    with pytest.raises(InfeasibleError, match="alone has potential 100"):
        assign_territories(inst, Options(tolerance=0.1))


def test_explains_locks_and_unreachable_rep():
    inst = instance([100, 100, 10], [0, 0, 1], reps=2, locked=[True, True, False])
    found = reasons(inst, Options(tolerance=0.1))
    assert found["lock_over_bound"] == (
        "rep 'R0' keeps 2 locked accounts with potential 200, above its upper bound 115.5 "
        "(target 105 +/-10%)"
    )
    assert found["rep_unreachable"] == (
        "rep 'R1' needs at least 94.5 of potential at +/-10%, but the accounts it may take "
        "add up to at most 10"
    )


def test_explains_segment_without_reps():
    inst = instance([5, 5, 7], [0, 1, None], reps=2, segments=["s", "s", "t"])
    assert reasons(inst, Options())["no_reps"] == (
        "segment 't' has 1 accounts (potential 7) but no rep to take them"
    )
    with pytest.raises(InfeasibleError):
        assign_territories(inst, Options(soft=True))  # soft cannot fix a missing rep


def test_explains_segment_capacity_and_max_accounts():
    inst = instance([10] * 6, [0] * 6, max_accounts=[1, 1, 4])
    found = reasons(inst, Options(tolerance=0.1))
    assert found["segment_capacity"] == (
        "the reps of segment 's' can carry at most 42 of potential at +/-10% (upper bounds, "
        "and max_accounts of the largest accounts each may take), less than its total 60"
    )
    few = instance([10] * 6, [0] * 6, max_accounts=[1, 1, 1])
    assert reasons(few, Options())["max_accounts"] == (
        "segment 's' has 6 accounts but its reps' max_accounts add up to 3"
    )


def test_lumpy_accounts_proven_infeasible_by_solver():
    inst = instance([10, 10, 10], [0, 0, 1], reps=2)
    assert reasons(inst, Options(tolerance=0.1)) == {}
    with pytest.raises(InfeasibleError, match="too lumpy"):
        assign_territories(inst, Options(tolerance=0.1))


def test_soft_variant_returns_assignment_with_deviations():
    from rampcast.territory.metrics import metrics, rep_table

    inst = instance([100, 10, 10, 10], [0, 1, 2, 0])
    opts = Options(tolerance=0.1, soft=True)
    for strategy in ("exact", "large"):
        res = assign_territories(inst, opts, strategy=strategy, gap=0.0)
        check_result(res, opts)
        table = rep_table(res)
        dev = metrics(res)["deviation"]
        assert dev["potential_above_band"] == pytest.approx(100 - 130 / 3 * 1.1)
        assert (table["deviation"].abs() > 0).sum() == dev["reps_outside_band"] == 3


# --- input files ----------------------------------------------------------------------


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_bad_potential_names_file_line_column(tmp_path):
    reps = write(tmp_path / "reps.csv", "rep,segment\nR0,s\n")
    acc = write(tmp_path / "accounts.csv", "account,segment,potential\nA0,s,5\nA1,s,lots\n")
    with pytest.raises(DataError) as info:
        load_instance(acc, reps)
    assert str(info.value) == (
        f"{acc}: line 3, column 'potential': value 'lots' is not a number >= 0"
    )


def test_missing_column_and_duplicate(tmp_path):
    reps = write(tmp_path / "reps.csv", "rep,segment\nR0,s\nR0,s\n")
    acc = write(tmp_path / "accounts.csv", "account,segment,potential\nA0,s,5\n")
    with pytest.raises(DataError, match="value 'R0' repeats line 2"):
        load_instance(acc, reps)
    write(reps, "id,team\nR0,s\n")
    with pytest.raises(DataError, match="missing column 'segment'"):
        load_instance(acc, reps)


# --- real input and the command line ----------------------------------------------------


def _script(name):
    spec = importlib.util.spec_from_file_location(name, ROOT / "scenarios" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.skipif(not MAVEN.is_dir(), reason="../shared Maven data not present")
def test_maven_instance_solves(tmp_path):
    accounts, reps = _script("territories_maven").build(MAVEN)
    assert len(accounts) == 85 and len(reps) == 35
    accounts.to_csv(tmp_path / "accounts.csv", index=False)
    reps.to_csv(tmp_path / "reps.csv", index=False)
    inst = load_instance(tmp_path / "accounts.csv", tmp_path / "reps.csv")
    with pytest.raises(InfeasibleError, match="'Kan-code' alone has potential 11,698"):
        assign_territories(inst, Options(tolerance=0.1))
    opts = Options(tolerance=0.1, soft=True)
    res = assign_territories(inst, opts, time_limit=20)
    check_result(res, opts)
    assert res.gap <= 0.01 + 1e-9
    scenario_path = ROOT / "scenarios/maven.yaml"
    if scenario_path.is_file():
        import rampcast
        from rampcast.territory.capacity import seat_capacity, with_scenario_capacity

        scenario = rampcast.load_scenario(scenario_path)
        shared = with_scenario_capacity(inst, scenario, scenario_path)
        capacity = seat_capacity(scenario)
        # shares follow capacity within each office
        for rep, share in zip(inst.reps, shared.target_share, strict=True):
            office = [
                r
                for r, s in zip(inst.reps, reps["segment"], strict=True)
                if s == reps.set_index("rep").at[rep, "segment"]
            ]
            total = sum(capacity[r] for r in office)
            assert share == pytest.approx(capacity[rep] / total)


def run_cli(*args, cwd):
    return subprocess.run(
        [sys.executable, "-m", "rampcast.cli", "territories", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
    )


def test_cli_exit_codes_and_files(tmp_path):
    reps = write(tmp_path / "reps.csv", "rep,segment\nR0,s\nR1,s\n")
    acc = write(
        tmp_path / "accounts.csv",
        "account,segment,potential,owner,locked\n"
        "A0,s,10,R0,yes\nA1,s,9,R0,no\nA2,s,12,R0,no\nA3,s,10,R1,no\n",
    )
    ok = run_cli(
        "--accounts",
        str(acc),
        "--reps",
        str(reps),
        "--tolerance",
        "0.1",
        "-o",
        "out",
        cwd=tmp_path,
    )
    assert ok.returncode == 0, ok.stderr
    out = tmp_path / "out"
    assert (out / "assignment.csv").read_text().splitlines()[0] == (
        "account,rep,previous_owner,moved,potential,workload,segment"
    )
    assert (
        (out / "reps.csv")
        .read_text()
        .splitlines()[0]
        .startswith(
            "rep,segment,potential,workload,target_share,share,accounts,moved_in,moved_out"
        )
    )
    info = json.loads((out / "metrics.json").read_text())
    assert info["moved"]["accounts"] == 1 and info["solver"]["status"] == "optimal"
    infeasible = run_cli(
        "--accounts", str(acc), "--reps", str(reps), "--tolerance", "0.01", cwd=tmp_path
    )
    assert infeasible.returncode == 4
    assert "infeasible" in infeasible.stdout
    bad = run_cli("--accounts", str(tmp_path / "nope.csv"), "--reps", str(reps), cwd=tmp_path)
    assert bad.returncode == 2 and "accounts file does not exist" in bad.stderr
    assert (
        run_cli("--accounts", str(acc), "--reps", str(reps), "--gap", "2", cwd=tmp_path).returncode
        == 2
    )
