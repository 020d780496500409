"""Paged Queries over the base table or an index. No code path in the API uses Scan."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tickets.dal import keys
from tickets.dal.client import ddb, deserialize, serialize, table, value


@dataclass(frozen=True)
class QueryPlan:
    """A Query over the base table or one index, in created (or updated) order."""

    index: str | None
    partition: str
    sort_low: str | None = None
    sort_high: str | None = None
    forward: bool = False

    @property
    def key_attrs(self) -> tuple[str, str]:
        return keys.INDEX_KEYS[self.index] if self.index else (keys.PK, keys.SK)

    @property
    def cursor_attrs(self) -> set[str]:
        return {keys.PK, keys.SK, *self.key_attrs}

    def item_key(self, raw_item: dict[str, Any]) -> dict[str, str]:
        """The key a Query needs to resume after `raw_item` (base keys plus the index's keys)."""
        return {n: raw_item[n] for n in self.cursor_attrs}


def query(
    plan: QueryPlan, *, limit: int, start_key: dict[str, str] | None, projection: list[str] | None = None
) -> tuple[list[dict[str, Any]], dict[str, str] | None]:
    pk_attr, sk_attr = plan.key_attrs
    cond = "#pk = :pk"
    values = {":pk": value(plan.partition)}
    names = {"#pk": pk_attr}
    if plan.sort_low is not None and plan.sort_high is not None:
        cond += " AND #sk BETWEEN :lo AND :hi"
        values |= {":lo": value(plan.sort_low), ":hi": value(plan.sort_high)}
        names["#sk"] = sk_attr
    elif plan.sort_low is not None:
        cond += " AND #sk >= :lo"
        values[":lo"] = value(plan.sort_low)
        names["#sk"] = sk_attr
    elif plan.sort_high is not None:
        cond += " AND #sk <= :hi"
        values[":hi"] = value(plan.sort_high)
        names["#sk"] = sk_attr
    params: dict[str, Any] = {
        "TableName": table(),
        "KeyConditionExpression": cond,
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": values,
        "ScanIndexForward": plan.forward,
        "Limit": limit,
    }
    if plan.index:
        params["IndexName"] = plan.index
    if start_key:
        params["ExclusiveStartKey"] = serialize(start_key)
    if projection:
        proj_names = {f"#p{i}": p for i, p in enumerate(projection)}
        params["ProjectionExpression"] = ", ".join(proj_names)
        params["ExpressionAttributeNames"] |= proj_names
    resp = ddb().query(**params)
    last = resp.get("LastEvaluatedKey")
    return [deserialize(i) for i in resp["Items"]], (deserialize(last) if last else None)
