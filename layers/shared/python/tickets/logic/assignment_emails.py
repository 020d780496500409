"""Assignment emails: the agent gets one SES email each time a ticket's assignee is set or changes.

Exactly once per `ticket.assigned` event, through Powertools idempotency keyed on the event id (a stream
re-run repeats the id). Sending is the last step inside the idempotent function and nothing after it can
fail the record, so once SES has accepted a message the record completes and a re-run replays the saved
result instead of sending again. A failed send (SES throttling included) raises: Powertools deletes the
in-progress record and the stream record is reported failed, so it is retried, never dropped.

What remains is the gap no SES call can close (SES takes no idempotency token): if the process dies after
SES accepted the message but before the COMPLETED record is written (a Lambda timeout or crash in those
milliseconds, or that DynamoDB write failing), the in-progress record expires with the invocation and the
retry sends a second email.
"""

from __future__ import annotations

import html
from typing import Any
from urllib.parse import quote

from aws_lambda_powertools import Logger

from tickets import metrics
from tickets.config import settings
from tickets.consumers import OncePerEvent
from tickets.integrations import email
from tickets.models.events import DomainEvent

logger = Logger()
CONSUMER = "send_assignment_email"


def ticket_link(reference: str) -> str:
    return f"{settings().public_base_url.rstrip('/')}/tickets/{quote(reference, safe='')}"


def _customer(ticket: dict[str, Any]) -> str:
    who = ticket.get("customer") or ticket.get("requester") or {}
    name, address = who.get("name"), who.get("email")
    if name and address:
        return f"{name} <{address}>"
    return str(name or address or "none")


def compose(ticket: dict[str, Any]) -> email.Email:
    """The email for a ticket (as the API shows it) that has just been assigned to `ticket["assignee"]`."""
    reference, subject = ticket["reference"], " ".join(str(ticket["subject"]).split())
    assignee = ticket["assignee"]
    link, customer = ticket_link(reference), _customer(ticket)
    priority, description = ticket.get("priority") or "medium", ticket.get("description") or ""
    text = (
        f"Hello {assignee.get('name') or ''},\n\n"
        f"Ticket {reference} has been assigned to you.\n\n"
        f"Subject: {subject}\n"
        f"Priority: {priority}\n"
        f"Customer: {customer}\n\n"
        f"Description:\n{description or '(none)'}\n\n"
        f"Open the ticket: {link}\n"
    )
    e = html.escape
    body = (
        '<!doctype html><html><head><meta charset="utf-8">'
        f"<title>[{e(reference)}] {e(subject)}</title></head><body>"
        f"<p>Hello {e(assignee.get('name') or '')},</p>"
        f"<p>Ticket <strong>{e(reference)}</strong> has been assigned to you.</p>"
        "<table>"
        f'<tr><th align="left">Subject</th><td>{e(subject)}</td></tr>'
        f'<tr><th align="left">Priority</th><td>{e(priority)}</td></tr>'
        f'<tr><th align="left">Customer</th><td>{e(customer)}</td></tr>'
        "</table>"
        f'<h3>Description</h3><div style="white-space: pre-wrap">{e(description) or "<em>(none)</em>"}</div>'
        f'<p><a href="{e(link, quote=True)}">Open {e(reference)}</a></p>'
        "</body></html>"
    )
    return email.Email(to=assignee["email"], subject=f"[{reference}] {subject}", text=text, html=body)


def _send(event: dict[str, Any]) -> dict[str, str]:
    message = compose(event["data"]["ticket"])
    sent = {"messageId": email.send(message)}  # the last step: nothing after SES accepted can fail here
    metrics.count(metrics.EMAILS_SENT)
    return sent


send_once = OncePerEvent(CONSUMER, _send)


def send_assignment_emails(events: list[DomainEvent], lambda_context: Any = None) -> int:
    """One email per `ticket.assigned` event whose assignee has an address; returns how many were handled."""
    assigned = [e for e in events if e.type == "ticket.assigned"]
    if not assigned:
        return 0
    handled = 0
    for event in assigned:
        ticket = event.data["ticket"]
        if not (ticket.get("assignee") or {}).get("email"):
            logger.warning(
                "assignee has no email address: no assignment email",
                extra={"event_id": event.id, "ticket_id": ticket.get("id"), "assignee_id": event.data["assigneeId"]},
            )
            continue
        result = send_once(event, lambda_context)
        logger.info(
            "assignment email sent", extra={"event_id": event.id, "message_id": (result or {}).get("messageId")}
        )
        handled += 1
    return handled
