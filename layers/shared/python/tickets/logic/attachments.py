"""Attachments: a presigned upload, the check of what was uploaded, and presigned downloads.

    POST /v1/attachments      -> a pending attachment and a presigned POST for `u/<tenant>/<id>`
    S3 ObjectCreated -> SQS   -> check_message: size and first bytes checked; the accepted file is copied to
                                 `t/<tenant>/<id>` (ready), a refused one deleted (rejected)
    POST .../comments         -> the comment claims ready attachments (logic.comments)
    GET /v1/attachments/{id}  -> the attachment, and a 5-minute download URL once it is ready

S3 delivers events at least once and a presigned POST can be used again until it expires, so the check is
idempotent: only a pending attachment is decided (a conditional write), whatever the upload says later.
"""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import unquote_plus

from aws_lambda_powertools import Logger

from tickets import ids, metrics
from tickets.config import settings
from tickets.dal import attachments as dal
from tickets.dal import keys
from tickets.errors import NotFound
from tickets.integrations import files
from tickets.logic import filetypes
from tickets.models.attachments import MAX_SIZE, AttachmentCreate
from tickets.timeutil import from_ms, iso, now, to_ms

logger = Logger()

UNCLAIMED_SECONDS = 24 * 3600  # an attachment no comment uses is deleted after this (record TTL, file lifecycle)


def _shape(item: dict[str, Any]) -> dict[str, Any]:
    """The stored attachment as the API shows it (`expiresAt` from epoch seconds; no download URL yet)."""
    expires = item.get(dal.EXPIRES)
    return {**item, "expiresAt": iso(from_ms(int(expires) * 1000)) if expires else None, "downloadUrl": None}


def create_attachment(tenant_id: str, body: AttachmentCreate) -> dict[str, Any]:
    """A pending attachment, and the presigned POST that uploads its file."""
    created = now()
    attachment: dict[str, Any] = {
        "id": ids.new_id(to_ms(created)),
        "filename": body.filename,
        "contentType": body.contentType,
        "size": body.size,
        "state": "pending",
        "createdAt": iso(created),
        dal.EXPIRES: int(created.timestamp()) + UNCLAIMED_SECONDS,
    }
    form = files.presign_upload(tenant_id, attachment["id"], body.contentType, body.size)
    dal.create(tenant_id, attachment)  # before the form is handed out: every upload finds its record
    upload = {"url": form.url, "fields": form.fields, "expiresAt": iso(form.expires_at)}
    return {**_shape(attachment), "upload": upload}


def get_attachment(tenant_id: str, attachment_id: str) -> dict[str, Any]:
    """The attachment; a ready one with a fresh download URL. Expired ones are gone, whenever DynamoDB drops them."""
    item = dal.get(tenant_id, attachment_id) if ids.is_ulid(attachment_id) else None
    if item is None or dal.expired(item, int(time.time())):
        raise NotFound(f"no attachment {attachment_id}")
    shown = _shape(item)
    if item["state"] == "ready":
        shown["downloadUrl"] = files.presign_download(tenant_id, item["id"], item["filename"], item["contentType"])
    return shown


# ------------------------------------------------------------------------------------------- the upload checker


def verdict(declared_type: str, declared_size: int, size: int, head: bytes) -> str | None:
    """Why an upload is refused (None: accepted). `head` is its first bytes (all of them for a small file)."""
    if size != declared_size:
        return f"the file has {size} bytes, not the {declared_size} declared"
    if size > MAX_SIZE:
        return f"the file is larger than {MAX_SIZE // (1024 * 1024)} MB"
    return filetypes.check(head, declared_type, complete=size <= len(head))


def check_upload(tenant_id: str, attachment_id: str) -> str:
    """Decide a pending attachment from what its upload holds now. Returns what happened (the metric's outcome)."""
    item = dal.get(tenant_id, attachment_id)
    if item is None:
        files.delete_upload(tenant_id, attachment_id)  # no record (expired, or never ours): nothing may use it
        return "orphan"
    if item["state"] != "pending":
        files.delete_upload(tenant_id, attachment_id)  # decided already: a repeated event, or the form used again
        return "duplicate"
    upload = files.head_upload(tenant_id, attachment_id)
    if upload is None:
        return "missing"
    head = b""
    if upload.size == int(item["size"]):
        read = files.read_upload(tenant_id, attachment_id, upload, filetypes.HEAD_BYTES)
        if read is None:
            return "superseded"  # replaced while being read: the new upload's own event decides
        head = read
    reason = verdict(item["contentType"], int(item["size"]), upload.size, head)
    at = iso(now())
    if reason is not None:
        decided = dal.decide(tenant_id, attachment_id, "rejected", at, reason)
        files.delete_upload(tenant_id, attachment_id)
        logger.info("attachment rejected", extra={"tenant_id": tenant_id, "attachment_id": attachment_id,
                                                  "reason": reason})  # fmt: skip
        return "rejected" if decided else "duplicate"
    if not files.publish(tenant_id, attachment_id, upload, item["contentType"]):
        return "superseded"
    # If another event decided first, the copy just made is a checked file that no record may use unless it is
    # ready: still tagged unclaimed, the lifecycle rule deletes it.
    decided = dal.decide(tenant_id, attachment_id, "ready", at)
    files.delete_upload(tenant_id, attachment_id)
    return "ready" if decided else "duplicate"


def _counted(outcome: str) -> str:
    metrics.count(metrics.ATTACHMENT_CHECKS, outcome=outcome)
    return outcome


def check_record(record: Any) -> str:
    """One S3 event record: an upload to check, or something to ignore."""
    try:
        event_name = str(record["eventName"])
        bucket = record["s3"]["bucket"]["name"]
        key = unquote_plus(str(record["s3"]["object"]["key"]))  # S3 event keys are URL-encoded
    except (KeyError, TypeError):
        return _counted("malformed")
    parsed = keys.parse_attachment_upload(key)
    if parsed is not None and not all(ids.is_ulid(part) for part in parsed):
        parsed = None  # no tenant or attachment of ours has such an id (S3 allows no such key in a form of ours)
    if not event_name.startswith("ObjectCreated:") or bucket != settings().attachments_bucket or parsed is None:
        logger.warning("S3 event ignored", extra={"event_name": event_name, "bucket": bucket, "key": key[:300]})
        return _counted("ignored")
    return _counted(check_upload(*parsed))


def check_message(body: str) -> str:
    """One SQS message from the bucket: S3 event records, or S3's test event. A body that is neither is dropped
    with a log line and a metric (retrying it could never help)."""
    try:
        message = json.loads(body)
    except ValueError:
        message = None
    if isinstance(message, dict) and message.get("Event") == "s3:TestEvent":
        return _counted("test_event")  # sent once when the bucket's notification is configured
    records = message.get("Records") if isinstance(message, dict) else None
    if not isinstance(records, list) or not records:
        logger.warning("not an S3 event: dropped", extra={"body_start": str(body)[:200]})
        return _counted("malformed")
    return ",".join(check_record(record) for record in records)
