"""Received email into tickets: the logic of the inbound-mail consumer (functions/receive_inbound_email).

SES stores each message it receives for InboundEmailDomain in the inbound bucket; S3 notifies a queue; this
reads the stored message, refuses what must be refused (tickets.logic.mail: size, bombs, malformed or
undecodable mail, virus or spam verdicts, our own mail, auto-replies, bulk), finds the tenant by the recipient
address, threads the message into a ticket and writes it:

- recipient `reply+<token>@domain`: the reply token's ticket (the token is global and names its tenant);
  `<ticket prefix, lowercase>@domain`: that tenant (a global lookup, made with the tenant);
- then, within the tenant only: the token's ticket; else a ticket that one of `In-Reply-To`/`References` names
  (a Message-ID the tenant sent or received); else a `[<reference>]` in the subject when the sender is that
  ticket's customer or requester; else a new ticket (channel email, requester from From, the customer whose
  email it is, if any);
- a reply is a public inbound comment (author: the customer, else the sender as requester) that reopens a
  pending or resolved ticket; a reply to a closed ticket opens a follow-up ticket (`parentId`).

Idempotent per stored message: the comment, the ticket it may open and the message's Message-ID lookup are one
transaction, and that lookup is written only if the tenant does not have it (dal.comments.AlreadyStored), so a
re-delivery, or the same message stored twice, writes nothing more. A message without a Message-ID is keyed by
where SES stored it. A failure anywhere before that transaction commits leaves nothing but attachment files
under ids derived from the message, which the retry rewrites.

Every message counts once in the InboundEmails metric under its outcome and is logged (never its content).
"""

from __future__ import annotations

import hashlib
import mimetypes
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol
from urllib.parse import unquote_plus

from aws_lambda_powertools import Logger

from tickets import ids, metrics
from tickets.config import settings
from tickets.dal import comments as comments_dal
from tickets.dal import customers as customers_dal
from tickets.dal import keys
from tickets.dal import tenants as tenants_dal
from tickets.dal import tickets as tickets_dal
from tickets.dal.client import get_many
from tickets.errors import Conflict, NotFound, PlanLimitReached, TicketClosed
from tickets.integrations import mailbox
from tickets.logic import filetypes, mail
from tickets.logic.comments import CommentDraft, Received, first_comment, write_comment
from tickets.logic.tickets import get_ticket, insert_ticket, shape
from tickets.models.comments import MAX_ATTACHMENTS, MAX_BODY, Visibility
from tickets.models.tickets import Status
from tickets.timeutil import from_ms, iso, now, to_ms

logger = Logger()

MAX_TENANTS = 5  # tenants one message may reach (each of our addresses it was sent to)
MAX_THREAD_LOOKUPS = 20  # In-Reply-To / References ids looked up
MAX_ATTACHMENT_BYTES = 20 * 1024 * 1024  # as for uploads
SUBJECT_CHARS, DESCRIPTION_CHARS = 250, 50_000
# Byte budgets under DynamoDB's 400 KB item: a comment holds its body and a snapshot of its ticket (description).
BODY_BYTES, DESCRIPTION_BYTES = 120_000, 60_000
TRUNCATED = "\n\n[truncated]"
NO_TEXT = "(no text)"
NO_SUBJECT = "(no subject)"

TOKEN_RE = re.compile(r"^[a-z2-7]{16,64}$")  # logic.comments makes 24 lowercase base32 characters
PREFIX_RE = re.compile(r"^[a-z][a-z0-9]{0,9}$")  # a ticket prefix, lowercased (models.tenants.TenantCreate)
REFERENCE_RE = re.compile(r"\[([A-Za-z][A-Za-z0-9]{0,9}-[1-9][0-9]{0,11})\]")
REPLY_PREFIX_RE = re.compile(r"^\s*((re|fw|fwd|aw|wg|sv|vs|antw|tr)\s*(\[\d+\])?\s*:\s*)+", re.IGNORECASE)


# ---------------------------------------------------------------------------------------------------- deciding


@dataclass(frozen=True)
class Addressed:
    """Which of our addresses a message went to: reply tokens and tenant address local parts, in order."""

    tokens: tuple[str, ...] = ()
    prefixes: tuple[str, ...] = ()


def addressed(recipients: tuple[str, ...], domain: str) -> Addressed:
    """Our addresses among the recipients: `reply+<token>@domain` and `<prefix>@domain` (any letter case)."""
    tokens, prefixes = [], []
    for address in recipients:
        local, _, at = address.lower().rpartition("@")
        if at != domain or not local:
            continue
        if local.startswith("reply+"):
            if TOKEN_RE.match(token := local.removeprefix("reply+")):
                tokens.append(token)
        elif PREFIX_RE.match(local):
            prefixes.append(local)
    return Addressed(tuple(dict.fromkeys(tokens)), tuple(dict.fromkeys(prefixes)))


class Lookups(Protocol):
    """The reads threading needs, within one tenant (tests give a dict-backed fake)."""

    def by_token(self) -> dict[str, Any] | None: ...
    def by_message_ids(self, message_ids: list[str]) -> dict[str, Any] | None: ...
    def by_reference(self, reference: str) -> dict[str, Any] | None: ...


@dataclass(frozen=True)
class Thread:
    action: Literal["reply", "follow_up", "new"]
    ticket: dict[str, Any] | None = None  # the ticket replied to, or the closed ticket a follow-up continues
    via: Literal["token", "message_id", "reference"] | None = None


def contacts(ticket: dict[str, Any]) -> set[str]:
    """The addresses a ticket answers to: its customer's and its requester's."""
    found = {(ticket.get(who) or {}).get("email") for who in ("customer", "requester")}
    return {customers_dal.normalise_email(e) for e in found if e}


def find_thread(message: mail.Mail, lookups: Lookups) -> Thread:
    """Which ticket a message continues: the reply token's, else one its In-Reply-To/References name, else the
    `[reference]` of its subject if the sender is that ticket's customer or requester; a closed one is continued
    by a follow-up. Reads stop at the first hit."""
    found: dict[str, Any] | None = lookups.by_token()
    via: Literal["token", "message_id", "reference"] = "token"
    if found is None and message.in_reply_to:
        found, via = lookups.by_message_ids(list(message.in_reply_to[:MAX_THREAD_LOOKUPS])), "message_id"
    if found is None:
        for reference in dict.fromkeys(r.upper() for r in REFERENCE_RE.findall(message.subject)):
            ticket = lookups.by_reference(reference)
            if ticket is not None and message.sender in contacts(ticket):
                found, via = ticket, "reference"
                break
    if found is None:
        return Thread("new")
    return Thread("follow_up" if found["status"] == Status.CLOSED else "reply", found, via)


def author(message: mail.Mail, customer: dict[str, Any] | None) -> dict[str, Any]:
    """The customer when the sender is the customer, else the sender, as a requester."""
    if customer and customers_dal.normalise_email(customer.get("email") or "") == message.sender:
        return {"type": "customer", "id": customer["id"], "name": customer.get("name"), "email": customer["email"]}
    return {"type": "requester", "id": None, "name": message.sender_name, "email": message.sender}


def _bounded(text: str, chars: int, max_bytes: int) -> str:
    if len(text) <= chars and len(text.encode()) <= max_bytes:
        return text
    room = min(chars, max_bytes) - len(TRUNCATED)
    cut = text[:room]
    while len(cut.encode()) > max_bytes - len(TRUNCATED):
        cut = cut[: len(cut) * 9 // 10]
    return cut.rstrip() + TRUNCATED


def ticket_subject(subject: str) -> str:
    """A ticket's subject from an email's: without reply/forward prefixes or a leading `[reference]`."""
    subject = REPLY_PREFIX_RE.sub("", subject)
    subject = re.sub(r"^\s*\[[A-Za-z][A-Za-z0-9]{0,9}-[0-9]{1,12}\]\s*", "", subject)
    subject = REPLY_PREFIX_RE.sub("", subject).strip()
    return subject[:SUBJECT_CHARS].strip() or NO_SUBJECT


def body_text(message: mail.Mail, notes: list[str]) -> str:
    """The comment's body: the message's new text, and a line for each attachment that was not kept."""
    text = message.text.strip() or NO_TEXT
    if notes:
        text += "\n\n" + "\n".join(notes)
    return _bounded(text, MAX_BODY, BODY_BYTES)


# ---------------------------------------------------------------------------------------------------- doing


class _TenantLookups:
    """Lookups within one tenant: every key is built under the tenant, so another tenant's ids are unknown."""

    def __init__(self, tenant_id: str, token_ticket_id: str | None) -> None:
        self.tenant_id, self.token_ticket_id = tenant_id, token_ticket_id

    def _ticket(self, ticket_id: str | None) -> dict[str, Any] | None:
        found = tickets_dal.get(self.tenant_id, ticket_id) if ticket_id and ids.is_ulid(ticket_id) else None
        return shape(found) if found else None

    def by_token(self) -> dict[str, Any] | None:
        return self._ticket(self.token_ticket_id)

    def by_message_ids(self, message_ids: list[str]) -> dict[str, Any] | None:
        refs = [(mid, keys.message_id(self.tenant_id, comments_dal.message_id_hash(mid))) for mid in message_ids]
        found = get_many(refs)
        return next((t for mid in message_ids if mid in found and (t := self._ticket(found[mid]["ticketId"]))), None)

    def by_reference(self, reference: str) -> dict[str, Any] | None:
        try:
            return shape(get_ticket(self.tenant_id, reference))
        except NotFound:
            return None


@dataclass(frozen=True)
class Stored:
    """Where SES stored a message, as the S3 event says."""

    bucket: str
    key: str
    size: int | None
    at_ms: int  # when S3 stored it


def _events(message: dict[str, Any]) -> list[Stored]:
    """The objects an S3 event notification names (none for S3's test event)."""
    out = []
    for record in message.get("Records") or []:
        s3 = record.get("s3") or {}
        bucket, obj = (s3.get("bucket") or {}).get("name"), s3.get("object") or {}
        if not (bucket and obj.get("key")) or not str(record.get("eventName", "")).startswith("ObjectCreated"):
            continue
        try:
            at_ms = to_ms(datetime.fromisoformat(str(record.get("eventTime")).replace("Z", "+00:00")))
        except ValueError:
            at_ms = to_ms(now())
        size = obj.get("size")
        out.append(Stored(bucket, unquote_plus(obj["key"]), int(size) if size is not None else None, at_ms))
    return out


def receive(message: dict[str, Any]) -> str:
    """One SQS message (an S3 event notification): every stored message it names. Returns the outcomes."""
    return ",".join(receive_stored(stored) for stored in _events(message)) or "no_object"


STORED = frozenset({"comment", "new_ticket", "follow_up"})


def _counted(outcome: str, stored: Stored, detail: str = "", tenant_id: str | None = None) -> str:
    metrics.count(metrics.INBOUND_EMAILS, outcome=outcome)
    extra = {"outcome": outcome, "object_key": stored.key, "tenant_id": tenant_id}
    if outcome in STORED:
        logger.info("inbound email stored", extra=extra)
    elif outcome == "duplicate":
        logger.info("inbound email already stored", extra=extra)
    else:
        logger.warning("inbound email dropped", extra=extra | {"detail": detail})
    return outcome


def receive_stored(stored: Stored) -> str:
    """Read, check and thread one stored message. Refusals are counted and return their outcome (the message is
    done: retrying cannot change them); AWS errors raise, so the queue delivers the message again (and after
    maxReceiveCount moves it to the dead-letter queue)."""
    size = stored.size if stored.size is not None else mailbox.size(stored.bucket, stored.key)
    if size is None:
        return _counted("missing", stored, "the stored message is gone")
    if size > mail.MAX_MESSAGE_BYTES:
        return _counted("too_large", stored, f"{size} bytes")
    raw = mailbox.read(stored.bucket, stored.key, mail.MAX_MESSAGE_BYTES)
    if raw is None:
        return _counted("missing", stored, "the stored message is gone")
    try:
        message = mail.parse(raw)
    except mail.Refused as refused:
        return _counted(refused.outcome, stored, refused.detail)
    domain = settings().inbound_email_domain
    own = frozenset(a for a in (customers_dal.normalise_email(settings().sender_email),) if a)
    reason = mail.junk_reason(message, own_addresses=own, own_domain=domain or None)
    if reason:
        return _counted(reason, stored, f"dropped as {reason}")
    targets = _tenants(addressed(message.recipients, domain)) if domain else {}
    if not targets:
        return _counted("unknown_recipient", stored, "none of our addresses is a recipient we know")
    return ",".join(_into_tenant(message, stored, tenant, token) for tenant, token in targets.items())


def _tenants(to: Addressed) -> dict[str, str | None]:
    """tenant id -> the ticket its reply token names (None: its address), at most MAX_TENANTS tenants."""
    out: dict[str, str | None] = {}
    for token in to.tokens:
        found = comments_dal.find_by_reply_token(token)
        if found and found["tenantId"] not in out and len(out) < MAX_TENANTS:
            out[found["tenantId"]] = found["ticketId"]
    for prefix in to.prefixes:
        tenant_id = tenants_dal.tenant_id_by_address(prefix)
        if tenant_id and tenant_id not in out and len(out) < MAX_TENANTS:
            out[tenant_id] = None
    return out


def receipt_id(message: mail.Mail, stored: Stored) -> str:
    """What a tenant keeps a received message under: its Message-ID, or (without one) where SES stored it."""
    return message.message_id or f"<{hashlib.sha256(stored.key.encode()).hexdigest()[:40]}@stored.invalid>"


def _into_tenant(message: mail.Mail, stored: Stored, tenant_id: str, token_ticket_id: str | None) -> str:
    key = receipt_id(message, stored)
    if comments_dal.find_by_message_id(tenant_id, key):
        return _counted("duplicate", stored, tenant_id=tenant_id)
    thread = find_thread(message, _TenantLookups(tenant_id, token_ticket_id))
    files, notes = _attachments(tenant_id, message, key, stored.at_ms)
    received = Received(
        sender=message.sender,
        sender_name=message.sender_name,
        to=message.to,
        cc=message.cc,
        message_id=message.message_id,
        receipt_id=key,
        subject=message.subject,
    )
    try:
        return _counted(_write(tenant_id, message, thread, received, files, notes), stored, tenant_id=tenant_id)
    except comments_dal.AlreadyStored:
        return _counted("duplicate", stored, tenant_id=tenant_id)
    except PlanLimitReached:
        return _counted("quota", stored, "the tenant's monthly ticket quota is used up", tenant_id)


def _write(
    tenant_id: str,
    message: mail.Mail,
    thread: Thread,
    received: Received,
    files: list[dict[str, Any]],
    notes: list[str],
) -> str:
    """Store the message as `thread` says; a ticket closed since (or full: 5,000 comments) is continued by a
    follow-up, a ticket deleted since by a new ticket. Returns the outcome."""

    def draft(customer: dict[str, Any] | None) -> CommentDraft:
        return CommentDraft(
            body=body_text(message, notes),
            visibility=Visibility.PUBLIC,
            channel="email",
            author=author(message, customer),
            files=tuple(files),
            received=received,
        )

    if thread.action == "reply" and thread.ticket:
        try:
            write_comment(tenant_id, thread.ticket["id"], draft(thread.ticket.get("customer")), None)
            return "comment"
        except TicketClosed:
            current = tickets_dal.get(tenant_id, thread.ticket["id"])
            thread = Thread("follow_up", shape(current), thread.via) if current else Thread("new")
        except Conflict:  # the ticket has as many comments as a ticket can: the conversation goes on in a new one
            thread = Thread("follow_up", thread.ticket, thread.via)
        except NotFound:
            thread = Thread("new")
    parent = thread.ticket if thread.action == "follow_up" else None
    if parent and message.sender in contacts(parent) and parent.get("customer"):
        customer = parent["customer"]  # the closed ticket's customer wrote again
    else:
        customer = customers_dal.find_by_email(tenant_id, message.sender)
    _open(tenant_id, message, customer, parent, first_comment(tenant_id, draft(customer)))
    return "follow_up" if parent else "new_ticket"


def _open(
    tenant_id: str,
    message: mail.Mail,
    customer: dict[str, Any] | None,
    parent: dict[str, Any] | None,
    prepare: Callable[[dict[str, Any]], Any],
) -> dict[str, Any]:
    """A ticket opened by an email (channel email), with the email as its first comment, in one transaction."""
    text = message.text.strip()
    data: dict[str, Any] = {
        "subject": ticket_subject(message.subject),
        "description": _bounded(text, DESCRIPTION_CHARS, DESCRIPTION_BYTES) if text else None,
        "status": Status.NEW.value,
        "priority": "medium",
        "category": None,
        "channel": "email",
        "customerId": customer["id"] if customer else None,
        "requester": {"name": (message.sender_name or "")[:200] or None, "email": message.sender[:320], "phone": None},
        "assigneeId": None,
        "tags": [],
        "parentId": parent["id"] if parent else None,
        "customFields": {},
        "metadata": {},
        "dedupeKey": None,
        "dueAt": None,
    }
    snapshots = {"customer": customer} if customer else {}
    return insert_ticket(tenant_id, data, snapshots, None, prepare=prepare)


def _content_type(attachment: mail.Attachment) -> str:
    """The declared type; a generic one (application/octet-stream) is replaced by the filename's."""
    declared = filetypes.normalise(attachment.content_type)
    if declared in ("application/octet-stream", "binary/octet-stream", ""):
        return mimetypes.guess_type(attachment.filename)[0] or declared
    return declared


def _attachments(tenant_id: str, message: mail.Mail, seed: str, at_ms: int) -> tuple[list[dict[str, Any]], list[str]]:
    """Store the attachments the allow-list accepts (tickets.logic.filetypes): their files now, their records
    (ready, claimed by the comment) in the comment's transaction. What is not kept is noted in the comment."""
    if not message.attachments:
        return [], []
    bucket = settings().attachments_bucket
    if not bucket:  # the template always gives the consumer AttachmentsBucket: a missing one is a broken deploy
        raise RuntimeError("ATTACHMENTS_BUCKET is not set (template resource AttachmentsBucket)")
    files: list[dict[str, Any]] = []
    notes: list[str] = []
    for index, attachment in enumerate(message.attachments):
        content_type, size = _content_type(attachment), len(attachment.payload)
        if len(files) >= MAX_ATTACHMENTS:
            why: str | None = f"a comment keeps at most {MAX_ATTACHMENTS} attachments"
        elif size > MAX_ATTACHMENT_BYTES:
            why = f"larger than {MAX_ATTACHMENT_BYTES // (1024 * 1024)} MB"
        else:
            head = attachment.payload[: filetypes.HEAD_BYTES]
            why = filetypes.check(head, content_type, complete=size <= filetypes.HEAD_BYTES)
        if why:
            notes.append(f"[attachment not kept: {attachment.filename} ({why})]")
            continue
        attachment_id = ids.derived_id(at_ms, f"{seed}|{tenant_id}|{index}")
        key = keys.attachment_object(tenant_id, attachment_id)
        mailbox.put_attachment(bucket, key, attachment.payload, content_type)
        files.append({"id": attachment_id, "filename": attachment.filename, "contentType": content_type,
                      "size": size, "createdAt": iso(from_ms(at_ms))})  # fmt: skip
    return files, notes
