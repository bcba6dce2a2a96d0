"""Speed, throughput and memory of the Monte Carlo engine.

Workloads (see :mod:`benchmarks.workloads`): deal-level bookings over
10,000 trials x 200 seats x 24 months (48M seat-months) and 10,000 x 2,000 x
36 (720M), and the capacity-level model at 48M. ``setup`` builds the model
and compiles the kernel (one trial, which also loads the numba cache), so
``time_*`` measures the steady state; ``track_*`` reports throughput in
seat-months per second; ``peakmem_*`` the process's peak resident memory.
Every run's output is checked against deterministic mode (``check``), after
the timed call for ``time_*`` (in ``teardown``) and inside the others.

The NumPy reference twin is benchmarked at fewer trials (it is slow); its
throughput against the kernel's is the side-by-side ratio in
``docs/benchmarks.md``. This module and ``bench_startup`` take about 6 minutes
on 2 idle cores.
"""

from __future__ import annotations

import functools
import resource
import time

import numba

from .workloads import build, check, seat_months

SEED = 20270101
THREADS = [1, 2]


@functools.cache
def _model(name: str):
    """Build once per benchmark process; ``check`` caches its expectation too."""
    return build(name)


def _run(model, trials: int, exact: bool = False):
    from rampcast.model.monte_carlo import run_model

    return run_model(model, SEED, trials, exact=exact)


def _compile(model) -> None:
    """First call: compiles the kernel or loads it from the numba cache."""
    from rampcast.model.monte_carlo import run_model

    run_model(model, SEED, 1, chunk_trials=1)
    run_model(model, SEED, 1, chunk_trials=1, exact=True)


class _Kernel:
    """Shared setup: one workload, a thread count, a compiled kernel."""

    workload = "deal_48M"
    params = [THREADS]
    param_names = ["threads"]
    number = 1
    rounds = 1
    warmup_time = 0.0

    def setup(self, threads):
        self.model, self.trials = _model(self.workload)
        numba.set_num_threads(threads)
        _compile(self.model)
        self.raw = None

    def teardown(self, threads):
        if self.raw is not None:
            check(self.raw, self.model)
            self.raw = None

    def time_run(self, threads):
        self.raw = _run(self.model, self.trials)

    def track_seat_months_per_s(self, threads):
        t0 = time.perf_counter()
        raw = _run(self.model, self.trials)
        elapsed = time.perf_counter() - t0
        check(raw, self.model)
        return seat_months(self.model, self.trials) / elapsed

    track_seat_months_per_s.unit = "seat-months/s"


class Deal48M(_Kernel):
    """Deal model, 10,000 x 200 x 24: the everyday size of a planning run."""

    workload = "deal_48M"
    repeat = (3, 3, 60.0)
    timeout = 240

    def peakmem_run(self, threads):
        check(_run(self.model, self.trials), self.model)

    def track_parallelism(self, threads):
        """CPU time over wall time of one run: about ``threads`` when the cores
        were free and the threading layer used them all (numba's OpenMP layer
        once ran on one thread unless ``OMP_NUM_THREADS`` was set)."""
        usage = resource.getrusage(resource.RUSAGE_SELF)
        cpu0, t0 = usage.ru_utime + usage.ru_stime, time.perf_counter()
        raw = _run(self.model, self.trials)
        elapsed = time.perf_counter() - t0
        usage = resource.getrusage(resource.RUSAGE_SELF)
        check(raw, self.model)
        return (usage.ru_utime + usage.ru_stime - cpu0) / elapsed

    track_parallelism.unit = "cpus"


class Capacity48M(_Kernel):
    """Capacity model (gamma bookings), 10,000 x 200 x 24."""

    workload = "capacity_48M"
    repeat = (3, 3, 60.0)
    timeout = 240


class DealExact(_Kernel):
    """Deal model with exact normal inversion, 2,000 trials x 200 x 24 (9.6M).

    The sampler the reference twin uses by default, so the ratio between the
    two compares like with like.
    """

    workload = "deal_48M"
    repeat = (3, 3, 60.0)
    timeout = 240
    trials = 2_000

    def setup(self, threads):
        super().setup(threads)
        self.trials = DealExact.trials

    def time_run(self, threads):
        self.raw = _run(self.model, self.trials, exact=True)

    def track_seat_months_per_s(self, threads):
        t0 = time.perf_counter()
        raw = _run(self.model, self.trials, exact=True)
        elapsed = time.perf_counter() - t0
        check(raw, self.model)
        return seat_months(self.model, self.trials) / elapsed

    track_seat_months_per_s.unit = "seat-months/s"


class Deal720M(_Kernel):
    """Deal model, 10,000 x 2,000 x 36: a large organisation over three years.

    One run takes about 17 s on 2 threads and 33 s on 1 (kernel of commit
    4ebbf4b), so time and peak memory are taken on 2 threads only;
    throughput on both.
    """

    workload = "deal_720M"
    timeout = 600

    def time_run(self, threads):
        self.raw = _run(self.model, self.trials)

    time_run.params = [2]
    time_run.repeat = (1, 2, 60.0)

    def peakmem_run(self, threads):
        check(_run(self.model, self.trials), self.model)

    peakmem_run.params = [2]


class Reference:
    """The NumPy reference twin on the deal model, 2,000 trials x 200 x 24.

    It vectorises over trials, so its throughput grows with the trial count;
    2,000 matches :class:`DealExact` (same sampler, same trials), which makes
    the ratio of their ``track_seat_months_per_s`` like for like. Skipped
    while ``rampcast.model.reference`` does not exist.
    """

    workload = "deal_48M"
    trials = 2_000
    number = 1
    rounds = 1
    repeat = (1, 2, 30.0)
    warmup_time = 0.0
    timeout = 300

    def setup(self):
        try:
            from rampcast.model.reference import reference_run
        except ImportError as exc:
            raise NotImplementedError(f"no reference twin yet: {exc}") from None
        self.reference_run = reference_run
        self.model, _ = _model(self.workload)
        self.raw = None

    def teardown(self):
        if self.raw is not None:
            check(self.raw, self.model)
            self.raw = None

    def _go(self):
        return self.reference_run(self.model, SEED, self.trials, exact=True)

    def time_run(self):
        self.raw = self._go()

    def track_seat_months_per_s(self):
        t0 = time.perf_counter()
        raw = self._go()
        elapsed = time.perf_counter() - t0
        check(raw, self.model)
        return seat_months(self.model, self.trials) / elapsed

    track_seat_months_per_s.unit = "seat-months/s"

    def peakmem_run(self):
        check(self._go(), self.model)
