"""Emails sent to moto's SES: what make dev shows at GET /_local/emails, and what tests assert on.

moto keeps sesv2 SendEmail messages in its SES v1 backend (moto.ses.models ses_backends[account][region]
.sent_messages), in server mode and in-process alike. Of a simple message (assignment emails) with a text and an
HTML part it keeps only the HTML body: `install()` wraps moto's sesv2 SendEmail responder so that both parts are
remembered, by message id. A raw message (replies: our own MIME, headers and all) it keeps whole, as a RawMessage;
`sent_emails()` parses it. moto also refuses a sender that is not a verified identity, as SES does:
`verify_sender()` registers it.
"""

from __future__ import annotations

import json
import os
from typing import Any

_parts: dict[str, dict[str, str | None]] = {}  # message id -> {"text": ..., "html": ...}
_installed = False


def install() -> None:
    global _installed
    if _installed:
        return
    from moto.sesv2.responses import SESV2Response

    original = SESV2Response.send_email

    def send_email(self: Any) -> str:
        out = original(self)  # raises (nothing recorded) when moto rejects the message
        simple = (json.loads(self.body).get("Content") or {}).get("Simple") or {}
        body = simple.get("Body") or {}
        _parts[json.loads(out)["MessageId"]] = {k.lower(): (body.get(k) or {}).get("Data") for k in ("Text", "Html")}
        return out

    SESV2Response.send_email = send_email  # type: ignore[method-assign]
    _installed = True


def verify_sender(client: Any, address: str) -> None:
    """Make `address` a verified identity in moto (`client` is an sesv2 client)."""
    client.create_email_identity(EmailIdentity=address)


def sent_emails(region: str | None = None) -> list[dict[str, Any]]:
    """Every message moto's SES accepted, newest first: {from, to, subject, text, html, headers, attachments, raw}.

    `headers` maps each header's name to its decoded value (a repeated header: its first value; `raw` has them
    all). A simple message has From, To and Subject only, no attachments, and `raw` null.
    """
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ses.models import RawMessage, ses_backends

    region = region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    messages = list(ses_backends[DEFAULT_ACCOUNT_ID][region].sent_messages)
    out = []
    for m in reversed(messages):
        if isinstance(m, RawMessage):
            out.append(parse_raw(m.raw_data))
            continue
        if not hasattr(m, "subject"):  # templated messages have other shapes
            continue
        # Without install() moto's body (the HTML part when there is one) is all that is known.
        parts = _parts.get(m.id) or {"text": None, "html": m.body}
        to = list(m.destinations.get("ToAddresses", []))
        headers = {"From": m.source, "To": ", ".join(to), "Subject": m.subject}
        out.append({"from": m.source, "to": to, "subject": m.subject, "text": parts["text"], "html": parts["html"],
                    "headers": headers, "attachments": [], "raw": None})  # fmt: skip
    return out


def parse_raw(raw: str) -> dict[str, Any]:
    """A raw MIME message as sent_emails() shows it."""
    from email import message_from_string, policy
    from email.message import EmailMessage

    msg = message_from_string(raw, policy=policy.default)
    assert isinstance(msg, EmailMessage)
    headers: dict[str, str] = {}
    for name, value in msg.items():
        headers.setdefault(name, str(value))

    def part(kind: str) -> str | None:
        found = msg.get_body(preferencelist=(kind,))
        return str(found.get_content()).replace("\r\n", "\n") if found is not None else None

    def addresses(name: str) -> list[str]:
        header = msg[name]
        return [a.addr_spec for a in header.addresses] if header is not None else []

    attachments = [
        {"filename": a.get_filename(), "contentType": a.get_content_type(), "size": len(a.get_payload(decode=True))}
        for a in msg.iter_attachments()
    ]
    sender = addresses("From")
    return {"from": sender[0] if sender else None, "to": addresses("To"), "subject": headers.get("Subject"),
            "text": part("plain"), "html": part("html"), "headers": headers, "attachments": attachments,
            "raw": raw}  # fmt: skip
