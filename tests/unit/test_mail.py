"""Received mail as a pure module (tickets.logic.mail): parsing, charsets, HTML to text, quoted history, junk."""

from __future__ import annotations

import pytest

from tests.inbound_mail import raw_mail
from tickets.logic import mail
from tickets.logic.mail import Refused, html_to_text, junk_reason, parse, strip_quoted

OWN = frozenset({"tickets@example.com"})


def _junk(raw: bytes) -> str | None:
    return junk_reason(parse(raw), own_addresses=OWN, own_domain="mail.example.com")


# ---------------------------------------------------------------- parsing


def test_given_a_reply_with_ses_headers_then_every_field_the_consumer_needs_is_read():
    raw = raw_mail(
        sender='"Lee, Ann" <Ann@Example.COM>',
        to="Support <inv@mail.example.com>, bob@example.com",
        cc="carl@example.com",
        subject="Re: [INV-7] Card declined",
        message_id="<r1@example.com>",
        in_reply_to="<o2@mail.example.com>",
        references="<o1@mail.example.com> <o2@mail.example.com>",
        text="Thanks!\n",
    )

    got = parse(raw)

    assert (got.sender, got.sender_name, got.subject) == ("ann@example.com", "Lee, Ann", "Re: [INV-7] Card declined")
    assert got.message_id == "<r1@example.com>"
    assert got.in_reply_to == ("<o2@mail.example.com>", "<o1@mail.example.com>")  # the nearest first, once each
    assert (got.to, got.cc) == (("inv@mail.example.com", "bob@example.com"), ("carl@example.com",))
    assert got.recipients == ("inv@mail.example.com", "bob@example.com", "carl@example.com")
    assert got.text == "Thanks!"
    assert got.headers["x-ses-spam-verdict"] == "PASS"


def test_given_delivered_to_and_ses_envelope_recipient_then_they_are_recipients_too():
    raw = raw_mail(
        to="list@example.org", headers={"Delivered-To": "x@mail.example.com"}, envelope="bcc@mail.example.com"
    )
    assert parse(raw).recipients == ("list@example.org", "x@mail.example.com", "bcc@mail.example.com")


def test_given_the_envelope_recipient_of_ses_received_line_then_only_the_for_clause_counts():
    line = "from a.example by inbound-smtp.eu-west-1.amazonaws.com with SMTP id x for <Inv@Mail.example.com>; Mon"
    assert mail.envelope_recipient(line) == "inv@mail.example.com"
    assert mail.envelope_recipient("from a.example by b.example with SMTP id x; Mon, 30 Nov") is None


def test_given_encoded_words_and_raw_8bit_headers_then_both_decode():
    raw = (
        b"From: =?utf-8?b?w4VzYQ==?= <asa@example.com>\r\nTo: inv@mail.example.com\r\n"
        b"Subject: Caf\xc3\xa9 and =?iso-8859-1?q?cr=E8me?=\r\n\r\nhi\r\n"
    )
    got = parse(raw)
    assert (got.sender_name, got.subject) == ("Åsa", "Café and crème")


def test_given_a_windows_1252_raw_header_then_it_decodes_as_such():
    raw = b"From: ann@example.com\r\nTo: inv@mail.example.com\r\nSubject: na\xefve \x80 price\r\n\r\nhi\r\n"
    assert parse(raw).subject == "naïve € price"


@pytest.mark.parametrize(
    ("charset", "body", "text"),
    [
        ("iso-8859-1", "Le café".encode("latin-1"), "Le café"),
        ("windows-1252", "€ 5".encode("cp1252"), "€ 5"),
        ("shift_jis", "こんにちは".encode("shift_jis"), "こんにちは"),
        ("koi8-r", "привет".encode("koi8-r"), "привет"),
        ("x-unknown-charset", b"plain ascii", "plain ascii"),
        ("utf-8", b"one bad \xff byte", "one bad \ufffd byte"),
    ],
)
def test_given_a_declared_charset_then_the_text_decodes_in_it(charset, body, text):
    raw = (
        b"From: ann@example.com\r\nTo: inv@mail.example.com\r\nSubject: x\r\n"
        + f"Content-Type: text/plain; charset={charset}\r\nContent-Transfer-Encoding: 8bit\r\n\r\n".encode()
        + body
    )
    assert parse(raw).text == text


def test_given_undeclared_8bit_text_that_is_not_utf_8_then_it_is_refused_as_undecodable():
    raw = b"From: ann@example.com\r\nTo: inv@mail.example.com\r\nSubject: x\r\n\r\n" + bytes(range(128, 256)) * 4
    with pytest.raises(Refused) as refused:
        parse(raw)
    assert refused.value.outcome == "undecodable"


def test_given_control_characters_and_nul_in_the_text_then_they_are_removed():
    raw = b"From: ann@example.com\r\nTo: inv@mail.example.com\r\nSubject: x\r\n\r\nbell\x07 nul\x00 tab\tend\r\n"
    assert parse(raw).text == "bell nul tab\tend"


def test_given_only_html_then_its_text_is_kept_and_given_both_the_plain_text_wins():
    assert parse(raw_mail(text=None, html="<p>Hello <i>you</i></p>")).text == "Hello you"
    assert parse(raw_mail(text="plain version", html="<p>html version</p>")).text == "plain version"


def test_given_attachments_then_they_are_read_with_safe_names_and_a_forward_is_one_part():
    raw = raw_mail(attachments=(("../../etc/passwd.txt", "text/plain", b"root"), ("a.pdf", "application/pdf", b"%PDF")))
    got = parse(raw)
    assert [(a.filename, a.content_type, a.payload) for a in got.attachments] == [
        ("passwd.txt", "text/plain", b"root"),
        ("a.pdf", "application/pdf", b"%PDF"),
    ]
    assert got.text == "It is on fire since this morning."


@pytest.mark.parametrize(
    ("raw", "outcome"),
    [
        (b"To: inv@mail.example.com\r\nSubject: no sender\r\n\r\nhi", "malformed"),
        (b"From: not an address\r\nTo: inv@mail.example.com\r\n\r\nhi", "malformed"),
        (b"", "malformed"),
        (b"\x00\x01\x02" * 1000, "malformed"),
        (b"From: a@example.com\r\n" + b"\n--x" * (mail.MAX_DELIMITER_LINES + 1), "bomb"),
    ],
)
def test_given_unusable_input_then_it_is_refused_with_its_outcome(raw, outcome):
    with pytest.raises(Refused) as refused:
        parse(raw)
    assert refused.value.outcome == outcome


def _nested(depth: int) -> bytes:
    head, tail = "", ""
    for level in range(depth):
        head += f'Content-Type: multipart/mixed; boundary="b{level}"\r\n\r\n--b{level}\r\n'
        tail = f"\r\n--b{level}--\r\n" + tail
    return f"From: a@example.com\r\nTo: inv@mail.example.com\r\n{head}Content-Type: text/plain\r\n\r\nx{tail}".encode()


def _many(parts: int) -> bytes:
    body = "".join(f"--b\r\nContent-Type: text/plain\r\n\r\n{i}\r\n" for i in range(parts))
    return f'From: a@example.com\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n{body}--b--\r\n'.encode()


def test_given_nesting_or_part_counts_at_and_over_the_limits_then_only_over_is_a_bomb():
    assert parse(_nested(mail.MAX_DEPTH)).text == "x"
    assert parse(_many(mail.MAX_PARTS - 1)).text == "0"
    for raw in (_nested(mail.MAX_DEPTH + 1), _many(mail.MAX_PARTS)):
        with pytest.raises(Refused) as refused:
            parse(raw)
        assert refused.value.outcome == "bomb"


def test_given_a_huge_text_or_html_part_then_only_its_beginning_is_read():
    long_text = parse(raw_mail(text="a" * (mail.MAX_TEXT_CHARS + 500_000))).text
    assert long_text == "a" * mail.MAX_TEXT_CHARS
    long_html = parse(raw_mail(text=None, html="<p>" + "b" * (mail.MAX_HTML_CHARS + 500_000) + "</p>")).text
    assert long_html == "b" * (mail.MAX_HTML_CHARS - 3)  # the cut happens before conversion


def test_given_more_than_40_mb_then_it_is_refused_as_too_large():
    with pytest.raises(Refused) as refused:
        parse(b"x" * (mail.MAX_MESSAGE_BYTES + 1))
    assert refused.value.outcome == "too_large"


# ---------------------------------------------------------------- HTML to text


@pytest.mark.parametrize(
    ("html", "text"),
    [
        ("<p>Hello <b>Ann</b></p><p>Bye</p>", "Hello Ann\n\nBye"),
        ("a<br>b<br/>c", "a\nb\nc"),
        ("<ul><li>one</li><li>two</li></ul>", "- one\n- two"),
        ('<a href="https://x.example/p?a=1&amp;b=2">the page</a>', "the page (https://x.example/p?a=1&b=2)"),
        ('<a href="https://x.example">https://x.example</a>', "https://x.example"),
        ('<a href="javascript:alert(1)">click</a>', "click"),
        ('<a href="mailto:ann@example.com">write</a>', "write (ann@example.com)"),
        ("<script>alert(1)</script><style>p{}</style>visible", "visible"),
        ("<head><title>T</title></head><body>only body</body>", "only body"),
        ("&lt;script&gt;alert(1)&lt;/script&gt; &amp; &#233;", "<script>alert(1)</script> & é"),
        ('<img src="x.png" alt="logo"> text', "[logo] text"),
        ("<blockquote>quoted<br>lines</blockquote>new", "> quoted\n> lines\n\nnew"),
        ("<pre>  keep   spacing</pre>", "keep   spacing"),
        ("<p>unclosed <b>bold", "unclosed bold"),
        ("<div><div>deep</div></div>", "deep"),
    ],
)
def test_given_html_then_the_text_a_reader_saw_and_never_markup(html, text):
    assert html_to_text(html) == text


# ---------------------------------------------------------------- quoted history


@pytest.mark.parametrize(
    ("text", "new"),
    [
        ("Thanks!\n\nOn Mon, 30 Nov 2026 at 09:00, Support <s@x.com> wrote:\n> old\n> older", "Thanks!"),
        ("Thanks!\nOn Mon, 30 Nov 2026 at 09:00, Support\n<s@x.com> wrote:\n> old", "Thanks!"),
        ("Danke\n\nAm 30.11.2026 um 09:00 schrieb Support <s@x.com>:\n> alt", "Danke"),
        ("Merci\n\nLe lun. 30 nov. 2026 à 09:00, Support a écrit :\n> vieux", "Merci"),
        ("Yes.\n\n-----Original Message-----\nFrom: Support\nSent: Monday\nTo: Ann\nSubject: x\n\nold", "Yes."),
        ("Yes.\n\n________________________________\nFrom: Support <s@x.com>\nSent: Monday\nTo: Ann\n\nold", "Yes."),
        ("Yes.\n\nFrom: Support <s@x.com>\nDate: Monday\nSubject: x\n\nold", "Yes."),
        ("New text\n\n> quoted tail\n> more\n\n", "New text"),
    ],
)
def test_given_a_reply_with_quoted_history_then_only_the_new_part_is_kept(text, new):
    assert strip_quoted(text) == new


@pytest.mark.parametrize(
    "text",
    [
        "> you asked\nmy answer\n> and this\nanother answer",  # an inline answer keeps its quotes
        "From: the start of a sentence that looks like a header\nand goes on.",  # no Sent:/To: block under it
        "I wrote: hello\nOn second thought, no.",  # no attribution line
        "-- \nAnn Lee\nSupport at Example",  # a signature is not history
    ],
)
def test_given_text_that_only_looks_like_history_then_it_is_kept_whole(text):
    assert strip_quoted(text) == text


def test_given_a_mail_that_is_all_quote_then_it_is_kept_rather_than_emptied():
    forwarded = "---------- Original Message ----------\nFrom: a\nTo: b\nSubject: c\n\nthe forwarded text"
    assert strip_quoted(forwarded) == forwarded
    assert strip_quoted("> only a quote") == "> only a quote"


# ---------------------------------------------------------------- junk


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        ({"headers": {"Auto-Submitted": "auto-replied"}}, "auto_reply"),
        ({"headers": {"Auto-Submitted": "Auto-Generated; owner-email=x@y"}}, "auto_reply"),
        ({"headers": {"X-Autoreply": "yes"}}, "auto_reply"),
        ({"headers": {"X-Autorespond": "Out of office"}}, "auto_reply"),
        ({"headers": {"Precedence": "bulk"}}, "bulk"),
        ({"headers": {"Precedence": "JUNK"}}, "bulk"),
        ({"headers": {"Precedence": "list"}}, "bulk"),
        ({"sender": "Tickets <Tickets@Example.com>"}, "own_mail"),
        ({"sender": "reply+abc@mail.example.com"}, "own_mail"),
        ({"ses": {"X-SES-Spam-Verdict": "FAIL"}}, "spam"),
        ({"ses": {"X-SES-Virus-Verdict": "FAIL"}}, "virus"),
        ({"ses": {"X-SES-Virus-Verdict": "FAIL", "X-SES-Spam-Verdict": "FAIL"}}, "virus"),
        ({"headers": {"Auto-Submitted": "no"}}, None),
        ({"headers": {"Precedence": "first-class"}}, None),
        ({"ses": {"X-SES-Spam-Verdict": "GRAY", "X-SES-Virus-Verdict": "PROCESSING_FAILED"}}, None),
        ({"sender": "ann@sub.mail.example.com"}, None),
    ],
)
def test_given_a_message_then_junk_reason_names_why_it_is_dropped_or_none(kwargs, reason):
    assert _junk(raw_mail(**kwargs)) == reason


def test_given_a_delivery_report_then_it_is_an_auto_reply():
    raw = (
        b"From: MAILER-DAEMON@example.org\r\nTo: inv@mail.example.com\r\nSubject: Undelivered\r\n"
        b'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\r\n\r\n'
        b"--b\r\nContent-Type: text/plain\r\n\r\nIt bounced.\r\n--b--\r\n"
    )
    assert _junk(raw) == "auto_reply"


def test_given_a_verdict_forged_below_the_one_ses_added_then_the_topmost_counts():
    raw = raw_mail(ses={"X-SES-Spam-Verdict": "FAIL"}, headers={"X-SES-Spam-Verdict": "PASS"})
    assert _junk(raw) == "spam"
