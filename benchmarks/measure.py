"""Measure the engine directly, outside asv: the numbers in docs/benchmarks.md.

Run from the repository root::

    .venv/bin/python -m benchmarks.measure            # ~6 min on 2 idle cores, more if busy
    .venv/bin/python -m benchmarks.measure --quick    # 48M workloads only

Every measurement runs in a fresh interpreter, so its peak resident memory
(``ru_maxrss``) belongs to that workload alone and no state leaks between
them. A child builds the model, compiles the kernel (one trial), records
its memory, runs the workload, checks the output against deterministic
mode and reports wall time, process CPU time and peak memory as JSON.

Wall time is what a user waits. Two columns say whether it can be trusted
on a shared machine: ``parallelism`` (the run's CPU time over its wall time;
about the thread count when the cores were ours) and ``others`` (the share
of all cores that other processes used while the child ran, from
``/proc/stat``). Re-run a part (``--part kernel``) when ``others`` is high.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SEED = 20270101


def _loadavg() -> float:
    with open("/proc/loadavg") as handle:
        return float(handle.read().split()[0])


def _busy_jiffies() -> tuple[int, int]:
    """(busy, total) clock ticks of all CPUs since boot."""
    with open("/proc/stat") as handle:
        fields = [int(v) for v in handle.readline().split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return sum(fields[:8]) - idle, sum(fields[:8])


def _children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _timed(run, model, trials: int, repeat: int) -> dict:
    """Time ``run(trials)`` ``repeat`` times after warm-up; check the last output."""
    from benchmarks.workloads import check, seat_months

    before = _maxrss_mb()
    walls, cpus = [], []
    raw = None
    for _ in range(repeat):
        raw = None  # free the previous output first: peak memory is one run's
        c0, t0 = _cpu_s(), time.perf_counter()
        raw = run(trials)
        walls.append(time.perf_counter() - t0)
        cpus.append(_cpu_s() - c0)
    peak = _maxrss_mb()
    check(raw, model)
    return {
        "seat_months": seat_months(model, trials),
        "trials": trials,
        "wall_s": walls,
        "cpu_s": cpus,
        "rss_ready_mb": before,
        "maxrss_mb": peak,
    }


def _child_kernel(workload: str, threads: int, trials: int, exact: bool, repeat: int) -> dict:
    import numba

    from benchmarks.workloads import build
    from rampcast.model.monte_carlo import run_model

    model, default_trials = build(workload)
    numba.set_num_threads(threads)
    run_model(model, SEED, 1, chunk_trials=1, exact=exact)
    return _timed(lambda n: run_model(model, SEED, n, exact=exact), model,
                  trials or default_trials, repeat)


def _child_reference(workload: str, trials: int, exact: bool, repeat: int) -> dict:
    from benchmarks.workloads import build
    from rampcast.model.reference import reference_run

    model, _ = build(workload)
    reference_run(model, SEED, 2, exact=exact)
    return _timed(lambda n: reference_run(model, SEED, n, exact=exact), model, trials, repeat)


def _child_first_call() -> dict:
    from benchmarks.workloads import build
    from rampcast.model.monte_carlo import run_model

    model, _ = build("deal_48M")
    t0 = time.perf_counter()
    run_model(model, SEED, 1, chunk_trials=1)
    return {"wall_s": [time.perf_counter() - t0], "cache_dir": os.environ.get("NUMBA_CACHE_DIR")}


def _spawn(args: list[str], env: dict | None = None) -> dict:
    """Run one child measurement; add how busy the rest of the machine was."""
    load = _loadavg()
    busy0, total0 = _busy_jiffies()
    cpu0, t0 = _children_cpu_s(), time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.measure", "--child", *args],
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        check=False,
    )
    wall, cpu = time.perf_counter() - t0, _children_cpu_s() - cpu0
    busy1, total1 = _busy_jiffies()
    if proc.returncode != 0:
        raise RuntimeError(f"child {args} failed:\n{proc.stderr}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    tick = os.sysconf("SC_CLK_TCK")
    others = max(0.0, (busy1 - busy0) / tick - cpu)
    result["load_before"] = load
    result["others"] = others / (wall * os.cpu_count())
    return result


def _wait_quiet(limit: float = 0.1, patience_s: float = 120.0) -> None:
    """Wait (up to ``patience_s``) until other processes use under ``limit`` of the CPUs."""
    deadline = time.perf_counter() + patience_s
    while time.perf_counter() < deadline:
        busy0, total0 = _busy_jiffies()
        time.sleep(2.0)
        busy1, total1 = _busy_jiffies()
        if (busy1 - busy0) / max(total1 - total0, 1) < limit:
            return


def _quietest(args: list[str], attempts: int, limit: float = 0.1) -> dict:
    """Measure up to ``attempts`` times; keep the least disturbed attempt."""
    best = None
    for _ in range(attempts):
        _wait_quiet(limit)
        result = _spawn(args)
        if best is None or result["others"] < best["others"]:
            best = result
        if best["others"] < limit:
            break
    return best


def _import_s(module: str) -> float:
    """Import time of ``module`` in a bare interpreter (nothing else imported)."""
    code = f"import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return float(proc.stdout)


def _summary(name: str, threads: int | None, result: dict) -> dict:
    wall = min(result["wall_s"])
    row = {
        "name": name,
        "threads": threads,
        "best_wall_s": wall,
        "median_wall_s": statistics.median(result["wall_s"]),
        "load_before": result["load_before"],
        "others": result.get("others"),
    }
    if "seat_months" in result:
        row["M_seat_months_per_s"] = result["seat_months"] / wall / 1e6
        row["parallelism"] = result["cpu_s"][result["wall_s"].index(wall)] / wall
        row["maxrss_mb"] = result["maxrss_mb"]
        row["rss_ready_mb"] = result["rss_ready_mb"]
        row["trials"] = result["trials"]
    print(json.dumps(row), flush=True)
    return row


def _kernel_rows(quick: bool, attempts: int) -> list[dict]:
    rows = []
    plan = [("deal_48M", 0, False, 3), ("capacity_48M", 0, False, 3), ("deal_48M", 2_000, True, 3)]
    if not quick:
        plan.append(("deal_720M", 0, False, 1))
    for workload, trials, exact, repeat in plan:
        for threads in (1, 2):
            args = ["kernel", workload, str(threads), str(trials), str(int(exact)), str(repeat)]
            result = _quietest(args, attempts)
            label = f"kernel {workload}" + (" exact" if exact else "")
            rows.append(_summary(label, threads, result))
    return rows


def _reference_rows(attempts: int) -> list[dict]:
    rows = []
    for trials in (200, 2_000):
        result = _quietest(["reference", "deal_48M", str(trials), "1", "2"], attempts)
        rows.append(_summary(f"reference deal_48M exact ({trials} trials)", 1, result))
    return rows


def _startup_rows(repeat: int = 5) -> list[dict]:
    rows = []
    for module in ("rampcast", "rampcast.model.monte_carlo"):
        walls = [_import_s(module) for _ in range(repeat)]
        rows.append(
            _summary(f"import {module}", None, {"wall_s": walls, "load_before": _loadavg()})
        )
    cold, warm = [], []
    for _ in range(3):
        with tempfile.TemporaryDirectory(prefix="rampcast-numba-") as cache:
            env = {"NUMBA_CACHE_DIR": cache}
            _wait_quiet()
            cold.append(_spawn(["first_call"], env))
            warm.append(_spawn(["first_call"], env))
    for label, runs in (("cold", cold), ("warm", warm)):
        merged = {
            "wall_s": [r["wall_s"][0] for r in runs],
            "load_before": runs[0]["load_before"],
            "others": max(r["others"] for r in runs),
        }
        rows.append(_summary(f"first call, {label} cache", None, merged))
    return rows


def _source_state() -> dict:
    """The commit measured, and whether ``src/`` differed from it."""

    def git(*args: str) -> str:
        proc = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)
        return proc.stdout.strip()

    return {
        "commit": git("rev-parse", "--short", "HEAD"),
        "src_dirty": bool(git("status", "--porcelain", "src")),
    }


def _default_threads() -> int:
    code = "import numba; print(numba.config.NUMBA_NUM_THREADS)"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return int(proc.stdout)


def _child(argv: list[str]) -> None:
    kind, *rest = argv
    if kind == "kernel":
        workload, threads, trials, exact, repeat = rest
        out = _child_kernel(workload, int(threads), int(trials), bool(int(exact)), int(repeat))
    elif kind == "reference":
        workload, trials, exact, repeat = rest
        out = _child_reference(workload, int(trials), bool(int(exact)), int(repeat))
    else:
        out = _child_first_call()
    print(json.dumps(out))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="skip the 720M workload")
    parser.add_argument(
        "--part",
        action="append",
        choices=["startup", "kernel", "reference"],
        help="measure only these parts (repeatable; default all)",
    )
    parser.add_argument(
        "--attempts",
        type=int,
        default=3,
        help="re-measure a workload up to this many times while others use over 10%% of the CPUs",
    )
    parser.add_argument("--out", type=Path, help="also write the rows as JSON here")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _child(args.child)
        return

    started = time.strftime("%Y-%m-%d %H:%M:%S")
    parts = args.part or ["startup", "kernel", "reference"]
    rows = []
    if "startup" in parts:
        rows += _startup_rows()
    if "kernel" in parts:
        rows += _kernel_rows(args.quick, args.attempts)
    if "reference" in parts:
        rows += _reference_rows(args.attempts)
    meta = {
        "started": started,
        "finished": time.strftime("%Y-%m-%d %H:%M:%S"),
        "python": sys.version.split()[0],
        "cpus": os.cpu_count(),
        "load_end": _loadavg(),
        "numba_threads_default": _default_threads(),
        **_source_state(),
    }
    print(json.dumps(meta))
    if args.out is not None:
        args.out.write_text(json.dumps({"meta": meta, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
