"""Opaque list cursors: signed, and bound to the tenant and to the query that made them.

A cursor is base64url(JSON {"k": key to resume after, "f": fingerprint(tenant, query), "s": signature}),
the signature an HMAC-SHA256 of the canonical {"k", "f"} under the deployment's CURSOR_SIGNING_KEY (a
Secrets Manager secret, see template.yaml). A cursor may also carry "m", the paging state a bounded page hands
on (logic/paging.py: how many matches came before it, how many an offset still has to skip), signed with the rest.
On the way back in, any edit (one byte of the base64, the JSON,
the key, the fingerprint) breaks the signature; a cursor replayed by another tenant or with other filters
has another fingerprint. The key attributes and the tenant prefix of every partition value are checked too,
so a leaked signing key still cannot reach another tenant. Every failure is the same 400 VALIDATION_ERROR.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from typing import Any

from tickets.config import settings
from tickets.dal.keys import tenant_pk
from tickets.errors import FieldError, ValidationFailed

_DOMAIN = b"tickets-cursor-v1\n"  # keeps these MACs apart from anything else the key might ever sign


def fingerprint(tenant_id: str, query: dict[str, Any]) -> str:
    raw = json.dumps([tenant_id, query], sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(raw.encode()).hexdigest()[:24]


def _canonical(data: dict[str, Any]) -> bytes:
    return json.dumps(data, separators=(",", ":"), sort_keys=True, ensure_ascii=True).encode()


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _signature(key: dict[str, str], fp: str, meta: dict[str, int] | None = None) -> str:
    secret = settings().cursor_signing_key.get_secret_value()
    if not secret:
        # Loud, and only where a cursor is made or read: the template always sets it.
        raise RuntimeError("CURSOR_SIGNING_KEY is not set")
    signed: dict[str, Any] = {"k": key, "f": fp} | ({"m": meta} if meta else {})
    return _b64(hmac.new(secret.encode(), _DOMAIN + _canonical(signed), hashlib.sha256).digest())


def encode(key: dict[str, str], fp: str, meta: dict[str, int] | None = None) -> str:
    """A cursor resuming after `key`; `meta`: small counts the next page needs (left out when all are zero)."""
    meta = {k: v for k, v in (meta or {}).items() if v} or None
    data: dict[str, Any] = {"k": key, "f": fp, "s": _signature(key, fp, meta)} | ({"m": meta} if meta else {})
    return _b64(_canonical(data))


def invalid(field: str = "cursor") -> ValidationFailed:
    """The one refusal of a cursor, naming the query parameter that carried it (`cursor`; the feed's `after`)."""
    return ValidationFailed("the cursor is invalid for this query", [FieldError(field, "invalid or expired cursor")])


def decode(cursor: str, fp: str, tenant_id: str, expected_attrs: set[str], field: str = "cursor") -> dict[str, str]:
    return decode_with_meta(cursor, fp, tenant_id, expected_attrs, field)[0]


_META_KEYS = frozenset({"n", "o"})
_META_MAX = 10**9


def decode_with_meta(
    cursor: str, fp: str, tenant_id: str, expected_attrs: set[str], field: str = "cursor"
) -> tuple[dict[str, str], dict[str, int]]:
    """The key to resume after and the paging state the cursor carries ({} when none)."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError, RecursionError):
        raise invalid(field) from None
    # Only the exact bytes encode() makes are accepted: no second spelling of the base64 or of the JSON.
    if not isinstance(data, dict) or set(data) - {"m"} != {"k", "f", "s"} or _b64(raw) != cursor:
        raise invalid(field)
    if _canonical(data) != raw:
        raise invalid(field)
    key, sig, meta = data["k"], data["s"], data.get("m")
    if "m" in data and not (
        isinstance(meta, dict)
        and meta
        and set(meta) <= _META_KEYS
        and all(type(v) is int and 0 < v <= _META_MAX for v in meta.values())
    ):
        raise invalid(field)
    if not isinstance(key, dict) or not isinstance(sig, str) or not isinstance(data["f"], str):
        raise invalid(field)
    if not all(isinstance(v, str) and len(v) <= 1024 for v in key.values()):
        raise invalid(field)
    if not hmac.compare_digest(sig.encode(), _signature(key, data["f"], meta).encode()):
        raise invalid(field)
    # Defence in depth, should the signing key leak: the query, the key's shape and the tenant must still match.
    if data["f"] != fp or set(key) != expected_attrs:
        raise invalid(field)
    prefix = tenant_pk(tenant_id)
    if not all(v == prefix or v.startswith(prefix + "#") for k, v in key.items() if k.endswith("PK")):
        raise invalid(field)
    return key, dict(meta or {})
