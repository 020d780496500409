"""The one place where errors become HTTP: RFC 9457 problem+json with a stable `code`."""

from __future__ import annotations

import json
from typing import Any

from tickets import aws
from tickets.errors import (
    DomainError,
    FieldError,
    IdempotencyInProgress,
    IdempotencyKeyReused,
    ServiceUnavailable,
)

PROBLEM_JSON = "application/problem+json"
RETRY_AFTER_SECONDS = "1"


def problem_body(
    status: int, code: str, title: str, detail: str, errors: list[FieldError], request_id: str | None
) -> str:
    body: dict[str, Any] = {
        "type": f"urn:tickets:problem:{code.lower().replace('_', '-')}",
        "title": title,
        "status": status,
        "detail": detail or title,
        "code": code,
        "errors": [{"field": e.field, "message": e.message} for e in errors],
        "requestId": request_id,
    }
    return json.dumps(body)


def from_domain(exc: DomainError, request_id: str | None) -> tuple[int, str]:
    return exc.status, problem_body(exc.status, exc.code, exc.title, exc.detail, exc.errors, request_id)


def headers_for(exc: DomainError) -> dict[str, str]:
    """Response headers that go with a domain error's problem (a 503 tells the caller when to retry)."""
    return {"Retry-After": RETRY_AFTER_SECONDS} if exc.status == 503 else {}


def from_idempotency(exc: Exception) -> DomainError | None:
    """Powertools idempotency errors as domain errors; None for anything else.

    The Powertools module is imported here, not at the top: only requests that carry an Idempotency-Key
    load it (it imports boto3), and by the time one of its errors exists it is loaded already.
    """
    from aws_lambda_powertools.utilities.idempotency import exceptions as idem

    if isinstance(exc, idem.IdempotencyValidationError):
        return IdempotencyKeyReused("this Idempotency-Key was used with a different request body or path")
    if isinstance(exc, idem.IdempotencyAlreadyInProgressError):
        return IdempotencyInProgress("a request with this Idempotency-Key is still running; retry shortly")
    if isinstance(exc, idem.IdempotencyPersistenceLayerError | idem.IdempotencyInconsistentStateError):
        return ServiceUnavailable("the idempotency store is unavailable; please retry")
    return None


def _field(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in ("body", "query", "path", "header"):
        parts = parts[1:]
    if parts and parts[0] == "query":  # the list routes take their query string as one model
        parts = parts[1:]
    return ".".join(parts) or "body"


def from_validation(errors: list[dict[str, Any]], request_id: str | None) -> tuple[int, str]:
    if any(e.get("type") in ("json_invalid", "json_type") for e in errors):
        return 400, problem_body(
            400, "INVALID_JSON", "Malformed JSON body", "the body is not valid JSON", [], request_id
        )
    fields = []
    for e in errors:
        message = "unknown field" if e.get("type") == "extra_forbidden" else str(e.get("msg", "invalid"))
        if e.get("type") == "value_error" and (e.get("ctx") or {}).get("error"):
            message = str(e["ctx"]["error"])  # our validators' own words, without pydantic's "Value error, "
        fields.append(FieldError(_field(tuple(e.get("loc", ()))), message))
    detail = "; ".join(f"{f.field}: {f.message}" for f in fields[:5])
    return 400, problem_body(400, "VALIDATION_ERROR", "Validation failed", detail, fields, request_id)


def is_throttle(exc: BaseException) -> bool:
    """An AWS error that outlasted botocore's retries and asks for a later retry: 503 with Retry-After."""
    return aws.throttled(exc)
