"""Benchmarks: `make bench` (quick) and `make bench-full`; results go to BENCHMARKS.md."""
