"""Change-feed page cost: items read and DynamoDB calls for GET /v1/events pages, 100,000 events in one tenant's feed.

The events are seeded straight into moto's in-memory table with the product's own item builder
(`tickets.dal.feed.stored`, the envelope as `tickets.logic.feed.envelope_bytes` makes it): realistic ticket.updated
envelopes, one ticket.deleted in every 5,000, spread over the last 10 days. Only the feed items are seeded (a read
never looks at the markers). Every page is read through the real handler and moto's real Query, counted with
tools.ddbcalls (items read = sum of ScannedCount). The safety horizon is the real one (5 s): the seeded events are
older.

Budgets (logic/feed.py): an unfiltered page reads `limit + 1` items (<= 55 for 50); any page, whatever its `types`
filter, examines at most READ_BUDGET (1,000) items.

    python -m bench.feed [--events N]          (merges its rows into bench/results.json)
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

from bench._harness import _moto_item, call, make_tenant, moto_env, moto_table, realistic_ticket

EVENTS = 100_000
RARE_EVERY = 5_000  # one ticket.deleted in this many events
LIMIT = 50
UNFILTERED_BUDGET = 55
SPAN_MS = 10 * 86_400_000


def seed_feed(tenant_id: str, prefix: str, n: int, sizes: dict[str, int] | None = None) -> list[tuple[str, str]]:
    """`n` events in the tenant's feed, oldest first; returns their (position, event id). `sizes` gets the bytes of
    the envelopes' JSON and of what is stored (compressed), summed."""
    from moto.dynamodb.models.dynamo_type import DynamoType, Item

    from tickets.dal import feed as dal
    from tickets.dal.client import serialize
    from tickets.events import event_id
    from tickets.logic import feed
    from tickets.models.events import DomainEvent
    from tickets.timeutil import from_ms, iso

    mt = moto_table()
    start = time.time_ns() // 1_000_000 - SPAN_MS
    step = SPAN_MS // max(n, 1)
    out: list[tuple[str, str]] = []
    for i in range(n):
        at_ms = start + i * step
        ticket = realistic_ticket(i, at_ms - 60_000, prefix)
        ticket.update(priority="urgent", version=2, updatedAt=iso(from_ms(at_ms)))
        kind = _kind(i)
        data: dict[str, Any] = (
            {"id": ticket["id"], "ticket": ticket}
            if kind == "ticket.deleted"
            else {"ticket": ticket, "changes": {"priority": {"from": "low", "to": "urgent"}}}
        )
        event = DomainEvent(
            id=event_id(f"bench-{i}", kind, at_ms, 2), type=kind, createdAt=iso(from_ms(at_ms)), data=data,
            tenantId=tenant_id,
        )  # fmt: skip
        entry = dal.Entry(event.id, event.type, feed.envelope_bytes(event))
        if sizes is not None:
            sizes["json"] = sizes.get("json", 0) + len(json.dumps(event.model_dump(mode="json"), separators=(",", ":")))
            sizes["stored"] = sizes.get("stored", 0) + len(entry.body)
        _, item = dal.stored(tenant_id, entry, iso(from_ms(at_ms)), feed._expires_at(at_ms))
        raw = serialize(item)
        pk, sk = DynamoType(raw["PK"]), DynamoType(raw["SK"])
        mt.items[pk][sk] = Item(pk, sk, raw) if i == 0 else _moto_item(pk, sk, raw)
        out.append((item["SK"], event.id))
    return out


def read_page(key: str, query: dict[str, str]) -> dict[str, Any]:
    """One GET /v1/events through the real handler, with its DynamoDB calls and items read."""
    from tools.ddbcalls import count_calls

    t = time.perf_counter()
    with count_calls() as calls:
        resp = call("GET", "/v1/events", key=key, query=query)
    body = resp.json or {}
    return {
        "status": resp.status,
        "items_read": calls.items_read,
        "operations": list(calls.operations),
        "seconds": round(time.perf_counter() - t, 3),
        "ids": [e["id"] for e in body.get("data", [])],
        "next_cursor": body.get("nextCursor"),
        "end": body.get("endOfFeed"),
    }


def cursor_after(tenant_id: str, position: str) -> str:
    """The nextCursor a page ending at `position` hands out."""
    from tickets.dal import keys
    from tickets.logic import cursor as cursors
    from tickets.logic import feed

    return cursors.encode(keys.feed_item(tenant_id, position), cursors.fingerprint(tenant_id, feed._FINGERPRINT))


def measure(n: int = EVENTS) -> dict[str, Any]:
    """Seed `n` events and read the pages; raw figures only. Used by tests/integration/test_call_budgets.py too."""
    from tickets.logic import feed

    with moto_env():
        tenant = make_tenant("INV")
        t0 = time.perf_counter()
        sizes: dict[str, int] = {}
        seeded = seed_feed(tenant.tenant_id, tenant.prefix, n, sizes)
        seed_seconds = time.perf_counter() - t0
        call("GET", "/v1/events", key=tenant.key, query={"limit": "1"})  # the key into the auth cache
        ids = [eid for _, eid in seeded]
        middle = n // 2
        # what the first filtered page can find: the rare events among the first READ_BUDGET examined
        rare = [eid for i, eid in enumerate(ids[: feed.READ_BUDGET]) if _kind(i) == "ticket.deleted"]
        shapes: dict[str, tuple[dict[str, str], list[str] | None]] = {
            "first page, limit 50": ({"limit": str(LIMIT)}, ids[:LIMIT]),
            f"page at event {middle:,} (cursor), limit 50": (
                {"limit": str(LIMIT), "after": cursor_after(tenant.tenant_id, seeded[middle - 1][0])},
                ids[middle : middle + LIMIT],
            ),
            "first page, limit 100": ({"limit": "100"}, ids[:100]),
            f"types=ticket.deleted (1 in {RARE_EVERY:,}), from the start": (
                {"limit": str(LIMIT), "types": "ticket.deleted"},
                rare,
            ),
            "types=comment.created (no match at all)": ({"limit": str(LIMIT), "types": "comment.created"}, []),
            "the end of the feed (cursor at the last event)": (
                {"limit": str(LIMIT), "after": cursor_after(tenant.tenant_id, seeded[-1][0])},
                [],
            ),
        }
        pages = {}
        for name, (query, expected) in shapes.items():
            page = read_page(tenant.key, query)
            page["ids_ok"] = expected is None or page["ids"] == expected
            page["returned"] = len(page.pop("ids"))
            page.pop("next_cursor")
            pages[name] = page
    return {
        "events": n,
        "seedSeconds": round(seed_seconds, 1),
        "readBudget": feed.READ_BUDGET,
        "meanJsonBytes": sizes["json"] // max(n, 1),
        "meanStoredBytes": sizes["stored"] // max(n, 1),
        "pages": pages,
    }


def _kind(i: int) -> str:
    return "ticket.deleted" if i % RARE_EVERY == RARE_EVERY - 1 else "ticket.updated"


def run(context: dict[str, Any] | None = None) -> dict[str, Any]:
    n = int((context or {}).get("feed_events", EVENTS))
    data = measure(n)
    rows: list[dict[str, Any]] = []
    for name, page in data["pages"].items():
        filtered = name.startswith("types=")
        budget = data["readBudget"] if filtered else UNFILTERED_BUDGET * (2 if "limit 100" in name else 1)
        ok = page["status"] == 200 and page["ids_ok"] and page["items_read"] <= budget
        calls = f"{len(page['operations'])} call{'s' if len(page['operations']) != 1 else ''}"
        rows.append(
            {
                "section": "feed",
                "metric": f"change feed, {n:,} events: {name} ({calls}: {' + '.join(page['operations'])}; "
                f"{page['returned']} returned, endOfFeed {str(page['end']).lower()}"
                f"{'' if page['ids_ok'] else ', WRONG EVENTS'})",
                "value": page["items_read"],
                "unit": "items read",
                "budget": f"<= {budget}",
                "ok": ok,
            }
        )
    rows.append(
        {
            "section": "feed",
            "metric": "change feed: one ticket.updated envelope, JSON -> stored (zlib), mean",
            "value": f"{data['meanJsonBytes']:,} -> {data['meanStoredBytes']:,}",
            "unit": "bytes",
            "budget": None,
            "ok": None,
        }
    )
    return {"rows": rows, "data": data}


def main(argv: list[str] | None = None) -> int:
    from bench.report import merge_section, print_rows
    from bench.run import RESULTS

    parser = argparse.ArgumentParser(prog="python -m bench.feed", description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=EVENTS)
    args = parser.parse_args(argv)
    result = run({"feed_events": args.events})
    print_rows(result["rows"])
    merge_section(RESULTS, "feed", result)
    return 1 if any(r.get("ok") is False for r in result["rows"]) else 0


if __name__ == "__main__":
    raise SystemExit(main())
