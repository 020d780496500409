"""Offset and cursor paging over a Query, with optional filtering that the key cannot express."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tickets.dal.client import strip_keys
from tickets.dal.query import QueryPlan, query
from tickets.logic import cursor as cursors
from tickets.models.common import PageQuery

Predicate = Callable[[dict[str, Any]], bool] | None


def page(
    tenant_id: str, plan: QueryPlan, q: PageQuery, *, predicate: Predicate = None, total: int | None = None
) -> dict[str, Any]:
    """One page of `plan`'s items as a list envelope.

    Unfiltered, a cursor page reads `limit + 1` items whatever its depth; an offset page reads and
    discards `offset` items first (DynamoDB has no OFFSET), which is why the cursor is recommended.
    """
    fp = cursors.fingerprint(tenant_id, q.model_dump(mode="json", exclude={"cursor", "offset", "limit"}))
    start = cursors.decode(q.cursor, fp, tenant_id, plan.cursor_attrs) if q.cursor else None
    if start is not None and not _within(plan, start):
        # Same tenant and filters, another parent (the history of another ticket, the log of another webhook):
        # DynamoDB refuses a start key outside the key condition, which would be a 500.
        raise cursors.invalid()
    skip = 0 if q.cursor else q.offset
    want = skip + q.limit + 1  # one extra tells whether there is a next page
    matched: list[dict[str, Any]] = []
    while len(matched) < want:
        batch = want - len(matched) if predicate is None else max(100, want - len(matched))
        items, start = query(plan, limit=min(batch, 1000), start_key=start)
        matched.extend(t for t in items if predicate is None or predicate(t))
        if start is None:
            break
    rows = matched[skip : skip + q.limit]
    has_more = len(matched) > skip + q.limit
    return {
        "data": [strip_keys(r) for r in rows],
        "total": total,
        "limit": q.limit,
        "offset": 0 if q.cursor else q.offset,
        "nextCursor": cursors.encode(plan.item_key(rows[-1]), fp) if has_more and rows else None,
    }


def _within(plan: QueryPlan, key: dict[str, str]) -> bool:
    """Whether `key` lies inside the plan's key condition: its partition, between its sort bounds."""
    pk_attr, sk_attr = plan.key_attrs
    sk = key[sk_attr]
    return (
        key[pk_attr] == plan.partition
        and (plan.sort_low is None or sk >= plan.sort_low)
        and (plan.sort_high is None or sk <= plan.sort_high)
    )


def count(plan: QueryPlan, predicate: Predicate, projection: list[str]) -> int:
    """Count matches by walking the whole Query, reading only the attributes the predicate needs."""
    n, start = 0, None
    while True:
        items, start = query(plan, limit=1000, start_key=start, projection=projection)
        n += sum(1 for t in items if predicate is None or predicate(t))
        if start is None:
            return n
