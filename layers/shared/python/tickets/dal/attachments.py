"""Attachment items (`TENANT#t / ATTACHMENT#<id>`): upload state, and their claim by a comment.

An attachment is `pending` until its S3 object has been checked, then `ready` or `rejected`. A comment claims
ready attachments in its ticket's transaction; an unclaimed attachment item expires (TTL) after 24 h, as its
object does (the bucket's lifecycle rule).
"""

from __future__ import annotations

from typing import Any

from tickets.dal import keys
from tickets.dal.client import ddb, serialize, table, value
from tickets.dal.tickets import TxnItem
from tickets.errors import InvalidAttachment


def claim_op(tenant_id: str, attachment_id: str, ticket_id: str, comment_id: str) -> TxnItem:
    """Make a ready, unclaimed attachment the comment's (and keep it: no more expiry)."""
    return {
        "Update": {
            "TableName": table(),
            "Key": serialize(keys.attachment(tenant_id, attachment_id)),
            "UpdateExpression": "SET commentId = :c, ticketId = :t REMOVE expiresAt",
            "ConditionExpression": "#state = :ready AND attribute_not_exists(commentId)",
            "ExpressionAttributeNames": {"#state": "state"},
            "ExpressionAttributeValues": {":c": value(comment_id), ":t": value(ticket_id), ":ready": value("ready")},
        }
    }, InvalidAttachment


def delete(tenant_id: str, attachment_id: str) -> None:
    ddb().delete_item(TableName=table(), Key=serialize(keys.attachment(tenant_id, attachment_id)))


def public(item: dict[str, Any]) -> dict[str, Any]:
    """How a comment shows an attachment."""
    return {k: item[k] for k in ("id", "filename", "contentType", "size")}


def usable(item: dict[str, Any] | None) -> bool:
    return bool(item) and (item or {}).get("state") == "ready" and not (item or {}).get("commentId")


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
