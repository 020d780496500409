"""Outbound replies: a public comment by an agent (or an API key) is emailed to the ticket's customer or requester.

The comment's own write decided everything and stored it on the comment item (logic.comments._outbound): from,
fromName, to, subject, messageId, replyTo, inReplyTo, references. Here that item becomes a MIME message
(`compose`, a pure function) sent raw through SES v2: a simple SES message cannot carry our Message-ID and
threading headers. The body is sent as the agent typed it in the text part and HTML-escaped in the HTML part.

Exactly once per comment, as assignment emails are: Powertools idempotency keyed on the comment.created event id
(a stream re-run repeats it), with the SES call the last step that can fail inside the idempotent function. A
failed send (SES throttling included) raises, so the record is reported failed and retried. The one gap no SES
call can close (SES takes no idempotency token): if the process dies after SES accepted the message and before
the COMPLETED record is written, the in-progress record expires with the invocation and the retry sends again.

A message refused for good (SES MessageRejected or BadRequestException, or an address no email can go to) would
be refused on every retry while every later record of the shard waits behind it, and then land in the DLQ. So it
is logged, counted (EmailsRejected) and saved as the outcome: the record completes, nothing is sent, the comment
stays as written.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP, Policy
from email.utils import format_datetime
from typing import Any

from aws_lambda_powertools import Logger
from botocore.exceptions import ClientError

from tickets import metrics
from tickets.aws import client
from tickets.config import settings
from tickets.consumers import OncePerEvent
from tickets.dal import keys
from tickets.dal.client import deserialize, strip_keys
from tickets.integrations import email
from tickets.models.events import DomainEvent

logger = Logger()
CONSUMER = "send_reply_emails"
MAX_ATTACHED_BYTES = 10 * 1024 * 1024  # more than this in all: the files are named in the text, not attached
# 7-bit clean: non-ASCII text goes quoted-printable or base64, non-ASCII header words RFC 2047 encoded.
POLICY = SMTP.clone(cte_type="7bit")
_MSG_ID = re.compile(r"<[\x21-\x3b\x3d\x3f-\x7e]+>")  # printable ASCII, no angle brackets inside
_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f]")


class Unsendable(ValueError):
    """The comment names an address no email can carry (not an addr-spec, a non-ASCII local part, no id)."""


class _MessageIds(str):
    """A header of msg-ids exactly as stored, folded only between ids: the standard library would turn an id too
    long for one line into RFC 2047 encoded words, which no mail client threads by."""

    name: str
    ids: tuple[str, ...]

    def __new__(cls, name: str, ids: Sequence[str]) -> _MessageIds:
        made = super().__new__(cls, " ".join(ids))
        made.name, made.ids = name, tuple(ids)
        return made

    def fold(self, *, policy: Policy) -> str:
        lines = [f"{self.name}: {self.ids[0]}"]
        for mid in self.ids[1:]:
            if len(lines[-1]) + 1 + len(mid) > (policy.max_line_length or 998):
                lines.append("")
            lines[-1] += " " + mid
        return policy.linesep.join(lines) + policy.linesep


def _one_line(value: str) -> str:
    return " ".join(_CONTROLS.sub(" ", value).split())


def _address(spec: str, display_name: str | None = None) -> Address:
    """An address as SES takes it: ASCII local part, the domain in IDNA (punycode)."""
    local, at, domain = (spec or "").strip().rpartition("@")
    try:
        if not (at and local and domain and local.isascii()):
            raise ValueError("not local@domain with an ASCII local part")
        if not domain.isascii():
            domain = domain.encode("idna").decode("ascii")
        return Address(display_name=_one_line(display_name or ""), addr_spec=f"{local}@{domain}")
    except ValueError as exc:  # the header parser's defects and the idna codec's errors are ValueErrors
        raise Unsendable(f"no email can go to {spec!r}: {exc}") from exc


def _ids(value: Any) -> list[str]:
    """The stored msg-ids that can go into a header as they are (others, e.g. of a malformed inbound mail: left out)."""
    values = value if isinstance(value, list) else [value] if value else []
    return [v for v in values if isinstance(v, str) and _MSG_ID.fullmatch(v)]


def _size(n: int) -> str:
    if n < 1024:
        return f"{n} bytes"
    if n < 1024 * 1024:
        return f"{n / 1024:.0f} KB"
    return f"{n / (1024 * 1024):.1f} MB"


def to_attach(comment: Mapping[str, Any], bucket: str) -> list[dict[str, Any]]:
    """The comment's attachments that go into the email as files: all of them if there is a bucket to read them
    from and they come to at most MAX_ATTACHED_BYTES in all, else none (the text names them)."""
    attachments = list(comment.get("attachments") or [])
    if not bucket or sum(int(a.get("size") or 0) for a in attachments) > MAX_ATTACHED_BYTES:
        return []
    return attachments


def _paragraphs(body: str) -> str:
    """The body as HTML that shows it as typed: escaped, blank lines as paragraphs, line breaks as <br>."""
    paragraphs = [p for p in re.split(r"\n[ \t]*\n", body) if p.strip("\n")]
    return "".join(
        "<p>" + "<br>\n".join(html.escape(line) for line in p.strip("\n").split("\n")) + "</p>\n" for p in paragraphs
    )


def compose(comment: Mapping[str, Any], files: Mapping[str, bytes] | None = None) -> EmailMessage:
    """The email of a stored outbound comment: its headers exactly as the write decided, the body as typed in a
    text part and HTML-escaped in an HTML part, a footer with the ticket's reference, and the attachments whose
    content is in `files` (by attachment id); the others are named in both parts."""
    files = files or {}
    reference = str((comment.get("ticket") or {}).get("reference") or "")
    message_ids = _ids(comment.get("messageId"))
    recipients = [_address(a) for a in comment.get("to") or []]
    if len(message_ids) != 1 or not recipients:
        raise Unsendable("an outbound comment needs its Message-ID and a recipient")

    msg = EmailMessage(policy=POLICY)
    msg["From"] = _address(comment["from"], comment.get("fromName"))
    msg["To"] = recipients
    if comment.get("replyTo"):
        msg["Reply-To"] = _address(comment["replyTo"])
    msg["Subject"] = _one_line(str(comment.get("subject") or f"Re: [{reference}]"))
    msg["Date"] = format_datetime(datetime.fromisoformat(str(comment["createdAt"]).replace("Z", "+00:00")))
    msg["Message-ID"] = _MessageIds("Message-ID", message_ids)
    if in_reply_to := _ids(comment.get("inReplyTo")):
        msg["In-Reply-To"] = _MessageIds("In-Reply-To", in_reply_to)
    if references := _ids(comment.get("references")):
        msg["References"] = _MessageIds("References", references)

    attachments = list(comment.get("attachments") or [])
    attached = [a for a in attachments if a.get("id") in files]
    listed = [
        f"{_one_line(str(a.get('filename')))} ({_size(int(a.get('size') or 0))})"
        for a in attachments
        if a.get("id") not in files
    ]
    footer = f"Ticket {reference}." + (" Reply to this email to answer." if comment.get("replyTo") else "")
    body = str(comment.get("body") or "").replace("\r\n", "\n").replace("\r", "\n").rstrip("\n")

    text = body + "\n"
    if listed:
        text += "\nNot included in this email: " + ", ".join(listed) + "\n"
    msg.set_content(text + "\n-- \n" + footer + "\n")

    e = html.escape
    page = (
        '<!doctype html><html><head><meta charset="utf-8">'
        f"<title>{e(msg['Subject'])}</title></head><body>\n{_paragraphs(body)}"
    )
    if listed:
        items = "".join(f"<li>{e(name)}</li>" for name in listed)
        page += f"<p>Not included in this email:</p><ul>{items}</ul>\n"
    page += f'<hr><p style="color:#6b7280;font-size:12px">{e(footer)}</p>\n</body></html>\n'
    msg.add_alternative(page, subtype="html")

    for a in attached:
        maintype, _, subtype = str(a.get("contentType") or "").partition("/")
        if not (maintype and subtype) or _CONTROLS.search(maintype + subtype):
            maintype, subtype = "application", "octet-stream"
        msg.add_attachment(files[a["id"]], maintype=maintype, subtype=subtype, filename=_one_line(a["filename"]))
    return msg


def stored_comment(record: Mapping[str, Any]) -> dict[str, Any] | None:
    """The comment item a stream record inserted, as stored (with its private email fields), else None."""
    image = (record.get("dynamodb") or {}).get("NewImage")
    if record.get("eventName") != "INSERT" or not image or (image.get("type") or {}).get("S") != "comment":
        return None
    return strip_keys(deserialize(image))


def replies(events: list[DomainEvent], record: Mapping[str, Any]) -> list[tuple[DomainEvent, dict[str, Any]]]:
    """The comment.created events of `record` to email, each with its stored comment: public outbound ones only."""
    out = []
    for event in events:
        comment = (event.data.get("comment") or {}) if event.type == "comment.created" else {}
        if comment.get("direction") != "outbound" or comment.get("visibility") != "public":
            continue  # internal notes and inbound comments are never emailed
        stored = stored_comment(record)
        if stored is None or stored.get("id") != comment.get("id"):
            logger.warning("no stored comment in the record: no reply email", extra={"event_id": event.id})
            continue
        out.append((event, stored))
    return out


def _files(tenant_id: str, comment: Mapping[str, Any]) -> dict[str, bytes]:
    """The attachments' content from the bucket (ATTACHMENTS_BUCKET), those `to_attach` picks; a file that is gone
    (its comment redacted meanwhile) or larger than its record says is named in the text instead."""
    bucket = settings().attachments_bucket
    files: dict[str, bytes] = {}
    for a in to_attach(comment, bucket):
        try:
            obj = client("s3").get_object(Bucket=bucket, Key=keys.attachment_object(tenant_id, a["id"]))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                continue
            raise
        if int(obj.get("ContentLength") or 0) > int(a.get("size") or 0):
            obj["Body"].close()
            continue
        files[a["id"]] = obj["Body"].read()
    return files


def _rejected(event: dict[str, Any], comment: Mapping[str, Any], reason: str) -> dict[str, Any]:
    logger.error(
        "reply email refused for good: not sent, not retried",
        extra={"event_id": event["id"], "tenant_id": event["tenantId"], "ticket_id": comment.get("ticketId"),
               "comment_id": comment.get("id"), "reason": reason},
    )  # fmt: skip
    metrics.count(metrics.EMAILS_REJECTED)
    return {"rejected": reason}


def _send(event: dict[str, Any], comment: dict[str, Any]) -> dict[str, Any]:
    files = _files(event["tenantId"], comment)
    try:
        message = compose(comment, files)
        to = [a.addr_spec for a in message["To"].addresses]
        sent = email.send_raw(message.as_bytes(), message["From"].addresses[0].addr_spec, to)
    except Unsendable:
        return _rejected(event, comment, "unsendable")
    except ClientError as exc:
        if (code := email.refusal(exc)) is None:
            raise  # throttling and every other error: the record fails and is retried
        return _rejected(event, comment, code)
    metrics.count(metrics.EMAILS_SENT)  # nothing after SES accepted can fail here
    return {"messageId": sent}


send_once = OncePerEvent(CONSUMER, _send)


def send_reply_emails(events: list[DomainEvent], record: Mapping[str, Any], lambda_context: Any = None) -> int:
    """One email per public outbound comment the record inserted; returns how many were handled."""
    handled = 0
    for event, comment in replies(events, record):
        result = send_once(event, lambda_context, comment=comment) or {}
        logger.info(
            "reply email handled",
            extra={"event_id": event.id, "comment_id": comment["id"], "message_id": comment.get("messageId"),
                   "ses_message_id": result.get("messageId"), "rejected": result.get("rejected")},
        )  # fmt: skip
        handled += 1
    return handled
