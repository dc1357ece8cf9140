"""Benchmarks: performance targets measured as ratios within one run (see the README)."""
