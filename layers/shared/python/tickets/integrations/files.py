"""The attachments bucket (S3): presigned uploads and downloads, and the few object operations around them.

Two places per attachment, both tenant-prefixed (dal.keys):
- `u/<tenant>/<id>`: where the client's presigned POST writes. A presigned POST can be used again until it
  expires, so what is there is never trusted, and never served.
- `t/<tenant>/<id>`: the checked file. Only our code writes here: the checker copies an accepted upload (the
  very bytes it checked, by ETag), and the inbound email channel stores what it checked itself.

The bucket's lifecycle rules (template.yaml) delete uploads a day old, and checked files tagged
`state=unclaimed` (the checker's copy) a day after they were made. A comment retags its files `state=claimed`
before its transaction: a file is never claimed while still tagged for deletion. A file without that tag is kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

from botocore.exceptions import ClientError

from tickets.aws import client
from tickets.config import settings
from tickets.dal import keys
from tickets.timeutil import now

UPLOAD_SECONDS = 15 * 60  # how long a presigned POST may be used
DOWNLOAD_SECONDS = 5 * 60  # how long a download URL works
# The lifecycle rule's tag filter in template.yaml (tests/unit/test_template_guards.py keeps them equal).
STATE_TAG = "state"
UNCLAIMED, CLAIMED = "unclaimed", "claimed"

_MISSING = frozenset({"404", "NoSuchKey", "NotFound"})
_CHANGED = frozenset({"412", "PreconditionFailed"})


def _s3() -> Any:
    return client("s3")


def _bucket() -> str:
    bucket = settings().attachments_bucket
    if not bucket:
        raise RuntimeError("ATTACHMENTS_BUCKET is not set (template resource AttachmentsBucket)")
    return bucket


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


@dataclass(frozen=True)
class UploadForm:
    url: str
    fields: dict[str, str]
    expires_at: datetime


def presign_upload(tenant_id: str, attachment_id: str, content_type: str, size: int) -> UploadForm:
    """A presigned POST for exactly this key, this Content-Type and exactly `size` bytes, for UPLOAD_SECONDS."""
    key = keys.attachment_upload(tenant_id, attachment_id)
    expires = now() + timedelta(seconds=UPLOAD_SECONDS)
    post = _s3().generate_presigned_post(
        Bucket=_bucket(),
        Key=key,
        Fields={"Content-Type": content_type},
        Conditions=[{"Content-Type": content_type}, ["content-length-range", size, size]],
        ExpiresIn=UPLOAD_SECONDS,
    )
    return UploadForm(post["url"], {k: str(v) for k, v in post["fields"].items()}, expires)


def upload_endpoint() -> str:
    """The URL presigned POSTs go to (presign_upload's `url`), where browsers send uploads: the agent console's
    Content-Security-Policy must allow it. Presigning is computed locally: no AWS call, no permission."""
    return str(_s3().generate_presigned_post(Bucket=_bucket(), Key="u/", ExpiresIn=60)["url"])


def content_disposition(filename: str) -> str:
    """`attachment` with the filename as RFC 6266 gives it: an ASCII fallback, and the exact name UTF-8 encoded.

    Every character that could end the quoted string or the header (quotes, backslashes, CR, LF, other controls,
    anything beyond ASCII) becomes `_` in the fallback and is percent-encoded in `filename*`.
    """
    fallback = "".join(c if " " <= c <= "~" and c not in '"\\%' else "_" for c in filename).strip() or "download"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='!#$&+-.^_`|~')}"


def presign_download(tenant_id: str, attachment_id: str, filename: str, content_type: str) -> str:
    """A URL that downloads the checked file for DOWNLOAD_SECONDS, always as an attachment (never shown inline)."""
    return str(
        _s3().generate_presigned_url(
            "get_object",
            Params={
                "Bucket": _bucket(),
                "Key": keys.attachment_object(tenant_id, attachment_id),
                "ResponseContentDisposition": content_disposition(filename),
                "ResponseContentType": content_type,
            },
            ExpiresIn=DOWNLOAD_SECONDS,
        )
    )


@dataclass(frozen=True)
class Upload:
    size: int
    etag: str


def head_upload(tenant_id: str, attachment_id: str) -> Upload | None:
    """The uploaded object's size and ETag; None if there is none."""
    try:
        resp = _s3().head_object(Bucket=_bucket(), Key=keys.attachment_upload(tenant_id, attachment_id))
    except ClientError as exc:
        if _code(exc) in _MISSING:
            return None
        raise
    return Upload(int(resp["ContentLength"]), str(resp["ETag"]))


def read_upload(tenant_id: str, attachment_id: str, upload: Upload, length: int) -> bytes | None:
    """The first `length` bytes of that very upload; None if it is gone or was replaced since."""
    if upload.size == 0:
        return b""
    try:
        resp = _s3().get_object(
            Bucket=_bucket(),
            Key=keys.attachment_upload(tenant_id, attachment_id),
            Range=f"bytes=0-{min(length, upload.size) - 1}",
            IfMatch=upload.etag,
        )
    except ClientError as exc:
        if _code(exc) in _MISSING | _CHANGED:
            return None
        raise
    with resp["Body"] as body:
        data: bytes = body.read()
    return data


def publish(tenant_id: str, attachment_id: str, upload: Upload, content_type: str) -> bool:
    """Copy that very upload (by ETag) to the checked file, tagged unclaimed, typed as checked and marked for
    download. False if the upload was replaced or removed meanwhile (its own event brings the new one)."""
    try:
        _s3().copy_object(
            Bucket=_bucket(),
            Key=keys.attachment_object(tenant_id, attachment_id),
            CopySource={"Bucket": _bucket(), "Key": keys.attachment_upload(tenant_id, attachment_id)},
            CopySourceIfMatch=upload.etag,
            MetadataDirective="REPLACE",
            ContentType=content_type,
            ContentDisposition="attachment",
            TaggingDirective="REPLACE",
            Tagging=f"{STATE_TAG}={UNCLAIMED}",
        )
    except ClientError as exc:
        if _code(exc) in _MISSING | _CHANGED:
            return False
        raise
    return True


def delete_upload(tenant_id: str, attachment_id: str) -> None:
    """Remove the upload (nothing happens if there is none)."""
    _s3().delete_object(Bucket=_bucket(), Key=keys.attachment_upload(tenant_id, attachment_id))


def delete_file(tenant_id: str, attachment_id: str) -> None:
    """Remove the checked file (nothing happens if there is none)."""
    _s3().delete_object(Bucket=_bucket(), Key=keys.attachment_object(tenant_id, attachment_id))


def mark_claimed(tenant_id: str, attachment_id: str) -> bool:
    """Take the checked file out of the lifecycle rule's reach (tag `state=claimed`); False if there is no file."""
    try:
        _s3().put_object_tagging(
            Bucket=_bucket(),
            Key=keys.attachment_object(tenant_id, attachment_id),
            Tagging={"TagSet": [{"Key": STATE_TAG, "Value": CLAIMED}]},
        )
    except ClientError as exc:
        if _code(exc) in _MISSING:
            return False
        raise
    return True
