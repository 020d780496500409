"""One table for every section's rows."""

from __future__ import annotations

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
