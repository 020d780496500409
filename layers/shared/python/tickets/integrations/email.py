"""SES (v2) email: one simple message with a text and an HTML part.

Errors are not caught here: throttling (ThrottlingException, TooManyRequestsException) and every other SES
error propagate, so a stream record that could not send is reported failed and retried.
"""

from __future__ import annotations

from dataclasses import dataclass

from tickets.aws import client
from tickets.config import settings


@dataclass(frozen=True)
class Email:
    to: str
    subject: str
    text: str
    html: str


def send(email: Email) -> str:
    """Send `email` from the configured sender; returns SES's MessageId."""
    sender = settings().sender_email
    if not sender:
        raise RuntimeError("SENDER_EMAIL is not set (template parameter SenderEmail)")
    resp = client("sesv2").send_email(
        FromEmailAddress=sender,
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
