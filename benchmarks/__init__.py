"""Benchmarks: run by hand (`python -m benchmarks.preview`), never by the tests; their figures are in the README."""
