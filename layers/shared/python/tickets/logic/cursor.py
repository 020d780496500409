"""Opaque list cursors, bound to the tenant and to the query that made them.

A cursor carries the key to resume after. On the way back in it is checked: same query fingerprint,
the expected key attributes, and every partition value inside the caller's own tenant. A cursor that was
edited, or replayed by another tenant or with other filters, is a 400, never foreign data.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from typing import Any

from tickets.dal.keys import tenant_pk
from tickets.errors import FieldError, ValidationFailed


def fingerprint(tenant_id: str, query: dict[str, Any]) -> str:
    raw = json.dumps([tenant_id, query], sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(raw.encode()).hexdigest()[:24]


def encode(key: dict[str, str], fp: str) -> str:
    raw = json.dumps({"k": key, "f": fp}, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _invalid() -> ValidationFailed:
    return ValidationFailed("the cursor is invalid for this query", [FieldError("cursor", "invalid or expired cursor")])


def decode(cursor: str, fp: str, tenant_id: str, expected_attrs: set[str]) -> dict[str, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise _invalid() from None
    if not isinstance(data, dict) or data.get("f") != fp or not isinstance(data.get("k"), dict):
        raise _invalid()
    key = data["k"]
    if set(key) != expected_attrs or not all(isinstance(v, str) and len(v) <= 1024 for v in key.values()):
        raise _invalid()
    prefix = tenant_pk(tenant_id)
    if not all(v == prefix or v.startswith(prefix + "#") for k, v in key.items() if k.endswith("PK")):
        raise _invalid()
    return key
