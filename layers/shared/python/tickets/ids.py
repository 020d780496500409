"""Time-ordered identifiers (ULID): lexicographic order is creation order, which the key design relies on."""

from __future__ import annotations

import hashlib
import os
import re
import threading
import time

from tickets import coldstart

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
ULID_RE = re.compile(r"^[0-7][0-9A-HJKMNP-TV-Z]{25}$")
_lock = threading.Lock()
_last_ms = -1
_last_rand = 0


def _encode(value: int, length: int) -> str:
    out = []
    for _ in range(length):
        out.append(_ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(out))


def new_id(now_ms: int | None = None) -> str:
    """A monotonic ULID: ids made in the same millisecond by this process still sort in creation order."""
    global _last_ms, _last_rand
    ms = int(time.time() * 1000) if now_ms is None else now_ms
    with _lock:
        if ms <= _last_ms:
            ms = _last_ms
            rand = _last_rand + 1
        else:
            rand = int.from_bytes(os.urandom(10), "big") >> 1  # leave room to increment
        _last_ms, _last_rand = ms, rand
    return _encode(ms, 10) + _encode(rand, 16)


@coldstart.on_restore
def _forget_last_id() -> None:
    """Environments restored from one snapshot share its last id: each must draw a random part of its own."""
    global _last_ms, _last_rand
    with _lock:
        _last_ms, _last_rand = -1, 0


def derived_id(ms: int, seed: str) -> str:
    """A ULID of millisecond `ms` whose random part comes from `seed`: the same seed makes the same id, so a retry
    of a write that made it (a received email's attachments) rewrites what the first attempt left, not a copy."""
    rand = int.from_bytes(hashlib.sha256(seed.encode()).digest()[:10], "big") >> 1
    return _encode(ms, 10) + _encode(rand, 16)


def bound_for_ms(ms: int, *, upper: bool) -> str:
    """The smallest (or largest) ULID that a given millisecond can produce, for range queries on ids."""
    return _encode(max(ms, 0), 10) + ("Z" * 16 if upper else "0" * 16)


def timestamp_ms(ulid: str) -> int:
    """The creation millisecond encoded in an id (its first 10 characters)."""
    value = 0
    for ch in ulid[:10]:
        value = value * 32 + _ALPHABET.index(ch)
    return value


def is_ulid(value: str) -> bool:
    return bool(ULID_RE.match(value))


def _step(ulid: str, delta: int) -> str | None:
    """The ULID-shaped string right before (delta -1) or after (+1) `ulid` in sort order; None past either end."""
    digits = [_ALPHABET.index(ch) for ch in ulid]
    i = len(digits) - 1
    while i >= 0:
        digits[i] += delta
        if 0 <= digits[i] < 32:
            break
        digits[i] %= 32
        i -= 1
    if i < 0 or digits[0] > 7:  # a ULID's first character is at most 7 (48-bit time)
        return None
    return "".join(_ALPHABET[d] for d in digits)


def before(ulid: str) -> str | None:
    """The greatest ULID less than `ulid` (an exclusive upper bound as an inclusive one), None if there is none."""
    return _step(ulid, -1)


def after(ulid: str) -> str | None:
    """The least ULID greater than `ulid`, None if there is none."""
    return _step(ulid, 1)
