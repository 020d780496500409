"""SLA policies: one item per policy sorted by position (the matching order is one Query), and a pointer by id
that knows the position (and a revision, so concurrent changes of one policy cannot both apply)."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from tickets.dal import business_hours, keys, tenants
from tickets.dal.client import (
    condition_failed_reasons,
    ddb,
    deserialize,
    serialize,
    strip_keys,
    table,
    transact_write,
    value,
)
from tickets.errors import Conflict, PreconditionFailed

MAX_POLICIES = 100  # per tenant: every ticket's create reads them all (one Query page)
COUNT_ATTR = "slaPolicies"

TxnItem = tuple[dict[str, Any], type[Exception] | None]


class _Full(Exception):
    pass


def _commit(tenant_id: str, items: list[TxnItem]) -> None:
    items = [*items, (tenants.sla_rev_op(tenant_id), None)]  # every policy change moves the tenant's SLA revision
    try:
        transact_write([i for i, _ in items])
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "TransactionCanceledException":
            raise
        reasons = condition_failed_reasons(exc)
        for reason, (_, on_fail) in zip(reasons, items, strict=False):
            if reason == "ConditionalCheckFailed" and on_fail is not None:
                raise on_fail() from exc
        if "ConditionalCheckFailed" in reasons:
            raise PreconditionFailed("the policy changed while this request was applied; retry") from exc
        raise


def _put(tenant_id: str, policy: dict[str, Any], condition: str | None = "attribute_not_exists(PK)") -> TxnItem:
    item = {**keys.sla_policy(tenant_id, policy["position"], policy["id"]), "type": "slapolicy", **policy}
    put: dict[str, Any] = {"TableName": table(), "Item": serialize({k: v for k, v in item.items() if v is not None})}
    if condition:
        put["ConditionExpression"] = condition
    return {"Put": put}, None


def _pointer(tenant_id: str, policy: dict[str, Any], rev: int, expect_rev: int | None) -> TxnItem:
    put: dict[str, Any] = {
        "TableName": table(),
        "Item": serialize({**keys.sla_policy_pointer(tenant_id, policy["id"]), "type": "slapolicyid",
                           "position": policy["position"], "rev": rev}),
    }  # fmt: skip
    if expect_rev is None:
        put["ConditionExpression"] = "attribute_not_exists(PK)"
    else:
        put["ConditionExpression"] = "rev = :rev"
        put["ExpressionAttributeValues"] = {":rev": value(expect_rev)}
    return {"Put": put}, None


def _count(tenant_id: str, delta: int) -> TxnItem:
    update: dict[str, Any] = {
        "TableName": table(),
        "Key": serialize(keys.counts(tenant_id)),
        "UpdateExpression": "ADD #n :d",
        "ExpressionAttributeNames": {"#n": COUNT_ATTR},
        "ExpressionAttributeValues": {":d": value(delta)},
    }
    if delta > 0:
        update["ConditionExpression"] = "attribute_not_exists(#n) OR #n < :max"
        update["ExpressionAttributeValues"][":max"] = value(MAX_POLICIES)
    return {"Update": update}, (_Full if delta > 0 else None)


def _uses(tenant_id: str, old: str | None, new: str | None) -> list[TxnItem]:
    if old == new:
        return []
    ops = []
    if new:
        ops.append(business_hours.use_op(tenant_id, new, 1))
    if old:
        ops.append(business_hours.use_op(tenant_id, old, -1))
    return ops


def create(tenant_id: str, policy: dict[str, Any]) -> None:
    items = [_put(tenant_id, policy), _pointer(tenant_id, policy, 1, None), _count(tenant_id, 1)]
    try:
        _commit(tenant_id, items + _uses(tenant_id, None, policy.get("businessHoursId")))
    except _Full:
        raise Conflict(f"a tenant has at most {MAX_POLICIES} SLA policies") from None


def get(tenant_id: str, policy_id: str) -> tuple[dict[str, Any], int] | None:
    """(policy, revision), or None."""
    resp = ddb().get_item(
        TableName=table(), Key=serialize(keys.sla_policy_pointer(tenant_id, policy_id)), ConsistentRead=True
    )
    if "Item" not in resp:
        return None
    pointer = deserialize(resp["Item"])
    resp = ddb().get_item(
        TableName=table(),
        Key=serialize(keys.sla_policy(tenant_id, int(pointer["position"]), policy_id)),
        ConsistentRead=True,
    )
    if "Item" not in resp:
        return None  # a change is being applied between the two reads; the pointer is written in the same txn
    return from_item(deserialize(resp["Item"])), int(pointer["rev"])


def from_item(item: dict[str, Any]) -> dict[str, Any]:
    return {"conditions": {}, "businessHoursId": None, **strip_keys(item)}


def replace(tenant_id: str, old: dict[str, Any], new: dict[str, Any], rev: int) -> None:
    items = [_pointer(tenant_id, new, rev + 1, rev)]
    if new["position"] != old["position"]:
        old_key = keys.sla_policy(tenant_id, old["position"], old["id"])
        items += [({"Delete": {"TableName": table(), "Key": serialize(old_key)}}, None), _put(tenant_id, new, None)]
    else:
        items.append(_put(tenant_id, new, None))
    _commit(tenant_id, items + _uses(tenant_id, old.get("businessHoursId"), new.get("businessHoursId")))


def delete(tenant_id: str, old: dict[str, Any], rev: int) -> None:
    pointer = keys.sla_policy_pointer(tenant_id, old["id"])
    item = keys.sla_policy(tenant_id, old["position"], old["id"])
    _commit(
        tenant_id,
        [
            ({"Delete": {"TableName": table(), "Key": serialize(pointer), "ConditionExpression": "rev = :rev",
                         "ExpressionAttributeValues": {":rev": value(rev)}}}, None),
            ({"Delete": {"TableName": table(), "Key": serialize(item)}}, None),
            _count(tenant_id, -1),
            *_uses(tenant_id, old.get("businessHoursId"), None),
        ]
    )  # fmt: skip


def in_order(tenant_id: str) -> list[dict[str, Any]]:
    """Every policy of the tenant in matching order (position, then id): one Query (MAX_POLICIES fit a page)."""
    params: dict[str, Any] = {
        "TableName": table(),
        "ConsistentRead": True,  # read after the tenant item's slaRev: at least that revision
        "KeyConditionExpression": "PK = :pk AND begins_with(SK, :prefix)",
        "ExpressionAttributeValues": {
            ":pk": value(keys.tenant_pk(tenant_id)),
            ":prefix": value(keys.SLA_POLICY_PREFIX),
        },
    }
    out: list[dict[str, Any]] = []
    while True:
        resp = ddb().query(**params)
        out += [from_item(deserialize(i)) for i in resp["Items"]]
        if "LastEvaluatedKey" not in resp:
            return out
        params["ExclusiveStartKey"] = resp["LastEvaluatedKey"]
