"""Benchmarks: ``make bench`` runs ``python -m bench.run`` (see bench/run.py).

Figures are reported, never asserted: a benchmark that fails a build on a slow machine
tells nothing about the code.
"""
