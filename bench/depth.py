"""List cost at depth: items read by one page of 50 at page 1, 100 and 1000, by cursor and by offset.

100,000 tickets of one tenant are seeded into moto in-process (bench._harness.seed_tickets), then every
page is read through the real list handler (GET /v1/tickets) and moto's real Query, and counted with
tools.ddbcalls (items read = sum of ScannedCount). The cursor for page N is built without walking N pages:
it is what page N-1 returns, `cursor.encode(key of its last row, fingerprint of the unfiltered query)`;
the nextCursor that the handler returns is checked against the one built for the following page.

Budget: a cursor page reads <= 55 items at any depth. Offset reads `offset + limit + 1` items and is
refused when offset + limit passes the list budget (LIST_ITEM_BUDGET, 1,000), so pages 100 and 1000 by offset
are reported as refused, and the deepest allowed offset page (offset=950) is measured instead.

    python -m bench.depth [--tickets N] [--seed direct|batch]
"""

from __future__ import annotations

import argparse
import base64
import json
import time
from typing import Any

from bench._harness import LIMIT, call, expected_page_ids, make_tenant, moto_env, page_cursor, seed_tickets
from tools.ddbcalls import count_calls

TICKETS = 100_000
DEPTHS = (1, 100, 1000)
CURSOR_BUDGET = 55


def read_page(key: str, query: dict[str, str]) -> dict[str, Any]:
    """One GET /v1/tickets through the real handler, with its DynamoDB calls and items read."""
    t = time.perf_counter()
    with count_calls() as calls:
        resp = call("GET", "/v1/tickets", key=key, query=query)
    seconds = time.perf_counter() - t
    body = resp.json or {}
    return {
        "status": resp.status,
        "items_read": calls.items_read,
        "queries": calls.operations.count("Query"),
        "operations": list(calls.operations),
        "seconds": seconds,
        "ids": [d["id"] for d in body.get("data", [])] if resp.status == 200 else [],
        "next_cursor": body.get("nextCursor"),
        "code": body.get("code"),
        "total": body.get("total"),
    }


def same_cursor(a: str | None, b: str | None) -> bool:
    """Cursors are equal when they decode to the same key and fingerprint (key attribute order may differ)."""
    if a is None or b is None:
        return a == b

    def decoded(c: str) -> Any:
        return json.loads(base64.urlsafe_b64decode(c + "=" * (-len(c) % 4)))

    return bool(decoded(a) == decoded(b))


def measure(n: int, depths: tuple[int, ...] = DEPTHS, *, seed: str = "direct") -> dict[str, Any]:
    """Seed `n` tickets and read the pages; raw figures only (no rows). Used by the test as well."""
    from tickets.models.common import LIST_ITEM_BUDGET

    deepest_offset = LIST_ITEM_BUDGET - LIMIT

    with moto_env():
        tenant = make_tenant("INV")
        seeded = seed_tickets(tenant, n, method=seed)
        ids = seeded["ids"]
        call("GET", "/v1/tickets", key=tenant.key, query={"limit": "1"})  # warm the auth cache
        out: dict[str, Any] = {
            "tickets": n,
            "limit": LIMIT,
            "seed": {"method": seed, "seconds": seeded["seconds"], "build_seconds": seeded["build_seconds"]},
            "cursor": {},
            "offset": {},
        }
        for depth in depths:
            query = {"limit": str(LIMIT)}
            if cursor := page_cursor(tenant.tenant_id, ids, depth):
                query["cursor"] = cursor
            page = read_page(tenant.key, query)
            page["ids_ok"] = page["status"] == 200 and page["ids"] == expected_page_ids(ids, depth)
            following = page_cursor(tenant.tenant_id, ids, depth + 1) if depth * LIMIT < n else None
            page["next_cursor_ok"] = same_cursor(page["next_cursor"], following)
            out["cursor"][depth] = page

        offsets = {depth: (depth - 1) * LIMIT for depth in depths}
        deepest = deepest_offset // LIMIT + 1  # offset=950 is page 20
        if deepest_offset not in offsets.values() and n > deepest_offset:
            offsets[deepest] = deepest_offset
        for depth, offset in sorted(offsets.items()):
            page = read_page(tenant.key, {"limit": str(LIMIT), "offset": str(offset)})
            page["offset"] = offset
            if offset > deepest_offset:
                page["refused"] = page["status"] == 400 and page["code"] == "VALIDATION_ERROR"
                page["ids_ok"] = None
            else:
                page["refused"] = False
                page["ids_ok"] = page["status"] == 200 and page["ids"] == expected_page_ids(ids, depth)
            out["offset"][depth] = page
        for pages in (out["cursor"], out["offset"]):
            for page in pages.values():
                page.pop("ids"), page.pop("next_cursor")
        return out


def run(context: dict[str, Any] | None = None) -> dict[str, Any]:
    context = context or {}
    n = int(context.get("depth_tickets", TICKETS))
    seed = str(context.get("depth_seed", "direct"))
    t0 = time.perf_counter()
    data = measure(n, DEPTHS, seed=seed)
    data["seconds"] = time.perf_counter() - t0
    rows: list[dict[str, Any]] = [
        {
            "section": "depth",
            "metric": f"seed {n} tickets ({seed})",
            "value": round(data["seed"]["seconds"], 1),
            "unit": "s",
            "budget": None,
            "ok": None,
        }
    ]
    for depth, page in data["cursor"].items():
        ok = page["items_read"] <= CURSOR_BUDGET and page["ids_ok"] and page["next_cursor_ok"]
        rows.append(
            {
                "section": "depth",
                "metric": f"cursor page {depth} ({page['queries']} Query, {page['seconds']:.2f} s"
                f"{'' if page['ids_ok'] else ', WRONG IDS'}{'' if page['next_cursor_ok'] else ', CURSOR MISMATCH'})",
                "value": page["items_read"],
                "unit": "items read",
                "budget": f"<= {CURSOR_BUDGET}",
                "ok": ok,
            }
        )
    for depth, page in data["offset"].items():
        if page["refused"]:
            value: float | str = "refused (offset + limit > budget)"
            metric = f"offset page {depth} (offset={page['offset']}, HTTP {page['status']})"
        else:
            value = page["items_read"]
            metric = (
                f"offset page {depth} (offset={page['offset']}, {page['queries']} Query, {page['seconds']:.2f} s"
                f"{'' if page['ids_ok'] else ', WRONG IDS'})"
            )
        rows.append(
            {
                "section": "depth",
                "metric": metric,
                "value": value,
                "unit": "items read" if not page["refused"] else "",
                "budget": "grows with offset, <= 1000",
                "ok": None if page["refused"] or page["ids_ok"] else False,
            }
        )
    rows.append(
        {
            "section": "depth",
            "metric": "section run time",
            "value": round(data["seconds"], 1),
            "unit": "s",
            "budget": None,
            "ok": None,
        }
    )
    return {"rows": rows, "data": data}


if __name__ == "__main__":
    from bench.report import print_rows

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=TICKETS)
    parser.add_argument("--seed", choices=("direct", "batch"), default="direct")
    args = parser.parse_args()
    print_rows(run({"depth_tickets": args.tickets, "depth_seed": args.seed})["rows"])
