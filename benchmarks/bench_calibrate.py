"""Speed and memory of ``calibrate`` on 1 million synthetic opportunities.

Workload: :func:`rampcast.calibrate.synth.synth` with ``scale=55`` (1,320
smb and 660 enterprise seats over a 36-month CRM window), about 1.03
million opportunities, with roster and HR records. ``setup`` draws the data
(not timed); each benchmark calibrates it and checks that the win rate and
deal size come back within their intervals of the truth.

Direct measurement, outside asv (wall time and peak resident memory of a
fresh process)::

    .venv/bin/python -m benchmarks.bench_calibrate
"""

from __future__ import annotations

import math

SEED = 20270101
SCALE = 55


def _data():
    from rampcast.calibrate.synth import synth

    return synth(SEED, scale=SCALE, stage_history=False)


def check(cal) -> None:
    """The estimates still recover the truth: the benchmark measures a right answer."""
    from rampcast.calibrate.synth import DEFAULT_TRUTH

    for name, truth in DEFAULT_TRUTH.items():
        est = cal.segments[name].estimates
        assert est["win_rate.mean"].low <= truth.win_rate_mean <= est["win_rate.mean"].high
        mu = math.log(truth.deal_median)
        assert abs(est["deal_size.mu"].value - mu) < 0.02, (name, est["deal_size.mu"])


class Calibrate:
    """``calibrate`` on about 1 million opportunities."""

    timeout = 600
    number = 1
    repeat = 2

    def setup(self):
        self.data = _data()
        assert len(self.data.opportunities) > 1_000_000

    def time_calibrate(self):
        from rampcast.calibrate.estimate import calibrate

        d = self.data
        self.result = calibrate(d.opportunities, d.roster, d.hr)

    def peakmem_calibrate(self):
        from rampcast.calibrate.estimate import calibrate

        d = self.data
        check(calibrate(d.opportunities, d.roster, d.hr))


def main() -> None:
    import resource
    import time

    from rampcast.calibrate.estimate import calibrate

    t0 = time.perf_counter()
    data = _data()
    t1 = time.perf_counter()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    cal = calibrate(data.opportunities, data.roster, data.hr)
    t2 = time.perf_counter()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    check(cal)
    print(
        f"opportunities {len(data.opportunities):,}, reps {len(data.roster):,}, "
        f"HR records {len(data.hr):,}"
    )
    print(
        f"synth {t1 - t0:.1f} s; calibrate {t2 - t1:.1f} s; peak RSS before calibrate "
        f"{before:,.0f} MB, after {peak:,.0f} MB (whole process)"
    )


if __name__ == "__main__":
    main()
