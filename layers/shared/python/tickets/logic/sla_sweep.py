"""The breach sweep: every tenant's tickets whose next SLA deadline has come, from the sparse SLADUE index.

Each run reads the minute buckets from its checkpoint to now (all shards; at most MAX_BUCKETS a run, the rest
next time), and for each entry due by now records the facts on the ticket (logic/sla_clock.due_facts / record)
with a write conditional on the version it read. The stream then carries that MODIFY to every consumer, and
tickets/events.py makes `ticket.sla_warning` / `ticket.sla_breached` of it: a fact is recorded once, so its event
exists once, whatever the sweep re-reads after a crash. The checkpoint moves only past finished buckets, and stays
one minute behind now: a writer whose clock lags ours may still write into the previous minute's bucket.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from tickets import metrics
from tickets.dal import keys
from tickets.dal import sla_sweep as dal
from tickets.dal import tickets as tickets_dal
from tickets.logic import sla_clock
from tickets.timeutil import iso

MAX_BUCKETS = 180  # minutes a run reads at most (a long outage is caught up over a few runs)
FIRST_LOOKBACK = timedelta(hours=1)  # where the very first run starts
WRITE_RETRIES = 3


@dataclass
class SweepResult:
    buckets: int = 0
    entries: int = 0
    facts: int = 0
    checkpoint: str | None = None


def _minute(t: datetime) -> datetime:
    return t.replace(second=0, microsecond=0)


def _bucket(t: datetime) -> str:
    return t.strftime(keys.SLA_BUCKET_FORMAT)


def settle(tenant_id: str, ticket_id: str, now: datetime) -> int:
    """Record the SLA facts of one ticket that have fallen due by `now`; returns how many were recorded."""
    for _ in range(WRITE_RETRIES):
        ticket = tickets_dal.get(tenant_id, ticket_id)
        sla = (ticket or {}).get("sla")
        if ticket is None or not sla:
            return 0
        facts = sla_clock.due_facts(sla, ticket, now)
        if not facts:
            return 0  # recorded already (an earlier, crashed run), or the deadline moved on
        try:
            dal.record_facts(tenant_id, ticket, sla_clock.record(sla, ticket, facts), iso(now))
        except tickets_dal.VersionConflict:
            continue  # the ticket changed since we read it: decide again on its new state
        for _, stage, _ in facts:
            metrics.count(metrics.SLA_FACTS, stage=stage)
        return len(facts)
    return 0  # a busy ticket: its entry is still in the index, and the next run tries again


def sweep(now: datetime) -> SweepResult:
    result = SweepResult()
    last = _minute(now)
    start_at = dal.checkpoint()
    first = datetime.strptime(start_at, keys.SLA_BUCKET_FORMAT).replace(tzinfo=now.tzinfo) if start_at else None
    bucket_time = first or _minute(now - FIRST_LOOKBACK)
    stamp = iso(now)
    while bucket_time <= last and result.buckets < MAX_BUCKETS:
        bucket = _bucket(bucket_time)
        for shard in range(keys.SLA_DUE_SHARDS):
            for _, tenant_id, ticket_id in dal.due(bucket, shard, stamp):
                result.entries += 1
                result.facts += settle(tenant_id, ticket_id, now)
        result.buckets += 1
        bucket_time += timedelta(minutes=1)
    # Finished: every bucket before bucket_time. Keep the last minute open (writers' clocks may lag ours).
    result.checkpoint = _bucket(min(bucket_time, last - timedelta(minutes=1)))
    if first is None or result.checkpoint > _bucket(first):
        dal.advance_checkpoint(result.checkpoint, stamp)
    return result
