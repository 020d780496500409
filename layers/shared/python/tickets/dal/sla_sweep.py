"""The breach sweep's reads and writes: its checkpoint, the due index, and the conditional write of a fact."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from tickets.dal import keys
from tickets.dal.client import ddb, deserialize, serialize, table, value
from tickets.dal.tickets import VersionConflict


def checkpoint() -> str | None:
    """The first minute bucket the sweep has not finished, or None before its first run."""
    resp = ddb().get_item(TableName=table(), Key=serialize(keys.sla_sweep_checkpoint()), ConsistentRead=True)
    return deserialize(resp["Item"])["bucket"] if "Item" in resp else None


def advance_checkpoint(bucket: str, at: str) -> None:
    """Move the checkpoint forward to `bucket` (never back: an overlapping older run cannot undo a newer one)."""
    try:
        ddb().put_item(
            TableName=table(),
            Item=serialize({**keys.sla_sweep_checkpoint(), "type": "slasweep", "bucket": bucket, "at": at}),
            ConditionExpression="attribute_not_exists(PK) OR #b < :b",
            ExpressionAttributeNames={"#b": "bucket"},
            ExpressionAttributeValues={":b": value(bucket)},
        )
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
            raise


def due(bucket: str, shard: int, until: str) -> list[tuple[str, str, str]]:
    """(nextAt, tenantId, ticketId) of one bucket shard's entries whose instant is `until` or earlier."""
    params: dict[str, Any] = {
        "TableName": table(),
        "IndexName": keys.SLA_DUE,
        "KeyConditionExpression": "SLADUEPK = :pk AND SLADUESK <= :hi",
        "ExpressionAttributeValues": {":pk": value(keys.sla_due_partition(bucket, shard)), ":hi": value(f"{until}#~")},
    }
    out = []
    while True:
        resp = ddb().query(**params)
        out += [keys.parse_sla_due_sk(deserialize(i)["SLADUESK"]) for i in resp["Items"]]
        if "LastEvaluatedKey" not in resp:
            return out
        params["ExclusiveStartKey"] = resp["LastEvaluatedKey"]


def record_facts(tenant_id: str, ticket: dict[str, Any], sla: dict[str, Any], at: str) -> None:
    """Write the ticket's new `sla` (facts recorded) if it is still at the version read: a new version and
    updatedAt, no actor, and the `slaChanged` marker that lets the EventBridge consumer's filter see it.
    VersionConflict if the ticket changed meanwhile (the caller reads it again)."""
    ticket_id = ticket["id"]
    names = {"#v": "version", "#u": "updatedAt", "#sla": "sla"}
    values: dict[str, Any] = {
        ":v": value(ticket["version"]),
        ":next": value(ticket["version"] + 1),
        ":at": value(at),
        ":sla": value(sla),
        ":gsi4": value(f"{at}#{ticket_id}"),
        ":yes": value(True),
    }
    sets = ["#v = :next", "#u = :at", "#sla = :sla", "GSI4SK = :gsi4", "slaChanged = :yes"]
    removes = ["updatedBy", "statusChanged", "assigneeChanged", "routingChanged"]  # markers of other writes
    if sla.get("nextAt"):
        due_keys = keys.sla_due_keys(tenant_id, ticket_id, sla["nextAt"], at)
        values |= {":dpk": value(due_keys["SLADUEPK"]), ":dsk": value(due_keys["SLADUESK"])}
        sets += ["SLADUEPK = :dpk", "SLADUESK = :dsk"]
    else:
        removes += ["SLADUEPK", "SLADUESK"]
    try:
        ddb().update_item(
            TableName=table(),
            Key=serialize(keys.ticket(tenant_id, ticket_id)),
            UpdateExpression=f"SET {', '.join(sets)} REMOVE {', '.join(removes)}",
            ConditionExpression="attribute_exists(PK) AND #v = :v",
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
        )
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
            raise VersionConflict from exc
        raise
