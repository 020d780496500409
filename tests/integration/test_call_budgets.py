"""DynamoDB calls per request: deterministic, so the performance budgets are asserted here.

Budgets (issue 3): get 1, patch 1, delete 1, list page 1 + at most 1 for total, create 2.
Measured exceptions, explained in the README's Performance section: a PATCH that changes status,
customer, assignee or parent is 2 (read + transaction that moves the counters), a DELETE is 2 (the
counters need the deleted ticket's status and customer), and linking a customer, assignee or parent
on create adds 1 BatchGetItem (snapshots and existence, before a number is taken).
SLA (issue 14): a tenant's policies are cached per container (logic/sla_setup.py), so a warm create still makes 2
calls; the first create after a policy change reads them once more. A priority patch stays 1 call for a tenant
without SLA policies; with policies it is a read and a write (the SLA is recomputed from the stored ticket).
"""

from __future__ import annotations

import pytest

from tests.conftest import call
from tools.ddbcalls import count_calls


@pytest.fixture
def warm(aws, tenant):
    """A tenant whose key is already in the container's auth cache, as on a warm Lambda."""
    assert call("GET", "/v1/tickets", key=tenant.key).status == 200
    return tenant


def _counted(method, path, key, **kwargs):
    with count_calls() as calls:
        r = call(method, path, key=key, **kwargs)
    assert r.status < 400, r.body
    return calls.operations


def test_given_a_warm_container_when_a_ticket_is_created_then_two_calls(warm):
    assert _counted("POST", "/v1/tickets", warm.key, body={"subject": "x"}) == ["UpdateItem", "TransactWriteItems"]


def test_given_a_customer_link_when_a_ticket_is_created_then_one_batch_read_more(warm):
    c = call("POST", "/v1/customers", key=warm.key, body={"externalId": "c"}).json
    ops = _counted("POST", "/v1/tickets", warm.key, body={"subject": "x", "customerId": c["id"]})
    assert ops == ["BatchGetItem", "UpdateItem", "TransactWriteItems"]


def test_given_a_ticket_when_read_by_id_then_one_call(warm):
    t = call("POST", "/v1/tickets", key=warm.key, body={"subject": "x"}).json
    assert _counted("GET", f"/v1/tickets/{t['id']}", warm.key) == ["GetItem"]


def test_given_a_plain_field_patch_then_one_call(warm):
    t = call("POST", "/v1/tickets", key=warm.key, body={"subject": "x"}).json
    assert _counted("PATCH", f"/v1/tickets/{t['id']}", warm.key, body={"subject": "y"}) == ["UpdateItem"]
    assert _counted("PATCH", f"/v1/tickets/{t['id']}", warm.key, body={"subject": "y"}) == ["UpdateItem"]


def test_given_a_priority_patch_then_a_read_and_one_transaction_as_for_status(warm):
    # priority is a part of the status x priority counters and of GSI1's partition: they move in the same write
    t = call("POST", "/v1/tickets", key=warm.key, body={"subject": "x"}).json
    ops = _counted("PATCH", f"/v1/tickets/{t['id']}", warm.key, body={"priority": "high"})
    assert ops == ["GetItem", "TransactWriteItems"]


def _policy(key, **fields):
    targets = {"medium": {"firstReplyMinutes": 60, "resolutionMinutes": 240}}
    made = call("POST", "/v1/sla-policies", key=key, body={"name": "P", "position": 1, "targets": targets, **fields})
    assert made.status == 201, made.body
    return made.json


def test_given_sla_policies_when_tickets_are_created_then_the_first_after_a_change_reads_them_once(warm):
    _policy(warm.key)
    ops = _counted("POST", "/v1/tickets", warm.key, body={"subject": "x"})
    assert ops == ["UpdateItem", "Query", "TransactWriteItems"]  # the tenant's slaRev moved: policies read again
    assert _counted("POST", "/v1/tickets", warm.key, body={"subject": "y"}) == ["UpdateItem", "TransactWriteItems"]


def test_given_business_hours_when_tickets_are_created_then_the_calendar_is_read_once_too(warm):
    week = [{"day": "mon", "start": "09:00", "end": "17:00"}]
    cal = call("POST", "/v1/business-hours", key=warm.key, body={"name": "Office", "timeZone": "UTC", "weekly": week})
    _policy(warm.key, businessHoursId=cal.json["id"])
    ops = _counted("POST", "/v1/tickets", warm.key, body={"subject": "x"})
    assert ops == ["UpdateItem", "Query", "GetItem", "TransactWriteItems"]
    assert _counted("POST", "/v1/tickets", warm.key, body={"subject": "y"}) == ["UpdateItem", "TransactWriteItems"]


def test_given_sla_policies_then_a_priority_patch_is_a_read_and_one_transaction(warm):
    # the SLA is recomputed in the write that moves the status x priority counters (no read of the policies:
    # they are cached per container since the create)
    _policy(warm.key)
    t = call("POST", "/v1/tickets", key=warm.key, body={"subject": "x"}).json
    ops = _counted("PATCH", f"/v1/tickets/{t['id']}", warm.key, body={"priority": "high"})
    assert ops == ["GetItem", "TransactWriteItems"]


def test_given_a_status_patch_then_a_read_and_one_transaction(warm):
    t = call("POST", "/v1/tickets", key=warm.key, body={"subject": "x"}).json
    ops = _counted("PATCH", f"/v1/tickets/{t['id']}", warm.key, body={"status": "open"})
    assert ops == ["GetItem", "TransactWriteItems"]


def test_given_a_ticket_when_deleted_then_a_stamping_read_and_one_transaction(warm):
    # The read that a delete needs (the counters move with the old status) is the UpdateItem that stamps the
    # deletion's time on the ticket (the ticket.deleted event's createdAt): no call more than a GetItem.
    t = call("POST", "/v1/tickets", key=warm.key, body={"subject": "x"}).json
    assert _counted("DELETE", f"/v1/tickets/{t['id']}", warm.key) == ["UpdateItem", "TransactWriteItems"]


@pytest.mark.parametrize("query", [{}, {"status": "new"}, {"status": "new,open"}, {"sort": "-updatedAt"}])
def test_given_a_list_with_counter_backed_total_then_one_query_and_one_read(warm, query):
    for i in range(3):
        call("POST", "/v1/tickets", key=warm.key, body={"subject": f"{i}"})
    assert sorted(_counted("GET", "/v1/tickets", warm.key, query=query)) == ["GetItem", "Query"]


def test_given_a_customer_list_then_one_query_and_one_read_of_two_counters(warm):
    c = call("POST", "/v1/customers", key=warm.key, body={"externalId": "c"}).json
    call("POST", "/v1/tickets", key=warm.key, body={"subject": "x", "customerId": c["id"]})
    ops = _counted("GET", "/v1/tickets", warm.key, query={"customerId": c["id"]})
    assert ops == ["BatchGetItem", "Query"]  # the tenant's and the customer's counters, then GSI2


def test_given_a_cold_auth_cache_then_one_more_get_for_the_key(aws, tenant):
    call("POST", "/v1/tickets", key=tenant.key, body={"subject": "x"})
    from tickets.api import auth

    auth.clear_cache()
    assert _counted("GET", "/v1/tickets", tenant.key) == ["GetItem", "GetItem", "Query"]


def test_given_an_empty_tenant_when_listed_then_the_counters_say_so_and_nothing_is_queried(warm):
    assert _counted("GET", "/v1/tickets", warm.key) == ["GetItem"]


# ---------------------------------------------------------------- list shapes (bench/lists.py, at 2,000 tickets)

# shape -> what drives its page: the Queries' index ("table": the tenant's tickets) and the most items it may read.
SHAPES = {
    "unfiltered": ({"table"}, 51),
    "status=open": ({"GSI1"}, 80),  # a merge of the 5 priorities' partitions: the page + a little lookahead
    "priority=urgent": ({"GSI1"}, 80),
    "status=new,open&priority=high": ({"GSI1"}, 70),
    "assigneeId=<agent>": ({"GSI3"}, 80),
    "q=<no match>": ({"table"}, 1000),
    "tag=<no match>": ({"table"}, 1000),
    "view: status in 3, priority in 2, tag is vip": ({"GSI1"}, 1000),
    "queue: my open tickets (assigneeId=me&status=open)": ({"GSI3"}, 55),
    "assigneeId=none&status=new (every group's)": ({"GSI1"}, 80),  # GSI3 names a group's unassigned only
    "queue: urgent open tickets (status=open&priority=urgent)": ({"GSI1"}, 55),
    "queue: a group's unassigned tickets (groupId=<group>&assigneeId=none&status=<5 unfinished>)": ({"GSI3"}, 55),
    "queue: overdue tickets (sort=dueAt&dueBefore=<now>)": ({"DUE"}, 55),
    "console Mine (assigneeId=me&status=<5 unfinished>)": ({"GSI3"}, 80),  # agent 0's 5 status partitions
    "console All open (status=<5 unfinished>)": ({"table"}, 120),  # cheaper than a merge of 25 partitions
}


@pytest.fixture
def shaped(aws):
    from bench import lists

    seeded = lists.seed(2_000)
    for key in (seeded.tenant.key, seeded.agent_key):  # warm the auth cache for both keys
        assert call("GET", "/v1/tickets", key=key, query={"limit": "1"}).status == 200
    return seeded


def test_given_2000_tickets_when_each_list_shape_is_read_then_it_reads_its_planned_index_within_budget(shaped):
    from bench import lists
    from tickets.models.common import LIST_ITEM_BUDGET

    shapes = lists.shapes(shaped)
    assert {s.name for s in shapes} == set(SHAPES)
    for shape in shapes:
        r = lists.read(shaped, shape)
        indexes, most = SHAPES[shape.name]
        assert r["status"] == 200 and r["ids_ok"], (shape.name, r)
        assert set(r["queried"]) == indexes, (shape.name, r)
        assert r["items_read"] <= min(most, LIST_ITEM_BUDGET), (shape.name, r)
        if shape.queue:  # one Query, after one read of the counters
            assert r["queries"] == 1 and len(r["operations"]) == 2, (shape.name, r)
        # a short page (the budget ran out) says so with a cursor, never with a guessed total
        assert r["short"] == (r["items_read"] == LIST_ITEM_BUDGET), (shape.name, r)
        assert r["totalExact"] == (r["total"] == r["matches"]) or r["short"], (shape.name, r)


def test_given_1500_feed_events_then_a_page_is_one_query_of_limit_plus_one_and_a_filtered_one_at_most_the_budget():
    """The change feed's figures of bench/feed.py at a size that runs fast (it seeds its own moto)."""
    from bench.feed import measure

    pages = measure(1_500)["pages"]

    plain = pages["first page, limit 50"]
    assert (plain["operations"], plain["items_read"], plain["returned"], plain["ids_ok"]) == (["Query"], 51, 50, True)
    deep = pages["page at event 750 (cursor), limit 50"]
    assert (deep["operations"], deep["items_read"], deep["ids_ok"]) == (["Query"], 51, True)
    for name in ("types=ticket.deleted (1 in 5,000), from the start", "types=comment.created (no match at all)"):
        filtered = pages[name]
        assert filtered["items_read"] == 1_000 and filtered["operations"] == ["Query"] * 4, (name, filtered)
        assert (filtered["returned"], filtered["end"]) == (0, False)  # short: its cursor goes on from there
    end = pages["the end of the feed (cursor at the last event)"]
    assert (end["operations"], end["items_read"], end["end"]) == (["Query"], 0, True)
