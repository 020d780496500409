"""The conversation on a ticket: comments (public replies and internal notes), written in the ticket's own
transaction together with everything they move (commentCount, status, attachments, email threading)."""

from __future__ import annotations

import base64
import random
import secrets
import time
from dataclasses import dataclass
from typing import Any

from tickets import ids
from tickets.config import settings
from tickets.dal import attachments as attachments_dal
from tickets.dal import comments as dal
from tickets.dal import keys
from tickets.dal import tickets as tickets_dal
from tickets.dal.client import get_many
from tickets.dal.query import QueryPlan
from tickets.errors import Conflict, FieldError, InvalidAttachment, NotFound, PreconditionFailed
from tickets.integrations import files
from tickets.logic import paging
from tickets.logic.tickets import next_state, shape
from tickets.models.comments import (
    MAX_COMMENTS_PER_TICKET,
    REDACTED,
    CommentCreate,
    CommentListQuery,
    Visibility,
    public_comment,
)
from tickets.models.tenants import Principal
from tickets.models.tickets import Status, Ticket
from tickets.timeutil import from_ms, iso, now

# A busy ticket has many people commenting at once; each comment must land, so a lost race reads and tries again.
COMMENT_RETRIES = 25
THREAD_LENGTH = 10  # Message-IDs kept on a ticket for In-Reply-To/References of its next email
RESPONDERS = frozenset({"agent", "api"})  # authors whose public comment answers the customer


def _author(caller: Principal, agent: dict[str, Any] | None) -> dict[str, Any]:
    if caller.agentId and agent:
        return {"type": "agent", "id": agent["id"], "name": agent.get("name"), "email": agent.get("email")}
    return {"type": "api", "id": caller.keyId, "name": None, "email": None}


def _new_reply_token() -> str:
    """Opaque and unguessable (120 bits), and safe in an email local part: lowercase base32."""
    return base64.b32encode(secrets.token_bytes(15)).decode().lower()


def _recipient(ticket: dict[str, Any]) -> str | None:
    """Where a public reply goes: the customer's email, else the requester's."""
    return (ticket.get("customer") or {}).get("email") or (ticket.get("requester") or {}).get("email") or None


def _sender_domain() -> str:
    return settings().inbound_email_domain or settings().sender_email.rpartition("@")[2] or "localhost"


def _outbound(
    tenant_id: str, ticket: dict[str, Any], tenant: dict[str, Any], comment: dict[str, Any], new: dict[str, Any]
) -> list[tickets_dal.TxnItem]:
    """Make `comment` an outbound email when it answers a customer with an email address; its threading goes on
    the comment (what the sender needs) and the ticket (reply token, recent Message-IDs)."""
    to = _recipient(ticket)
    if not (to and settings().sender_email and comment["visibility"] == Visibility.PUBLIC):
        return []
    if comment["author"]["type"] not in RESPONDERS:
        return []
    ops: list[tickets_dal.TxnItem] = []
    thread = list(ticket.get("messageIds") or [])
    message_id = f"<{comment['id'].lower()}.{ticket['reference'].lower()}@{_sender_domain()}>"
    reply_to = None
    if settings().inbound_email_domain:
        token = ticket.get("replyToken")
        if not token:
            token = _new_reply_token()
            ops.append(dal.reply_token_op(tenant_id, ticket["id"], token))
        new["replyToken"] = token
        reply_to = f"reply+{token}@{settings().inbound_email_domain}"
    comment |= {
        "direction": "outbound",
        "from": settings().sender_email,
        "fromName": tenant.get("name"),
        "to": [to],
        "messageId": message_id,
        "replyTo": reply_to,
        "subject": f"Re: [{ticket['reference']}] {ticket['subject']}",
        "inReplyTo": thread[-1] if thread else None,
        "references": thread or None,
    }
    new["messageIds"] = [*thread, message_id][-THREAD_LENGTH:]
    ops.append(dal.message_id_op(tenant_id, message_id, ticket["id"], comment["id"]))
    return ops


@dataclass(frozen=True)
class Received:
    """A received email, as its comment keeps it, and the key under which a tenant stores it only once."""

    sender: str
    sender_name: str | None
    to: tuple[str, ...]
    cc: tuple[str, ...]
    message_id: str | None  # as received ("<...>"); None when the mail had none
    receipt_id: str  # the Message-ID, or an id made from where SES stored the mail: the idempotency key
    subject: str


@dataclass(frozen=True)
class CommentDraft:
    """What a comment says and who wrote it; the ticket's state decides the rest (status, counters, threading).

    The API (`create_comment`) and received email (`logic.inbound`) both write comments through `write_comment`
    (or, for a ticket an email opens, `first_comment`), so a comment is the same item whichever way it came.
    """

    body: str
    visibility: Visibility = Visibility.PUBLIC
    channel: str = "api"
    author: dict[str, Any] | None = None  # None: the calling key, or the agent it acts as
    status: str | None = None  # the ticket's new status, in the same write
    claim: tuple[str, ...] = ()  # ready, unclaimed attachments of the tenant (uploads) that the comment takes
    files: tuple[dict[str, Any], ...] = ()  # attachment records written with the comment, ready (received mail)
    received: Received | None = None  # an inbound email


CUSTOMERS = frozenset({"customer", "requester"})  # authors whose public comment is the customer's side speaking
REOPENED_BY_CUSTOMER = frozenset({Status.PENDING, Status.RESOLVED})


def _changes(ticket: dict[str, Any], draft: CommentDraft, author: dict[str, Any], at: str) -> dict[str, Any]:
    """What a comment changes on its ticket: counters, first response, and the status it asks for or implies."""
    public = draft.visibility == Visibility.PUBLIC
    responds = public and author["type"] in RESPONDERS
    changes: dict[str, Any] = {"commentCount": int(ticket.get("commentCount") or 0) + 1, "lastCommentAt": at}
    if responds and not ticket.get("firstRespondedAt"):
        changes["firstRespondedAt"] = at
    if draft.status is not None:
        changes["status"] = draft.status
    elif responds and ticket["status"] == Status.NEW:
        changes["status"] = Status.OPEN.value  # answering a new ticket opens it
    elif public and author["type"] in CUSTOMERS and ticket["status"] in REOPENED_BY_CUSTOMER:
        changes["status"] = Status.OPEN.value  # the customer wrote back: someone has to look again
    return changes


def _compose(
    ticket_id: str, comment_id: str, at: str, draft: CommentDraft, author: dict[str, Any], attachments: list[Any]
) -> dict[str, Any]:
    return {
        "id": comment_id,
        "ticketId": ticket_id,
        "body": draft.body,
        "visibility": draft.visibility.value,
        "channel": draft.channel,
        "direction": None,
        "author": author,
        "attachments": attachments,
        "createdAt": at,
    }


def _inbound(tenant_id: str, thread: list[str], comment: dict[str, Any], new: dict[str, Any], received: Received):
    """A received email's fields on its comment; its Message-ID joins the ticket's thread (the next reply answers
    it) and gets its lookup, written only once per tenant: a re-delivered message fails the whole write."""
    comment |= {
        "direction": "inbound",
        "from": received.sender,
        "fromName": received.sender_name,
        "to": list(received.to),
        "cc": list(received.cc),
        "messageId": received.message_id,
        "subject": received.subject,
    }
    if received.message_id:
        new["messageIds"] = [*thread, received.message_id][-THREAD_LENGTH:]
    return [dal.message_id_op(tenant_id, received.receipt_id, comment["ticketId"], comment["id"], once=True)]


def _stored(
    tenant_id: str, comment: dict[str, Any], new: dict[str, Any], draft: CommentDraft, now_epoch: int = 0
) -> list[Any]:
    """The comment (with the ticket as its write leaves it, for comment.created) and the attachments it takes."""
    ticket_id, comment_id = comment["ticketId"], comment["id"]
    comment["ticket"] = Ticket.model_validate(new).model_dump(mode="json")
    ops = [dal.put_op(tenant_id, comment)]
    ops += [attachments_dal.claim_op(tenant_id, a, ticket_id, comment_id, now_epoch) for a in draft.claim]
    ops += [attachments_dal.received_op(tenant_id, f, ticket_id, comment_id) for f in draft.files]
    return ops


def create_comment(tenant_id: str, ticket_id: str, body: CommentCreate, caller: Principal) -> dict[str, Any]:
    """Add a comment to a ticket; a public reply by an agent (or an API key) may set it open and is emailed."""
    draft = CommentDraft(
        body=body.body,
        visibility=body.visibility,
        status=body.status.value if body.status is not None else None,
        claim=tuple(body.attachmentIds),
    )
    return write_comment(tenant_id, ticket_id, draft, caller.actor, caller=caller)


def write_comment(
    tenant_id: str, ticket_id: str, draft: CommentDraft, actor: str | None, *, caller: Principal | None = None
) -> dict[str, Any]:
    """Write a comment in its ticket's own transaction, with everything it moves (counters, status, attachments,
    email threading); a lost race with another write of the ticket reads it again and retries.

    Raises NotFound, TicketClosed, Conflict (too many comments), InvalidAttachment, and for a received email
    dal.comments.AlreadyStored when the tenant has stored it before.
    """
    if not ids.is_ulid(ticket_id):
        raise NotFound(f"no ticket {ticket_id}")
    claimed_files: set[str] = set()
    for attempt in range(COMMENT_RETRIES):
        if attempt:
            time.sleep(random.uniform(0, 0.005 * attempt))  # others are commenting on this ticket: jitter
        refs = [("ticket", keys.ticket(tenant_id, ticket_id)), ("tenant", keys.tenant(tenant_id))]
        if draft.author is None and caller and caller.agentId:
            refs.append(("agent", keys.agent(tenant_id, caller.agentId)))
        refs += [(f"attachment:{a}", keys.attachment(tenant_id, a)) for a in draft.claim if ids.is_ulid(a)]
        found = get_many(refs, keep=(attachments_dal.EXPIRES,))
        now_epoch = int(time.time())
        if "ticket" not in found:
            raise NotFound(f"no ticket {ticket_id}")
        ticket = shape(found["ticket"])
        if int(ticket.get("commentCount") or 0) >= MAX_COMMENTS_PER_TICKET:
            raise Conflict(f"ticket {ticket['reference']} has {MAX_COMMENTS_PER_TICKET} comments, the most it can")
        unusable = [a for a in draft.claim if not attachments_dal.usable(found.get(f"attachment:{a}"), now_epoch)]
        if unusable:
            raise _unusable(unusable[0])
        comment_id = ids.new_id()
        at = iso(from_ms(ids.timestamp_ms(comment_id)))
        author = draft.author or (_author(caller, found.get("agent")) if caller else None)
        if author is None:
            raise ValueError("a comment needs an author or a caller")
        new = next_state(tenant_id, ticket, _changes(ticket, draft, author, at), at=at)
        attachments = [attachments_dal.public(found[f"attachment:{a}"]) for a in draft.claim]
        attachments += [attachments_dal.public(f) for f in draft.files]
        comment = _compose(ticket["id"], comment_id, at, draft, author, attachments)
        extra = _outbound(tenant_id, ticket, found["tenant"], comment, new)
        if draft.received:
            extra += _inbound(tenant_id, list(ticket.get("messageIds") or []), comment, new, draft.received)
        _claim_files(tenant_id, [a for a in draft.claim if a not in claimed_files])
        claimed_files.update(draft.claim)
        extra += _stored(tenant_id, comment, new, draft, now_epoch)
        try:
            tickets_dal.replace(tenant_id, ticket, new, actor, extra=extra)
        except tickets_dal.VersionConflict:
            continue  # the ticket changed meanwhile: read it again
        return public_comment(comment)
    raise PreconditionFailed("the ticket is being changed concurrently; retry")


def _unusable(attachment_id: str) -> InvalidAttachment:
    return InvalidAttachment(
        f"attachment {attachment_id} is not a ready attachment of this tenant that no comment uses yet",
        [FieldError("attachmentIds", f"not usable: {attachment_id}")],
    )


def _claim_files(tenant_id: str, attachment_ids: list[str]) -> None:
    """Take the files out of the bucket's lifecycle rule before the transaction claims their records.

    In this order a claimed attachment can never lose its file: if tagging fails, nothing is claimed (the request
    fails and may be retried); if the transaction fails after tagging, the attachment stays claimable (tagging it
    again is harmless) and, should no comment claim it, its record expires and its file is kept unused. Tagging
    it back could race another comment's claim of the same file, so it is never done.
    """
    for attachment_id in attachment_ids:
        if not files.mark_claimed(tenant_id, attachment_id):
            raise _unusable(attachment_id)  # no checked file (gone with its expiry)


def first_comment(tenant_id: str, draft: CommentDraft) -> Any:
    """`insert_ticket`'s `prepare` for a ticket that starts with a comment (an email that opens a ticket): the
    comment is written in the ticket's own create transaction, so neither exists without the other."""
    if draft.author is None or draft.claim:
        raise ValueError("a first comment names its author and claims no uploads")
    author = draft.author

    def prepare(ticket: dict[str, Any]) -> list[Any]:
        comment_id = ids.new_id(ids.timestamp_ms(ticket["id"]))  # the ticket's millisecond, sorting after it
        at = iso(from_ms(ids.timestamp_ms(comment_id)))
        ticket |= _changes(ticket, draft, author, at)
        files = [attachments_dal.public(f) for f in draft.files]
        comment = _compose(ticket["id"], comment_id, at, draft, author, files)
        extra = _inbound(tenant_id, [], comment, ticket, draft.received) if draft.received else []
        return [*extra, *_stored(tenant_id, comment, ticket, draft)]

    return prepare


def list_comments(tenant_id: str, ticket_id: str, q: CommentListQuery) -> dict[str, Any]:
    """Oldest first. The total of an unfiltered list is the ticket's own commentCount (kept in the same writes); a
    filtered one counts within the list budget."""
    ticket = tickets_dal.get(tenant_id, ticket_id) if ids.is_ulid(ticket_id) else None
    if ticket is None:
        raise NotFound(f"no ticket {ticket_id}")
    prefix = keys.comments_prefix(ticket_id)
    plan = QueryPlan(None, keys.tenant_pk(tenant_id), prefix, prefix + "~", forward=True)
    wanted = q.visibility.value if q.visibility else None
    predicate = (lambda c: c["visibility"] == wanted) if wanted else None
    total = int(ticket.get("commentCount") or 0) if wanted is None else None
    result = paging.page(tenant_id, plan, q, predicate=predicate, total=total, count_rest=total is None)
    result["data"] = [public_comment(c) for c in result["data"]]
    return result


def redact_comment(tenant_id: str, ticket_id: str, comment_id: str) -> dict[str, Any]:
    """The body becomes `[redacted]` and the comment's attachments are deleted, file and record."""
    current = dal.get(tenant_id, ticket_id, comment_id) if ids.is_ulid(ticket_id) and ids.is_ulid(comment_id) else None
    if current is None:
        raise NotFound(f"no comment {comment_id} on ticket {ticket_id}")
    for attachment in current.get("attachments") or []:
        files.delete_file(tenant_id, attachment["id"])
        attachments_dal.delete(tenant_id, attachment["id"])
    redacted = dal.redact(tenant_id, ticket_id, comment_id, REDACTED, iso(now()))
    if redacted is None:
        raise NotFound(f"no comment {comment_id} on ticket {ticket_id}")
    return public_comment(redacted)
