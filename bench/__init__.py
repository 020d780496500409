"""Performance harness: `make bench` runs bench.run (one table, bench/results.json)."""
