"""Timestamps: ISO 8601 UTC with milliseconds, e.g. 2026-04-25T10:00:00.000Z."""

from __future__ import annotations

from datetime import UTC, datetime


def now() -> datetime:
    return datetime.now(UTC)


def iso(dt: datetime) -> str:
    # isoformat, not strftime: glibc's %Y does not pad years before 1000 ("233-01-26"), which no parser reads.
    return dt.astimezone(UTC).isoformat(timespec="milliseconds").removesuffix("+00:00") + "Z"


def from_ms(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


def now_iso() -> str:
    return iso(now())


def to_ms(dt: datetime) -> int:
    return int(dt.timestamp() * 1000)


def month_key(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m")
