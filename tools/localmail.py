"""Emails sent to moto's SES: what make dev shows at GET /_local/emails, and what tests assert on.

moto keeps sesv2 SendEmail messages in its SES v1 backend (moto.ses.models ses_backends[account][region]
.sent_messages), in server mode and in-process alike, but of a simple message with a text and an HTML part
it keeps only the HTML body. `install()` wraps moto's sesv2 SendEmail responder so that both parts are
remembered, by message id. moto also refuses a sender that is not a verified identity, as SES does:
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
    """Every message moto's SES accepted, newest first: {to, subject, text, html}."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ses.models import ses_backends

    region = region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    messages = list(ses_backends[DEFAULT_ACCOUNT_ID][region].sent_messages)
    out = []
    for m in reversed(messages):
        if not hasattr(m, "subject"):  # raw and templated messages have other shapes
            continue
        # Without install() moto's body (the HTML part when there is one) is all that is known.
        parts = _parts.get(m.id) or {"text": None, "html": m.body}
        to = list(m.destinations.get("ToAddresses", []))
        out.append({"to": to, "subject": m.subject, "text": parts["text"], "html": parts["html"]})
    return out
