"""One table for every section's rows."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any


def print_rows(rows: list[dict[str, Any]]) -> None:
    headers = ("section", "metric", "value", "unit", "budget", "ok")
    table = [[str(r.get(h) if r.get(h) is not None else "") for h in headers] for r in rows]
    for r, line in zip(rows, table, strict=True):
        line[5] = {True: "ok", False: "MISS", None: ""}[r.get("ok")]
    widths = [max(len(h), *(len(line[i]) for line in table)) if table else len(h) for i, h in enumerate(headers)]
    print("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for line in table:
        print("  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)))


def merge_section(results: Path, section: str, result: dict[str, Any]) -> None:
    """Merge one section run on its own into bench/results.json: its rows and data replace its previous ones, the
    rest stays; `<section>GeneratedAt` says when."""
    saved = json.loads(results.read_text()) if results.exists() else {"rows": [], "data": {}}
    saved["rows"] = [r for r in saved.get("rows", []) if r.get("section") != section] + result["rows"]
    saved.setdefault("data", {})[section] = result["data"]
    saved[f"{section}GeneratedAt"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    results.write_text(json.dumps(saved, indent=2, default=str) + "\n")
    print(f"wrote {results}")
