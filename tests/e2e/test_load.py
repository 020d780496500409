"""End to end: a small `make load` (tools.load, the same code) against this module's devstack.

`make load` sends 5,000 requests at concurrency 32; this one sends 100 at concurrency 8 with fewer customers,
so that it stays well under a minute on a busy 2-core machine. Every check of the tool must pass.
"""

from __future__ import annotations

from typing import Any

from tests.e2e.conftest import Stack
from tools import load

DEVSTACK_ENV = load.STACK_ENV
SMALL = load.Options(requests=100, concurrency=8, tenants=3, seed=7, customers=3, drain_timeout=40.0, quiet_seconds=1.5)


def test_given_mixed_concurrent_traffic_when_the_pipeline_drains_then_writes_counters_and_webhooks_add_up(
    stack: Stack,
) -> None:
    result = load.run(stack, SMALL, log=lambda line: None)
    print("\n" + result.report())
    assert result.ok, "\n".join(f"{c.name}: {c.detail} {c.samples}" for c in result.failed())
    stats = result.stats
    assert sum(stats.kinds.values()) == SMALL.requests
    # The run did what it claims: writes of every kind were acknowledged and their events delivered.
    assert stats.by_kind["create"][201] and stats.by_kind["patch"][200] and stats.by_kind["api-create"][201]
    assert stats.by_kind["list"][200] and stats.by_kind["delete"][204]
    assert result.webhooks.delivered == result.webhooks.expected > SMALL.requests


def _ticket(version: int, **fields: Any) -> dict[str, Any]:
    return {"id": "T1", "status": "new", "assigneeId": None, "priority": "medium", "version": version,
            "updatedAt": f"2026-01-01T00:00:0{version}.000Z", **fields}  # fmt: skip


def test_given_acknowledged_versions_then_the_implied_events_follow_each_change() -> None:
    track = load.Track("T1", 0, deleted=True)
    track.versions = {
        1: _ticket(1, assigneeId="A1", status="open"),
        2: _ticket(2, assigneeId="A1", status="open", priority="high"),
        3: _ticket(3, assigneeId="A2", status="resolved", priority="high"),
    }
    events, problems = load.implied_events(track)
    assert problems == []
    assert sorted(events) == sorted(
        [
            ("ticket.created", "T1", 1),
            ("ticket.assigned", "T1", 1),
            ("ticket.updated", "T1", 2),
            ("ticket.updated", "T1", 3),
            ("ticket.status_changed", "T1", 3),
            ("ticket.assigned", "T1", 3),
            ("ticket.deleted", "T1", 3),
        ]
    )
    assert events[("ticket.deleted", "T1", 3)] == track.versions[3]


def test_given_a_version_nobody_acknowledged_then_the_gap_is_reported() -> None:
    track = load.Track("T1", 0)
    track.versions = {1: _ticket(1), 3: _ticket(3, priority="low")}
    events, problems = load.implied_events(track)
    assert problems == ["T1: versions [2] were never acknowledged (up to 3)"]
    assert ("ticket.updated", "T1", 3) not in events  # unknown predecessor: nothing to compare with
