"""S3 for received email: the raw messages SES stores in the inbound bucket, and the files of their attachments."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from tickets.aws import client

_MISSING = frozenset({"NoSuchKey", "NoSuchBucket", "404", "NotFound"})


def _missing(exc: ClientError) -> bool:
    return exc.response.get("Error", {}).get("Code") in _MISSING


def size(bucket: str, key: str) -> int | None:
    """The stored object's size (HeadObject), None if it is gone."""
    try:
        return int(client("s3").head_object(Bucket=bucket, Key=key)["ContentLength"])
    except ClientError as exc:
        if _missing(exc):
            return None
        raise


def read(bucket: str, key: str, limit: int) -> bytes | None:
    """The stored object, at most `limit` + 1 bytes of it; None if it is gone (expired, or deleted)."""
    try:
        resp: dict[str, Any] = client("s3").get_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        if _missing(exc):
            return None
        raise
    with resp["Body"] as body:
        data: bytes = body.read(limit + 1)
    return data


def put_attachment(bucket: str, key: str, body: bytes, content_type: str) -> None:
    """A received email's attachment file, checked already, at its final key (no upload step). Tagged
    `state=claimed`, as a comment leaves the files it claims (the bucket's lifecycle rule expires only unclaimed
    ones), with `x-amz-meta-source: email` to tell where it came from."""
    client("s3").put_object(
        Bucket=bucket, Key=key, Body=body, ContentType=content_type, Metadata=SOURCE_EMAIL, Tagging=CLAIMED
    )


SOURCE_EMAIL = {"source": "email"}
CLAIMED = "state=claimed"
