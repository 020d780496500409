"""Print the API's OpenAPI 3.1 document, merged from every function's own resolver.

    python -m tools.openapi > docs/openapi.json        (make openapi)

Each function in template.yaml is loaded the way Lambda loads it (tools.template.load_handler) and its
Powertools resolver describes its one route; Powertools' OpenAPIMerge combines them. Three corrections
make the result describe what the deployed API really does:
- paths use the template's path (`/v1/tickets/{id}`), not the handler's parameter name (`{ticket_id}`);
- Powertools' default 422 response is replaced by our problem+json errors (validation is a 400);
- the schemas that only the dropped 422 referenced are removed.
The output is deterministic (sorted keys), so a test can compare it with the committed docs/openapi.json.
"""

from __future__ import annotations

import json
import os
import re
import sys
from typing import Any

from aws_lambda_powertools.event_handler.openapi.merge import OpenAPIMerge
from aws_lambda_powertools.event_handler.openapi.models import APIKey, APIKeyIn, HTTPBearer, Server

from tools import template

TITLE = "Tickets API"
VERSION = "1.0.0"
LOCAL_SERVER = "http://127.0.0.1:3000"
DESCRIPTION = """\
Multi-tenant support-ticket API. Authenticate with `X-API-Key: <key>` or `Authorization: Bearer <key>`;
every request sees only the key's tenant, and each route needs one scope (403 `INSUFFICIENT_SCOPE` otherwise).

Errors are RFC 9457 problem details, `Content-Type: application/problem+json`:
`{"type", "title", "status", "detail", "code", "errors": [{"field", "message"}], "requestId"}`.
`code` is stable (e.g. `VALIDATION_ERROR`, `UNAUTHORIZED`, `NOT_FOUND`, `CONFLICT`, `PRECONDITION_FAILED`);
unknown body fields and unknown query parameters are a 400 `VALIDATION_ERROR` naming the field.

Lists return `{"data", "total", "limit", "offset", "nextCursor"}`. Prefer `cursor` paging: an `offset` page
reads and discards `offset` items first.
"""

PROBLEM = {
    "type": "object",
    "title": "Problem",
    "description": "RFC 9457 problem details (application/problem+json).",
    "required": ["type", "title", "status", "detail", "code", "errors"],
    "properties": {
        "type": {"type": "string", "examples": ["urn:tickets:problem:validation-error"]},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "code": {"type": "string", "examples": ["VALIDATION_ERROR"]},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["field", "message"],
                "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
            },
        },
        "requestId": {"anyOf": [{"type": "string"}, {"type": "null"}]},
    },
}
ERRORS = {
    "400": "Validation failed (VALIDATION_ERROR, INVALID_JSON, INVALID_* references)",
    "401": "Missing, unknown or revoked API key (UNAUTHORIZED)",
    "403": "The key lacks the route's scope (INSUFFICIENT_SCOPE) or the plan limit is reached",
    "404": "No such resource in this tenant (NOT_FOUND; CUSTOMER_NOT_FOUND for api-create)",
    "409": "Conflict (CONFLICT, TICKET_CLOSED, IDEMPOTENCY_IN_PROGRESS)",
    "412": "If-Match does not equal the current version (PRECONDITION_FAILED)",
    "413": "Body larger than 256 KB (PAYLOAD_TOO_LARGE)",
    "415": "The body is not application/json (UNSUPPORTED_MEDIA_TYPE)",
    "422": "The Idempotency-Key was used with another request (IDEMPOTENCY_KEY_REUSED)",
    "503": "Throttled by AWS after retries (SERVICE_UNAVAILABLE, with Retry-After)",
}
_POWERTOOLS_ONLY = ("HTTPValidationError", "ValidationError", "ResponseValidationError")
_PLACEHOLDER = re.compile(r"\{([^}/]+)\}")


def _error_codes(method: str, path: str) -> list[str]:
    codes = ["400", "401", "403", "503"]
    if "{" in path:
        codes.append("404")
    if method in ("post", "patch"):
        codes += ["413", "415"]
        if not path.startswith("/v1/tickets") or method == "patch":
            codes.append("409")  # duplicate externalId / tag name; closed ticket
    if method == "post":
        codes += ["409", "422"]  # Idempotency-Key in progress / reused
    if method == "patch" and path.startswith("/v1/tickets/"):
        codes.append("412")
    if method == "delete" and path.split("/")[2] in ("customers", "agents", "api-keys", "business-hours", "groups"):
        # a customer with tickets, an agent with open tickets, a key already revoked, hours in use, a group with
        # unfinished tickets
        codes.append("409")
    if method in ("patch", "delete") and path == "/v1/sla-policies/{id}":
        codes.append("412")  # the policy changed while the request was applied (its revision)
    if path == "/v1/tickets/api-create":
        codes.append("404")  # CUSTOMER_NOT_FOUND: no customer with that externalId
    return sorted(set(codes))


IDEMPOTENCY_HEADER = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": (
        "Makes the POST safe to retry: scoped to the tenant and the route, kept 24 h. A replay returns the "
        "first 2xx answer with `Idempotent-Replayed: true` (secrets such as a new API key or webhook secret "
        "are shown only by the first answer); another request with the same key is 422; a duplicate while "
        "the first runs is 409. Error answers are not stored."
    ),
    "schema": {"type": "string", "minLength": 1, "maxLength": 255},
}


REPLAYED_HEADER = "Idempotent-Replayed"
REPLAYED = {
    "description": "`true` when this answer is the stored first answer to the same Idempotency-Key.",
    "schema": {"type": "string", "enum": ["true"]},
}
RETRY_AFTER = {"description": "Seconds to wait before retrying.", "schema": {"type": "string", "examples": ["1"]}}


def _camel(snake: str) -> str:
    first, *rest = snake.split("_")
    return first + "".join(word.capitalize() for word in rest)


def _plain(value: Any) -> Any:
    if hasattr(value, "model_dump"):
        return value.model_dump(by_alias=True, exclude_none=True, mode="json")
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _query_properties(namespace: dict[str, Any]) -> dict[str, Any]:
    """Full JSON schemas of a list route's query parameters (Powertools flattens them to strings)."""
    from tickets.models.common import PageQuery  # the shared layer is on the path once a handler is loaded

    props: dict[str, Any] = {}
    for _, obj in sorted(namespace.items()):
        if isinstance(obj, type) and issubclass(obj, PageQuery):
            raw = json.dumps(obj.model_json_schema(ref_template="#/components/schemas/{model}")["properties"])
            props |= json.loads(raw)
    for prop in props.values():
        prop.pop("title", None)
    return props


def function_schema(fn: template.Function) -> dict[str, Any]:
    """One function's OpenAPI document, with its path in the template's form."""
    template.load_handler(fn)
    resolver = sys.modules[fn.module_name].app
    schema = _plain(resolver.get_openapi_schema())
    query_props = _query_properties(vars(sys.modules[fn.module_name]))
    paths: dict[str, Any] = {}
    for path, item in schema.get("paths", {}).items():
        for method, operation in item.items():
            route = next((r for r in fn.routes if r.method.lower() == method), None)
            if route is None:
                raise LookupError(f"{fn.name} serves {method.upper()} {path}, which template.yaml does not route")
            renames = dict(zip(_PLACEHOLDER.findall(path), _PLACEHOLDER.findall(route.path), strict=True))
            for param in operation.get("parameters", []):
                if param.get("in") == "path":
                    param["name"] = renames[param["name"]]
                    param["schema"].pop("title", None)
                elif param.get("in") == "query" and param["name"] in query_props:
                    param["schema"] = query_props[param["name"]]
                    if '"array"' in json.dumps(param["schema"]):
                        param["explode"] = False  # a comma list: status=new,open
            # SDK generators name methods after it: listTickets, not list_tickets_v1_tickets_get.
            operation["operationId"] = _camel(fn.code_uri.name)
            responses = operation.setdefault("responses", {})
            if method == "post":
                operation.setdefault("parameters", []).append(dict(IDEMPOTENCY_HEADER))
                for code, response in responses.items():
                    if code.startswith("2"):
                        response.setdefault("headers", {})[REPLAYED_HEADER] = REPLAYED
            responses.pop("422", None)
            if "204" in responses:
                responses["204"].pop("content", None)
            for code in _error_codes(method, route.path):
                responses[code] = {"$ref": f"#/components/responses/Error{code}"}
            paths.setdefault(route.path, {})[method] = operation
    schema["paths"] = paths
    return schema


def build() -> dict[str, Any]:
    os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
    merge = OpenAPIMerge(
        title=TITLE,
        version=VERSION,
        description=DESCRIPTION,
        servers=[Server(url=LOCAL_SERVER, description="make dev (local stack)")],
        security_schemes={
            "apiKey": APIKey(name="X-API-Key", **{"in": APIKeyIn.header}),
            "bearer": HTTPBearer(description="The same API key, as Authorization: Bearer <key>"),
        },
        security=[{"apiKey": []}, {"bearer": []}],
        on_conflict="error",
    )
    for fn in template.functions().values():
        if any(route.is_api for route in fn.routes):  # the console's files are no API
            merge.add_schema(function_schema(fn))
    doc = _plain(merge.get_openapi_schema())
    schemas = doc["components"]["schemas"]
    for name in _POWERTOOLS_ONLY:
        schemas.pop(name, None)
    schemas["Problem"] = PROBLEM
    doc["components"]["responses"] = {
        f"Error{code}": {
            "description": text,
            "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
        for code, text in ERRORS.items()
    }
    doc["components"]["responses"]["Error503"]["headers"] = {"Retry-After": RETRY_AFTER}
    names = {t for item in doc["paths"].values() for op in item.values() for t in op.get("tags", [])}
    doc["tags"] = [{"name": name} for name in sorted(names)]
    return doc


def render() -> str:
    return json.dumps(build(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def main() -> int:
    sys.stdout.write(render())
    return 0


if __name__ == "__main__":
    sys.exit(main())
