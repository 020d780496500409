"""End-to-end: attachments against `python -m tools.devstack`, over real HTTP. The presigned POST goes to the
stack's moto server, which sends the bucket's S3 notification to the template's queue; the stack's queue poller
runs the checker; a comment claims the file; the download URL serves it as an attachment.

It also records what moto's server enforces of a presigned POST: nothing (not the size range, the Content-Type,
the key or the expiry; S3 refuses each). Locally the checker is what refuses a wrong size or type.
"""

from __future__ import annotations

import time
from typing import Any

import boto3
import requests

from tests.e2e.conftest import Stack, Tenant, assert_problem

PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
BUCKET = "tickets-local-attachmentsbucket"  # AttachmentsBucket in make dev


def _s3(stack: Stack) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=stack.aws_endpoint_url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def _start(stack: Stack, tenant: Tenant, **fields: Any) -> dict[str, Any]:
    body = {"filename": "invoice.pdf", "contentType": "application/pdf", "size": len(PDF), **fields}
    resp = stack.request("POST", "/v1/attachments", key=tenant.key, body=body)
    assert resp.status == 201, resp.body
    return resp.json


def _post(form: dict[str, Any], content: bytes, content_type: str = "application/pdf") -> requests.Response:
    return requests.post(form["url"], data=form["fields"], files={"file": ("f", content, content_type)}, timeout=10)


def _decided(stack: Stack, tenant: Tenant, attachment_id: str, timeout: float = 20) -> tuple[dict[str, Any], float]:
    """The attachment once it is no longer pending, and how long that took."""
    started = time.monotonic()
    while True:
        got = stack.request("GET", f"/v1/attachments/{attachment_id}", key=tenant.key)
        assert got.status == 200, got.body
        if got.json["state"] != "pending" or time.monotonic() - started > timeout:
            return got.json, time.monotonic() - started
        time.sleep(0.05)


def _objects(stack: Stack, attachment_id: str) -> list[str]:
    listed = _s3(stack).list_objects_v2(Bucket=BUCKET).get("Contents", [])
    return sorted(o["Key"] for o in listed if o["Key"].endswith(attachment_id))


def test_given_a_pdf_uploaded_over_http_then_it_turns_ready_is_attached_to_a_comment_and_downloads(
    stack: Stack, make_tenant: Any
) -> None:
    tenant = make_tenant("ATT")
    created = _start(stack, tenant, filename="Quittung für März.pdf")
    form = created["upload"]
    assert form["url"] == f"{stack.aws_endpoint_url}/{BUCKET}" and created["state"] == "pending"

    assert _post(form, PDF).status_code == 204
    got, waited = _decided(stack, tenant, created["id"])

    assert got["state"] == "ready", got
    assert waited < 5, waited
    print(f"\nupload -> ready in {waited * 1000:.0f} ms")
    ticket = stack.create_ticket(tenant.key)
    comment = stack.request("POST", f"/v1/tickets/{ticket['id']}/comments", key=tenant.key,
                            body={"body": "Your receipt", "attachmentIds": [created["id"]]})  # fmt: skip
    assert comment.status == 201, comment.body
    assert [a["id"] for a in comment.json["attachments"]] == [created["id"]]
    claimed = stack.request("GET", f"/v1/attachments/{created['id']}", key=tenant.key).json
    assert (claimed["commentId"], claimed["expiresAt"]) == (comment.json["id"], None)
    download = requests.get(claimed["downloadUrl"], timeout=10)
    assert download.status_code == 200 and download.content == PDF
    assert download.headers["Content-Disposition"] == (
        "attachment; filename=\"Quittung f_r M_rz.pdf\"; filename*=UTF-8''Quittung%20f%C3%BCr%20M%C3%A4rz.pdf"
    )
    key = f"t/{tenant.id}/{created['id']}"
    assert _objects(stack, created["id"]) == [key]
    assert _s3(stack).get_object_tagging(Bucket=BUCKET, Key=key)["TagSet"] == [{"Key": "state", "Value": "claimed"}]


def test_given_a_file_that_is_not_what_it_declares_then_it_ends_rejected_and_its_object_is_gone(
    stack: Stack, make_tenant: Any
) -> None:
    tenant = make_tenant("REJ")
    html = b"<html><script>alert(1)</script></html>\x00"
    created = _start(stack, tenant, filename="invoice.pdf", size=len(html))

    assert _post(created["upload"], html, "application/pdf").status_code == 204
    got, _ = _decided(stack, tenant, created["id"])

    assert (got["state"], got["rejectedReason"], got["downloadUrl"]) == (
        "rejected", "its content is not one of the allowed types", None)  # fmt: skip
    assert _objects(stack, created["id"]) == []
    ticket = stack.create_ticket(tenant.key)
    resp = stack.request("POST", f"/v1/tickets/{ticket['id']}/comments", key=tenant.key,
                         body={"body": "x", "attachmentIds": [created["id"]]})  # fmt: skip
    assert assert_problem(resp, 400, "INVALID_ATTACHMENT")["errors"][0]["field"] == "attachmentIds"


def test_given_moto_as_the_local_s3_then_it_accepts_a_post_breaking_its_policy_and_the_checker_refuses_it(
    stack: Stack, make_tenant: Any
) -> None:
    tenant = make_tenant("POL")
    created = _start(stack, tenant)
    too_big = PDF + b"% one byte too many and then some\n"

    # S3 answers 400 EntityTooLarge here (content-length-range is [size, size]); moto stores the file.
    resp = _post(created["upload"], too_big, "text/html")
    assert resp.status_code == 204, resp.text
    got, _ = _decided(stack, tenant, created["id"])

    assert (got["state"], got["rejectedReason"]) == (
        "rejected", f"the file has {len(too_big)} bytes, not the {len(PDF)} declared")  # fmt: skip
    assert _objects(stack, created["id"]) == []
