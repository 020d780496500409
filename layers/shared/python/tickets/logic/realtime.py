"""The real-time channel's front door: tokens, the WebSocket's $connect / $disconnect, and what a client may say.

A console asks `POST /v1/realtime/tokens` with its API key and opens `wss://...?token=rt_...` within 60 s. The
token is the only credential the upgrade carries (browsers cannot set headers on a WebSocket), so it is single-use,
short-lived, bound to the key and its agent, and stored only as a hash. $connect consumes it and registers the
connection under the tenant; the push consumer (tickets.logic.realtime_push) then sends the tenant's events to it.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from typing import Any
from urllib.parse import urlencode

from tickets.config import settings
from tickets.dal import realtime as dal
from tickets.models.realtime import PING, error, pong
from tickets.models.tenants import Principal
from tickets.timeutil import from_ms, iso, now_iso

TOKEN_PREFIX = "rt_"  # noqa: S105
TOKEN_SECONDS = 60
# API Gateway closes every connection after 2 hours; the items outlive that by 10 minutes, then TTL removes them
# (a $disconnect is best effort: a connection whose $disconnect never came still goes).
CONNECTION_SECONDS = 2 * 3600 + 600
MAX_MESSAGE_BYTES = 4096  # a client sends `{"action": "ping"}`; anything much larger is not ours


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(caller: Principal) -> dict[str, Any]:
    """A new token for the caller's key (and agent): `{token, url, expiresAt}`."""
    base = settings().realtime_url
    if not base:
        raise RuntimeError("REALTIME_URL is not set (template Globals: the WebSocket API's URL)")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    expires = int(time.time()) + TOKEN_SECONDS
    dal.put_token(
        token_hash(token), tenant_id=caller.tenantId, key_id=caller.keyId, agent_id=caller.agentId, expires_at=expires
    )
    return {"token": token, "url": f"{base}?{urlencode({'token': token})}", "expiresAt": iso(from_ms(expires * 1000))}


def _well_formed(token: object) -> bool:
    return isinstance(token, str) and token.startswith(TOKEN_PREFIX) and 16 <= len(token) <= 100 and token.isascii()


def open_connection(connection_id: str, token: object) -> dict[str, Any]:
    """$connect: consume the token and register the connection. Returns the token's {tenantId, keyId, agentId}.

    Unauthorized (401) for a missing, malformed, unknown, used or expired token; Forbidden (403) when the key it
    was made with has been revoked since. API Gateway refuses the upgrade with that status.
    """
    if not _well_formed(token):
        raise dal.token_unusable()
    assert isinstance(token, str)
    digest = token_hash(token)
    found = dal.get_token(digest)
    now = int(time.time())
    if found is None or int(found["expiresAt"]) <= now:  # TTL deletes late: an expired item can still be there
        raise dal.token_unusable()
    expires = now + CONNECTION_SECONDS
    dal.open_connection(digest, found, connection_id, now=now, expires_at=expires, connected_at=now_iso())
    return {k: found.get(k) for k in ("tenantId", "keyId", "agentId")}


def close_connection(connection_id: str) -> None:
    """$disconnect: forget the connection (nothing to do if the push consumer already did)."""
    dal.close_connection(connection_id)


def answer(connection_id: str, body: str | None, *, binary: bool = False) -> dict[str, Any]:
    """$default: the message to send back for what the client sent. Never raises for anything a client sends."""
    if binary or body is None:
        return error("INVALID_MESSAGE", 'send text frames of JSON, e.g. {"action": "ping"}')
    if len(body.encode("utf-8", "surrogatepass")) > MAX_MESSAGE_BYTES:
        return error("MESSAGE_TOO_LARGE", f"messages are at most {MAX_MESSAGE_BYTES} bytes")
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        data = None
    if not isinstance(data, dict):
        return error("INVALID_MESSAGE", 'send a JSON object, e.g. {"action": "ping"}')
    if data.get("action") != PING:
        return error("UNKNOWN_ACTION", 'the only action is "ping"; events arrive by themselves')
    if dal.get_connection(connection_id) is None:
        # Closed by the server (its key was revoked, or API Gateway said it was gone): a new token opens a new one.
        return error("UNKNOWN_CONNECTION", "this connection is no longer registered: reconnect with a new token")
    return pong()
