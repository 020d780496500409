"""SES (v2) email: a simple message with a text and an HTML part, or a whole MIME message of our own (raw).

Errors are not caught here: throttling (ThrottlingException, TooManyRequestsException) and every other SES
error propagate, so a stream record that could not send is reported failed and retried. `refusal(exc)` tells
the errors that sending the same message again cannot cure.
"""

from __future__ import annotations

from dataclasses import dataclass

from tickets.aws import client
from tickets.config import settings

# SES refused this message itself (its content, an address in it): the same message would be refused again.
# Throttling, quotas, a paused account and 5xx are not here: they pass, so they are retried.
REFUSALS = frozenset({"MessageRejected", "BadRequestException"})


@dataclass(frozen=True)
class Email:
    to: str
    subject: str
    text: str
    html: str


def _sender() -> str:
    sender = settings().sender_email
    if not sender:
        raise RuntimeError("SENDER_EMAIL is not set (template parameter SenderEmail)")
    return sender


def send(email: Email) -> str:
    """Send `email` from the configured sender; returns SES's MessageId."""
    resp = client("sesv2").send_email(
        FromEmailAddress=_sender(),
        Destination={"ToAddresses": [email.to]},
        Content={
            "Simple": {
                "Subject": {"Data": email.subject, "Charset": "UTF-8"},
                "Body": {
                    "Text": {"Data": email.text, "Charset": "UTF-8"},
                    "Html": {"Data": email.html, "Charset": "UTF-8"},
                },
            }
        },
    )
    return str(resp["MessageId"])


def send_raw(message: bytes, sender: str, to: list[str]) -> str:
    """Send a whole MIME message (its own From, Message-ID, threading headers, parts); returns SES's MessageId.

    The envelope goes from `sender` (a verified identity) to `to` only, whatever else the headers name.
    """
    resp = client("sesv2").send_email(
        FromEmailAddress=sender, Destination={"ToAddresses": to}, Content={"Raw": {"Data": message}}
    )
    return str(resp["MessageId"])


def refusal(exc: BaseException) -> str | None:
    """The SES error code if `exc` is SES refusing the message for good (see REFUSALS), else None."""
    response = getattr(exc, "response", None)
    code = ((response or {}).get("Error") or {}).get("Code", "") if isinstance(response, dict) else ""
    return code if code in REFUSALS else None
