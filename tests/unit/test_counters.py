"""The ticket counters a write moves (dal/counters.py), as a pure function of the ticket before and after."""

from __future__ import annotations

from typing import Any

from tickets.dal import counters, keys

T = "T1"


def _ticket(**fields: Any) -> dict[str, Any]:
    return {"status": "new", "priority": "medium", "assigneeId": None, "customerId": None, "groupId": None} | fields


def test_given_a_created_ticket_then_it_counts_once_under_every_dimension_it_has():
    t = _ticket(status="open", priority="urgent", assigneeId="A1", customerId="C1", groupId="G1")
    assert counters.ticket_deltas(T, None, t) == {
        "COUNTS#TICKETS": {"open#urgent": 1, "assigned#open": 1, "grouped#open": 1},
        "COUNTS#ASSIGNEE#A1": {"status#open": 1},
        "COUNTS#CUSTOMER#C1": {"status#open": 1},
        "COUNTS#GROUP#G1": {"status#open": 1},  # assigned: not among the group's unassigned
    }
    assert counters.ticket_deltas(T, None, _ticket()) == {"COUNTS#TICKETS": {"new#medium": 1}}


def test_given_a_priority_change_then_only_the_status_x_priority_cells_move():
    old = _ticket(assigneeId="A1", customerId="C1")
    assert counters.ticket_deltas(T, old, {**old, "priority": "high"}) == {
        "COUNTS#TICKETS": {"new#medium": -1, "new#high": 1}
    }


def test_given_an_assignment_in_a_group_then_the_agent_gains_it_and_the_groups_unassigned_lose_it():
    old = _ticket(groupId="G1")
    new = {**old, "assigneeId": "A2", "status": "open"}
    assert counters.ticket_deltas(T, old, new) == {
        "COUNTS#TICKETS": {"new#medium": -1, "open#medium": 1, "assigned#open": 1, "grouped#new": -1,
                           "grouped#open": 1},
        "COUNTS#ASSIGNEE#A2": {"status#open": 1},
        "COUNTS#GROUP#G1": {"status#new": -1, "unassigned#new": -1, "status#open": 1},
    }  # fmt: skip


def test_given_no_counted_change_then_nothing_moves_and_a_deletion_undoes_the_creation():
    t = _ticket(status="pending", assigneeId="A1", customerId="C1", groupId="G1")
    assert counters.ticket_deltas(T, t, {**t, "subject": "renamed"}) == {}
    created, deleted = counters.ticket_deltas(T, None, t), counters.ticket_deltas(T, t, None)
    assert {sk: {a: -n for a, n in c.items()} for sk, c in created.items()} == deleted
    assert [u["Update"]["Key"]["SK"]["S"] for u in counters.ticket_updates(T, None, t)] == sorted(created)


def test_given_tickets_then_the_recount_sums_their_cells():
    tickets = [_ticket(), _ticket(assigneeId="A1"), _ticket(status="closed", groupId="G1")]
    assert counters.totals(T, tickets) == {
        "COUNTS#TICKETS": {"new#medium": 2, "assigned#new": 1, "closed#medium": 1, "grouped#closed": 1},
        "COUNTS#ASSIGNEE#A1": {"status#new": 1},
        "COUNTS#GROUP#G1": {"status#closed": 1, "unassigned#closed": 1},
    }


def test_given_every_ticket_counter_of_a_busy_tenant_then_the_item_a_create_moves_stays_under_one_write_unit():
    # Every create ADDs to COUNTS#TICKETS in its transaction, at 2 WRU per KB of the item: past 1 KB each create
    # (and every status change) would cost 2 more. A tenant in use has every status x priority, assigned# and
    # grouped# cell, with counts in the millions.
    from bench.capacity import item_size
    from tickets.dal.client import serialize
    from tickets.dal.tenants import counters_item
    from tickets.models.tickets import Priority, Status

    cells = {keys.status_priority_attr(s, p): 9_999_999 for s in Status for p in Priority}
    cells |= {keys.assigned_attr(s): 9_999_999 for s in Status} | {keys.grouped_attr(s): 9_999_999 for s in Status}
    item = serialize(counters_item("01JSQ4ZK8X3N5W7Y9B2C4D6F8H", cells))
    assert len(cells) == 49
    assert 900 < item_size(item) < 1024, item_size(item)
