"""Benchmarks that anyone can run; see each subpackage's docstring."""
