"""The inbound consumer's decisions as pure functions (tickets.logic.inbound): which of our addresses a message went
to, which ticket it continues (over an in-memory fake of the lookups), who wrote it, what the ticket is called."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import pytest

from tickets.logic import inbound
from tickets.logic.inbound import Addressed, Thread, addressed, author, body_text, find_thread, ticket_subject
from tickets.logic.mail import Mail

DOMAIN = "mail.example.com"
ANN = {"id": "01JCUSTOMER000000000000ANN", "externalId": "crm-1", "name": "Ann Lee", "email": "Ann@Example.com"}


def mail(**fields: Any) -> Mail:
    base = {"sender": "ann@example.com", "sender_name": "Ann Lee", "subject": "Help", "message_id": "<m@x>",
            "in_reply_to": (), "to": (), "cc": (), "recipients": (), "text": "hello"}  # fmt: skip
    return Mail(**{**base, **fields})


def ticket(ref: str = "INV-1", status: str = "open", **fields: Any) -> dict[str, Any]:
    return {"id": f"id-{ref}", "reference": ref, "status": status, "customer": None, "requester": None, **fields}


@dataclass
class FakeLookups:
    """Dict-backed lookups; `asked` records what was read, so a test can see that reads stop at the first hit."""

    token: dict[str, Any] | None = None
    by_id: dict[str, dict[str, Any]] = field(default_factory=dict)
    by_ref: dict[str, dict[str, Any]] = field(default_factory=dict)
    asked: list[str] = field(default_factory=list)

    def by_token(self) -> dict[str, Any] | None:
        self.asked.append("token")
        return self.token

    def by_message_ids(self, message_ids: list[str]) -> dict[str, Any] | None:
        self.asked.append("message_ids")
        return next((self.by_id[m] for m in message_ids if m in self.by_id), None)

    def by_reference(self, reference: str) -> dict[str, Any] | None:
        self.asked.append(f"reference {reference}")
        return self.by_ref.get(reference)


# ---------------------------------------------------------------- our addresses


def test_given_recipients_then_reply_tokens_and_tenant_addresses_of_our_domain_are_told_apart():
    recipients = (
        "reply+abcdefghijklmnopqrstuvwx@mail.example.com",
        "INV@MAIL.EXAMPLE.COM",
        "reply+ABCDEFGHIJKLMNOPQRSTUVWX@mail.example.com",  # the same token, another letter case
        "oth@mail.example.com",
        "inv@example.org",  # another domain
        "inv@sub.mail.example.com",
        "reply+short@mail.example.com",  # not a token we make
        "reply+abc/../x@mail.example.com",
        "toolongprefix1@mail.example.com",
        "1nv@mail.example.com",
        "inv+tag@mail.example.com",
    )
    assert addressed(recipients, DOMAIN) == Addressed(("abcdefghijklmnopqrstuvwx",), ("inv", "oth"))


# ---------------------------------------------------------------- which ticket


def test_given_a_token_then_its_ticket_wins_and_nothing_else_is_read():
    lookups = FakeLookups(token=ticket("INV-1"), by_id={"<o@x>": ticket("INV-2")})
    got = find_thread(mail(in_reply_to=("<o@x>",), subject="[INV-3]"), lookups)
    assert (got.action, got.ticket["reference"], got.via) == ("reply", "INV-1", "token")
    assert lookups.asked == ["token"]


def test_given_no_token_then_the_first_known_message_id_in_order_wins():
    lookups = FakeLookups(by_id={"<b@x>": ticket("INV-2"), "<c@x>": ticket("INV-3")})
    got = find_thread(mail(in_reply_to=("<a@x>", "<b@x>", "<c@x>")), lookups)
    assert (got.ticket["reference"], got.via) == ("INV-2", "message_id")


def test_given_more_ids_than_looked_up_then_only_the_first_twenty_count():
    ids = tuple(f"<{i}@x>" for i in range(30))
    lookups = FakeLookups(by_id={"<25@x>": ticket()})
    assert find_thread(mail(in_reply_to=ids), lookups) == Thread("new")


@pytest.mark.parametrize(
    ("contact", "sender", "threads"),
    [
        ({"customer": ANN}, "ann@example.com", True),
        ({"requester": {"name": "Bo", "email": "bo@example.com"}}, "bo@example.com", True),
        ({"customer": ANN}, "mallory@example.com", False),
        ({}, "ann@example.com", False),
    ],
)
def test_given_a_reference_in_the_subject_then_it_counts_only_from_the_customer_or_requester(contact, sender, threads):
    lookups = FakeLookups(by_ref={"INV-7": ticket("INV-7", **contact)})
    got = find_thread(mail(sender=sender, subject="Re: [inv-7] still broken"), lookups)
    assert (got.action, got.via) == (("reply", "reference") if threads else ("new", None))


def test_given_several_references_then_the_first_that_the_sender_may_use_wins():
    lookups = FakeLookups(by_ref={"INV-1": ticket("INV-1"), "INV-2": ticket("INV-2", customer=ANN)})
    got = find_thread(mail(subject="[INV-1] and [INV-2] and [INV-1]"), lookups)
    assert got.ticket["reference"] == "INV-2"
    assert lookups.asked == ["token", "reference INV-1", "reference INV-2"]


def test_given_a_closed_ticket_found_any_way_then_a_follow_up():
    for lookups in (FakeLookups(token=ticket(status="closed")),
                    FakeLookups(by_id={"<o@x>": ticket(status="closed")})):  # fmt: skip
        got = find_thread(mail(in_reply_to=("<o@x>",)), lookups)
        assert (got.action, got.ticket["status"]) == ("follow_up", "closed")


def test_given_nothing_known_then_a_new_ticket():
    assert find_thread(mail(subject="no reference"), FakeLookups()) == Thread("new")


# ---------------------------------------------------------------- who wrote it, what it is called


def test_given_the_customer_writes_then_the_author_is_the_customer_else_the_sender_as_requester():
    assert author(mail(), ANN) == {"type": "customer", "id": ANN["id"], "name": "Ann Lee", "email": "Ann@Example.com"}
    assert author(mail(sender="bob@example.com", sender_name=None), ANN) == {
        "type": "requester", "id": None, "name": None, "email": "bob@example.com"}  # fmt: skip
    assert author(mail(), None)["type"] == "requester"


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ("Re: [INV-12] Card declined", "Card declined"),
        ("RE: Fwd: AW: Printer", "Printer"),
        ("Re[2]: Printer", "Printer"),
        ("[INV-12] Re: Card", "Card"),
        ("Printer on fire [urgent]", "Printer on fire [urgent]"),
        ("Regarding: the invoice", "Regarding: the invoice"),
        ("", "(no subject)"),
        ("Re: ", "(no subject)"),
        ("x" * 300, "x" * 250),
    ],
)
def test_given_an_email_subject_then_the_ticket_subject_drops_reply_prefixes_and_our_reference(subject, expected):
    assert ticket_subject(subject) == expected


def test_given_a_huge_text_then_the_body_is_cut_within_the_comment_limits_and_says_so():
    body = body_text(mail(text="é" * 200_000), [])
    assert body.endswith("[truncated]")
    assert len(body) <= 65_536 and len(body.encode()) <= inbound.BODY_BYTES


def test_given_no_text_and_notes_then_the_body_says_so():
    assert (
        body_text(mail(text="  "), ["[attachment not kept: a.exe (x)]"])
        == "(no text)\n\n[attachment not kept: a.exe (x)]"
    )


def test_given_a_message_without_message_id_then_its_receipt_id_is_where_it_was_stored():
    stored = inbound.Stored("bucket", "inbound/abc", 10, 0)
    assert inbound.receipt_id(mail(), stored) == "<m@x>"
    synthetic = inbound.receipt_id(replace(mail(), message_id=None), stored)
    assert synthetic == inbound.receipt_id(replace(mail(), message_id=None, subject="other"), stored)
    assert synthetic != inbound.receipt_id(replace(mail(), message_id=None), replace(stored, key="inbound/abd"))
    assert synthetic.startswith("<") and synthetic.endswith("@stored.invalid>")


def test_given_an_s3_event_then_its_objects_are_read_with_keys_decoded_and_test_events_ignored():
    event = {"Records": [
        {"eventName": "ObjectCreated:Put", "eventTime": "2026-11-30T10:00:00.000Z",
         "s3": {"bucket": {"name": "b"}, "object": {"key": "inbound/a+b%2Bc", "size": 12}}},
        {"eventName": "ObjectRemoved:Delete", "s3": {"bucket": {"name": "b"}, "object": {"key": "inbound/x"}}},
    ]}  # fmt: skip
    (stored,) = inbound._events(event)
    assert (stored.bucket, stored.key, stored.size, stored.at_ms) == ("b", "inbound/a b+c", 12, 1796032800000)
    assert inbound._events({"Service": "Amazon S3", "Event": "s3:TestEvent"}) == []
