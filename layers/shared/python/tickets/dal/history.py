"""Ticket history entries: deterministic keys, so a consumer that re-runs overwrites, never duplicates."""

from __future__ import annotations

from typing import Any

from tickets.dal import keys
from tickets.dal.client import ddb, serialize, table


def put(tenant_id: str, ticket_id: str, version: int, kind: str, entry: dict[str, Any]) -> None:
    item = {**keys.history(tenant_id, ticket_id, version, kind), "type": "history", "tenantId": tenant_id, **entry}
    ddb().put_item(TableName=table(), Item=serialize(item))
