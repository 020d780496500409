"""The push consumer: every ticket and comment event of a tenant, thin, to each of the tenant's open connections.

Per stream record: the tenant's connections come from one Query (once per batch and tenant: the batch shares them),
connections of revoked keys are closed (a key's state is cached per container for API_KEY_CACHE_SECONDS, 60 s,
so a revoked key's connections stop receiving within that), and the record's messages go to every connection in
parallel through API Gateway's @connections API, each connection's in event order. A connection API Gateway says
is gone (410) is deleted. A post that fails otherwise is counted and logged, not retried: a push is a notification,
a client catches up on reconnect (`updatedSince`), and a retried record would hold back every later event.

The same code runs on AWS and locally: the endpoint is REALTIME_CONNECTIONS_URL (the stage's https URL on AWS;
make dev and tests serve a local @connections endpoint there, tools/realtime.py).
"""

from __future__ import annotations

import contextvars
import json
import threading
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from aws_lambda_powertools import Logger
from botocore.exceptions import BotoCoreError, ClientError

from tickets import coldstart, metrics
from tickets.aws import PUSH_CONCURRENCY, connections_client
from tickets.config import settings
from tickets.dal import realtime as dal
from tickets.models.events import DomainEvent
from tickets.models.realtime import MAX_PUSH_BYTES, PUSHED_TICKET_FIELDS

logger = Logger()

_CHANGED_FIELD = {"ticket.status_changed": ["status"], "ticket.assigned": ["assigneeId"]}


# ------------------------------------------------------------------------------------------------ the message


def push_message(event: DomainEvent, agent_id: str | None) -> dict[str, Any]:
    """What one connection (acting as `agent_id`, or no agent) receives for one event. Pure.

    `changes` names the fields a `ticket.updated` changed (the single field of a status change or an
    assignment; nothing for a creation, a deletion or a comment). Never a comment's body, a description or any
    other field than PUSHED_TICKET_FIELDS: whoever needs more reads the ticket with their key.
    """
    ticket = event.data.get("ticket") or {}
    changes = sorted(event.data.get("changes") or {}) if event.type == "ticket.updated" else []
    assignee = ticket.get("assigneeId")
    return {
        "type": event.type,
        "eventId": event.id,
        "at": event.createdAt,
        "ticket": {name: ticket.get(name) for name in PUSHED_TICKET_FIELDS},
        "changes": _CHANGED_FIELD.get(event.type, changes),
        "forYou": bool(agent_id) and assignee == agent_id,
    }


def _dumps(message: dict[str, Any]) -> bytes:
    return json.dumps(message, separators=(",", ":"), ensure_ascii=False).encode()


def encode(message: dict[str, Any]) -> bytes:
    """The message as UTF-8 JSON of at most MAX_PUSH_BYTES: a subject that does not fit is cut and ends in "…"
    (only a subject far beyond the API's 250 characters could need it: every other field is bounded)."""
    data = _dumps(message)
    if len(data) <= MAX_PUSH_BYTES:
        return data
    subject = str(message["ticket"].get("subject") or "")

    def cut(keep: int) -> bytes:
        return _dumps({**message, "ticket": {**message["ticket"], "subject": subject[:keep] + "…"}})

    low, high = 0, len(subject)  # the longest prefix that fits: cut(low) fits (or nothing does), cut(high) not
    while low < high:
        middle = (low + high + 1) // 2
        low, high = (middle, high) if len(cut(middle)) <= MAX_PUSH_BYTES else (low, middle - 1)
    return cut(low)


# ------------------------------------------------------------------------------------------------ the connections

_key_states: dict[tuple[str, str], tuple[float, bool]] = {}  # (tenant, key id) -> (valid until, key still works)
_key_lock = threading.Lock()
_KEY_CACHE_MAX = 4096


def _keys_alive(tenant_id: str, key_ids: Iterable[str]) -> dict[str, bool]:
    """Whether each key still works, from the container's cache (at most API_KEY_CACHE_SECONDS old) or one read."""
    now = time.monotonic()
    wanted = set(key_ids)
    with _key_lock:
        known = {k: hit[1] for k in wanted if (hit := _key_states.get((tenant_id, k))) and hit[0] > now}
    missing = sorted(wanted - set(known))
    if missing:
        fresh = dal.live_keys(tenant_id, missing)
        until = now + settings().api_key_cache_seconds
        with _key_lock:
            if len(_key_states) >= _KEY_CACHE_MAX:
                _key_states.clear()
            _key_states.update({(tenant_id, k): (until, alive) for k, alive in fresh.items()})
        known |= fresh
    return known


@coldstart.on_restore  # its expiry times are read from the snapshot's monotonic clock
def clear_cache() -> None:
    with _key_lock:
        _key_states.clear()


def _open_connections(tenant_id: str, cache: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """The tenant's connections that may receive: read once per batch, unexpired, of keys that still work."""
    if tenant_id not in cache:
        now = int(time.time())
        found = [c for c in dal.tenant_connections(tenant_id) if int(c.get("expiresAt") or 0) > now]
        cache[tenant_id] = found
    connections = cache[tenant_id]
    if not connections:
        return []
    alive = _keys_alive(tenant_id, {c["keyId"] for c in connections})
    revoked = [c for c in connections if not alive.get(c["keyId"], False)]
    for conn in revoked:  # never sent to; closed and forgotten (or, if closing failed, tried again next batch)
        if _close(tenant_id, conn["connectionId"]):
            metrics.count(metrics.REALTIME_PUSHES, outcome="revoked")
            logger.info("connection of a revoked key closed", extra={"connection_id": conn["connectionId"]})
    if revoked:
        cache[tenant_id] = connections = [c for c in connections if alive.get(c["keyId"], False)]
    return connections


def _client() -> Any:
    url = settings().realtime_connections_url
    if not url:
        raise RuntimeError("REALTIME_CONNECTIONS_URL is not set (template Globals: the WebSocket stage's URL)")
    return connections_client(url)


def _gone(exc: ClientError) -> bool:
    return exc.response.get("Error", {}).get("Code") == "GoneException" or (
        exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") == 410
    )


def _close(tenant_id: str, connection_id: str) -> bool:
    """Close the socket (API Gateway then runs $disconnect) and forget the connection; False if API Gateway could
    not be told (the connection stays registered, unsent to, and is closed on a later batch)."""
    try:
        _client().delete_connection(ConnectionId=connection_id)
    except (ClientError, BotoCoreError) as exc:
        if not (isinstance(exc, ClientError) and _gone(exc)):
            metrics.count(metrics.REALTIME_PUSHES, outcome="failed")
            logger.warning("closing a revoked key's connection failed", extra={"connection_id": connection_id})
            return False
    dal.delete_connection(tenant_id, connection_id)
    return True


# ------------------------------------------------------------------------------------------------ sending

_pool: list[ThreadPoolExecutor] = []
_pool_lock = threading.Lock()


def _executor() -> ThreadPoolExecutor:
    with _pool_lock:
        if not _pool:
            _pool.append(ThreadPoolExecutor(max_workers=PUSH_CONCURRENCY, thread_name_prefix="push"))
        return _pool[0]


def _send(client: Any, connection_id: str, messages: list[bytes]) -> str:
    """Post the messages to one connection, in order: "sent", or "gone" (410: stop, the socket is closed)."""
    for data in messages:
        try:
            client.post_to_connection(ConnectionId=connection_id, Data=data)
        except (ClientError, BotoCoreError) as exc:  # BotoCoreError: no answer at all (timeouts, connection refused)
            if isinstance(exc, ClientError) and _gone(exc):
                return "gone"
            metrics.count(metrics.REALTIME_PUSHES, outcome="failed")
            code = exc.response["Error"].get("Code") if isinstance(exc, ClientError) else type(exc).__name__
            logger.warning("push failed", extra={"connection_id": connection_id, "aws_error": code})
            continue
        metrics.count(metrics.REALTIME_PUSHES, outcome="sent")
    return "sent"


def _messages(events: list[DomainEvent], agent_id: str | None, encoded: dict[tuple[str, bool], bytes]) -> list[bytes]:
    """The events as one connection receives them, encoded once per (event, forYou)."""
    out = []
    for event in events:
        message = push_message(event, agent_id)
        key = (event.id, message["forYou"])
        if key not in encoded:
            encoded[key] = encode(message)
        out.append(encoded[key])
    return out


def push(events: list[DomainEvent], cache: dict[str, list[dict[str, Any]]]) -> None:
    """Send one stream record's events to their tenant's connections. `cache` lives for one invocation."""
    by_tenant: dict[str, list[DomainEvent]] = {}
    for event in events:
        by_tenant.setdefault(event.tenantId, []).append(event)
    for tenant_id, tenant_events in by_tenant.items():
        connections = _open_connections(tenant_id, cache)
        if not connections:
            continue
        encoded: dict[tuple[str, bool], bytes] = {}  # (event id, forYou) -> bytes: most connections share one
        work = [(c["connectionId"], _messages(tenant_events, c.get("agentId"), encoded)) for c in connections]
        client = _client()  # made here, once: creating a botocore client is not thread-safe
        if len(work) == 1:
            outcomes = [_send(client, *work[0])]
        else:  # in parallel; each task in a copy of this invocation's context (logger keys, the IAM check)
            pool = _executor()
            futures = [pool.submit(contextvars.copy_context().run, _send, client, cid, msgs) for cid, msgs in work]
            outcomes = [f.result() for f in futures]
        gone = {cid for (cid, _), outcome in zip(work, outcomes, strict=True) if outcome == "gone"}
        for connection_id in sorted(gone):
            dal.delete_connection(tenant_id, connection_id)
            metrics.count(metrics.REALTIME_PUSHES, outcome="gone")
        if gone:
            cache[tenant_id] = [c for c in connections if c["connectionId"] not in gone]
