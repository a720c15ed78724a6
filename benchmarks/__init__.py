"""Benchmarks: run by hand (`python benchmarks/preview.py`), never by the tests; their figures are in the README."""
