"""Resolver set-up shared by every API function.

Each Lambda serves one route, so authentication and the scope check run before routing: an
unauthenticated request gets 401 whatever its body, and validation errors are only shown to callers
who are allowed to call the route.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.logging import correlation_paths
from botocore.exceptions import ClientError
from pydantic import BaseModel

from tickets.api import auth, idempotency, problems
from tickets.errors import (
    DomainError,
    FieldError,
    NotFound,
    PayloadTooLarge,
    UnsupportedMediaType,
    ValidationFailed,
)
from tickets.models.tenants import Principal

logger = Logger()
MAX_BODY_BYTES = 256 * 1024
JSON = "application/json"


def _request_id(app: APIGatewayHttpResolver) -> str | None:
    return (app.current_event.raw_event.get("requestContext") or {}).get("requestId")


def _problem(status: int, body: str, headers: dict[str, str] | None = None) -> Response:
    return Response(status_code=status, content_type=problems.PROBLEM_JSON, body=body, headers=headers)


def build_app() -> APIGatewayHttpResolver:
    app = APIGatewayHttpResolver(enable_validation=True)

    @app.exception_handler(DomainError)
    def _domain(exc: DomainError) -> Response:
        return _problem(*problems.from_domain(exc, _request_id(app)), problems.headers_for(exc) or None)

    @app.exception_handler(RequestValidationError)
    def _invalid(exc: RequestValidationError) -> Response:
        return _problem(*problems.from_validation(list(exc.errors()), _request_id(app)))

    @app.not_found
    def _no_route(exc: NotFoundError) -> Response:
        return _problem(*problems.from_domain(NotFound("no such route"), _request_id(app)))

    @app.exception_handler(ClientError)
    def _aws(exc: ClientError) -> Response:
        code = exc.response.get("Error", {}).get("Code", "")
        if problems.is_throttle(code):
            logger.warning("throttled by AWS", extra={"aws_error": code})
            body = problems.problem_body(
                503, "SERVICE_UNAVAILABLE", "Service temporarily unavailable", "please retry", [], _request_id(app)
            )
            return _problem(503, body, {"Retry-After": problems.RETRY_AFTER_SECONDS})
        return _internal(exc)

    @app.exception_handler(Exception)
    def _internal(exc: Exception) -> Response:
        logger.exception("unhandled error")
        body = problems.problem_body(500, "INTERNAL", "Internal error", "unexpected error", [], _request_id(app))
        return _problem(500, body)

    return app


def principal(app: APIGatewayHttpResolver) -> Principal:
    return app.context["principal"]


def tenant_id(app: APIGatewayHttpResolver) -> str:
    return principal(app).tenantId


def _precheck(event: dict[str, Any], scope: str, query_params: frozenset[str]) -> Principal:
    body = event.get("body") or ""
    if len(body) > MAX_BODY_BYTES * (4 / 3 if event.get("isBase64Encoded") else 1):
        raise PayloadTooLarge("the body is larger than 256 KB")
    headers = event.get("headers") or {}
    found = auth.authenticate(headers)
    auth.require_scope(found, scope)
    if body:
        given = next((k for k in headers if k.lower() == "content-type"), None)
        media = str(headers[given] if given else JSON).split(";")[0].strip().lower()
        if media != JSON:
            # Without this, Powertools reads a form-encoded body as form fields and the errors make no sense.
            raise UnsupportedMediaType(f"the body must be JSON (Content-Type: {JSON}), not {media}")
        if given:
            del headers[given]
        headers["content-type"] = JSON  # absent or any letter case: the resolver expects this spelling
    unknown = sorted(set(event.get("queryStringParameters") or {}) - query_params)
    if unknown:
        raise ValidationFailed(
            f"unknown query parameter: {', '.join(unknown)}",
            [FieldError(name, "unknown query parameter") for name in unknown],
        )
    return found


def _problem_result(exc: DomainError, request_id: str | None) -> dict[str, Any]:
    """A domain error raised outside the resolver, as the Lambda's HTTP API response."""
    status, body = problems.from_domain(exc, request_id)
    headers = {"Content-Type": problems.PROBLEM_JSON, **problems.headers_for(exc)}
    return {"statusCode": status, "headers": headers, "body": body}


def make_handler(
    app: APIGatewayHttpResolver,
    *,
    scope: str,
    query: type[BaseModel] | None = None,
    secret_fields: tuple[str, ...] = (),
) -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    """The Lambda entry point for a one-route function: observability, auth, then the resolver.

    A POST with an `Idempotency-Key` header is resolved through `tickets.api.idempotency` (Powertools
    idempotency, scoped by tenant and route): a replay returns the first 2xx answer.
    """
    allowed = frozenset(query.model_fields) if query else frozenset()

    # No Powertools Tracer here: importing the X-Ray SDK costs ~90 ms of every cold start. Lambda's
    # active tracing (template Globals) still records each invocation and its duration.
    @logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        request_id = (event.get("requestContext") or {}).get("requestId")
        try:
            found = _precheck(event, scope, allowed)
            idempotency_key = idempotency.key_of(event)
        except DomainError as exc:
            return _problem_result(exc, request_id)
        logger.append_keys(tenant_id=found.tenantId, key_id=found.keyId)
        app.append_context(principal=found)
        if idempotency_key is None:
            return app.resolve(event, context)
        try:
            return idempotency.resolve(
                app, event, context, tenant_id=found.tenantId, key=idempotency_key, secret_fields=secret_fields
            )
        except DomainError as exc:
            if exc.status >= 500:
                logger.exception("idempotency store failed")
            return _problem_result(exc, request_id)

    return handler


def ok(model: type[BaseModel], status: int = 200, description: str = "OK") -> dict[int, Any]:
    """OpenAPI response documentation for a route (the body is serialised by the route itself)."""
    return {status: {"description": description, "content": {JSON: {"model": model}}}}


def json_response(
    model: type[BaseModel],
    data: dict[str, Any],
    status: int = 200,
    headers: dict[str, str] | None = None,
    *,
    omit_nulls: bool = False,
) -> Response:
    body = model.model_validate(data).model_dump_json(by_alias=True, exclude_none=omit_nulls)
    return Response(status_code=status, content_type=JSON, body=body, headers=headers)


def no_content() -> Response:
    return Response(status_code=204, body="")


def ticket_headers(ticket: dict[str, Any], *, location: bool = False) -> dict[str, str]:
    headers = {"ETag": f'"{ticket["version"]}"'}
    if location:
        headers["Location"] = f"/v1/tickets/{ticket['id']}"
    return headers


def dumps(data: Any) -> str:
    return json.dumps(data, separators=(",", ":"))
