"""In-process harness for the bench: moto with the template's table, real handlers, fast seeding.

The handlers are invoked exactly as the integration tests invoke them (tests.conftest.call: a real HTTP
API v2.0 event for the function that template.yaml routes to). Only the *seeding* takes a shortcut:
tickets are built with the product's own item builder (dal.tickets._ticket_item + dal.keys) and written
either with BatchWriteItem or straight into moto's in-memory table (see `seed_tickets`). Every read that
is measured goes through the real handler and moto's real Query.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
_SHARED = ROOT / "layers" / "shared" / "python"
for _p in (str(ROOT), str(_SHARED)):
    if _p not in sys.path:
        sys.path.insert(0, _p)

# Importing tests.conftest sets the test environment (fake credentials, region, TABLE_NAME=tickets-test)
# and installs the moto lock, exactly as the test suite runs.
from tests.conftest import TABLE, ApiResponse, TenantKey, call, make_tenant, reset_caches  # noqa: E402

__all__ = [
    "LIMIT",
    "TABLE",
    "ApiResponse",
    "TenantKey",
    "call",
    "expected_page_ids",
    "make_tenant",
    "moto_env",
    "moto_table",
    "page_cursor",
    "realistic_ticket",
    "seed_tickets",
    "unfiltered_fingerprint",
]

LIMIT = 50
_STATUSES = ("new", "open", "in_progress", "pending", "resolved")
_PRIORITIES = ("low", "medium", "medium", "high", "urgent")
_DESCRIPTION = (
    "Customer reports that the card payment for the monthly invoice failed twice with error 402 "
    "although the card is valid and has funds. They tried again from the billing page and from the "
    "mobile app; both attempts show 'payment declined'. Please check the gateway logs and retry."
)


@contextmanager
def moto_env() -> Iterator[Any]:
    """Like the tests' `aws` fixture: a fresh moto account with the table built from template.yaml."""
    import boto3
    from moto import mock_aws

    from tools import template

    with mock_aws():
        reset_caches()
        client = boto3.client("dynamodb", region_name="us-east-1")
        template.create_table(client, TABLE)
        try:
            yield client
        finally:
            reset_caches()


def realistic_ticket(i: int, ms: int, prefix: str) -> dict[str, Any]:
    """A ticket shaped exactly as logic.tickets.create_ticket builds it (all fields, nulls included)."""
    from tickets import ids
    from tickets.timeutil import from_ms, iso

    at = iso(from_ms(ms))
    status = _STATUSES[i % len(_STATUSES)]
    number = i + 1
    return {
        "subject": f"Payment failed on invoice #{100000 + i}",
        "description": _DESCRIPTION,
        "status": status,
        "priority": _PRIORITIES[i % len(_PRIORITIES)],
        "category": "billing",
        "channel": "email",
        "customerId": None,
        "requester": {"name": "Ann Lee", "email": "ann.lee@example.com", "phone": None},
        "assigneeId": None,
        "tags": ["billing", "card"],
        "parentId": None,
        "customFields": {"plan": "pro", "seats": 12},
        "metadata": {"source": "email", "mailbox": "support@example.com"},
        "dedupeKey": None,
        "dueAt": None,
        "id": ids.new_id(ms),
        "number": number,
        "reference": f"{prefix}-{number}",
        "customer": None,
        "assignee": None,
        "occurrences": 1,
        "createdAt": at,
        "updatedAt": at,
        "resolvedAt": at if status == "resolved" else None,
        "closedAt": None,
        "version": 1,
    }


def moto_table(name: str = TABLE) -> Any:
    """moto's in-memory table object (the one its Query reads)."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends

    return dynamodb_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].tables[name]


def _moto_item(pk: Any, sk: Any, item: dict[str, Any]) -> Any:
    """moto's Item without its per-attribute size re-validation (O(attributes^2) per item, ~90% of seeding).

    Built the way moto's own Item.__deepcopy__ builds a copy. Only used for items shaped exactly like the
    first one, which goes through the validating constructor.
    """
    from moto.dynamodb.models.dynamo_type import DynamoType, Item, LimitedSizeDict

    out: Any = Item.__new__(Item)
    out.hash_key, out.range_key = pk, sk
    attrs = LimitedSizeDict.__new__(LimitedSizeDict)
    dict.__init__(attrs)
    for name, av in item.items():
        dict.__setitem__(attrs, name, DynamoType(av))
    out.attrs = attrs
    return out


def seed_tickets(
    tenant: TenantKey,
    n: int,
    *,
    method: str = "direct",
    start_ms: int | None = None,
    step_ms: int = 1000,
    make: Any = None,
) -> dict[str, Any]:
    """Write `n` tickets for `tenant` and set its COUNTS and TENANT.seq to match. Ids come back oldest first.

    method="batch": BatchWriteItem, 25 items a call, through the mocked API (moto parses, validates and
    records a stream record per item). method="direct": the same serialised items put into moto's
    in-memory table (`Table.items[pk][sk] = Item(...)`), skipping the HTTP round trip, validation (all
    but the first item) and the stream. Either way the items are byte for byte what dal.tickets would
    write (no TICKETREF pointers: nothing on the list path reads them). Creation times are `start_ms + i * step_ms`.
    `make(i, ms, prefix)` builds ticket i (realistic_ticket by default); the ticket counters are added for what it
    builds, as dal/counters.py would have in each create's transaction.
    """
    from moto.dynamodb.models.dynamo_type import DynamoType, Item

    from tickets.dal import counters, keys
    from tickets.dal.client import ddb, serialize, table, value
    from tickets.dal.tickets import _ticket_item

    t0 = time.perf_counter()
    start = start_ms if start_ms is not None else int(time.time() * 1000) - n * step_ms
    ids: list[str] = []
    per_status: dict[str, int] = {}
    counter_totals: dict[str, dict[str, int]] = {}
    build_s = 0.0
    batch: list[dict[str, Any]] = []
    mt = moto_table() if method == "direct" else None
    for i in range(n):
        tb = time.perf_counter()
        t = (make or realistic_ticket)(i, start + i * step_ms, tenant.prefix)
        item = serialize(_ticket_item(tenant.tenant_id, t))
        build_s += time.perf_counter() - tb
        ids.append(t["id"])
        per_status[t["status"]] = per_status.get(t["status"], 0) + 1
        for sk, attrs in counters.totals(tenant.tenant_id, [t]).items():
            for attr, c in attrs.items():
                counter_totals.setdefault(sk, {})[attr] = counter_totals.setdefault(sk, {}).get(attr, 0) + c
        if mt is not None:
            pk, sk = DynamoType(item["PK"]), DynamoType(item["SK"])
            mt.items[pk][sk] = Item(pk, sk, item) if i == 0 else _moto_item(pk, sk, item)
        else:
            batch.append({"PutRequest": {"Item": item}})
            if len(batch) == 25 or i == n - 1:
                request = {table(): batch}
                while request:
                    request = ddb().batch_write_item(RequestItems=request).get("UnprocessedItems") or {}
                batch = []
    add_counters(tenant.tenant_id, counter_totals, direct=mt is not None)
    ddb().update_item(
        TableName=table(),
        Key=serialize(keys.tenant(tenant.tenant_id)),
        UpdateExpression="SET seq = :n",
        ExpressionAttributeValues={":n": value(n)},
    )
    return {
        "ids": ids,
        "method": method,
        "seconds": time.perf_counter() - t0,
        "build_seconds": build_s,
        "per_status": per_status,
    }


def add_counters(tenant_id: str, totals: dict[str, dict[str, int]], *, direct: bool = False) -> None:
    """Add seeded tickets to the tenant's counter items, as their creates' transactions would have
    (dal/counters.py: {counter item sort key: {attribute: count}}). `direct`: into moto's table as seed_tickets
    does (an UpdateItem per counter item costs moto ~20 ms once the table is large)."""
    from moto.dynamodb.models.dynamo_type import DynamoType, Item

    from tickets.dal import keys
    from tickets.dal.client import ddb, deserialize, serialize, table, value

    if direct:
        pk = DynamoType({"S": keys.tenant_pk(tenant_id)})
        partition = moto_table().items[pk]
        for sk, deltas in totals.items():
            key = DynamoType({"S": sk})
            have = deserialize(partition[key].to_json()["Attributes"]) if key in partition else {}
            item = {keys.PK: keys.tenant_pk(tenant_id), keys.SK: sk, **have}
            for attr, n in deltas.items():
                item[attr] = int(item.get(attr, 0)) + n
            partition[key] = Item(pk, key, serialize(item))
        return
    for sk, deltas in totals.items():
        names = {f"#c{i}": a for i, a in enumerate(deltas)}
        ddb().update_item(
            TableName=table(),
            Key=serialize({keys.PK: keys.tenant_pk(tenant_id), keys.SK: sk}),
            UpdateExpression="ADD " + ", ".join(f"#c{i} :c{i}" for i in range(len(deltas))),
            ExpressionAttributeNames=names,
            ExpressionAttributeValues={f":c{i}": value(v) for i, v in enumerate(deltas.values())},
        )


def unfiltered_fingerprint(tenant_id: str, limit: int = LIMIT) -> str:
    """The fingerprint logic/ticket_lists.py binds a cursor to, for GET /v1/tickets with no filter and no sort."""
    from tickets.logic import paging
    from tickets.models.tickets import TicketListQuery

    return paging.query_fingerprint(tenant_id, TicketListQuery(limit=limit), me=None)


def expected_page_ids(ids_oldest_first: list[str], depth: int, limit: int = LIMIT) -> list[str]:
    """Ids on page `depth` (1-based) of the default sort, -createdAt: newest first."""
    newest_first = ids_oldest_first[::-1]
    return newest_first[(depth - 1) * limit : depth * limit]


def page_cursor(tenant_id: str, ids_oldest_first: list[str], depth: int, limit: int = LIMIT) -> str | None:
    """The nextCursor page `depth - 1` would have returned, built without walking the pages before it.

    A ticket list's cursor is the position of the last row returned (for -createdAt, its ULID) and the number of
    matches before it (`n`, what keeps `total` a lower bound on later pages).
    """
    if depth <= 1:
        return None
    from tickets.logic import cursor as cursors

    last_of_previous = ids_oldest_first[::-1][(depth - 1) * limit - 1]
    fp = unfiltered_fingerprint(tenant_id, limit)
    return cursors.encode({"p": last_of_previous}, fp, {"n": (depth - 1) * limit})
