"""Benchmarks, each against a raw-PostgreSQL baseline doing the same work in the same run.

    make bench            # everything (about 5 minutes on 2 cores)
    make bench QUICK=1    # smaller sizes, for a smoke run

Results are printed as a table and written to .data/bench/results.json.
"""
