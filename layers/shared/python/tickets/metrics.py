"""Business metrics: CloudWatch EMF log lines (Powertools), in the template's POWERTOOLS_METRICS_NAMESPACE.

Code counts with `count(...)` wherever the thing happens; the handler factories (`api.http.make_handler`,
`consumers.stream_consumer`, `consumers.queue_consumer`) call `flush()` once per invocation, which prints
one EMF line per set of dimensions, each metric's value being the invocation's total. Alarm on the Sum.
EMF lines are log lines: no PutMetricData call, no IAM permission, nothing to wait for.

A Powertools `Metrics` instance shares one dimension set for all its metrics, and one invocation can count
several outcomes of one dimension (a batch of deliveries), so each dimension set is its own EphemeralMetrics.
"""

from __future__ import annotations

import threading
from collections import Counter

# What an operator alarms on (template Globals: POWERTOOLS_METRICS_NAMESPACE), and the dimension each takes.
TICKETS_CREATED = "TicketsCreated"  # channel: api, email, web, phone, chat
WEBHOOK_DELIVERIES = "WebhookDeliveries"  # outcome: succeeded, retry_scheduled, failed, endpoint_disabled
EMAILS_SENT = "EmailsSent"  # assignment emails and outbound replies
EMAILS_REJECTED = "EmailsRejected"  # replies SES refused for good (or to an address no email can go to): dropped
THROTTLES = "Throttles"  # source: api (a 503 answer, or a bulk item's 503), consumer (a record failed by throttling)
# outcome: ready, rejected (the two decisions); duplicate, superseded, missing, orphan, ignored, malformed, test_event
ATTACHMENT_CHECKS = "AttachmentChecks"
# outcome: comment, new_ticket, follow_up (stored); duplicate (a re-delivery); too_large, missing, malformed, bomb,
# undecodable, virus, spam, own_mail, auto_reply, bulk, unknown_recipient, quota (dropped). See logic/inbound.py.
INBOUND_EMAILS = "InboundEmails"
# outcome: sent, gone (the connection had closed: deleted), revoked (its key was revoked: closed), failed
REALTIME_PUSHES = "RealtimePushes"
SLA_FACTS = "SlaFacts"  # stage: warning, breach (recorded by the breach sweep; each makes one event)
# outcome: recorded, duplicate (a re-delivered record: nothing written), late (acknowledged after LATE_MS: a reader
# may have passed its position; alarm on it, see logic/feed.py)
FEED_WRITES = "FeedWrites"
METRICS = (
    TICKETS_CREATED, WEBHOOK_DELIVERIES, EMAILS_SENT, EMAILS_REJECTED, THROTTLES, ATTACHMENT_CHECKS, INBOUND_EMAILS,
    REALTIME_PUSHES, SLA_FACTS, FEED_WRITES,
)  # fmt: skip

_lock = threading.Lock()  # bulk writes and webhook deliveries count from worker threads
_pending: Counter[tuple[str, tuple[tuple[str, str], ...]]] = Counter()


def count(metric: str, value: int = 1, **dimensions: str) -> None:
    """Add `value` to `metric` with these dimensions, for this invocation's flush."""
    if metric not in METRICS:
        raise ValueError(f"unknown metric {metric!r}: add it to tickets.metrics.METRICS")
    if value:
        with _lock:
            _pending[(metric, tuple(sorted(dimensions.items())))] += value


def discard() -> None:
    """Forget what was counted and not flushed: work outside any invocation (the local stack's demo data) is not
    traffic, and must not show up in the next invocation's figures."""
    with _lock:
        _pending.clear()


def flush() -> None:
    """Print what was counted since the last flush as EMF, and forget it. Never raises: a request's answer
    (a ticket already written) must not turn into an error because a metric could not be printed."""
    with _lock:
        pending = dict(_pending)
        _pending.clear()
    if not pending:
        return
    try:
        from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit

        by_dimensions: dict[tuple[tuple[str, str], ...], dict[str, int]] = {}
        for (metric, dimensions), value in pending.items():
            by_dimensions.setdefault(dimensions, {})[metric] = value
        for dimensions, values in by_dimensions.items():
            emf = EphemeralMetrics()
            for name, dimension in dimensions:
                emf.add_dimension(name=name, value=dimension)
            for metric, value in values.items():
                emf.add_metric(name=metric, unit=MetricUnit.Count, value=value)
            emf.flush_metrics()
    except Exception:
        from aws_lambda_powertools import Logger  # here, not at import: a Logger costs ~1 ms of every cold start

        Logger().exception("metrics not emitted", extra={"metrics": sorted({m for m, _ in pending})})
