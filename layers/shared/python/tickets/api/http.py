"""Resolver set-up shared by every API function.

Each Lambda serves one route, so authentication and the scope check run before routing: an
unauthenticated request gets 401 whatever its body, and validation errors are only shown to callers
who are allowed to call the route.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections import Counter
from collections.abc import Callable, Iterable
from contextvars import ContextVar
from functools import cache
from typing import Any, get_args, get_origin
from urllib.parse import parse_qsl, urlencode

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging import correlation_paths
from botocore.exceptions import ClientError
from pydantic import BaseModel

from tickets import coldstart, metrics
from tickets.api import auth, idempotency, problems
from tickets.api.resolver import Api, Header, Query, Response
from tickets.errors import (
    DomainError,
    FieldError,
    InvalidJson,
    NotFound,
    PayloadTooLarge,
    UnsupportedMediaType,
    ValidationFailed,
)
from tickets.models.common import text_problem
from tickets.models.tenants import Principal

logger = Logger()
MAX_BODY_BYTES = 256 * 1024
MAX_JSON_DEPTH = 32  # DynamoDB stores documents nested at most 32 levels deep
MAX_PATH_PARAMETER = 200  # no id is longer; DynamoDB refuses sort keys over 1 KB
JSON = "application/json"
_JSON_TOKENS = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]')  # a whole string, or a bracket


def _too_deep_error() -> ValidationFailed:
    return ValidationFailed.of("body", f"must not be nested more than {MAX_JSON_DEPTH} levels deep")


def _too_deep(text: str) -> bool:
    """Whether JSON text nests arrays and objects more than MAX_JSON_DEPTH levels (brackets in strings skipped).

    Checked before json.loads, which recurses once per level: 10,000 levels would be a RecursionError.
    """
    if text.count("[") + text.count("{") <= MAX_JSON_DEPTH:
        return False
    depth = 0
    for match in _JSON_TOKENS.finditer(text):
        token = match.group()
        if token in ("[", "{"):
            depth += 1
            if depth > MAX_JSON_DEPTH:
                return True
        elif token in ("]", "}"):
            depth -= 1
    return False


def _bad_string(data: Any) -> FieldError | None:
    """The first string (key or value) of a parsed JSON body that cannot be stored as text, as a field error."""
    stack: list[tuple[tuple[str, ...], Any]] = [((), data)]
    while stack:
        path, item = stack.pop()
        if isinstance(item, str):
            if problem := text_problem(item):
                return FieldError(".".join(path) or "body", problem)
        elif isinstance(item, dict):
            for key in item:
                if problem := text_problem(key):
                    return FieldError(".".join(path) or "body", f"keys {problem}")
            stack.extend(((*path, key), value) for key, value in reversed(item.items()))
        elif isinstance(item, list):
            stack.extend(((*path, str(i)), value) for i, value in reversed(list(enumerate(item))))
    return None


def loads(text: str | bytes | bytearray) -> Any:
    """The resolvers' JSON body parser: an object, bounded nesting, strings that can be stored (no NUL, no surrogate).

    A lone surrogate ("\\ud800") is valid JSON but not valid UTF-8: DynamoDB refuses it, so it is a 400 here,
    naming the field, whatever the route's model says.
    """
    if not isinstance(text, str):
        text = bytes(text).decode("utf-8")
    if _too_deep(text):
        raise _too_deep_error()
    try:
        data = json.loads(text)  # NaN/Infinity parse; the models refuse them by field
    except json.JSONDecodeError:
        raise  # Powertools answers it as json_invalid: 400 INVALID_JSON
    except (ValueError, RecursionError):  # an integer beyond int()'s 4,300 digits
        raise ValidationFailed.of("body", "numbers must have at most 38 digits") from None
    if not isinstance(data, dict):
        # Every body is an object. Powertools would unwrap a one-item array into the model ([{...}] as {...}).
        raise ValidationFailed.of("body", "must be a JSON object")
    if ("\\u" in text or not text.isascii()) and (bad := _bad_string(data)):
        raise ValidationFailed.of(bad.field, bad.message)
    return data


__all__ = ["Api", "Header", "Query", "Response"]  # what app.py files import from here, besides the helpers below


def _request_id(app: Api) -> str | None:
    event = app.current_event
    return ((event.raw_event if event else {}).get("requestContext") or {}).get("requestId")


def _problem(status: int, body: str, headers: dict[str, str] | None = None) -> Response:
    return Response(status_code=status, content_type=problems.PROBLEM_JSON, body=body, headers=headers)


def build_app() -> Api:
    """A function's resolver: Powertools' APIGatewayHttpResolver with validation, as answered by `Api`, which imports
    Powertools' event handler only for what it does not answer itself (tickets/api/resolver.py)."""
    app = Api(enable_validation=True, json_body_deserializer=loads)

    @app.exception_handler(DomainError)
    def _domain(exc: DomainError) -> Response:
        return _problem(*problems.from_domain(exc, _request_id(app)), problems.headers_for(exc) or None)

    @app.validation_error  # Powertools' RequestValidationError
    def _invalid(exc: Any) -> Response:
        return _problem(*problems.from_validation(list(exc.errors()), _request_id(app)))

    @app.not_found  # Powertools' NotFoundError
    def _no_route(exc: Any) -> Response:
        return _problem(*problems.from_domain(NotFound("no such route"), _request_id(app)))

    @app.exception_handler(ClientError)
    def _aws(exc: ClientError) -> Response:
        code = exc.response.get("Error", {}).get("Code", "")
        if problems.is_throttle(exc):
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


def principal(app: Api) -> Principal:
    return app.context["principal"]


# Scopes the current request needed beyond its route's: an Idempotency-Key replay of it needs them too.
_extra_scopes: ContextVar[frozenset[str]] = ContextVar("extra_scopes", default=frozenset())


def require_scopes(app: Api, scopes: Iterable[str], why: str) -> None:
    """403 unless the caller holds `scopes` (needed by what the request asks, e.g. a status change in a PATCH).

    They are remembered with the request's stored answer, so that an Idempotency-Key replay is served only to
    a key that could have made the request itself.
    """
    wanted = frozenset(scopes)
    auth.require_scopes(principal(app), wanted, why)
    _extra_scopes.set(_extra_scopes.get() | wanted)


def tenant_id(app: Api) -> str:
    return principal(app).tenantId


def _body_bytes(event: dict[str, Any]) -> int:
    """The body's size in bytes, as sent (base64 bodies decode to 3 bytes per 4 characters)."""
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        return len(body) * 3 // 4 - body[-2:].count("=")
    if len(body) * 4 <= MAX_BODY_BYTES:  # UTF-8 takes at most 4 bytes a character
        return len(body)
    return len(body.encode("utf-8", "surrogatepass"))


def _text_body(event: dict[str, Any]) -> str:
    """The body as text; a base64 body (API Gateway's form for bytes that are not UTF-8) is decoded here, once."""
    body = event.get("body") or ""
    if body and event.get("isBase64Encoded"):
        try:
            body = base64.b64decode(body, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise InvalidJson("the body is not UTF-8 encoded JSON") from None
        event["body"], event["isBase64Encoded"] = body, False
    return str(body)


def _check_strings(kind: str, values: dict[str, Any], max_length: int | None = None) -> None:
    """Path parameters, query parameters and headers must be storable text too (no NUL, no lone surrogate)."""
    for name, value in values.items():
        if problem := text_problem(str(name)):
            raise ValidationFailed.of(kind, problem)  # a name that is not text cannot name the field
        if not (problem := text_problem(str(value))) and max_length is not None and len(str(value)) > max_length:
            problem = f"must be at most {max_length} characters"
        if problem:
            raise ValidationFailed.of(name, problem)


def _check_content_type(headers: dict[str, Any]) -> None:
    given = next((k for k in headers if k.lower() == "content-type"), None)
    media, _, parameters = str(headers[given] if given else JSON).partition(";")
    media = media.strip().lower()
    if media != JSON:
        # Without this, Powertools reads a form-encoded body as form fields and the errors make no sense.
        raise UnsupportedMediaType(f"the body must be JSON (Content-Type: {JSON}), not {media}")
    for parameter in parameters.split(";"):
        name, _, value = parameter.partition("=")
        charset = value.strip().strip('"').lower()
        if name.strip().lower() == "charset" and charset not in ("utf-8", "utf8"):
            raise UnsupportedMediaType(f"JSON bodies are UTF-8, not charset={charset}")
    if given:
        del headers[given]
    headers["content-type"] = JSON  # absent or any letter case: the resolver expects this spelling


def _check_query(event: dict[str, Any], allowed: frozenset[str], lists: frozenset[str]) -> None:
    params = event.get("queryStringParameters") or {}
    _check_strings("query", params)
    unknown = sorted(set(params) - allowed)
    if unknown:
        raise ValidationFailed(
            f"unknown query parameter: {', '.join(unknown)}",
            [FieldError(name, "unknown query parameter") for name in unknown],
        )
    # API Gateway joins a repeated parameter with commas: a list parameter reads that as its comma list, but
    # for any other parameter it would silently become one value ("limit=1&limit=2" -> "1,2"), so refuse it.
    counts = Counter(name for name, _ in parse_qsl(event.get("rawQueryString") or "", keep_blank_values=True))
    repeated = sorted(name for name, n in counts.items() if n > 1 and name in allowed and name not in lists)
    if repeated:
        message = "must be given once"
        raise ValidationFailed(
            f"repeated query parameter: {', '.join(repeated)}", [FieldError(name, message) for name in repeated]
        )
    if any(n > 1 for n in counts.values()):
        # A repeated list parameter means its comma list. Powertools would read only the first of the repeats
        # (it sees them in rawQueryString), so the raw query is made to say what API Gateway's join says.
        event["rawQueryString"] = urlencode(params)


def _precheck(
    event: dict[str, Any],
    scope: str | None,
    query_params: frozenset[str],
    list_params: frozenset[str] = frozenset(),
    takes_body: Callable[[], bool] = lambda: True,
    fresh_auth: bool = False,
) -> Principal:
    if _body_bytes(event) > MAX_BODY_BYTES:
        raise PayloadTooLarge("the body is larger than 256 KB")
    headers = event.get("headers") or {}
    found = auth.authenticate(headers, fresh=fresh_auth)
    if scope is not None:
        auth.require_scope(found, scope)
    _check_strings("path", event.get("pathParameters") or {}, MAX_PATH_PARAMETER)
    _check_strings("header", headers)
    if body := _text_body(event):
        _check_content_type(headers)
        if not takes_body():
            if _parsed(body) != {}:
                raise ValidationFailed.of("body", "this route takes no request body")
        elif _too_deep(body):
            raise _too_deep_error()  # now, before the idempotency layer parses the body
    _check_query(event, query_params, list_params)
    return found


def _parsed(body: str) -> Any:
    """`loads` outside the resolver, where malformed JSON must become a domain error itself."""
    try:
        return loads(body)
    except json.JSONDecodeError:
        raise InvalidJson("the body is not valid JSON") from None


def _is_list(annotation: Any) -> bool:
    return get_origin(annotation) is list or any(_is_list(arg) for arg in get_args(annotation))


def _problem_result(exc: DomainError, request_id: str | None) -> dict[str, Any]:
    """A domain error raised outside the resolver, as the Lambda's HTTP API response."""
    status, body = problems.from_domain(exc, request_id)
    headers = {"Content-Type": problems.PROBLEM_JSON, **problems.headers_for(exc)}
    return {"statusCode": status, "headers": headers, "body": body}


def make_handler(
    app: Api,
    *,
    scope: str | None,
    query: type[BaseModel] | None = None,
    secret_fields: tuple[str, ...] = (),
    fresh_auth: bool = False,
) -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    """The Lambda entry point for a one-route function: observability, auth, then the resolver.

    `scope=None`: any valid key may call the route. `fresh_auth`: the key is checked against the table on
    every request, never from the cache (key management: a revoked key must not mint a new one).
    A POST with an `Idempotency-Key` header is resolved through `tickets.api.idempotency` (Powertools
    idempotency, scoped by tenant and route): a replay returns the first 2xx answer.
    """
    allowed = frozenset(query.model_fields) if query else frozenset()
    lists = frozenset(name for name, f in query.model_fields.items() if _is_list(f.annotation)) if query else allowed

    @cache
    def takes_body() -> bool:
        """Whether the route declares a body model (asked only when a request carries a body)."""
        return app.takes_body()

    @coldstart.on_snapshot
    def _before_snapshot() -> None:
        if any(route.method == "POST" for route in app.routes):
            import aws_lambda_powertools.utilities.idempotency  # noqa: F401  (it imports boto3: ~50 ms)

    # No Powertools Tracer here: importing the X-Ray SDK costs ~90 ms of every cold start. Lambda's
    # active tracing (template Globals) still records each invocation and its duration.
    # log_event=False, not the default: POWERTOOLS_LOGGER_LOG_EVENT=true would otherwise log whole events,
    # X-API-Key and Authorization headers included, and the bodies that carry new keys and webhook secrets.
    @logger.inject_lambda_context(
        correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True, log_event=False
    )
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        try:
            response = answer(event, context)
            if response.get("statusCode") == 503:
                metrics.count(metrics.THROTTLES, source="api")
        finally:
            metrics.flush()
            coldstart.first_invocation_done()
        logger.debug("answered", extra={"route": event.get("routeKey"), "status": response.get("statusCode")})
        return response

    def answer(event: dict[str, Any], context: Any) -> dict[str, Any]:
        request_id = (event.get("requestContext") or {}).get("requestId")
        _extra_scopes.set(frozenset())
        try:
            found = _precheck(event, scope, allowed, lists, takes_body, fresh_auth)
            idempotency_key = idempotency.key_of(event)
        except DomainError as exc:
            return _problem_result(exc, request_id)
        logger.append_keys(tenant_id=found.tenantId, key_id=found.keyId)
        app.append_context(principal=found)
        if idempotency_key is None:
            return app.resolve(event, context)
        try:
            return idempotency.resolve(
                app, event, context, caller=found, key=idempotency_key, secret_fields=secret_fields,
                needed_scopes=_extra_scopes.get,
            )  # fmt: skip
        except DomainError as exc:
            if exc.status >= 500:
                logger.exception("idempotency store failed")
            return _problem_result(exc, request_id)

    return handler


# Response headers a route declares in the OpenAPI document (`ok(..., headers=("ETag",))`), so that generated
# clients expose them.
RESPONSE_HEADERS: dict[str, dict[str, Any]] = {
    "ETag": {
        "description": 'The ticket\'s version as an entity tag, e.g. `"3"`: send it back in `If-Match`.',
        "schema": {"type": "string"},
    },
    "Location": {"description": "Path of the created resource.", "schema": {"type": "string"}},
}


def ok(
    model: type[BaseModel], status: int = 200, description: str = "OK", *, headers: tuple[str, ...] = ()
) -> dict[int, Any]:
    """OpenAPI response documentation for a route (the body is serialised by the route itself)."""
    response: dict[str, Any] = {"description": description, "content": {JSON: {"model": model}}}
    if headers:
        response["headers"] = {name: RESPONSE_HEADERS[name] for name in headers}
    return {status: response}


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
