"""The reply email of a stored outbound comment (logic.reply_emails.compose and the decisions around it): pure,
no AWS. What leaves is bytes; the tests read them back the way a mail client would."""

from __future__ import annotations

import re
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest

from tickets.logic.reply_emails import MAX_ATTACHED_BYTES, Unsendable, compose, replies, stored_comment, to_attach
from tickets.models.events import DomainEvent

MID = "<01kq219w80dem0c0mment00000.inv-7@mail.example.com>"
EARLIER = ["<01kq219w80dem0c0mment0000a.inv-7@mail.example.com>", "<01kq219w80dem0c0mment0000b.inv-7@mail.example.com>"]


def stored(**changes: Any) -> dict[str, Any]:
    """A public reply as comments._outbound stores it (the second of its ticket's thread)."""
    comment = {
        "id": "01KQ219W80DEM0C0MMENT00000", "ticketId": "01KQ219W80DEM0T1CKET000000", "visibility": "public",
        "channel": "api", "direction": "outbound", "body": "Hello Ann,\n\nwe are on it.\nGrace",
        "author": {"type": "agent", "id": "01KQ219W80DEM0AGENT0000000", "name": "Grace", "email": "g@x.io"},
        "from": "tickets@example.com", "fromName": "Acme Support", "to": ["ann@example.org"], "messageId": MID,
        "replyTo": "reply+abcdefghijklmnopqrstuvwx@mail.example.com", "subject": "Re: [INV-7] Card declined",
        "inReplyTo": EARLIER[-1], "references": EARLIER, "attachments": [],
        "ticket": {"id": "01KQ219W80DEM0T1CKET000000", "reference": "INV-7", "subject": "Card declined"},
        "createdAt": "2026-04-25T10:00:00.123Z",
    }  # fmt: skip
    comment.update(changes)
    return {k: v for k, v in comment.items() if v is not None}  # as dal.comments stores it: no null attributes


def sent(message: EmailMessage) -> tuple[bytes, EmailMessage]:
    raw = message.as_bytes()
    parsed = message_from_bytes(raw, policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    return raw, parsed


def header_block(raw: bytes) -> str:
    return raw.split(b"\r\n\r\n", 1)[0].decode("ascii")


def parts(msg: EmailMessage) -> tuple[str, str]:
    text, page = msg.get_body(("plain",)), msg.get_body(("html",))
    assert text is not None and page is not None
    return text.get_content().replace("\r\n", "\n"), page.get_content().replace("\r\n", "\n")


# ---------------------------------------------------------------- headers


def test_given_a_threaded_reply_then_every_header_is_as_stored_and_nothing_is_added():
    raw, msg = sent(compose(stored()))

    headers = header_block(raw)
    assert headers.splitlines()[:8] == [
        "From: Acme Support <tickets@example.com>",
        "To: ann@example.org",
        "Reply-To: reply+abcdefghijklmnopqrstuvwx@mail.example.com",
        "Subject: Re: [INV-7] Card declined",
        "Date: Sat, 25 Apr 2026 10:00:00 +0000",
        f"Message-ID: {MID}",
        f"In-Reply-To: {EARLIER[1]}",
        f"References: {EARLIER[0]}",
    ]
    assert msg["References"] == " ".join(EARLIER)  # stored order, space-separated
    assert msg["MIME-Version"] == "1.0"
    names = {name.lower() for name in msg}
    assert "auto-submitted" not in names and "precedence" not in names  # a person's reply, not an automatic one
    assert (msg.get_content_type(), [p.get_content_type() for p in msg.iter_parts()]) == (
        "multipart/alternative",
        ["text/plain", "text/html"],
    )


def test_given_a_first_reply_without_inbound_email_then_no_reply_to_and_no_threading_headers():
    _, msg = sent(compose(stored(replyTo=None, inReplyTo=None, references=None)))

    assert msg["Reply-To"] is None and msg["In-Reply-To"] is None and msg["References"] is None
    assert msg["Message-ID"] == MID
    text, page = parts(msg)
    assert text.endswith("\n-- \nTicket INV-7.\n") and "Reply to this email" not in page


def test_given_a_reply_to_then_the_footer_names_the_reference_and_invites_a_reply():
    text, page = parts(sent(compose(stored()))[1])

    assert text == "Hello Ann,\n\nwe are on it.\nGrace\n\n-- \nTicket INV-7. Reply to this email to answer.\n"
    assert "Ticket INV-7. Reply to this email to answer." in page


def test_given_non_ascii_names_and_subject_then_the_bytes_are_ascii_and_read_back_unchanged():
    comment = stored(fromName="Crème Brûlée, Inc. \"Support\"", subject="Re: [INV-7] Ça ne marche pas — 請求書",
                     body="Grüße 👋\nnaïve")  # fmt: skip
    raw, msg = sent(compose(comment))

    assert raw.isascii()
    assert "=?utf-8?" in header_block(raw)
    assert msg["From"].addresses[0].display_name == 'Crème Brûlée, Inc. "Support"'
    assert msg["From"].addresses[0].addr_spec == "tickets@example.com"
    assert msg["Subject"] == "Re: [INV-7] Ça ne marche pas — 請求書"
    text, page = parts(msg)
    assert text.startswith("Grüße 👋\nnaïve\n") and "<p>Grüße 👋<br>\nnaïve</p>" in page


def test_given_message_ids_too_long_for_a_line_then_folded_between_ids_and_never_encoded():
    long = [f"<01kq219w80dem0c0mment0000{i}.inv-7@inbound.a-rather-long-subdomain.example-company.com>" for i in "ab"]
    raw, msg = sent(compose(stored(messageId=long[0].replace("0000a", "00000"), inReplyTo=long[1], references=long)))

    headers = header_block(raw)
    assert "=?" not in headers
    assert f"In-Reply-To: {long[1]}\r\n" in headers
    assert f"References: {long[0]}\r\n {long[1]}\r\n" in headers
    assert msg["References"].split() == long and msg["In-Reply-To"] == long[1]


def test_given_malformed_stored_threading_ids_then_they_are_left_out_not_sent_broken():
    _, msg = sent(compose(stored(inReplyTo="not an id", references=["<ok@x.io>", "<sp ace@x.io>", "<ü@x.io>", 7])))

    assert msg["In-Reply-To"] is None and msg["References"] == "<ok@x.io>"


def test_given_line_breaks_in_a_name_or_subject_then_no_header_is_injected():
    raw, msg = sent(compose(stored(fromName="Acme\r\nBcc: eve@evil.example", subject="Re: [INV-7] a\nBcc: eve@x.io")))

    assert "Bcc" not in msg and re.search(rb"^Bcc:", raw, re.M) is None
    assert msg["Subject"] == "Re: [INV-7] a Bcc: eve@x.io"
    assert msg["From"].addresses[0].display_name == "Acme Bcc: eve@evil.example"


@pytest.mark.parametrize(
    "address",
    ["ann", "ann@", "@example.org", "ann@example.org, eve@evil.example", "a b@example.org", "änn@example.org",
     "ann@example.org\r\nBcc: eve@evil.example", ""],
)  # fmt: skip
def test_given_a_recipient_no_email_can_go_to_then_unsendable(address):
    with pytest.raises(Unsendable):
        compose(stored(to=[address]))


def test_given_no_recipient_or_no_message_id_then_unsendable():
    with pytest.raises(Unsendable):
        compose(stored(to=[]))
    with pytest.raises(Unsendable):
        compose(stored(messageId="no-brackets@x.io"))


def test_given_an_internationalised_domain_then_the_address_goes_out_in_punycode():
    raw, msg = sent(compose(stored(to=["ann@bücher.example"])))

    assert msg["To"].addresses[0].addr_spec == "ann@xn--bcher-kva.example"
    assert b"To: ann@xn--bcher-kva.example\r\n" in raw


# ---------------------------------------------------------------- the body: as typed, escaped as HTML


def test_given_html_in_the_body_then_the_text_part_has_it_as_typed_and_the_html_part_only_escaped():
    body = 'Try <script>alert(1)</script>\n<img src=x onerror="alert(2)"> & <a href="javascript:x">this</a>'
    text, page = parts(sent(compose(stored(body=body)))[1])

    assert text.startswith(body + "\n")
    for markup in ("<script", "<img", "<a href", 'onerror="'):
        assert markup not in page
    assert "Try &lt;script&gt;alert(1)&lt;/script&gt;<br>" in page
    assert "&lt;img src=x onerror=&quot;alert(2)&quot;&gt; &amp; &lt;a href=&quot;javascript:x&quot;&gt;" in page
    assert re.findall(r"<(\w+)", page) == ["html", "head", "meta", "title", "body", "p", "br", "hr", "p"]


def test_given_a_subject_with_markup_then_the_html_title_is_escaped():
    _, page = parts(sent(compose(stored(subject="Re: [INV-7] <b>x</b>")))[1])

    assert "<title>Re: [INV-7] &lt;b&gt;x&lt;/b&gt;</title>" in page


def test_given_paragraphs_and_crlf_line_breaks_then_html_paragraphs_and_breaks():
    _, page = parts(sent(compose(stored(body="One\r\ntwo\r\n\r\n\r\nThree\n  \nFour\n\n")))[1])

    assert "<p>One<br>\ntwo</p>\n<p>Three</p>\n<p>Four</p>\n" in page


# ---------------------------------------------------------------- attachments


ATTACHMENTS = [
    {"id": "01KQ219W80DEM0ATTACH00000A", "filename": "invoice.pdf", "contentType": "application/pdf", "size": 5},
    {"id": "01KQ219W80DEM0ATTACH00000B", "filename": "Straße.png", "contentType": "image/png", "size": 3 * 2**20},
]


def test_given_files_then_attached_with_name_and_type_and_the_rest_named_in_both_parts():
    comment = stored(attachments=ATTACHMENTS)
    _, msg = sent(compose(comment, {ATTACHMENTS[0]["id"]: b"%PDF-"}))

    assert msg.get_content_type() == "multipart/mixed"
    (attached,) = list(msg.iter_attachments())
    assert (attached.get_filename(), attached.get_content_type()) == ("invoice.pdf", "application/pdf")
    assert attached.get_content() == b"%PDF-"
    text, page = parts(msg)
    assert "Not included in this email: Straße.png (3.0 MB)\n" in text and "invoice.pdf" not in text
    assert "<li>Straße.png (3.0 MB)</li>" in page


def test_given_no_files_then_every_attachment_is_named_and_none_attached():
    _, msg = sent(compose(stored(attachments=ATTACHMENTS)))

    assert list(msg.iter_attachments()) == []
    assert "Not included in this email: invoice.pdf (5 bytes), Straße.png (3.0 MB)" in parts(msg)[0]


def test_given_attachments_then_all_are_attached_up_to_10_mb_in_all_and_only_from_a_bucket():
    at_limit = [{**ATTACHMENTS[0], "size": MAX_ATTACHED_BYTES - 10}, {**ATTACHMENTS[1], "size": 10}]
    over = [{**ATTACHMENTS[0], "size": MAX_ATTACHED_BYTES - 10}, {**ATTACHMENTS[1], "size": 11}]

    assert to_attach(stored(attachments=at_limit), "bucket") == at_limit
    assert to_attach(stored(attachments=over), "bucket") == []
    assert to_attach(stored(attachments=at_limit), "") == []
    assert to_attach(stored(), "bucket") == []
    assert MAX_ATTACHED_BYTES == 10 * 1024 * 1024


# ---------------------------------------------------------------- which records are emailed


def _record(item: dict[str, Any], name: str = "INSERT") -> dict[str, Any]:
    from tickets.dal.client import serialize

    keys = {"PK": "TENANT#T1", "SK": f"COMMENT#{item['ticketId']}#{item['id']}"}
    image = {**keys, "type": "comment", "tenantId": "T1", **item}
    return {"eventID": "rec-1", "eventName": name, "dynamodb": {"Keys": serialize(keys), "NewImage": serialize(image)}}


def _events(record: dict[str, Any]) -> list[DomainEvent]:
    from tickets.events import domain_events

    return domain_events(record)


def test_given_a_public_outbound_comment_then_it_is_emailed_with_its_stored_fields():
    record = _record(stored())

    ((event, comment),) = replies(_events(record), record)
    assert event.type == "comment.created" and event.data["comment"]["id"] == comment["id"]
    assert comment == stored()  # as written: keys stripped, the email fields kept
    assert "replyTo" not in event.data["comment"]  # the public comment does not carry them


@pytest.mark.parametrize(
    "changes",
    [
        {"visibility": "internal"},  # an internal note is never emailed, whatever else it says
        {"direction": "inbound"},  # a customer's email, turned into a comment
        {"direction": None, "to": None, "messageId": None},  # a reply to nobody (no customer email)
    ],
)
def test_given_a_comment_that_is_no_public_outbound_reply_then_nothing_to_email(changes):
    record = _record(stored(**changes))

    assert replies(_events(record), record) == []


def test_given_a_redaction_or_a_ticket_record_then_no_stored_comment():
    assert stored_comment(_record(stored(), "MODIFY")) is None
    ticket = {"eventName": "INSERT", "dynamodb": {"NewImage": {"type": {"S": "ticket"}}}}
    assert stored_comment(ticket) is None
    assert stored_comment({"eventName": "INSERT", "dynamodb": {}}) is None
