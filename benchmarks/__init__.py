"""``nox -s bench``: every performance measurement of issue 13, in one run.

Run ``python -m benchmarks [--quick] [--only cold_start,load] [--runs N]``. Each
``section_*.py`` module here is one section of the table (see
:mod:`benchmarks.harness` for how to add one). Nothing is asserted: the run prints
one table with spreads and ratios against the goals and writes
``build/bench/results.json``; it exits 0 even when a goal is missed.
"""
