"""Raw email as SES stores it, for the inbound tests (unit, integration and e2e build their messages here)."""

from __future__ import annotations

from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid


def raw_mail(
    *,
    sender: str = "Ann Lee <ann@example.com>",
    to: str = "inv@mail.example.com",
    cc: str | None = None,
    subject: str = "Printer on fire",
    text: str | None = "It is on fire since this morning.",
    html: str | None = None,
    message_id: str | None = "auto",
    in_reply_to: str | None = None,
    references: str | None = None,
    headers: dict[str, str] | None = None,
    attachments: tuple[tuple[str, str, bytes], ...] = (),
    ses: dict[str, str] | None = None,
    envelope: str | None = None,
) -> bytes:
    """An RFC 5322 message, with the headers SES adds on top when it stores one (Return-Path, its Received line
    naming the envelope recipient, spam and virus verdicts): `ses` overrides the verdicts."""
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    if cc:
        msg["Cc"] = cc
    msg["Subject"] = subject
    msg["Date"] = format_datetime(datetime(2026, 11, 30, 10, 0, tzinfo=UTC))
    if message_id:
        msg["Message-ID"] = make_msgid(domain="example.com") if message_id == "auto" else message_id
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
    if references:
        msg["References"] = references
    for name, value in (headers or {}).items():
        msg[name] = value
    if text is not None:
        msg.set_content(text)
    if html is not None:
        if text is None:
            msg.set_content(html, subtype="html")
        else:
            msg.add_alternative(html, subtype="html")
    for filename, content_type, data in attachments:
        maintype, subtype = content_type.split("/", 1)
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    verdicts = {"X-SES-Spam-Verdict": "PASS", "X-SES-Virus-Verdict": "PASS", **(ses or {})}
    recipient = envelope or to.split(",")[0].strip().split("<")[-1].rstrip(">")
    top = [
        "Return-Path: <bounces@example.com>",
        "Received: from mail.example.com (mail.example.com [203.0.113.7]) by inbound-smtp.us-east-1.amazonaws.com "
        f"with SMTP id 0f3c7c2a8b5n2q4s6u8w for {recipient}; Mon, 30 Nov 2026 10:00:01 +0000 (UTC)",
        *(f"{name}: {value}" for name, value in verdicts.items()),
    ]
    return ("\r\n".join(top) + "\r\n").encode() + msg.as_bytes(policy=msg.policy.clone(linesep="\r\n"))
