"""API key authentication: a SHA-256 hash, one GetItem, cached per container for at most 60 s."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterable
from typing import Any

from tickets import coldstart
from tickets.config import settings
from tickets.dal import tenants as tenants_dal
from tickets.errors import InsufficientScope, Unauthorized
from tickets.models.tenants import Principal

_cache: dict[str, tuple[float, Principal | None]] = {}
_CACHE_MAX = 1024


def _presented_key(headers: dict[str, Any]) -> str | None:
    h = {k.lower(): v for k, v in (headers or {}).items()}
    if key := h.get("x-api-key"):
        return str(key).strip()
    auth = str(h.get("authorization") or "")
    scheme, _, token = auth.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return None


def authenticate(headers: dict[str, Any], *, fresh: bool = False) -> Principal:
    """The caller's principal. `fresh` skips the cache and reads the key strongly consistently: routes that
    manage keys must never act for a key revoked a moment ago (the cache would accept it for up to 60 s)."""
    raw = _presented_key(headers)
    if not raw or not raw.startswith("tk_") or len(raw) > 200 or not raw.isascii():  # keys are URL-safe ASCII
        raise Unauthorized("a valid API key is required (X-API-Key or Authorization: Bearer)")
    digest = hashlib.sha256(raw.encode()).hexdigest()
    ttl = settings().api_key_cache_seconds
    hit = None if fresh else _cache.get(digest)
    if hit and hit[0] > time.monotonic():
        principal = hit[1]
    else:
        item = tenants_dal.get_api_key_by_hash(digest, consistent=fresh)
        principal = (
            Principal(
                tenantId=item["tenantId"],
                keyId=item["keyId"],
                scopes=frozenset(item.get("scopes", ())),
                agentId=item.get("agentId"),
            )
            if item
            else None
        )
        if len(_cache) >= _CACHE_MAX:
            _cache.clear()
        # Unknown keys are remembered briefly too, so a flood of bad keys does not become a flood of reads.
        _cache[digest] = (time.monotonic() + (ttl if principal else min(ttl, 5.0)), principal)
    if principal is None:
        raise Unauthorized("the API key is unknown or revoked")
    return principal


def require_scope(principal: Principal, scope: str) -> None:
    if scope not in principal.scopes:
        raise InsufficientScope(f"this route needs the scope {scope}")


def require_scopes(principal: Principal, scopes: Iterable[str], why: str) -> None:
    """Scopes a request needs beyond its route's (`why` says what in the request needs them)."""
    missing = sorted(set(scopes) - principal.scopes)
    if missing:
        raise InsufficientScope(f"{why} needs the scope{'s' * (len(missing) > 1)} {', '.join(missing)}")


@coldstart.on_restore  # its expiry times are read from the snapshot's monotonic clock
def clear_cache() -> None:
    _cache.clear()
