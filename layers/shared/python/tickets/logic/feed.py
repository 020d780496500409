"""The change feed, GET /v1/events: every event the webhooks get (deletions included), kept 30 days, in one order
that never changes, read with a cursor that misses nothing and repeats nothing, even while writes go on.

Writing (RecordChangeFeedFunction, a stream consumer: `record`). Each stream record's events go in one
TransactWriteItems: per event, the feed item at position `<t>#<event id>` in the tenant's feed partition
(`TENANT#<id>#FEED`, dal/keys.py) and a marker `FEEDEVT#<event id>` put only if absent. `t` is the writer's clock,
read immediately before the call, to the millisecond. Event ids repeat when a record is re-delivered, positions do
not: the marker makes the second attempt write nothing (the first one stands). Items and markers expire with the
table's TTL after 30 days.

Why the position is the time of writing, not the event's own time. Records of different shards are processed
concurrently, and a shard may be held up (a retry, a slow batch): ordered by the event's time, an event of 10:00:00
could be written at 10:00:07, behind a reader who had passed 10:00:05 and will never look back. Ordered by the time
of writing, an item can only ever land where time is now, never in the past, except for what one write takes.

The safety horizon closes that gap. A reader returns only items written more than SAFETY_MS (5 s) before its own
clock reads, taken before it queries; the cursor it hands out is never later than that horizon. A write whose
position is below the horizon was sent more than 5 s before the reader looked, and every write is one attempt that
has finished or been abandoned within aws.PROMPT_SECONDS (3 s: connect 1 s + read 2 s, no botocore retries; the
writer retries itself, each attempt with a new position), so it has committed by then or never will. The remaining
2 s cover the clocks of two Lambda hosts (NTP-synchronised, typically well under a millisecond apart) and the
instant between reading the clock and sending. Reads are strongly consistent Queries of the base table (an index
could lag by any amount), so the reader sees every committed item below its horizon. Hence: once a cursor has
passed a position, no item can appear at or before it. Nothing is missed; and since a position is read only once
(the next page starts strictly after it), nothing comes twice. The cost is latency: an event appears in the feed
about 5 s after the stream consumer wrote it. A write that took longer than LATE_MS anyway (which the timeouts
should make impossible) is logged as an error and counted (FeedWrites, outcome=late): it may have been passed by a
reader.

One ticket's events appear in the order of its writes: a ticket's stream records are in one shard, in order, and
after a record of a batch fails, the later ones fail too without writing (`record`), so that Lambda retries them
after it. Events of different tickets are in the order the feed recorded them.

Alternatives not taken. A per-tenant sequence (a head item updated with a condition in each append) makes a
gapless, clock-free order, but serialises every append of a tenant on one item, and concurrent shards then retry
against each other. Partitions per tenant and day would bound an item collection, which needs no bound here (no
local index), and would not raise the write ceiling: writes at one moment all go to the same day. What limits a
tenant is its one feed partition, about 1,000 write units a second: an event costs 2 units per KB (transaction) for
its item and 2 for its marker (in a partition of its own); envelopes are stored compressed (a typical ticket.updated,
1.1 KB of JSON, takes 0.6 KB: bench/feed.py), so some 500 events a second per tenant, more than its ticket writes
can produce in practice (each of those is a transaction on the tenant's own partition, with its own ceiling).

Reading. `since` starts at a time (the feed's time of recording, at or after the event's `createdAt`), `after`
continues right after a cursor, neither starts at the oldest event kept. A page examines at most READ_BUDGET items
(1,000; a `types` filter is a FilterExpression, and what it drops still counts) and returns at most `limit` events
and MAX_PAGE_BYTES of them; whichever comes first ends the page, with `nextCursor` at the last item examined or
returned, so the next page continues exactly there. A page that reaches the horizon has `endOfFeed: true` and its
cursor is the horizon itself: the position to resume from later. A cursor is signed and bound to the tenant
(logic/cursor.py) but not to `types`: it is a place in the feed, valid with any filter. A cursor older than the
30 days kept is refused (events after it are gone); a `since` before them starts at the oldest event kept.
"""

from __future__ import annotations

import json
import random
import re
import time
import zlib
from typing import Any

from aws_lambda_powertools import Logger
from botocore.exceptions import ClientError, ConnectionClosedError, ConnectTimeoutError, ReadTimeoutError

from tickets import aws, metrics
from tickets.dal import feed as dal
from tickets.dal import keys
from tickets.errors import ValidationFailed
from tickets.logic import cursor as cursors
from tickets.models.events import DomainEvent
from tickets.models.feed import EventFeedQuery
from tickets.timeutil import from_ms, iso

logger = Logger()

RETENTION_DAYS = 30
DAY_MS = 86_400_000
SAFETY_MS = 5_000  # readers return only items written longer ago than this (see the module docstring)
CLOCK_ALLOWANCE_MS = 2_000  # of SAFETY_MS, what is not the write's own bound (aws.PROMPT_SECONDS)
LATE_MS = SAFETY_MS - CLOCK_ALLOWANCE_MS  # a write acknowledged later than this may have been passed by a reader
READ_BUDGET = 1_000  # items one page examines at most, whatever the filter
MAX_PAGE_BYTES = 4_000_000  # events' JSON per page (a Lambda answer holds 6 MB)
WRITE_ATTEMPTS = 3
_FINGERPRINT = {"list": "events"}  # a feed cursor's query: one feed per tenant
_POSITION = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z(#evt_[0-9A-Z]{26})?")


class EarlierRecordFailed(RuntimeError):
    """A record after a failed one in the same batch: it waits, so that the feed keeps each shard's order."""


def _clock_ms() -> int:
    return time.time_ns() // 1_000_000


# ------------------------------------------------------------------------------------------------ writing


def record(events: list[DomainEvent], batch_state: dict[str, Any]) -> int:
    """The consumer's step for one stream record: its events into the feed, in the order of the stream.

    Once a record of the batch has failed, the later ones fail without writing: Lambda retries from the first
    failure, so they are written after it, and one ticket's events stay in the order of its writes.
    """
    if batch_state.get("feed_failed"):
        raise EarlierRecordFailed("an earlier record of this batch failed: this one is retried after it")
    try:
        return append(events)
    except Exception:
        batch_state["feed_failed"] = True
        raise


def envelope_bytes(event: DomainEvent) -> bytes:
    """The webhook envelope {id, type, createdAt, data} as the feed stores it: compact JSON, zlib."""
    text = json.dumps(event.model_dump(mode="json"), separators=(",", ":"), ensure_ascii=False)
    return zlib.compress(text.encode())


def append(events: list[DomainEvent]) -> int:
    """Write the events of one stream record (one tenant) to the feed, once each. Returns how many were new."""
    if not events:
        return 0
    tenant_id = events[0].tenantId
    if any(e.tenantId != tenant_id for e in events):
        raise ValueError("one append is one stream record: one tenant")
    pending = {e.id: dal.Entry(e.id, e.type, envelope_bytes(e)) for e in events}
    written, failures = 0, 0
    while pending:
        at_ms = _clock_ms()  # the position: read immediately before the write
        try:
            present = dal.append(tenant_id, list(pending.values()), iso(from_ms(at_ms)), _expires_at(at_ms))
        except (ClientError, ConnectTimeoutError, ReadTimeoutError, ConnectionClosedError) as exc:
            # Not applied (throttled, a conflicting transaction) or unknown (a timeout): either way a new attempt
            # at a new position is safe, since the markers let only one of them write.
            failures += 1
            if failures >= WRITE_ATTEMPTS or not _transient(exc):
                raise
            time.sleep(random.uniform(0, 0.05 * 2**failures))
            continue
        if present:
            metrics.count(metrics.FEED_WRITES, len(present), outcome="duplicate")
            for event_id in present:
                del pending[event_id]
            continue  # the others (if any) again: events a newer version of the code makes for an old record
        took = _clock_ms() - at_ms
        if took > LATE_MS:
            logger.error("a feed write took longer than the safety horizon allows", extra={"ms": took})
            metrics.count(metrics.FEED_WRITES, len(pending), outcome="late")
        metrics.count(metrics.FEED_WRITES, len(pending), outcome="recorded")
        written += len(pending)
        pending.clear()
    return written


def _transient(exc: BaseException) -> bool:
    return not isinstance(exc, ClientError) or aws.throttled(exc)


def _expires_at(at_ms: int) -> int:
    return at_ms // 1000 + RETENTION_DAYS * DAY_MS // 1000


# ------------------------------------------------------------------------------------------------ reading


def read(tenant_id: str, q: EventFeedQuery) -> dict[str, Any]:
    """One page of the tenant's feed: `{data: [envelope], nextCursor, endOfFeed}`."""
    now = _clock_ms()  # before any read: see the module docstring
    horizon = keys.feed_position(iso(from_ms(now - SAFETY_MS)))
    oldest = keys.feed_position(iso(from_ms(now - RETENTION_DAYS * DAY_MS)))
    fp = cursors.fingerprint(tenant_id, _FINGERPRINT)
    if q.after is not None:
        position = _position(tenant_id, q.after, fp, oldest)
    else:
        position = max(keys.feed_position(q.since), oldest) if q.since else oldest
    types = frozenset(q.types) if q.types else None
    events: list[dict[str, Any]] = []
    size, budget, rounds, end = 0, READ_BUDGET, 0, position >= horizon
    while not end and budget > 0:
        want = q.limit + 1 - len(events)  # one more than the page holds: is there a next page?
        ask = min(budget, want if types is None else max(want, 100 << rounds))
        rows, stopped, examined = dal.page(tenant_id, position, horizon, limit=ask, types=types)
        budget, rounds = budget - examined, rounds + 1
        full = False
        for row in rows:
            body = zlib.decompress(row.body)
            if len(events) == q.limit or (events and size + len(body) > MAX_PAGE_BYTES):
                full = True
                break
            events.append(json.loads(body))
            size += len(body)
            position = row.position
        if full:
            break
        if stopped is None:
            end, position = True, horizon  # everything before the horizon has been examined
        else:
            position = stopped
    return {"data": events, "nextCursor": cursors.encode(keys.feed_item(tenant_id, position), fp), "endOfFeed": end}


def _position(tenant_id: str, cursor: str, fp: str, oldest: str) -> str:
    key = cursors.decode(cursor, fp, tenant_id, {keys.PK, keys.SK}, field="after")
    position = key[keys.SK]
    if key[keys.PK] != keys.feed_partition(tenant_id) or not _POSITION.fullmatch(position):
        raise cursors.invalid("after")
    if position < oldest:
        raise ValidationFailed.of(
            "after", f"the cursor is older than the {RETENTION_DAYS} days the feed keeps: start again with since"
        )
    return position
