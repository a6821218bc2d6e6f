"""Benchmarks run by `make bench`: each figure printed beside a reference from the same run."""
