"""`make bench`: every performance budget in one table, raw figures in bench/results.json.

Sections run in order and each gets the results of the ones before (the cost model uses the call
counts and the warm ratios). Timings are ratios against a floor measured in the same run, because
these machines are noisy. `--only cold,warm` runs a subset and merges it into bench/results.json (the other
sections' figures stay, and a section run alone gets theirs as its context: `--only cost` uses the saved call
counts and warm ratios); `--strict` exits 1 when a budget is missed.
"""

from __future__ import annotations

import argparse
import importlib
import json
import platform
import sys
import time
from pathlib import Path
from typing import Any

from bench.report import merge_section, print_rows

SECTIONS = ("calls", "cold", "warm", "depth", "lists", "feed", "size", "cost", "realtime")
RESULTS = Path(__file__).resolve().parent / "results.json"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make bench")
    parser.add_argument("--only", default=",".join(SECTIONS), help="comma list of sections")
    parser.add_argument("--strict", action="store_true", help="exit 1 if any budget is missed")
    args = parser.parse_args(argv)
    chosen = [s for s in SECTIONS if s in args.only.split(",")]
    partial = set(chosen) != set(SECTIONS)
    saved = json.loads(RESULTS.read_text()) if partial and RESULTS.exists() else {}
    context: dict[str, Any] = {k: v for k, v in (saved.get("data") or {}).items() if k not in chosen}
    rows: list[dict[str, Any]] = []
    timings: dict[str, float] = {}
    for name in chosen:
        started = time.perf_counter()
        print(f"[bench] {name} ...", file=sys.stderr, flush=True)
        result = importlib.import_module(f"bench.{name}").run(context)
        timings[name] = round(time.perf_counter() - started, 1)
        context[name] = result["data"]
        rows.extend(result["rows"])
    print_rows(rows)
    missed = [r for r in rows if r.get("ok") is False]
    print(f"\n{len(rows)} figures, {len(missed)} budget(s) missed; section times (s): {timings}")
    if partial:
        for name in chosen:
            merge_section(RESULTS, name, {"rows": [r for r in rows if r["section"] == name], "data": context[name]})
        return 1 if args.strict and missed else 0
    RESULTS.write_text(
        json.dumps(
            {
                "generatedAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "machine": {"python": platform.python_version(), "arch": platform.machine()},
                "sectionSeconds": timings,
                "rows": rows,
                "data": context,
            },
            indent=2,
            default=str,
        )
        + "\n"
    )
    print(f"wrote {RESULTS.relative_to(Path.cwd()) if RESULTS.is_relative_to(Path.cwd()) else RESULTS}")
    return 1 if args.strict and missed else 0


if __name__ == "__main__":
    raise SystemExit(main())
