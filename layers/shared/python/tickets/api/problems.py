"""The one place where errors become HTTP: RFC 9457 problem+json with a stable `code`."""

from __future__ import annotations

import json
from typing import Any

from tickets.errors import DomainError, FieldError

PROBLEM_JSON = "application/problem+json"
_THROTTLED = {
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
    "TransactionConflictException",
    "LimitExceededException",
}


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
        fields.append(FieldError(_field(tuple(e.get("loc", ()))), message))
    detail = "; ".join(f"{f.field}: {f.message}" for f in fields[:5])
    return 400, problem_body(400, "VALIDATION_ERROR", "Validation failed", detail, fields, request_id)


def is_throttle(code: str) -> bool:
    return code in _THROTTLED
