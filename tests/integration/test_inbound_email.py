"""Inbound email through the real pipeline in-process: a raw message stored where SES stores it (the template's
inbound bucket, under its prefix), S3's own notification to the template's queue, and the real consumer
(ReceiveInboundEmailFunction) run by tools.eventsources with the template's batch size, partial failures and
redrive, against moto. What it wrote is read back from the table, S3 and the API; what it dropped from the
InboundEmails metric it printed."""

from __future__ import annotations

import json
import secrets
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest

from tests.conftest import TABLE, TenantKey, call, items, make_tenant, reset_caches
from tests.inbound_mail import raw_mail
from tests.integration.test_metrics import emitted, m
from tests.integration.test_pipeline import fail_once_on_call
from tools import template
from tools.events import FakeContext
from tools.eventsources import EventSources

FUNCTIONS = template.functions()
CONSUMER = "ReceiveInboundEmailFunction"
DOMAIN = "mail.example.com"
ANN = "Ann Lee <ann@example.com>"


@dataclass
class Mailroom:
    ddb: Any
    s3: Any
    sqs: Any
    runner: EventSources
    refs: dict[str, str]
    capsys: Any
    results: list[Any] = field(default_factory=list)
    metrics: Counter[Any] = field(default_factory=Counter)

    @property
    def bucket(self) -> str:
        return self.refs["InboundMailBucket"]

    def store(self, raw: bytes, key: str | None = None) -> str:
        """Store a message as SES's S3 action does; S3 notifies the queue."""
        key = key or "inbound/" + secrets.token_hex(20)
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=raw)
        return key

    def run(self) -> None:
        self.runner.run_until_idle(timeout=60, quiet=0.2)
        self.metrics.update(emitted(self.capsys.readouterr().out))

    def receive(self, raw: bytes, key: str | None = None) -> str:
        key = self.store(raw, key)
        self.run()
        return key

    def notify_again(self, key: str, size: int | None = None) -> None:
        """The queue gets another notification for a stored object (S3 and SQS deliver at least once)."""
        obj = {"key": key, "size": size if size is not None else self.s3.head_object(Bucket=self.bucket, Key=key)[
            "ContentLength"]}  # fmt: skip
        record = {"eventName": "ObjectCreated:Put", "eventTime": "2026-11-30T10:00:01.000Z",
                  "s3": {"bucket": {"name": self.bucket}, "object": obj}}  # fmt: skip
        self.sqs.send_message(QueueUrl=self.refs["InboundMailQueue"], MessageBody=json.dumps({"Records": [record]}))

    def outcomes(self) -> Counter[str]:
        return Counter({dims[0][1]: n for (name, dims), n in self.metrics.items() if name == "InboundEmails"})

    def queue_depth(self, queue: str) -> int:
        attrs = self.sqs.get_queue_attributes(QueueUrl=self.refs[queue], AttributeNames=["All"])["Attributes"]
        return int(attrs["ApproximateNumberOfMessages"]) + int(attrs["ApproximateNumberOfMessagesNotVisible"])

    def stored(self, tenant: TenantKey, kind: str) -> list[dict[str, Any]]:
        return [i for i in items(self.ddb, f"TENANT#{tenant.tenant_id}") if i.get("type") == kind]

    def api(self, method: str, path: str, tenant: TenantKey, body: Any = None, query: Any = None) -> Any:
        resp = call(method, path, key=tenant.key, body=body, query=query, apply_env=False)
        assert resp.status < 300, resp.body
        return resp.json


@pytest.fixture
def mailroom(aws: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Any:
    """The template's queues and buckets in moto, every function's environment with InboundEmailDomain set, and a
    runner for the inbound consumer only (SQS, as Lambda polls it)."""
    sqs, s3 = boto3.client("sqs", region_name="us-east-1"), boto3.client("s3", region_name="us-east-1")
    queues = template.create_queues(sqs)
    buckets = template.create_buckets(s3, queues)
    parameters = {"InboundEmailDomain": DOMAIN, "LogLevel": "WARNING"}
    refs = template.build_refs(
        table=template.table_refs(aws, TABLE), queues=queues, parameters=parameters, buckets=buckets
    )
    for key, val in template.resolve_function_env(FUNCTIONS[CONSUMER], refs, strict=True).items():
        monkeypatch.setenv(key, val)
    monkeypatch.setenv("CURSOR_SIGNING_KEY", template.resolve_env(FUNCTIONS["ListTicketsFunction"].environment, refs)[
        "CURSOR_SIGNING_KEY"])  # fmt: skip
    reset_caches()
    room: Mailroom

    def invoke(fn: template.Function, event: dict[str, Any]) -> Any:
        """The handler; its answer (or, when every message of the batch failed, what it raised) is kept."""
        try:
            result = template.load_handler(fn)(event, FakeContext(fn.name))
        except Exception as exc:
            room.results.append(exc)
            raise
        room.results.append(result)
        return result

    runner = EventSources([FUNCTIONS[CONSUMER]], invoke, refs=refs, retry_backoff=(0, 0), failed_message_visibility=0)
    room = Mailroom(aws, s3, sqs, runner, refs, capsys)
    room.run()  # S3's test event, sent when the notification was configured
    room.metrics.clear()
    room.results.clear()
    yield room
    reset_caches()


def ticket_of(room: Mailroom, tenant: TenantKey, ticket_id: str) -> dict[str, Any]:
    return room.api("GET", f"/v1/tickets/{ticket_id}", tenant)


def comments_of(room: Mailroom, tenant: TenantKey, ticket_id: str) -> list[dict[str, Any]]:
    return room.api("GET", f"/v1/tickets/{ticket_id}/comments", tenant)["data"]


def tickets_of(room: Mailroom, tenant: TenantKey) -> list[dict[str, Any]]:
    return room.api("GET", "/v1/tickets", tenant, query={"sort": "createdAt"})["data"]


# ---------------------------------------------------------------- a new email opens a ticket


def test_given_an_email_to_the_tenant_address_then_a_ticket_opens_with_the_email_as_its_first_comment(mailroom, tenant):
    raw = raw_mail(sender=ANN, to="Support <INV@Mail.Example.com>", cc="bob@example.com",
                   subject="Printer on fire", message_id="<m1@example.com>")  # fmt: skip

    mailroom.receive(raw)

    (ticket,) = tickets_of(mailroom, tenant)
    assert (ticket["subject"], ticket["channel"], ticket["status"]) == ("Printer on fire", "email", "new")
    assert ticket["requester"] == {"name": "Ann Lee", "email": "ann@example.com", "phone": None}
    assert ticket["customerId"] is None and ticket["description"] == "It is on fire since this morning."
    assert (ticket["commentCount"], ticket["lastCommentAt"]) == (1, ticket["createdAt"])
    (comment,) = comments_of(mailroom, tenant, ticket["id"])
    assert comment["body"] == "It is on fire since this morning."
    assert (comment["visibility"], comment["channel"], comment["direction"]) == ("public", "email", "inbound")
    assert comment["author"] == {"type": "requester", "id": None, "name": "Ann Lee", "email": "ann@example.com"}
    assert (comment["from"], comment["fromName"], comment["messageId"]) == ("ann@example.com", "Ann Lee",
                                                                             "<m1@example.com>")  # fmt: skip
    assert (comment["to"], comment["cc"]) == (["inv@mail.example.com"], ["bob@example.com"])
    (lookup,) = mailroom.stored(tenant, "messageid")
    assert (lookup["ticketId"], lookup["commentId"]) == (ticket["id"], comment["id"])
    stored = next(i for i in mailroom.stored(tenant, "ticket"))
    assert stored["messageIds"] == ["<m1@example.com>"]
    assert mailroom.outcomes() == {"new_ticket": 1}
    assert mailroom.metrics[m("TicketsCreated", channel="email")] == 1
    assert mailroom.queue_depth("InboundMailQueue") == mailroom.queue_depth("InboundMailDLQ") == 0


def test_given_a_customer_with_the_senders_email_then_the_new_ticket_is_theirs_and_so_is_the_comment(mailroom, tenant):
    older = mailroom.api(
        "POST", "/v1/customers", tenant, {"externalId": "c1", "name": "Ann L.", "email": "ANN@example.com"}
    )
    mailroom.api("POST", "/v1/customers", tenant, {"externalId": "c2", "name": "Ann (dup)", "email": "ann@example.com"})

    mailroom.receive(raw_mail(sender=ANN))

    (ticket,) = tickets_of(mailroom, tenant)
    assert ticket["customerId"] == older["id"]  # several customers share the address: the oldest
    assert ticket["customer"]["externalId"] == "c1"
    (comment,) = comments_of(mailroom, tenant, ticket["id"])
    assert comment["author"] == {"type": "customer", "id": older["id"], "name": "Ann L.", "email": "ANN@example.com"}
    assert mailroom.api("GET", "/v1/tickets", tenant, query={"customerId": older["id"]})["total"] == 1


# ---------------------------------------------------------------- replies thread into their ticket


def _answered(room: Mailroom, tenant: TenantKey, **fields: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """A ticket of Ann's (a customer) that an agent answered by email: the ticket, and the outbound comment as
    stored (its Reply-To, Message-ID and subject, what the email carried)."""
    customer = room.api("POST", "/v1/customers", tenant, {"externalId": "ann", "name": "Ann Lee",
                                                           "email": "ann@example.com"})  # fmt: skip
    ticket = room.api("POST", "/v1/tickets", tenant, {"subject": "Card declined", "customerId": customer["id"],
                                                        **fields})  # fmt: skip
    reply = room.api("POST", f"/v1/tickets/{ticket['id']}/comments", tenant,
                     {"body": "Could you send the error?", "status": "pending"})  # fmt: skip
    stored = next(c for c in room.stored(tenant, "comment") if c["id"] == reply["id"])
    return ticket, stored


def test_given_a_reply_to_the_reply_token_address_then_it_is_a_comment_by_the_customer_and_reopens_the_ticket(
    mailroom, tenant
):
    ticket, outbound = _answered(mailroom, tenant)
    assert ticket_of(mailroom, tenant, ticket["id"])["status"] == "pending"
    token_address = outbound["replyTo"]
    assert token_address.startswith("reply+") and token_address.endswith(f"@{DOMAIN}")

    mailroom.receive(raw_mail(sender="ann@example.com", to=token_address, subject="Re: whatever the client made of it",
                              text="Here it is: E-402.\n\nOn Mon, 30 Nov 2026 at 09:00, Support wrote:\n> Could you?",
                              message_id="<r1@example.com>"))  # fmt: skip

    after = ticket_of(mailroom, tenant, ticket["id"])
    assert (after["status"], after["commentCount"]) == ("open", 2)
    inbound = comments_of(mailroom, tenant, ticket["id"])[-1]
    assert inbound["body"] == "Here it is: E-402."  # quoted history stripped
    assert inbound["author"]["type"] == "customer" and inbound["author"]["email"] == "ann@example.com"
    assert (inbound["direction"], inbound["messageId"]) == ("inbound", "<r1@example.com>")
    assert after["firstRespondedAt"] == outbound["createdAt"]  # the customer's reply is no response
    assert tickets_of(mailroom, tenant) == [after]
    assert mailroom.outcomes() == {"comment": 1}

    # the agent's next reply answers the customer's message
    nxt = mailroom.api("POST", f"/v1/tickets/{ticket['id']}/comments", tenant, {"body": "Thanks, fixed."})
    stored = next(c for c in mailroom.stored(tenant, "comment") if c["id"] == nxt["id"])
    assert stored["inReplyTo"] == "<r1@example.com>"
    assert stored["references"] == [outbound["messageId"], "<r1@example.com>"]


def test_given_a_reply_naming_our_message_id_then_it_threads_without_a_token(mailroom, tenant):
    ticket, outbound = _answered(mailroom, tenant)

    mailroom.receive(
        raw_mail(
            sender="someone.else@example.org",
            to=f"inv@{DOMAIN}",
            subject="Re: hm",
            in_reply_to="<unknown@example.org>",
            references=f"{outbound['messageId']} <x@y.org>",
        )
    )

    (only,) = tickets_of(mailroom, tenant)
    assert only["id"] == ticket["id"] and only["commentCount"] == 2
    inbound = comments_of(mailroom, tenant, ticket["id"])[-1]
    assert inbound["author"] == {"type": "requester", "id": None, "name": None, "email": "someone.else@example.org"}


def test_given_a_reference_in_the_subject_then_it_threads_only_when_the_customer_or_requester_sent_it(mailroom, tenant):
    ticket = mailroom.api(
        "POST",
        "/v1/tickets",
        tenant,
        {"subject": "Lost parcel", "status": "resolved", "requester": {"name": "Bo", "email": "bo@example.com"}},
    )
    ref = ticket["reference"]

    mailroom.receive(
        raw_mail(sender="Bo <BO@example.com>", subject=f"Re: [{ref.lower()}] Lost parcel", text="Still lost")
    )
    mailroom.receive(raw_mail(sender="mallory@example.net", subject=f"[{ref}] Lost parcel", text="Me too"))

    first, second = tickets_of(mailroom, tenant)
    assert first["id"] == ticket["id"] and (first["status"], first["commentCount"]) == ("open", 1)
    assert comments_of(mailroom, tenant, ticket["id"])[0]["author"]["type"] == "requester"
    assert (second["subject"], second["requester"]["email"]) == ("Lost parcel", "mallory@example.net")
    assert second["parentId"] is None
    assert mailroom.outcomes() == {"comment": 1, "new_ticket": 1}


@pytest.mark.slow  # every status
@pytest.mark.parametrize(
    ("status", "after"),
    [("pending", "open"), ("resolved", "open"), ("open", "open"), ("new", "new"), ("on_hold", "on_hold"),
     ("in_progress", "in_progress")],
)  # fmt: skip
def test_given_a_customer_reply_then_only_pending_and_resolved_tickets_reopen(mailroom, tenant, status, after):
    ticket, outbound = _answered(mailroom, tenant)
    mailroom.api("PATCH", f"/v1/tickets/{ticket['id']}", tenant, {"status": status})

    mailroom.receive(raw_mail(sender="ann@example.com", to=outbound["replyTo"], text="Any news?"))

    got = ticket_of(mailroom, tenant, ticket["id"])
    assert (got["status"], got["commentCount"]) == (after, 2)
    assert (got["resolvedAt"] is None) == (after != "resolved")


def test_given_a_reply_to_a_closed_ticket_then_a_follow_up_ticket_opens_with_the_parent_set(mailroom, tenant):
    ticket, outbound = _answered(mailroom, tenant)
    mailroom.api("PATCH", f"/v1/tickets/{ticket['id']}", tenant, {"status": "closed"})

    mailroom.receive(
        raw_mail(
            sender="Ann Lee <ann@example.com>",
            to=outbound["replyTo"],
            subject=f"Re: [{ticket['reference']}] Card declined",
            text="It happened again",
        )
    )

    closed, follow_up = tickets_of(mailroom, tenant)
    assert closed["id"] == ticket["id"] and (closed["status"], closed["commentCount"]) == ("closed", 1)
    assert follow_up["parentId"] == ticket["id"] and follow_up["channel"] == "email"
    assert (follow_up["subject"], follow_up["customerId"]) == ("Card declined", ticket["customerId"])
    (comment,) = comments_of(mailroom, tenant, follow_up["id"])
    assert comment["body"] == "It happened again" and comment["author"]["type"] == "customer"
    assert mailroom.outcomes() == {"follow_up": 1}


def test_given_a_ticket_with_5000_comments_then_a_reply_continues_in_a_follow_up(mailroom, tenant):
    from tickets.dal.client import serialize

    ticket, outbound = _answered(mailroom, tenant)
    key = serialize({"PK": f"TENANT#{tenant.tenant_id}", "SK": f"TICKET#{ticket['id']}"})
    mailroom.ddb.update_item(TableName=TABLE, Key=key, UpdateExpression="SET commentCount = :n",
                             ExpressionAttributeValues={":n": {"N": "5000"}})  # fmt: skip

    mailroom.receive(raw_mail(sender="ann@example.com", to=outbound["replyTo"], text="One more thing"))

    full, follow_up = tickets_of(mailroom, tenant)
    assert (full["id"], full["commentCount"], follow_up["parentId"]) == (ticket["id"], 5000, ticket["id"])
    assert comments_of(mailroom, tenant, follow_up["id"])[0]["body"] == "One more thing"
    assert mailroom.outcomes() == {"follow_up": 1}


# ---------------------------------------------------------------- loops and junk: dropped, logged, counted, unanswered

JUNK = {
    "auto_reply": {"headers": {"Auto-Submitted": "auto-replied"}},
    "auto_reply (X-Autoreply)": {"headers": {"X-Autoreply": "yes"}},
    "bulk": {"headers": {"Precedence": "bulk"}},
    "bulk (list)": {"headers": {"Precedence": "List"}},
    "own_mail": {"sender": "Tickets <TICKETS@example.com>"},  # the template's SenderEmail
    "own_mail (inbound address)": {"sender": f"reply+abcdefghijklmnop@{DOMAIN}"},
    "spam": {"ses": {"X-SES-Spam-Verdict": "FAIL"}},
    "virus": {"ses": {"X-SES-Virus-Verdict": "FAIL"}},
    "unknown_recipient": {"to": "nobody@mail.example.com"},
    "unknown_recipient (reply token)": {"to": f"reply+zzzzzzzzzzzzzzzzzzzzzzzz@{DOMAIN}"},
    "unknown_recipient (other domain)": {"to": "inv@example.org"},
}


@pytest.mark.slow  # every junk rule
@pytest.mark.parametrize("case", list(JUNK))
def test_given_junk_or_a_loop_then_it_is_dropped_counted_and_nothing_is_written(mailroom, tenant, case):
    ticket, _ = _answered(mailroom, tenant)  # a ticket the junk could thread into
    before = items(mailroom.ddb, f"TENANT#{tenant.tenant_id}")

    mailroom.receive(raw_mail(**JUNK[case]))

    assert items(mailroom.ddb, f"TENANT#{tenant.tenant_id}") == before
    assert mailroom.outcomes() == {case.split(" ")[0]: 1}
    assert [r["batchItemFailures"] for r in mailroom.results] == [[]]
    assert mailroom.queue_depth("InboundMailQueue") == mailroom.queue_depth("InboundMailDLQ") == 0
    assert ticket_of(mailroom, tenant, ticket["id"])["commentCount"] == 1


def test_given_a_spam_verdict_forged_below_the_one_ses_added_then_ses_verdict_counts(mailroom, tenant):
    raw = raw_mail(ses={"X-SES-Spam-Verdict": "FAIL"}, headers={"X-SES-Spam-Verdict": "PASS"})
    mailroom.receive(raw)
    assert mailroom.outcomes() == {"spam": 1} and tickets_of(mailroom, tenant) == []


def test_given_an_auto_submitted_no_header_then_the_mail_is_a_person_s_and_is_kept(mailroom, tenant):
    mailroom.receive(raw_mail(headers={"Auto-Submitted": "no", "Precedence": "first-class"}))
    assert mailroom.outcomes() == {"new_ticket": 1}


# ---------------------------------------------------------------- idempotent per stored message


def test_given_the_same_stored_message_notified_twice_then_one_ticket_and_one_comment(mailroom, tenant):
    key = mailroom.receive(raw_mail(message_id="<once@example.com>"))
    mailroom.notify_again(key)
    mailroom.run()

    (only,) = tickets_of(mailroom, tenant)
    assert only["commentCount"] == 1 and len(mailroom.stored(tenant, "comment")) == 1
    assert mailroom.outcomes() == {"new_ticket": 1, "duplicate": 1}


def test_given_a_reply_stored_twice_by_ses_then_the_second_copy_adds_nothing(mailroom, tenant):
    ticket, outbound = _answered(mailroom, tenant)
    raw = raw_mail(sender="ann@example.com", to=outbound["replyTo"], message_id="<twice@example.com>")

    mailroom.receive(raw)
    mailroom.receive(raw)  # another object, the same message (the sender's server sent it again)

    assert ticket_of(mailroom, tenant, ticket["id"])["commentCount"] == 2
    assert mailroom.outcomes() == {"comment": 1, "duplicate": 1}


def test_given_messages_without_a_message_id_then_each_stored_object_is_kept_once(mailroom, tenant):
    key = mailroom.receive(raw_mail(message_id=None, subject="first"))
    mailroom.notify_again(key)
    mailroom.receive(raw_mail(message_id=None, subject="second"))
    mailroom.run()

    assert [t["subject"] for t in tickets_of(mailroom, tenant)] == ["first", "second"]
    assert mailroom.outcomes() == {"new_ticket": 2, "duplicate": 1}


def test_given_the_write_fails_midway_once_when_the_queue_redelivers_then_it_converges_to_one_ticket(
    mailroom, tenant, monkeypatch
):
    """The number is taken and the attachment file written, then the ticket's transaction fails: the message is
    reported failed, delivered again, and the second attempt makes the one ticket and comment."""
    from tickets.dal import tickets as tickets_dal

    bucket = _attachments_bucket(mailroom, monkeypatch)
    fired: list[int] = []
    monkeypatch.setattr(tickets_dal, "create", fail_once_on_call(1, tickets_dal.create, fired))
    mailroom.receive(raw_mail(attachments=(("invoice.pdf", "application/pdf", PDF),)))

    assert fired == [1]
    (ticket,) = tickets_of(mailroom, tenant)
    assert ticket["number"] == 2  # the first attempt's number is a gap; its quota unit was given back
    (comment,) = comments_of(mailroom, tenant, ticket["id"])
    (attachment,) = comment["attachments"]
    assert [o["Key"] for o in mailroom.s3.list_objects_v2(Bucket=bucket).get("Contents", [])] == [
        f"t/{tenant.tenant_id}/{attachment['id']}"]  # rewritten by the retry, not copied  # fmt: skip
    assert [type(r).__name__ for r in mailroom.results] == ["BatchProcessingError", "dict"]  # failed, then done
    usage = mailroom.api("GET", "/v1/usage", tenant)
    assert usage["ticketsCreated"] == 1


def test_given_a_reply_whose_comment_write_fails_once_then_the_retry_adds_it_once(mailroom, tenant, monkeypatch):
    from tickets.dal import tickets as tickets_dal

    ticket, outbound = _answered(mailroom, tenant)
    fired: list[int] = []
    monkeypatch.setattr(tickets_dal, "replace", fail_once_on_call(1, tickets_dal.replace, fired))
    mailroom.receive(raw_mail(sender="ann@example.com", to=outbound["replyTo"]))

    assert fired == [1] and ticket_of(mailroom, tenant, ticket["id"])["commentCount"] == 2
    assert mailroom.outcomes() == {"comment": 1}


def test_given_a_message_that_keeps_failing_then_it_lands_in_the_dead_letter_queue(mailroom, tenant, monkeypatch):
    from tickets.dal import tickets as tickets_dal

    def always(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("injected: DynamoDB is down")

    monkeypatch.setattr(tickets_dal, "create", always)
    mailroom.receive(raw_mail())

    assert len(mailroom.results) == 5  # the template's maxReceiveCount
    assert {type(r).__name__ for r in mailroom.results} == {"BatchProcessingError"}
    assert mailroom.queue_depth("InboundMailQueue") == 0 and mailroom.queue_depth("InboundMailDLQ") == 1
    assert tickets_of(mailroom, tenant) == [] and mailroom.outcomes() == {}


# ---------------------------------------------------------------- bad input: dropped and counted, never a crash loop


def _bomb(depth: int = 0, parts: int = 0) -> bytes:
    head = f"From: ann@example.com\r\nTo: inv@{DOMAIN}\r\nSubject: bomb\r\nMIME-Version: 1.0\r\n"
    if depth:
        body, tail = "", ""
        for level in range(depth):
            body += f'Content-Type: multipart/mixed; boundary="b{level}"\r\n\r\n--b{level}\r\n'
            tail = f"\r\n--b{level}--\r\n" + tail
        return (head + body + "Content-Type: text/plain\r\n\r\nboom" + tail).encode()
    chunks = "".join(f"--b\r\nContent-Type: text/plain\r\n\r\npart {i}\r\n" for i in range(parts))
    return (head + 'Content-Type: multipart/mixed; boundary="b"\r\n\r\n' + chunks + "--b--\r\n").encode()


BAD = {
    "bomb (nesting)": _bomb(depth=60),
    "bomb (parts)": _bomb(parts=150),
    "bomb (delimiters)": _bomb(parts=700),
    "malformed (no sender)": b"To: inv@mail.example.com\r\nSubject: who?\r\n\r\nhello\r\n",
    "malformed (not mail)": bytes(range(256)) * 40,
    "undecodable": b"From: ann@example.com\r\nTo: inv@mail.example.com\r\nSubject: x\r\nContent-Type: text/plain\r\n"
    b"Content-Transfer-Encoding: 8bit\r\n\r\n" + bytes(range(128, 256)) * 8,
}


@pytest.mark.parametrize("case", list(BAD))
def test_given_bad_input_then_it_is_dropped_and_counted_and_the_batch_does_not_fail(mailroom, tenant, case):
    mailroom.receive(BAD[case])

    assert mailroom.outcomes() == {case.split(" ")[0]: 1}
    assert [r["batchItemFailures"] for r in mailroom.results] == [[]]
    assert tickets_of(mailroom, tenant) == [] and mailroom.queue_depth("InboundMailDLQ") == 0


def test_given_a_message_over_40_mb_then_it_is_dropped_before_it_is_read(mailroom, tenant, monkeypatch):
    from tickets.integrations import mailbox

    key = mailroom.store(raw_mail())  # what S3 says of its size is what counts: nothing is downloaded
    mailroom.run()
    mailroom.metrics.clear()
    monkeypatch.setattr(mailbox, "read", lambda *a, **k: pytest.fail("a message over 40 MB was downloaded"))

    mailroom.notify_again(key, size=40 * 1024 * 1024 + 1)
    mailroom.run()

    assert mailroom.outcomes() == {"too_large": 1}
    assert mailroom.results[-1] == {"batchItemFailures": []}


def test_given_a_notification_for_an_object_that_is_gone_then_it_is_dropped_as_missing(mailroom, tenant):
    mailroom.notify_again("inbound/expired0000000000000000000000000000", size=100)
    mailroom.run()
    assert mailroom.outcomes() == {"missing": 1} and mailroom.results[-1] == {"batchItemFailures": []}


def test_given_latin_1_and_a_few_bad_bytes_then_the_text_is_decoded_not_dropped(mailroom, tenant):
    latin = (b"From: =?iso-8859-1?q?Ren=E9?= <rene@example.com>\r\nTo: inv@mail.example.com\r\n"
             b"Subject: =?iso-8859-1?q?Caf=E9?=\r\nContent-Type: text/plain; charset=iso-8859-1\r\n"
             b"Content-Transfer-Encoding: 8bit\r\n\r\nLe caf\xe9 est froid.\r\n")  # fmt: skip
    stray = (b"From: ann@example.com\r\nTo: inv@mail.example.com\r\nSubject: x\r\n"
             b"Content-Type: text/plain; charset=utf-8\r\n\r\nAlmost all fine \xff here.\r\n")  # fmt: skip

    mailroom.receive(latin)
    mailroom.receive(stray)

    first, second = tickets_of(mailroom, tenant)
    assert (first["subject"], first["description"], first["requester"]["name"]) == (
        "Café",
        "Le café est froid.",
        "René",
    )
    assert second["description"] == "Almost all fine \ufffd here."


def test_given_an_html_only_email_then_the_comment_is_its_text_and_never_markup(mailroom, tenant):
    html = ('<html><head><style>p{color:red}</style><script>steal()</script></head><body>'
            '<p>Hello <b>team</b>, see <a href="https://status.example.com">status</a> &amp; &lt;help&gt;.</p>'
            '<div class="gmail_quote">On Mon, 30 Nov 2026, Support wrote:<blockquote>old</blockquote></div>'
            '</body></html>')  # fmt: skip
    mailroom.receive(raw_mail(text=None, html=html))

    (ticket,) = tickets_of(mailroom, tenant)
    (comment,) = comments_of(mailroom, tenant, ticket["id"])
    assert comment["body"] == "Hello team, see status (https://status.example.com) & <help>."
    assert "steal" not in json.dumps(comment) and "<b>" not in comment["body"]


# ---------------------------------------------------------------- tenant isolation


def test_given_another_tenants_message_ids_and_reference_then_they_are_unknown_here(mailroom, tenant, other_tenant):
    theirs, outbound = _answered(mailroom, other_tenant)
    before = items(mailroom.ddb, f"TENANT#{other_tenant.tenant_id}")

    mailroom.receive(raw_mail(sender="ann@example.com", to=f"inv@{DOMAIN}", subject=f"Re: [{theirs['reference']}] x",
                              in_reply_to=outbound["messageId"], references=outbound["messageId"]))  # fmt: skip

    (ours,) = tickets_of(mailroom, tenant)
    assert ours["parentId"] is None and ours["commentCount"] == 1 and ours["reference"] == "INV-1"
    assert items(mailroom.ddb, f"TENANT#{other_tenant.tenant_id}") == before
    assert mailroom.outcomes() == {"new_ticket": 1}


def test_given_a_reply_token_then_it_names_its_own_tenant_and_ticket_whatever_else_the_mail_says(
    mailroom, tenant, other_tenant
):
    mine, _ = _answered(mailroom, tenant)
    theirs, outbound = _answered(mailroom, other_tenant)

    mailroom.receive(raw_mail(sender="ann@example.com", to=outbound["replyTo"],
                              subject=f"Re: [{mine['reference']}]", in_reply_to="<nothing@example.com>"))  # fmt: skip

    assert ticket_of(mailroom, other_tenant, theirs["id"])["commentCount"] == 2
    assert ticket_of(mailroom, tenant, mine["id"])["commentCount"] == 1


def test_given_one_email_to_two_tenants_then_each_gets_its_own_ticket(mailroom, tenant, other_tenant):
    mailroom.receive(raw_mail(to=f"inv@{DOMAIN}, oth@{DOMAIN}", message_id="<both@example.com>"))

    assert len(tickets_of(mailroom, tenant)) == len(tickets_of(mailroom, other_tenant)) == 1
    assert mailroom.outcomes() == {"new_ticket": 2}


def test_given_a_bcc_to_the_tenant_then_ses_envelope_recipient_routes_it(mailroom, tenant):
    mailroom.receive(raw_mail(to="someone@example.org", envelope=f"inv@{DOMAIN}"))
    assert len(tickets_of(mailroom, tenant)) == 1


# ---------------------------------------------------------------- quota


def test_given_the_tenant_quota_is_used_up_then_a_new_email_is_dropped_as_quota_but_replies_still_land(
    mailroom, monkeypatch
):
    t = make_tenant("QTA", quota=2)
    ticket, outbound = _answered(mailroom, t)
    mailroom.api("POST", "/v1/tickets", t, {"subject": "second"})

    mailroom.receive(raw_mail(to=f"qta@{DOMAIN}"))
    mailroom.receive(raw_mail(sender="ann@example.com", to=outbound["replyTo"]))

    assert len(tickets_of(mailroom, t)) == 2 and ticket_of(mailroom, t, ticket["id"])["commentCount"] == 2
    assert mailroom.outcomes() == {"quota": 1, "comment": 1}


# ---------------------------------------------------------------- attachments

PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 40


def _attachments_bucket(room: Mailroom, monkeypatch: pytest.MonkeyPatch) -> str:
    """The attachments bucket (AttachmentsBucket, once the attachments work adds it to the template)."""
    from tickets.config import settings

    room.s3.create_bucket(Bucket="tickets-local-attachmentsbucket")
    monkeypatch.setenv("ATTACHMENTS_BUCKET", "tickets-local-attachmentsbucket")
    settings.cache_clear()
    return "tickets-local-attachmentsbucket"


def test_given_attachments_then_allowed_files_are_stored_ready_and_claimed_and_the_rest_noted(
    mailroom, tenant, monkeypatch
):
    bucket = _attachments_bucket(mailroom, monkeypatch)
    files = (
        ("invoice.pdf", "application/pdf", PDF),
        ("shot.png", "application/octet-stream", PNG),
        ("run.exe", "application/x-msdownload", b"MZ\x90\x00"),
        ("fake.pdf", "application/pdf", b"MZ\x90\x00"),
    )

    mailroom.receive(raw_mail(attachments=files))

    (ticket,) = tickets_of(mailroom, tenant)
    (comment,) = comments_of(mailroom, tenant, ticket["id"])
    assert [(a["filename"], a["contentType"], a["size"]) for a in comment["attachments"]] == [
        ("invoice.pdf", "application/pdf", len(PDF)), ("shot.png", "image/png", len(PNG))]  # fmt: skip
    assert comment["body"].endswith(
        "[attachment not kept: run.exe (application/x-msdownload is not an allowed type)]\n"
        "[attachment not kept: fake.pdf (its content is not one of the allowed types)]")  # fmt: skip
    records = {a["id"]: a for a in mailroom.stored(tenant, "attachment")}
    for ref in comment["attachments"]:
        rec = records[ref["id"]]
        assert (rec["state"], rec["commentId"], rec["ticketId"]) == ("ready", comment["id"], ticket["id"])
        assert "expiresAt" not in rec
        obj = mailroom.s3.get_object(Bucket=bucket, Key=f"t/{tenant.tenant_id}/{ref['id']}")
        assert obj["Body"].read() == {"invoice.pdf": PDF, "shot.png": PNG}[ref["filename"]]
        assert (obj["ContentType"], obj["Metadata"]) == (ref["contentType"], {"source": "email"})
        tags = mailroom.s3.get_object_tagging(Bucket=bucket, Key=f"t/{tenant.tenant_id}/{ref['id']}")["TagSet"]
        assert tags == [{"Key": "state", "Value": "claimed"}]  # out of the lifecycle rule's reach, as claimed files
