"""The tenant's COUNTS item: list totals kept exact by moving them inside the writes' own transactions."""

from __future__ import annotations

from typing import Any

from tickets.dal import keys
from tickets.dal.client import serialize, table, value


def add(tenant_id: str, deltas: dict[str, int]) -> dict[str, Any]:
    """A TransactWriteItems `Update` that adds each delta to its counter (zero deltas are left out)."""
    names, parts, values = {}, [], {}
    for i, (attr, delta) in enumerate(sorted(deltas.items())):
        if delta:
            names[f"#c{i}"] = attr
            values[f":c{i}"] = value(delta)
            parts.append(f"#c{i} :c{i}")
    return {
        "Update": {
            "TableName": table(),
            "Key": serialize(keys.counts(tenant_id)),
            "UpdateExpression": "ADD " + ", ".join(parts),
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
        }
    }
