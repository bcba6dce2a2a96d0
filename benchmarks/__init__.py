"""asv benchmarks of rampcast; see ``docs/benchmarks.md``."""
