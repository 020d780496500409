"""Attachments (contract v1.1, "Attachments") through the real handlers against moto: the presigned POST, the
S3 event that moto sends to the template's queue, the checker that the queue runs, the comment that claims the
file, and the download.

Uploads are real multipart/form-data POSTs to the presigned URL with `requests`: in-process, moto's mock_aws
answers them (it patches `requests` through `responses`, as it patches botocore), stores the object and sends
the bucket's notification, so the checker sees the S3 event message S3 would send. moto enforces none of the
POST policy (content-length-range, Content-Type, key, expiry: see tests/e2e/test_attachments.py, which shows it
over HTTP), so a wrong size reaches the checker here, which is what refuses it.
"""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import boto3
import pytest
import requests
from botocore.exceptions import ClientError

from tests.conftest import ATTACHMENTS_BUCKET, TABLE, Resources, TenantKey, call, items, make_tenant
from tests.integration.test_metrics import emitted, m
from tickets.config import settings
from tools import template
from tools.events import FakeContext
from tools.eventsources import EventSources

FUNCTIONS = template.functions()
CHECKER = FUNCTIONS["CheckAttachmentFunction"]
PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(64)
DAY = 24 * 3600


class Checker:
    """The template's CheckAttachmentFunction, fed by AttachmentEventsQueue as Lambda would feed it."""

    def __init__(self, resources: Resources) -> None:
        self.refs = resources.refs
        self.runner = EventSources(
            [CHECKER], self._invoke, refs=self.refs, retry_backoff=(0, 0), failed_message_visibility=0
        )

    def _invoke(self, fn: template.Function, event: dict[str, Any]) -> Any:
        template.apply_env(fn, self.refs)
        settings.cache_clear()
        return template.load_handler(fn)(event, FakeContext(fn.name))

    def run(self) -> None:
        self.runner.run_until_idle(timeout=20, quiet=0.1)


@pytest.fixture
def checker(resources: Resources) -> Checker:
    return Checker(resources)


@pytest.fixture
def s3(resources: Resources) -> Any:
    return boto3.client("s3", region_name="us-east-1")


def _create(key: str, **fields: Any):
    body = {"filename": "invoice.pdf", "contentType": "application/pdf", "size": len(PDF), **fields}
    return call("POST", "/v1/attachments", key=key, body=body)


def _created(key: str, **fields: Any) -> dict[str, Any]:
    resp = _create(key, **fields)
    assert resp.status == 201, resp.body
    return resp.json


def _upload(created: dict[str, Any], content: bytes, fields: dict[str, str] | None = None) -> requests.Response:
    form = created["upload"]
    return requests.post(
        form["url"], data={**form["fields"], **(fields or {})}, files={"file": ("upload.bin", content)}, timeout=10
    )


def _get(key: str, attachment_id: str):
    return call("GET", f"/v1/attachments/{attachment_id}", key=key)


def _ready(tenant: TenantKey, checker: Checker, content: bytes = PDF, **fields: Any) -> dict[str, Any]:
    created = _created(tenant.key, **({"size": len(content)} | fields))
    assert _upload(created, content).status_code == 204
    checker.run()
    got = _get(tenant.key, created["id"]).json
    assert got["state"] == "ready", got
    return got


def _ticket(key: str) -> dict[str, Any]:
    resp = call("POST", "/v1/tickets", key=key, body={"subject": "Invoice question"})
    assert resp.status == 201, resp.body
    return resp.json


def _comment(key: str, ticket_id: str, attachment_ids: list[str]):
    return call("POST", f"/v1/tickets/{ticket_id}/comments", key=key, body={"body": "See the file", "attachmentIds":
                                                                          attachment_ids})  # fmt: skip


def _keys(s3: Any) -> list[str]:
    return sorted(o["Key"] for o in s3.list_objects_v2(Bucket=ATTACHMENTS_BUCKET).get("Contents", []))


def _tags(s3: Any, key: str) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in s3.get_object_tagging(Bucket=ATTACHMENTS_BUCKET, Key=key)["TagSet"]}


def _stored(aws: Any, tenant: TenantKey, attachment_id: str) -> dict[str, Any] | None:
    return next((i for i in items(aws, f"TENANT#{tenant.tenant_id}") if i["SK"] == f"ATTACHMENT#{attachment_id}"), None)


def _problem(resp, status: int, code: str, field: str | None = None) -> dict[str, Any]:
    assert resp.status == status, resp.body
    assert resp.headers["content-type"] == "application/problem+json" and resp.json["code"] == code, resp.body
    if field is not None:
        assert [e["field"] for e in resp.json["errors"]] == [field], resp.json
    return resp.json


# ---------------------------------------------------------------- the whole way: pending, ready, claimed, downloaded


def test_given_a_pdf_when_uploaded_checked_and_attached_then_it_downloads_as_an_attachment_and_is_kept(
    aws, tenant, checker, s3
):
    before = time.time()
    resp = _create(tenant.key, filename='Rechnung März "final".pdf')

    assert resp.status == 201, resp.body
    created = resp.json
    assert resp.headers["location"] == f"/v1/attachments/{created['id']}"
    assert {k: created[k] for k in ("filename", "contentType", "size", "state", "downloadUrl", "commentId")} == {
        "filename": 'Rechnung März "final".pdf', "contentType": "application/pdf", "size": len(PDF),
        "state": "pending", "downloadUrl": None, "commentId": None,
    }  # fmt: skip
    upload_key = f"u/{tenant.tenant_id}/{created['id']}"
    fields = created["upload"]["fields"]
    assert fields["key"] == upload_key and fields["Content-Type"] == "application/pdf"
    assert fields["x-amz-algorithm"] == "AWS4-HMAC-SHA256" and fields["x-amz-signature"]
    policy = json.loads(base64.b64decode(fields["policy"]))
    assert ["content-length-range", len(PDF), len(PDF)] in policy["conditions"]
    assert {"key": upload_key} in policy["conditions"] and {"Content-Type": "application/pdf"} in policy["conditions"]
    assert {"bucket": ATTACHMENTS_BUCKET} in policy["conditions"]
    form_expiry = time.mktime(time.strptime(policy["expiration"], "%Y-%m-%dT%H:%M:%SZ")) - time.timezone
    assert 14 * 60 <= form_expiry - before <= 15 * 60 + 5
    assert created["upload"]["expiresAt"][:16] == policy["expiration"][:16]
    stored = _stored(aws, tenant, created["id"])
    assert stored["state"] == "pending" and int(stored["expiresAt"]) - DAY in range(int(before), int(time.time()) + 1)
    assert created["expiresAt"] == time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(int(stored["expiresAt"]))) + ".000Z"
    assert _get(tenant.key, created["id"]).json["state"] == "pending"

    assert _upload(created, PDF).status_code == 204
    checker.run()

    got = _get(tenant.key, created["id"])
    assert got.status == 200, got.body
    assert (got.json["state"], got.json["rejectedReason"], got.json["commentId"]) == ("ready", None, None)
    file_key = f"t/{tenant.tenant_id}/{created['id']}"
    assert _keys(s3) == [file_key]  # the upload is gone, the checked copy is where no client can write
    assert _tags(s3, file_key) == {"state": "unclaimed"}
    download = requests.get(got.json["downloadUrl"], timeout=10)
    assert download.status_code == 200 and download.content == PDF
    disposition = download.headers["content-disposition"]
    assert (
        disposition
        == "attachment; filename=\"Rechnung M_rz _final_.pdf\"; filename*=UTF-8''Rechnung%20M%C3%A4rz%20%22final%22.pdf"
    )
    assert download.headers["content-type"] == "application/pdf"
    assert "X-Amz-Expires=300" in got.json["downloadUrl"] and "X-Amz-Signature=" in got.json["downloadUrl"]

    ticket = _ticket(tenant.key)
    comment = _comment(tenant.key, ticket["id"], [created["id"]])

    assert comment.status == 201, comment.body
    assert comment.json["attachments"] == [
        {"id": created["id"], "filename": created["filename"], "contentType": "application/pdf", "size": len(PDF)}
    ]
    assert _tags(s3, file_key) == {"state": "claimed"}  # out of the lifecycle rule's reach
    stored = _stored(aws, tenant, created["id"])
    assert (stored["commentId"], stored["ticketId"], "expiresAt" in stored) == (comment.json["id"], ticket["id"], False)
    claimed = _get(tenant.key, created["id"]).json
    assert (claimed["commentId"], claimed["ticketId"], claimed["expiresAt"]) == (comment.json["id"], ticket["id"], None)
    assert requests.get(claimed["downloadUrl"], timeout=10).content == PDF


def test_given_an_image_of_another_type_than_declared_when_checked_then_rejected_and_deleted(tenant, checker, s3):
    created = _created(tenant.key, filename="photo.jpg", contentType="image/jpeg", size=len(PNG))
    assert _upload(created, PNG).status_code == 204

    checker.run()

    got = _get(tenant.key, created["id"]).json
    assert (got["state"], got["rejectedReason"]) == ("rejected", "its content is png, not image/jpeg")
    assert got["downloadUrl"] is None
    assert _keys(s3) == []
    ticket = _ticket(tenant.key)
    _problem(_comment(tenant.key, ticket["id"], [created["id"]]), 400, "INVALID_ATTACHMENT", "attachmentIds")


@pytest.mark.parametrize(
    ("declared", "content", "reason"),
    [
        ("application/pdf", b"MZ\x90\x00" + bytes(60), "its content is not one of the allowed types"),
        ("text/plain", b"<?xml version='1.0'?>\x00<svg/>", "its content is not one of the allowed types"),
        ("application/zip", PDF, "its content is pdf, not application/zip"),
    ],
    ids=["an executable as a PDF", "binary as text", "a PDF as a zip"],
)
def test_given_magic_bytes_that_do_not_match_when_checked_then_rejected_with_the_reason(
    tenant, checker, s3, declared, content, reason
):
    created = _created(tenant.key, filename="file", contentType=declared, size=len(content))
    _upload(created, content)
    checker.run()
    got = _get(tenant.key, created["id"]).json
    assert (got["state"], got["rejectedReason"]) == ("rejected", reason)
    assert _keys(s3) == []


def test_given_an_upload_of_another_size_than_declared_when_checked_then_rejected_and_deleted(aws, tenant, checker, s3):
    created = _created(tenant.key, size=len(PDF) + 1)
    assert _upload(created, PDF).status_code == 204  # moto does not enforce content-length-range; S3 would refuse

    checker.run()

    got = _get(tenant.key, created["id"]).json
    assert (got["state"], got["rejectedReason"]) == ("rejected", f"the file has {len(PDF)} bytes, not the "
                                                                 f"{len(PDF) + 1} declared")  # fmt: skip
    assert _keys(s3) == []
    assert _stored(aws, tenant, created["id"])["checkedAt"] >= created["createdAt"]


def test_given_a_ready_attachment_when_its_form_is_used_again_then_the_checked_file_stays_as_checked(
    tenant, checker, s3
):
    created = _created(tenant.key)
    _upload(created, PDF)
    checker.run()
    evil = b"MZ" + bytes(len(PDF) - 2)  # same size, another file

    assert _upload(created, evil).status_code == 204  # a presigned POST works again until it expires
    checker.run()

    got = _get(tenant.key, created["id"]).json
    assert got["state"] == "ready"
    assert requests.get(got["downloadUrl"], timeout=10).content == PDF
    assert _keys(s3) == [f"t/{tenant.tenant_id}/{created['id']}"]  # the second upload was deleted unread


def test_given_an_event_delivered_twice_when_checked_again_then_nothing_changes(aws, tenant, checker, s3):
    created = _created(tenant.key)
    _upload(created, PDF)
    queue_url = checker.refs["AttachmentEventsQueue"]
    sqs = boto3.client("sqs", region_name="us-east-1")
    message = next(
        m["Body"]
        for m in sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, VisibilityTimeout=0)["Messages"]
        if "Records" in json.loads(m["Body"])
    )
    checker.run()
    decided = _stored(aws, tenant, created["id"])

    sqs.send_message(QueueUrl=queue_url, MessageBody=message)  # S3 delivers at least once
    checker.run()

    assert _stored(aws, tenant, created["id"]) == decided
    assert _keys(s3) == [f"t/{tenant.tenant_id}/{created['id']}"]


# ---------------------------------------------------------------- tenants


def test_given_another_tenants_attachment_then_it_is_unknown_here_to_get_and_to_comment(tenant, checker, s3):
    other = make_tenant("OTH")
    theirs = _ready(other, checker)

    _problem(_get(tenant.key, theirs["id"]), 404, "NOT_FOUND")
    ticket = _ticket(tenant.key)
    _problem(_comment(tenant.key, ticket["id"], [theirs["id"]]), 400, "INVALID_ATTACHMENT", "attachmentIds")
    assert _tags(s3, f"t/{other.tenant_id}/{theirs['id']}") == {"state": "unclaimed"}
    assert _get(other.key, theirs["id"]).json["commentId"] is None


def test_given_an_upload_under_another_tenants_prefix_when_checked_then_deleted_and_their_attachment_untouched(
    aws, tenant, checker, s3
):
    other = make_tenant("OTH")
    theirs = _created(other.key)
    mine = _created(tenant.key)
    # S3 refuses a key the policy does not name; moto does not, which lets this test try what S3 would refuse.
    forged = f"u/{tenant.tenant_id}/{theirs['id']}"
    assert _upload(mine, PDF, {"key": forged}).status_code == 204

    checker.run()

    assert _keys(s3) == []  # no attachment of this tenant has that id: deleted
    assert _stored(aws, other, theirs["id"])["state"] == "pending"
    assert _stored(aws, tenant, mine["id"])["state"] == "pending"


# ---------------------------------------------------------------- input, scopes


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"size": 0}, "size"),
        ({"size": 20 * 1024 * 1024 + 1}, "size"),
        ({"size": -1}, "size"),
        ({"size": "12"}, "size"),
        ({"size": True}, "size"),
        ({"size": 1.5}, "size"),
        ({"contentType": "text/html"}, "contentType"),
        ({"contentType": "image/svg+xml"}, "contentType"),
        ({"contentType": "application/octet-stream"}, "contentType"),
        ({"contentType": ""}, "contentType"),
        ({"filename": ""}, "filename"),
        ({"filename": "../../etc/passwd"}, "filename"),
        ({"filename": "C:\\boot.ini"}, "filename"),
        ({"filename": "invoice\u202efdp.exe"}, "filename"),
        ({"filename": "a\r\nContent-Type: text/html"}, "filename"),
        ({"filename": "tab\there.pdf"}, "filename"),
        ({"filename": "zero\u200bwidth.pdf"}, "filename"),
        ({"filename": " leading.pdf"}, "filename"),
        ({"filename": ".."}, "filename"),
        ({"filename": "x" * 256}, "filename"),
        ({"filename": None}, "filename"),
        ({"unknown": 1}, "unknown"),
    ],
)
def test_given_bad_input_when_starting_an_upload_then_400_naming_the_field_and_nothing_written(
    aws, tenant, body, field
):
    before = items(aws, f"TENANT#{tenant.tenant_id}")
    _problem(_create(tenant.key, **body), 400, "VALIDATION_ERROR", field)
    assert items(aws, f"TENANT#{tenant.tenant_id}") == before


def test_given_accepted_spellings_when_starting_an_upload_then_the_type_is_stored_bare_and_lowercase(tenant, resources):
    created = _created(tenant.key, filename="Données 2026.CSV", contentType="Text/CSV; charset=UTF-8", size=1)
    assert (created["filename"], created["contentType"]) == ("Données 2026.CSV", "text/csv")
    assert created["upload"]["fields"]["Content-Type"] == "text/csv"
    assert _created(tenant.key, size=20 * 1024 * 1024)["size"] == 20 * 1024 * 1024


def test_given_scopes_then_starting_an_upload_needs_write_and_reading_one_needs_read(aws, resources):
    reader = make_tenant("RDR", scopes=["tickets:read"])
    writer = make_tenant("WRT", scopes=["tickets:write"])
    _problem(_create(reader.key), 403, "INSUFFICIENT_SCOPE")
    created = _created(writer.key)
    _problem(_get(writer.key, created["id"]), 403, "INSUFFICIENT_SCOPE")


def test_given_ids_that_are_not_attachments_then_404(tenant, resources):
    ticket = _ticket(tenant.key)
    for unknown in ("01JSQ4ZK8X3N5W7Y9B2C4D6F8H", ticket["id"], "not-an-id"):
        _problem(_get(tenant.key, unknown), 404, "NOT_FOUND")


# ---------------------------------------------------------------- expiry of unclaimed uploads


def test_given_an_expired_attachment_not_yet_removed_by_ttl_then_it_is_gone_and_its_file_is_not_claimed(
    aws, tenant, checker, s3
):
    ready = _ready(tenant, checker)
    aws.update_item(  # DynamoDB removes expired items late, sometimes days late
        TableName=TABLE,
        Key={"PK": {"S": f"TENANT#{tenant.tenant_id}"}, "SK": {"S": f"ATTACHMENT#{ready['id']}"}},
        UpdateExpression="SET expiresAt = :past",
        ExpressionAttributeValues={":past": {"N": str(int(time.time()) - 1)}},
    )

    _problem(_get(tenant.key, ready["id"]), 404, "NOT_FOUND")
    ticket = _ticket(tenant.key)
    _problem(_comment(tenant.key, ticket["id"], [ready["id"]]), 400, "INVALID_ATTACHMENT", "attachmentIds")
    assert _tags(s3, f"t/{tenant.tenant_id}/{ready['id']}") == {"state": "unclaimed"}  # left to the lifecycle rule


def test_given_the_template_then_unclaimed_files_and_uploads_expire_after_a_day_and_claimed_ones_never():
    from tickets.integrations import files
    from tickets.logic import attachments

    rules = {r["Id"]: r for r in template.load()["Resources"]["AttachmentsBucket"]["Properties"][
        "LifecycleConfiguration"]["Rules"]}  # fmt: skip
    assert rules["ExpireUnclaimedFiles"]["TagFilters"] == [{"Key": files.STATE_TAG, "Value": files.UNCLAIMED}]
    assert rules["ExpireUnclaimedFiles"]["Prefix"] == "t/" and rules["ExpireUploads"]["Prefix"] == "u/"
    assert {r["ExpirationInDays"] for r in rules.values() if "ExpirationInDays" in r} == {1}
    assert all(r["Status"] == "Enabled" for r in rules.values())
    # The record expires first: a day after it is made, the lifecycle rule a day after the (later) check,
    # rounded up to the next midnight UTC. So a claim, only allowed before the record expires, is in time.
    assert attachments.UNCLAIMED_SECONDS == DAY


# ---------------------------------------------------------------- the claim: retag first, then the transaction


def test_given_the_file_cannot_be_retagged_when_commenting_then_503_and_nothing_is_claimed(
    aws, tenant, checker, s3, monkeypatch
):
    from tickets.integrations import files

    ready = _ready(tenant, checker)
    ticket = _ticket(tenant.key)
    before = items(aws, f"TENANT#{tenant.tenant_id}")

    def throttled(*args: Any, **kwargs: Any) -> bool:
        raise ClientError({"Error": {"Code": "SlowDown", "Message": "Reduce your request rate"}}, "PutObjectTagging")

    monkeypatch.setattr(files, "mark_claimed", throttled)
    resp = _comment(tenant.key, ticket["id"], [ready["id"]])

    assert resp.status in (500, 503), resp.body
    assert items(aws, f"TENANT#{tenant.tenant_id}") == before
    assert _tags(s3, f"t/{tenant.tenant_id}/{ready['id']}") == {"state": "unclaimed"}


def test_given_the_transaction_fails_after_the_retag_then_the_file_stays_tagged_claimed_and_can_be_claimed_later(
    aws, tenant, checker, s3, monkeypatch
):
    from tickets.dal import tickets as tickets_dal

    ready = _ready(tenant, checker)
    ticket = _ticket(tenant.key)
    real_replace, failed = tickets_dal.replace, []

    def fail_once(*args: Any, **kwargs: Any) -> Any:
        if not failed:
            failed.append(1)
            raise ClientError({"Error": {"Code": "InternalServerError", "Message": "boom"}}, "TransactWriteItems")
        return real_replace(*args, **kwargs)

    monkeypatch.setattr(tickets_dal, "replace", fail_once)
    assert _comment(tenant.key, ticket["id"], [ready["id"]]).status == 500
    file_key = f"t/{tenant.tenant_id}/{ready['id']}"
    assert _tags(s3, file_key) == {"state": "claimed"}  # never tagged back: that could race another claim
    assert _get(tenant.key, ready["id"]).json["commentId"] is None

    comment = _comment(tenant.key, ticket["id"], [ready["id"]])

    assert comment.status == 201, comment.body
    assert _stored(aws, tenant, ready["id"])["commentId"] == comment.json["id"]
    assert _tags(s3, file_key) == {"state": "claimed"}


def test_given_a_claimed_attachment_when_its_comment_is_redacted_then_file_and_record_are_gone(
    aws, tenant, checker, s3
):
    ready = _ready(tenant, checker)
    ticket = _ticket(tenant.key)
    comment = _comment(tenant.key, ticket["id"], [ready["id"]]).json

    resp = call("POST", f"/v1/tickets/{ticket['id']}/comments/{comment['id']}/redact", key=tenant.key)

    assert resp.status == 200 and resp.json["attachments"] == [], resp.body
    assert _keys(s3) == [] and _stored(aws, tenant, ready["id"]) is None
    _problem(_get(tenant.key, ready["id"]), 404, "NOT_FOUND")


# ---------------------------------------------------------------- messages that are not uploads to check


def _sqs_event(*bodies: str) -> dict[str, Any]:
    return {
        "Records": [
            {
                "messageId": f"m-{i}",
                "receiptHandle": "r",
                "body": body,
                "attributes": {"ApproximateReceiveCount": "1"},
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:AttachmentEventsQueue",
                "awsRegion": "us-east-1",
            }
            for i, body in enumerate(bodies)
        ]
    }


def _s3_record(key: str, bucket: str = ATTACHMENTS_BUCKET, event: str = "ObjectCreated:Post") -> dict[str, Any]:
    return {"eventName": event, "s3": {"bucket": {"name": bucket}, "object": {"key": key, "size": 1}}}


def test_given_messages_that_are_no_upload_to_check_then_each_is_dropped_and_counted_never_retried(
    aws, tenant, checker, s3, capsys
):
    created = _created(tenant.key)
    s3.put_object(Bucket=ATTACHMENTS_BUCKET, Key=f"u/{tenant.tenant_id}/01JSQ4ZK8X3N5W7Y9B2C4D6F8H", Body=PDF)
    bodies = [
        json.dumps({"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": ATTACHMENTS_BUCKET}),
        "not json at all",
        json.dumps({"Records": "nope"}),
        json.dumps([1, 2]),
        json.dumps({"Records": [{"eventName": "ObjectCreated:Post"}]}),
        json.dumps({"Records": [_s3_record(f"u/{tenant.tenant_id}/{created['id']}", bucket="someone-elses")]}),
        json.dumps({"Records": [_s3_record(f"t/{tenant.tenant_id}/{created['id']}")]}),
        json.dumps({"Records": [_s3_record(f"u/{tenant.tenant_id}/{created['id']}", event="ObjectRemoved:Delete")]}),
        json.dumps({"Records": [_s3_record(f"u/{tenant.tenant_id}/{'A' * 2000}")]}),  # no id of ours
        json.dumps({"Records": [_s3_record(f"u%2F{tenant.tenant_id}%2F01JSQ4ZK8X3N5W7Y9B2C4D6F8H")]}),
        json.dumps({"Records": [_s3_record(f"u/{tenant.tenant_id}/{created['id']}")]}),  # no upload (yet)
    ]
    template.apply_env(CHECKER, checker.refs)
    settings.cache_clear()
    capsys.readouterr()

    result = template.load_handler(CHECKER)(_sqs_event(*bodies), FakeContext(CHECKER.name))

    assert result == {"batchItemFailures": []}
    counted = emitted(capsys.readouterr().out)
    assert counted == {
        m("AttachmentChecks", outcome="test_event"): 1,
        m("AttachmentChecks", outcome="malformed"): 4,
        m("AttachmentChecks", outcome="ignored"): 4,
        m("AttachmentChecks", outcome="orphan"): 1,
        m("AttachmentChecks", outcome="missing"): 1,
    }
    assert _keys(s3) == []  # the upload with no attachment record is deleted
    assert _get(tenant.key, created["id"]).json["state"] == "pending"


def test_given_uploads_checked_then_ready_and_rejected_are_counted(tenant, checker, capsys):
    capsys.readouterr()
    _ready(tenant, checker)
    bad = _created(tenant.key, size=len(PNG))
    _upload(bad, PNG)
    checker.run()
    counted = emitted(capsys.readouterr().out)
    assert counted[m("AttachmentChecks", outcome="ready")] == 1
    assert counted[m("AttachmentChecks", outcome="rejected")] == 1


def test_given_s3_failing_when_checking_then_the_message_is_retried_and_the_attachment_stays_pending(
    aws, tenant, checker, monkeypatch
):
    from tickets.integrations import files

    created = _created(tenant.key)
    _upload(created, PDF)

    def unavailable(*args: Any, **kwargs: Any) -> Any:
        raise ClientError({"Error": {"Code": "ServiceUnavailable", "Message": "try again"}}, "HeadObject")

    monkeypatch.setattr(files, "head_upload", unavailable)
    template.apply_env(CHECKER, checker.refs)
    settings.cache_clear()
    body = json.dumps({"Records": [_s3_record(f"u/{tenant.tenant_id}/{created['id']}")]})
    test_event = json.dumps({"Service": "Amazon S3", "Event": "s3:TestEvent"})
    result = template.load_handler(CHECKER)(_sqs_event(test_event, body), FakeContext(CHECKER.name))

    assert result == {"batchItemFailures": [{"itemIdentifier": "m-1"}]}  # only that message comes back
    assert _stored(aws, tenant, created["id"])["state"] == "pending"
    monkeypatch.undo()
    checker.run()  # the real event, still in the queue
    assert _get(tenant.key, created["id"]).json["state"] == "ready"
