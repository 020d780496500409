"""Attachment items (`TENANT#t / ATTACHMENT#<id>`): upload state, and their claim by a comment.

An attachment is `pending` until its S3 object has been checked, then `ready` or `rejected` (final). A comment
claims ready attachments in its ticket's transaction; an unclaimed attachment item expires (TTL, `expiresAt`)
24 h after it was made, before the bucket's lifecycle rule can delete its checked file (a day after the check,
rounded up to midnight UTC). DynamoDB deletes expired items late (often days late), so an expired item is
treated as gone wherever it is read.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from tickets.dal import keys
from tickets.dal.client import ddb, deserialize, serialize, strip_keys, table, value
from tickets.dal.tickets import TxnItem
from tickets.errors import InvalidAttachment

EXPIRES = "expiresAt"  # the table's TTL attribute (epoch seconds), while unclaimed


def create(tenant_id: str, attachment: dict[str, Any]) -> None:
    item = {**keys.attachment(tenant_id, attachment["id"]), "type": "attachment", "tenantId": tenant_id, **attachment}
    ddb().put_item(
        TableName=table(), Item=serialize(item), ConditionExpression="attribute_not_exists(PK)"
    )  # a new ULID: never there


def get(tenant_id: str, attachment_id: str) -> dict[str, Any] | None:
    """The attachment with its `expiresAt` (epoch seconds, while unclaimed), or None."""
    resp = ddb().get_item(
        TableName=table(), Key=serialize(keys.attachment(tenant_id, attachment_id)), ConsistentRead=True
    )
    if "Item" not in resp:
        return None
    item = deserialize(resp["Item"])
    return {**strip_keys(item), **({EXPIRES: item[EXPIRES]} if EXPIRES in item else {})}


def decide(tenant_id: str, attachment_id: str, state: str, at: str, reason: str | None = None) -> bool:
    """pending -> `state` (ready or rejected, with the reason); False if it was no longer pending (or is gone)."""
    names = {"#state": "state"}
    values = {":state": value(state), ":pending": value("pending"), ":at": value(at)}
    update = "SET #state = :state, checkedAt = :at"
    if reason is not None:
        update += ", rejectedReason = :reason"
        values[":reason"] = value(reason)
    try:
        ddb().update_item(
            TableName=table(),
            Key=serialize(keys.attachment(tenant_id, attachment_id)),
            UpdateExpression=update,
            ConditionExpression="#state = :pending",
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
        )
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
            return False
        raise
    return True


def claim_op(tenant_id: str, attachment_id: str, ticket_id: str, comment_id: str, now_epoch: int) -> TxnItem:
    """Make a ready, unclaimed, unexpired attachment the comment's (and keep it: no more expiry)."""
    return {
        "Update": {
            "TableName": table(),
            "Key": serialize(keys.attachment(tenant_id, attachment_id)),
            "UpdateExpression": "SET commentId = :c, ticketId = :t REMOVE expiresAt",
            "ConditionExpression": "#state = :ready AND attribute_not_exists(commentId) AND expiresAt > :now",
            "ExpressionAttributeNames": {"#state": "state"},
            "ExpressionAttributeValues": {
                ":c": value(comment_id),
                ":t": value(ticket_id),
                ":ready": value("ready"),
                ":now": value(now_epoch),
            },
        }
    }, InvalidAttachment


def delete(tenant_id: str, attachment_id: str) -> None:
    ddb().delete_item(TableName=table(), Key=serialize(keys.attachment(tenant_id, attachment_id)))


def public(item: dict[str, Any]) -> dict[str, Any]:
    """How a comment shows an attachment."""
    return {k: item[k] for k in ("id", "filename", "contentType", "size")}


def expired(item: dict[str, Any], now_epoch: int) -> bool:
    return EXPIRES in item and int(item[EXPIRES]) <= now_epoch


def usable(item: dict[str, Any] | None, now_epoch: int) -> bool:
    """Whether a comment may claim it: ready, no comment's yet, not expired (the item needs its `expiresAt`)."""
    if not item or item.get("state") != "ready" or item.get("commentId"):
        return False
    return EXPIRES in item and not expired(item, now_epoch)


def received_op(tenant_id: str, attachment: dict[str, Any], ticket_id: str, comment_id: str) -> TxnItem:
    """A file that came with a received email: checked already (logic.filetypes), so written `ready` and claimed
    by its comment, in the comment's transaction. Its id is derived from the message, so a retry rewrites it."""
    item = {
        **keys.attachment(tenant_id, attachment["id"]),
        "type": "attachment",
        "tenantId": tenant_id,
        **{k: attachment[k] for k in ("id", "filename", "contentType", "size", "createdAt")},
        "state": "ready",
        "source": "email",
        "ticketId": ticket_id,
        "commentId": comment_id,
    }
    return {"Put": {"TableName": table(), "Item": serialize(item)}}, None
