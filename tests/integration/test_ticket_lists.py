"""Ticket lists at any size (issue 15), through the real list handler against moto: the item budget and short pages,
offsets within the budget, exact totals from the counters, merges in order, counters kept by every write, and the
admin CLI's reindex of a tenant made before them."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bench._harness import seed_tickets
from tests.conftest import TABLE, call, items, make_tenant
from tests.utils import expected_ticket_counters, ticket_counters
from tickets.dal.client import serialize
from tickets.models.common import LIST_ITEM_BUDGET
from tools import admin as cli
from tools.ddbcalls import count_calls


def _list(key: str, **query: str) -> tuple[dict[str, Any], int]:
    with count_calls() as calls:
        r = call("GET", "/v1/tickets", key=key, query=query)
    assert r.status == 200, r.body
    return r.json, calls.items_read


def _ids(page: dict[str, Any]) -> list[str]:
    return [t["id"] for t in page["data"]]


@pytest.fixture
def sparse(aws):
    """1,200 tickets; only the 100 oldest match q=#1000 (subjects "invoice #100000".."#100099"): they lie past the
    budget of a newest-first reading."""
    tenant = make_tenant("INV")
    ids = seed_tickets(tenant, 1_200)["ids"]
    return tenant, ids[:100][::-1]  # the matches, newest first


def test_given_matches_beyond_the_budget_when_listed_then_a_short_page_resumes_where_the_reading_stopped(sparse):
    tenant, matches = sparse

    first, read = _list(tenant.key, q="#1000", limit="50")
    assert (first["data"], read) == ([], LIST_ITEM_BUDGET)
    assert (first["total"], first["totalExact"]) == (0, False) and first["nextCursor"]

    second, read = _list(tenant.key, q="#1000", limit="50", cursor=first["nextCursor"])
    assert _ids(second) == matches[:50]
    assert read <= 200  # the 200 items the first page did not reach, never the 1,000 it did
    assert (second["total"], second["totalExact"]) == (51, False)  # 50 rows and one more seen: a lower bound

    third, _ = _list(tenant.key, q="#1000", limit="50", cursor=second["nextCursor"])
    assert _ids(third) == matches[50:] and third["nextCursor"] is None and third["total"] == 100


def test_given_an_offset_the_budget_cannot_reach_then_the_cursor_carries_what_is_left_to_skip(sparse):
    tenant, matches = sparse

    first, _ = _list(tenant.key, q="#1000", limit="30", offset="20")
    assert first["data"] == [] and first["offset"] == 20 and first["nextCursor"]
    second, _ = _list(tenant.key, q="#1000", limit="30", cursor=first["nextCursor"])
    assert _ids(second) == matches[20:50] and second["offset"] == 0


@pytest.mark.parametrize(("offset", "limit"), [("951", "50"), ("999", "2"), ("0", "101")])
def test_given_offset_and_limit_past_the_budget_then_400_naming_the_field(tenant, offset, limit):
    r = call("GET", "/v1/tickets", key=tenant.key, query={"offset": offset, "limit": limit})
    field = "limit" if limit == "101" else "offset"
    assert (r.status, r.json["code"], r.json["errors"][0]["field"]) == (400, "VALIDATION_ERROR", field)


def test_given_the_deepest_offset_within_the_budget_then_its_page_is_served(tenant):
    for i in range(3):
        call("POST", "/v1/tickets", key=tenant.key, body={"subject": f"t{i}"})
    page, _ = _list(tenant.key, offset="950", limit="50")
    assert (page["data"], page["offset"], page["total"], page["totalExact"]) == ([], 950, 3, True)


# ---------------------------------------------------------------- totals and merges


@pytest.fixture
def mixed(aws):
    """60 tickets over statuses, priorities, two agents (and none), two customers (and none)."""
    tenant = make_tenant("INV")
    agents = [call("POST", "/v1/agents", key=tenant.key, body={"name": n, "email": f"{n}@x.io"}).json["id"]
              for n in ("ann", "bob")]  # fmt: skip
    customers = [call("POST", "/v1/customers", key=tenant.key, body={"externalId": n}).json["id"] for n in "cd"]
    statuses = ["new", "open", "pending", "resolved", "closed"]
    priorities = ["low", "medium", "high", "urgent"]
    made = []
    for i in range(60):
        body = {"subject": f"t{i}", "status": statuses[i % 5], "priority": priorities[(i // 5) % 4],
                "assigneeId": [None, *agents][i % 3], "customerId": [None, *customers][(i // 3) % 3],
                "tags": ["vip"] if i % 4 == 0 else []}  # fmt: skip
        r = call("POST", "/v1/tickets", key=tenant.key, body={k: v for k, v in body.items() if v is not None})
        assert r.status == 201, r.body
        made.append(r.json)
    return tenant, agents, customers, made[::-1]  # newest first


def _expected(made: list[dict[str, Any]], **conds: Any) -> list[str]:
    def ok(t: dict[str, Any]) -> bool:
        return all((t.get(k) in v) if isinstance(v, tuple) else t.get(k) == v for k, v in conds.items())

    return [t["id"] for t in made if ok(t)]


def test_given_counter_shapes_when_listed_then_totals_are_exact_and_say_so(mixed):
    tenant, (ann, _), (cus, _), made = mixed
    shapes = [
        ({}, {}),
        ({"status": "new,open"}, {"status": ("new", "open")}),
        ({"priority": "urgent"}, {"priority": "urgent"}),
        ({"status": "open", "priority": "low,high"}, {"status": "open", "priority": ("low", "high")}),
        ({"assigneeId": ann}, {"assigneeId": ann}),
        ({"assigneeId": ann, "status": "pending"}, {"assigneeId": ann, "status": "pending"}),
        ({"assigneeId": "none", "status": "new,open"}, {"assigneeId": None, "status": ("new", "open")}),
        ({"customerId": cus}, {"customerId": cus}),
        ({"customerId": cus, "status": "resolved,closed"}, {"customerId": cus, "status": ("resolved", "closed")}),
    ]
    for query, conds in shapes:
        page, _ = _list(tenant.key, limit="5", **query)
        wanted = _expected(made, **conds)
        assert _ids(page) == wanted[:5], query
        assert (page["total"], page["totalExact"]) == (len(wanted), True), query


def test_given_a_shape_no_counter_keeps_when_listed_then_the_total_is_a_lower_bound_until_all_is_read(mixed):
    tenant, (ann, _), _, made = mixed
    wanted = [t["id"] for t in made if "vip" in t["tags"] and t["priority"] == "urgent"]
    small, _ = _list(tenant.key, tag="vip", priority="urgent", limit="1")
    assert _ids(small) == wanted[:1] and (small["total"], small["totalExact"]) == (2, False)  # one row, one more seen
    whole, _ = _list(tenant.key, tag="vip", priority="urgent", limit="100")
    assert _ids(whole) == wanted and (whole["total"], whole["totalExact"]) == (len(wanted), True)
    mixed_dims, _ = _list(tenant.key, assigneeId=ann, priority="high", limit="100")  # two counter families
    assert mixed_dims["totalExact"] is True  # read to its end: exact all the same
    assert mixed_dims["total"] == len(_expected(made, assigneeId=ann, priority="high"))


def test_given_a_merge_of_many_partitions_when_paged_by_cursor_then_every_match_comes_once_in_order(aws):
    from bench import lists

    seeded = lists.seed(1_500)
    agent = lists.AGENTS[0]
    for query, index, match in [
        ({"priority": "urgent"}, "GSI1", lambda t: t["priority"] == "urgent"),
        ({"priority": "critical", "sort": "createdAt"}, "GSI1", lambda t: t["priority"] == "critical"),
        ({"assigneeId": agent}, "GSI3", lambda t: t["assigneeId"] == agent),
    ]:
        wanted = [t["id"] for t in seeded.tickets[:: 1 if query.get("sort") == "createdAt" else -1] if match(t)]
        seen, cursor, pages = [], None, 0
        while True:
            with count_calls() as calls:
                page, read = _list(seeded.tenant.key, limit="20", **query, **({"cursor": cursor} if cursor else {}))
            assert set(calls.queried) == {index} and read <= 20 + 1 + 2 * 7, (query, read)
            seen += _ids(page)
            assert (page["total"], page["totalExact"]) == (len(wanted), True), query
            cursor, pages = page["nextCursor"], pages + 1
            if not cursor:
                break
        assert seen == wanted and pages >= 3, query


def test_given_a_cursor_of_another_query_or_an_edited_position_then_it_is_refused(mixed):
    tenant, *_ = mixed
    page, _ = _list(tenant.key, status="new,open", limit="2")
    other = call("GET", "/v1/tickets", key=tenant.key, query={"status": "new", "cursor": page["nextCursor"]})
    assert (other.status, other.json["errors"][0]["field"]) == (400, "cursor")
    other_tenant = make_tenant("OTH")
    theirs = call(
        "GET", "/v1/tickets", key=other_tenant.key, query={"status": "new,open", "cursor": page["nextCursor"]}
    )
    assert (theirs.status, theirs.json["errors"][0]["field"]) == (400, "cursor")


# ---------------------------------------------------------------- counters follow every write


def test_given_every_kind_of_write_then_the_ticket_counters_equal_a_recount(aws, tenant):
    ann = call("POST", "/v1/agents", key=tenant.key, body={"name": "Ann", "email": "ann@x.io"}).json["id"]
    bob = call("POST", "/v1/agents", key=tenant.key, body={"name": "Bob", "email": "bob@x.io"}).json["id"]
    cus = call("POST", "/v1/customers", key=tenant.key, body={"externalId": "c"}).json["id"]
    a = call("POST", "/v1/tickets", key=tenant.key, body={"subject": "a", "assigneeId": ann, "customerId": cus}).json
    b = call("POST", "/v1/tickets", key=tenant.key, body={"subject": "b", "priority": "urgent"}).json
    c = call("POST", "/v1/tickets", key=tenant.key, body={"subject": "c", "customerId": cus}).json
    for tid, body in [
        (a["id"], {"status": "open", "priority": "high"}),
        (a["id"], {"assigneeId": bob}),
        (b["id"], {"assigneeId": ann, "customerId": cus}),
        (b["id"], {"priority": "low"}),
        (c["id"], {"customerId": None, "status": "pending"}),
        (a["id"], {"assigneeId": None, "status": "resolved"}),
    ]:
        assert call("PATCH", f"/v1/tickets/{tid}", key=tenant.key, body=body).status == 200
    assert call("POST", "/v1/tickets/bulk/priority", key=tenant.key,
                body={"ids": [a["id"], c["id"]], "priority": "critical"}).status == 200  # fmt: skip
    assert call("POST", f"/v1/tickets/{b['id']}/comments", key=tenant.key,
                body={"body": "hi", "visibility": "internal", "status": "on_hold"}).status == 201  # fmt: skip
    assert call("DELETE", f"/v1/tickets/{c['id']}", key=tenant.key).status == 204

    stored = items(aws, f"TENANT#{tenant.tenant_id}")
    tickets = [i for i in stored if i["SK"].startswith("TICKET#")]
    assert ticket_counters(stored) == expected_ticket_counters(tenant.tenant_id, tickets)
    assert ticket_counters(stored)[f"COUNTS#ASSIGNEE#{ann}"] == {"status#on_hold": 1}
    assert f"COUNTS#ASSIGNEE#{bob}" not in ticket_counters(stored)  # a's move to none emptied it
    assert ticket_counters(stored)[f"COUNTS#CUSTOMER#{cus}"] == {"status#resolved": 1, "status#on_hold": 1}


# ---------------------------------------------------------------- a tenant made before the counters: reindex


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, Any]:
    code = cli.main(list(argv))
    out, _ = capsys.readouterr()
    return code, json.loads(out) if out.strip() else None


def _make_legacy(aws: Any, tenant_id: str) -> None:
    """What a tenant looked like before issue 15: GSI1 by status alone, GSI3 only for assigned tickets (by agent
    alone), and its ticket counts as `total` and `status#<s>` on COUNTS, with no COUNTS#... items."""
    for item in items(aws, f"TENANT#{tenant_id}"):
        if item["SK"].startswith("COUNTS#"):
            aws.delete_item(TableName=TABLE, Key=serialize({"PK": item["PK"], "SK": item["SK"]}))
        elif item["SK"].startswith("TICKET#"):
            legacy = {**item, "GSI1PK": f"TENANT#{tenant_id}#STATUS#{item['status']}"}
            legacy.pop("GSI3PK", None), legacy.pop("GSI3SK", None)
            if item.get("assigneeId"):
                legacy |= {"GSI3PK": f"TENANT#{tenant_id}#ASSIGNEE#{item['assigneeId']}", "GSI3SK": item["id"]}
            aws.put_item(TableName=TABLE, Item=serialize(legacy))


def test_given_a_tenant_made_before_the_counters_when_reindexed_then_its_lists_are_planned_and_exact(
    mixed, aws, capsys
):
    tenant, (ann, _), _, made = mixed
    _make_legacy(aws, tenant.tenant_id)
    # Before the reindex: no counters, GSI1 in its old shape. The tenant's tickets still list it right.
    with count_calls() as calls:
        page, _ = _list(tenant.key, status="open", limit="5")
    assert _ids(page) == _expected(made, status="open")[:5] and page["totalExact"] is False
    assert set(calls.queried) == {"table"}

    code, out = _run(capsys, "tenant", "reindex", "--tenant", tenant.tenant_id)

    assert code == 0 and (out["tickets"], out["ticketsReindexed"]) == (60, 60) and out["counterItemsWritten"] >= 5
    stored = items(aws, f"TENANT#{tenant.tenant_id}")
    tickets = [i for i in stored if i["SK"].startswith("TICKET#")]
    assert ticket_counters(stored) == expected_ticket_counters(tenant.tenant_id, tickets)
    for query, conds in [({"status": "open"}, {"status": "open"}), ({"assigneeId": ann}, {"assigneeId": ann}),
                         ({"assigneeId": "none", "status": "new"}, {"assigneeId": None, "status": "new"})]:  # fmt: skip
        page, _ = _list(tenant.key, limit="100", **query)
        wanted = _expected(made, **conds)
        assert _ids(page) == wanted and (page["total"], page["totalExact"]) == (len(wanted), True), query
    code, again = _run(capsys, "tenant", "reindex", tenant.tenant_id)  # idempotent: nothing left to write
    assert code == 0 and (again["ticketsReindexed"], again["counterItemsWritten"]) == (0, 0)
    assert items(aws, f"TENANT#{tenant.tenant_id}") == stored
