"""Comments, the reply-token and Message-ID lookups that thread email into them, as ticket-transaction items.

A comment is written in its ticket's own transaction (dal.tickets.replace with `extra`), so the ticket's
commentCount, lastCommentAt and status can never disagree with its comments.
"""

from __future__ import annotations

import hashlib
from typing import Any

from tickets.dal import keys
from tickets.dal.client import ddb, deserialize, serialize, strip_keys, table, update_or_none, value
from tickets.dal.tickets import TxnItem
from tickets.errors import Conflict


def _put(item: dict[str, Any], on_fail: type[Exception] | None = None) -> TxnItem:
    clean = {k: v for k, v in item.items() if v is not None}
    return {
        "Put": {"TableName": table(), "Item": serialize(clean), "ConditionExpression": "attribute_not_exists(PK)"}
    }, on_fail


def put_op(tenant_id: str, comment: dict[str, Any]) -> TxnItem:
    """The new comment (with its private fields: ticket snapshot, email threading) as a transaction item."""
    key = keys.comment(tenant_id, comment["ticketId"], comment["id"])
    return _put({**key, "type": "comment", "tenantId": tenant_id, **comment})


def reply_token_op(tenant_id: str, ticket_id: str, token: str) -> TxnItem:
    """The global lookup from a new reply token to its ticket (a collision of random tokens is a 409, retried)."""
    return _put(
        {**keys.reply_token(token), "type": "replytoken", "tenantId": tenant_id, "ticketId": ticket_id}, Conflict
    )


def message_id_hash(message_id: str) -> str:
    """Message-IDs are compared without angle brackets, case-insensitively (RFC 5322 ids are case-sensitive in the
    local part, but no two we store differ only by case)."""
    return hashlib.sha256(message_id.strip().strip("<>").lower().encode()).hexdigest()[:40]


class AlreadyStored(Exception):
    """The tenant has this received message already (its Message-ID lookup exists): a re-delivery."""


def message_id_op(tenant_id: str, message_id: str, ticket_id: str, comment_id: str, *, once: bool = False) -> TxnItem:
    """The lookup from a Message-ID to its ticket and comment. `once`: a received message's, written only if the
    tenant does not have it yet (AlreadyStored otherwise), which makes storing a received message idempotent."""
    item = {
        **keys.message_id(tenant_id, message_id_hash(message_id)),
        "type": "messageid",
        "tenantId": tenant_id,
        "ticketId": ticket_id,
        "commentId": comment_id,
    }
    if once:
        put = {"TableName": table(), "Item": serialize(item), "ConditionExpression": "attribute_not_exists(PK)"}
        return {"Put": put}, AlreadyStored
    return {"Put": {"TableName": table(), "Item": serialize(item)}}, None  # the same id again: same ticket


def get(tenant_id: str, ticket_id: str, comment_id: str) -> dict[str, Any] | None:
    resp = ddb().get_item(
        TableName=table(), Key=serialize(keys.comment(tenant_id, ticket_id, comment_id)), ConsistentRead=True
    )
    return strip_keys(deserialize(resp["Item"])) if "Item" in resp else None


def redact(tenant_id: str, ticket_id: str, comment_id: str, body: str, at: str) -> dict[str, Any] | None:
    """Replace the body, drop the attachment list; None if there is no such comment. Redacting twice is a no-op."""
    return update_or_none(
        keys.comment(tenant_id, ticket_id, comment_id),
        UpdateExpression="SET body = :body, attachments = :none, redactedAt = if_not_exists(redactedAt, :at)",
        ConditionExpression="attribute_exists(PK)",
        ExpressionAttributeValues={":body": value(body), ":none": value([]), ":at": value(at)},
    )


def find_by_message_id(tenant_id: str, message_id: str) -> dict[str, Any] | None:
    """{ticketId, commentId} of a Message-ID this tenant sent or received, if any."""
    resp = ddb().get_item(
        TableName=table(), Key=serialize(keys.message_id(tenant_id, message_id_hash(message_id))), ConsistentRead=True
    )
    return strip_keys(deserialize(resp["Item"])) if "Item" in resp else None


def find_by_reply_token(token: str) -> dict[str, Any] | None:
    """{tenantId, ticketId} of a reply token, if any (the token names its tenant: it is a global lookup)."""
    resp = ddb().get_item(TableName=table(), Key=serialize(keys.reply_token(token)), ConsistentRead=True)
    if "Item" not in resp:
        return None
    item = deserialize(resp["Item"])
    return {"tenantId": item["tenantId"], "ticketId": item["ticketId"]}
