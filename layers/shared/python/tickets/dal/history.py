"""Ticket history entries: deterministic keys, so a consumer that re-runs overwrites, never duplicates."""

from __future__ import annotations

from typing import Any

from tickets.dal import keys
from tickets.dal.client import ddb, serialize, table


def put(tenant_id: str, ticket_id: str, version: int, kind: str, entry: dict[str, Any]) -> None:
    # `type` is every item's entity attribute, so the entry's own type is stored as `entryType`.
    fields = {k: v for k, v in entry.items() if k != "type"}
    item = {
        **keys.history(tenant_id, ticket_id, version, kind),
        "type": "history",
        "tenantId": tenant_id,
        "entryType": entry["type"],
        **fields,
    }
    ddb().put_item(TableName=table(), Item=serialize(item))


def public(row: dict[str, Any]) -> dict[str, Any]:
    """A stored entry (keys already stripped) as the API shows it."""
    out = {k: v for k, v in row.items() if k != "entryType"}
    out["type"] = row.get("entryType")
    return out
