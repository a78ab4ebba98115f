"""Benchmarks of Fapiao Sentinel against the real local Kafka and ClickHouse servers.

`python -m bench` (or `make bench`) runs them all; `python -m bench --help` lists them. Each one is
self-contained: its own topic prefix, consumer groups, Faust app id and ClickHouse database, its own
worker / API subprocesses, and it removes all of them when it ends. Results are printed and recorded
in docs/benchmarks.md. This is a measurement tool, not a test: nothing here asserts on timings.
"""
