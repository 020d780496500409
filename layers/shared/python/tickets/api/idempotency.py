"""`Idempotency-Key` on every POST route, through Powertools' idempotency utility (not hand-rolled).

`make_handler` calls `resolve` instead of `app.resolve` when a POST carries the header, after
authentication (so the tenant is known):

- **Scope.** Records live in the table itself, under the tenant's own partition
  (`dal.keys.idempotency_partition`), so tenant B's key can never find tenant A's record. The hashed key
  covers the route (`routeKey`) and the header value, so one key on two routes does not collide.
- **Validation.** The path parameters, query string and body are the payload Powertools validates: the
  same key with another request is 422 `IDEMPOTENCY_KEY_REUSED` (JSON bodies are compared parsed, so key
  order and whitespace do not matter).
- **What is stored.** Only 2xx answers. Any other answer leaves the idempotent function as an exception,
  so Powertools deletes the in-progress record (its default for a raised exception) and a corrected
  retry with the same key runs afresh; the answer itself is returned unchanged.
- **Replays** return the stored status, headers and body, plus `Idempotent-Replayed: true` (Powertools'
  `response_hook`). A duplicate that arrives while the first still runs is 409 `IDEMPOTENCY_IN_PROGRESS`.
- **Calls.** A first request adds 2 DynamoDB calls (the conditional PutItem of the in-progress record
  and the UpdateItem that completes it); a replay is 1 call, the failed conditional put, because
  Powertools asks for ReturnValuesOnConditionCheckFailure=ALL_OLD and reads the stored answer from the
  error. A non-2xx answer adds a DeleteItem instead of the UpdateItem.
- **Cold start.** Powertools' idempotency package imports boto3 (~50 ms), so it is imported on the
  first request that carries the header, never when a handler module is imported.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from tickets import coldstart
from tickets.api import auth, problems
from tickets.config import settings
from tickets.dal import keys
from tickets.dal.client import ddb
from tickets.errors import ValidationFailed
from tickets.models.tenants import Principal

if TYPE_CHECKING:
    from tickets.api.resolver import Api

HEADER = "Idempotency-Key"
SCOPES_NOTE = "X-Tickets-Needed-Scopes"  # kept in the stored answer only, never sent
REPLAYED_HEADER = "Idempotent-Replayed"
MAX_KEY_LENGTH = 255


def key_of(event: dict[str, Any]) -> str | None:
    """The request's Idempotency-Key: None unless it is a POST that carries one; 400 if it is too long."""
    method = ((event.get("requestContext") or {}).get("http") or {}).get("method", "")
    if str(method).upper() != "POST":
        return None
    headers = event.get("headers") or {}
    name = next((k for k in headers if k.lower() == HEADER.lower()), None)
    if name is None:
        return None
    value = str(headers[name])
    if not value or len(value) > MAX_KEY_LENGTH:
        message = f"must be 1 to {MAX_KEY_LENGTH} characters"
        raise ValidationFailed.of(HEADER, message)
    return value


class _NotStored(Exception):
    """Carries a non-2xx answer out of the idempotent function, so that Powertools deletes the record."""

    def __init__(self, response: dict[str, Any]) -> None:
        super().__init__(f"HTTP {response.get('statusCode')} is not stored")
        self.response = response


def _body(event: dict[str, Any]) -> Any:
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        body = base64.b64decode(body).decode("utf-8", errors="replace")
    try:
        return {"json": json.loads(body)} if body else None
    except ValueError:
        return {"text": body}  # not JSON: answered 400 (never stored), but still hashable


def _request(event: dict[str, Any], key: str) -> dict[str, Any]:
    """What Powertools hashes: [route, key] is the idempotency key, [path, query, body] is validated."""
    route = event.get("routeKey") or (event.get("requestContext") or {}).get("routeKey", "")
    return {
        "route": route,
        "key": key,
        "path": event.get("pathParameters") or {},
        "query": event.get("queryStringParameters") or {},
        "body": _body(event),
    }


@coldstart.on_restore
def _forget_stores() -> None:
    _store.cache_clear()  # each holds the snapshot's DynamoDB client


@lru_cache(maxsize=256)
def _store(table: str, tenant_id: str, client: Any) -> Any:
    """One persistence layer per tenant (its partition is fixed), cached for the container's life."""
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

    return DynamoDBPersistenceLayer(
        table_name=table,
        key_attr=keys.PK,
        sort_key_attr=keys.SK,
        static_pk_value=keys.idempotency_partition(tenant_id),
        expiry_attr="expiresAt",  # the table's TTL attribute
        boto3_client=client,  # our botocore client: Powertools only calls its low-level item operations
    )


def _replayed(response: dict[str, Any], idempotent_data: Any) -> dict[str, Any]:
    """Powertools' response hook: runs only when the answer comes from the store."""
    return {**response, "headers": {**(response.get("headers") or {}), REPLAYED_HEADER: "true"}}


def _without(response: dict[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
    """The answer as stored: secret fields of its JSON body are nulled (a secret is shown only once)."""
    if not fields:
        return response
    body = json.loads(response.get("body") or "{}")
    return {**response, "body": json.dumps({**body, **dict.fromkeys(fields)}, separators=(",", ":"))}


def _needs(response: dict[str, Any], caller: Principal) -> dict[str, Any]:
    """A stored answer without its scope note; 403 if the note names a scope the replaying caller lacks."""
    headers = dict(response.get("headers") or {})
    needed = frozenset(filter(None, str(headers.pop(SCOPES_NOTE, "")).split(" ")))
    auth.require_scopes(caller, needed, "replaying this request")
    return {**response, "headers": headers}


def resolve(
    app: Api,
    event: dict[str, Any],
    context: Any,
    *,
    caller: Principal,
    key: str,
    secret_fields: tuple[str, ...] = (),
    needed_scopes: Callable[[], frozenset[str]] = frozenset,
) -> dict[str, Any]:
    """`app.resolve(event, context)` at most once per (tenant, route, key); raises DomainError for 403/409/422/503.

    `secret_fields` (e.g. a new API key) are returned by the first answer only: the stored answer, and
    so every replay, has them as null, because the store must never hold a secret in clear.
    `needed_scopes()` are the scopes the request needed beyond its route's (asked once it has run): they are
    stored with the answer, and a replay is served only to a caller who holds them too. The route's own scope
    and the key's tenant are checked before this is called, on every request.
    """
    tenant_id = caller.tenantId
    from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function

    config = IdempotencyConfig(
        event_key_jmespath="[route, key]",
        payload_validation_jmespath="[path, query, body]",
        raise_on_no_idempotency_key=True,
        expires_after_seconds=settings().idempotency_ttl_seconds,
        response_hook=_replayed,
    )
    # An in-progress record expires with this invocation, so a retry after a timeout is not locked out.
    config.register_lambda_context(context)
    store = _store(settings().table_name, tenant_id, ddb())

    @idempotent_function(
        data_keyword_argument="request", persistence_store=store, config=config, key_prefix=keys.IDEMPOTENCY_SK_PREFIX
    )
    def run(request: dict[str, Any]) -> dict[str, Any]:
        response: dict[str, Any] = app.resolve(event, context)
        if not 200 <= int(response.get("statusCode", 500)) < 300:
            raise _NotStored(response)
        first["response"] = response
        stored = _without(response, secret_fields)
        if needed := needed_scopes():
            stored = {**stored, "headers": {**(stored.get("headers") or {}), SCOPES_NOTE: " ".join(sorted(needed))}}
        return stored

    first: dict[str, dict[str, Any]] = {}  # the unredacted answer, when this call is the one that ran
    try:
        result: dict[str, Any] = run(request=_request(event, key))
    except _NotStored as answer:
        return answer.response
    except Exception as exc:
        if "response" in first:
            # The request took effect and only saving its answer failed: a 503 would invite a retry that
            # makes a second ticket. The record stays in progress until this invocation's time is up.
            from aws_lambda_powertools import Logger

            Logger().warning("the answer could not be saved under its Idempotency-Key", exc_info=exc)
            return first["response"]
        mapped = problems.from_idempotency(exc)
        if mapped is None:
            raise
        raise mapped from exc
    return first.get("response") or _needs(result, caller)
