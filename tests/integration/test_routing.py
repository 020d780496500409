"""Groups, routing and waiting tickets through the real handlers: API writes decide in the ticket's own transaction;
the waiting-tickets consumer runs on the records read from moto's table stream, filtered as Lambda would; its
schedule (groups whose business hours opened) is invoked as EventBridge Scheduler would, with the clock held."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.conftest import TABLE, TenantKey, call, items
from tests.utils import TableStream as Stream
from tickets.dal import keys
from tickets.dal.client import serialize
from tools import template
from tools.events import FakeContext

FN = template.functions()["RouteWaitingTicketsFunction"]
STREAM = next(s for s in FN.event_sources if isinstance(s, template.DynamoDBStreamSource))
WEDNESDAY_10 = datetime(2026, 11, 18, 10, 0, tzinfo=UTC)  # a Wednesday, 10:00 UTC
NINE_TO_FIVE = [{"day": d, "start": "09:00", "end": "17:00"} for d in ("mon", "tue", "wed", "thu", "fri")]


@pytest.fixture
def stream(aws: Any) -> Stream:
    return Stream(aws, TABLE, STREAM.filters)


def invoke(event: dict[str, Any]) -> dict[str, Any]:
    """The consumer's handler with its own environment, as Lambda runs it."""
    from tickets.config import settings

    template.apply_env(FN, {"Table": TABLE})
    settings.cache_clear()
    return template.load_handler(FN)(event, FakeContext(FN.name))


def consume(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Run the consumer on `records` in batches of the template's size; they all succeed; the records run."""
    for start in range(0, len(records), STREAM.batch_size):
        result = invoke({"Records": records[start : start + STREAM.batch_size]})
        assert result["batchItemFailures"] == []
    return records


def scheduled() -> dict[str, Any]:
    """The function's schedule, as EventBridge Scheduler invokes it."""
    event = {"version": "0", "id": "e1", "detail-type": "Scheduled Event", "source": "aws.scheduler",
             "account": "123456789012", "time": "2026-11-18T09:00:00Z", "region": "us-east-1",
             "resources": [], "detail": {}}  # fmt: skip
    return invoke(event)["result"]


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Routing's clock, held (API writes and the consumer read the same one): `clock.at = datetime`."""
    from tickets.logic import group_routing, waiting

    class Clock:
        at = WEDNESDAY_10

    held = Clock()
    for module in (group_routing, waiting):
        monkeypatch.setattr(module, "now", lambda: held.at)
    return held


# ------------------------------------------------------------------------------------------------ helpers


def ok(resp: Any, status: int = 200) -> Any:
    assert resp.status == status, resp.body
    return resp.json


def agent(key: str, name: str, **fields: Any) -> dict[str, Any]:
    body = {"name": name, "email": f"{name.lower()}@example.com", **fields}
    return ok(call("POST", "/v1/agents", key=key, body=body), 201)


def group(key: str, agent_ids: list[str], routing: str = "round_robin", **fields: Any) -> dict[str, Any]:
    body = {"name": f"G-{routing}", "agentIds": agent_ids, "routing": routing, **fields}
    return ok(call("POST", "/v1/groups", key=key, body=body), 201)


def event(key: str, **body: Any) -> Any:
    return call("POST", "/v1/tickets/api-create", key=key, body={"customerExternalId": "cus_1", "subject": "s", **body})


def ticket(key: str, **body: Any) -> dict[str, Any]:
    return ok(call("POST", "/v1/tickets", key=key, body={"subject": "s", **body}), 201)


def get_ticket(key: str, ticket_id: str) -> dict[str, Any]:
    return ok(call("GET", f"/v1/tickets/{ticket_id}", key=key))


def patch(path: str, key: str, body: dict[str, Any]) -> dict[str, Any]:
    return ok(call("PATCH", path, key=key, body=body))


def load(key: str, *agents: dict[str, Any]) -> list[int]:
    return [ok(call("GET", f"/v1/agents/{a['id']}", key=key))["openTickets"] for a in agents]


def business_hours(aws: Any, tenant: TenantKey, weekly: list[dict[str, str]], holidays: tuple[str, ...] = ()) -> str:
    """Business hours as /v1/business-hours stores them (that API is the SLA half of issue 14)."""
    from tickets import ids

    hours_id = ids.new_id()
    item = {**keys.business_hours(tenant.tenant_id, hours_id), "type": "businesshours",
            "tenantId": tenant.tenant_id, "id": hours_id, "name": "Office", "timeZone": "UTC", "weekly": weekly,
            "holidays": list(holidays)}  # fmt: skip
    aws.put_item(TableName=TABLE, Item=serialize(item))
    return hours_id


def stored(aws: Any, tenant: TenantKey, sk: str) -> dict[str, Any]:
    return next(i for i in items(aws, keys.tenant_pk(tenant.tenant_id)) if i["SK"] == sk)


@pytest.fixture
def customer(tenant: TenantKey) -> dict[str, Any]:
    body = {"externalId": "cus_1", "name": "Bob", "email": "bob@example.org"}
    return ok(call("POST", "/v1/customers", key=tenant.key, body=body), 201)


# ------------------------------------------------------------------------------------------------ the hard case


def test_given_30_concurrent_events_into_a_round_robin_group_of_3_with_capacity_10_then_10_each_and_the_31st_waits(
    aws, tenant, customer, stream
):
    agents = [agent(tenant.key, n, capacity=10) for n in ("Ann", "Bea", "Cid")]
    g = group(tenant.key, [a["id"] for a in agents])
    with ThreadPoolExecutor(30) as pool:
        results = list(pool.map(lambda i: event(tenant.key, subject=f"e{i}", groupId=g["id"]), range(30)))
    assert [r.status for r in results] == [201] * 30, [r.body for r in results if r.status != 201]
    split = Counter(r.json["assigneeId"] for r in results)
    assert split == {a["id"]: 10 for a in agents}
    assert {(r.json["status"], r.json["groupId"]) for r in results} == {("open", g["id"])}
    assert load(tenant.key, *agents) == [10, 10, 10]

    last = event(tenant.key, subject="the 31st", groupId=g["id"])
    waiting = ok(last, 201)
    assert (waiting["assigneeId"], waiting["status"], waiting["groupId"]) == (None, "new", g["id"])
    consume(stream.new())  # its INSERT: nobody can take it
    assert get_ticket(tenant.key, waiting["id"])["assigneeId"] is None
    assert load(tenant.key, *agents) == [10, 10, 10]

    bea_first = next(r.json for r in results if r.json["assigneeId"] == agents[1]["id"])
    patch(f"/v1/tickets/{bea_first['id']}", tenant.key, {"status": "resolved"})
    assert load(tenant.key, *agents) == [10, 9, 10]
    batch = consume(stream.new())
    routed = get_ticket(tenant.key, waiting["id"])
    assert (routed["assigneeId"], routed["status"], routed["version"]) == (agents[1]["id"], "open", 2)
    assert routed["assignee"] == {"id": agents[1]["id"], "name": "Bea", "email": "bea@example.com"}
    assert load(tenant.key, *agents) == [10, 10, 10]

    consume(batch)  # Lambda runs the same records again
    consume(stream.new())  # and the consumer's own writes give it nothing to do
    assert get_ticket(tenant.key, waiting["id"])["version"] == 2
    assert load(tenant.key, *agents) == [10, 10, 10]
    page = ok(call("GET", "/v1/tickets", key=tenant.key, query={"groupId": g["id"], "limit": "100"}))
    assert page["total"] == 31 and Counter(t["status"] for t in page["data"]) == {"open": 30, "resolved": 1}


# ------------------------------------------------------------------------------------------------ methods


def test_given_least_loaded_then_the_fewest_open_tickets_then_the_least_recently_assigned(aws, tenant):
    ann, bea, cid = (agent(tenant.key, n) for n in ("Ann", "Bea", "Cid"))
    g = group(tenant.key, [ann["id"], bea["id"], cid["id"]], "least_loaded")
    for who in (ann, ann, bea):
        ticket(tenant.key, assigneeId=who["id"])
    assert ticket(tenant.key, groupId=g["id"])["assigneeId"] == cid["id"]  # 0 open
    assert ticket(tenant.key, groupId=g["id"])["assigneeId"] == bea["id"]  # 1 open each: Bea assigned longest ago
    assert ticket(tenant.key, groupId=g["id"])["assigneeId"] == cid["id"]
    assert load(tenant.key, ann, bea, cid) == [2, 2, 2]


def test_given_round_robin_then_the_least_recently_assigned_whatever_the_load(aws, tenant):
    ann, bea = agent(tenant.key, "Ann"), agent(tenant.key, "Bea")
    g = group(tenant.key, [ann["id"], bea["id"]])
    for _ in range(3):
        ticket(tenant.key, assigneeId=ann["id"])  # Ann: 3 open, assigned last
    got = [ticket(tenant.key, groupId=g["id"])["assigneeId"] for _ in range(4)]
    assert got == [bea["id"], ann["id"], bea["id"], ann["id"]]


def test_given_a_manual_group_then_nothing_is_assigned_and_the_consumer_leaves_it_too(aws, tenant, customer, stream):
    ann = agent(tenant.key, "Ann")
    g = group(tenant.key, [ann["id"]], "manual")
    t = ticket(tenant.key, groupId=g["id"])
    e = ok(event(tenant.key, groupId=g["id"]), 201)
    consume(stream.new())
    assert [get_ticket(tenant.key, x["id"])["assigneeId"] for x in (t, e)] == [None, None]
    assigned = patch(f"/v1/tickets/{t['id']}", tenant.key, {"assigneeId": ann["id"]})  # by hand it is fine
    assert assigned["assigneeId"] == ann["id"] and assigned["groupId"] == g["id"]


def test_given_an_event_without_a_group_then_the_n1_rule_with_capacity_and_skills(aws, tenant, customer):
    full = agent(tenant.key, "Full", capacity=0)
    agent(tenant.key, "Senior", level="N2")
    fr = agent(tenant.key, "Fr", skills=["French"])
    assert ok(event(tenant.key), 201)["assigneeId"] == fr["id"]
    assert ok(event(tenant.key, requiredSkills=["french"]), 201)["assigneeId"] == fr["id"]
    assert ok(event(tenant.key, requiredSkills=["german"]), 201)["assigneeId"] is None
    assert load(tenant.key, full, fr) == [0, 2]


# ------------------------------------------------------------------------------------------------ eligibility


def test_given_required_skills_then_only_an_agent_with_all_of_them_and_a_skill_gained_takes_the_waiting_one(
    aws, tenant, stream
):
    ann = agent(tenant.key, "Ann", skills=["billing"])
    bea = agent(tenant.key, "Bea", skills=["Billing", "FRENCH"])
    g = group(tenant.key, [ann["id"], bea["id"]], "least_loaded")
    ticket(tenant.key, assigneeId=bea["id"])  # Bea is busier, but the only one who speaks French
    t = ticket(tenant.key, groupId=g["id"], requiredSkills=["french", "billing"])
    assert t["assigneeId"] == bea["id"] and t["requiredSkills"] == ["french", "billing"]
    german = ticket(tenant.key, groupId=g["id"], requiredSkills=["german"])
    consume(stream.new())
    assert german["assigneeId"] is None and get_ticket(tenant.key, german["id"])["assigneeId"] is None

    patch(f"/v1/agents/{ann['id']}", tenant.key, {"skills": ["billing", "German"]})
    consume(stream.new())
    assert get_ticket(tenant.key, german["id"])["assigneeId"] == ann["id"]


def test_given_capacity_then_a_full_agent_gets_nothing_until_its_capacity_is_raised(aws, tenant, stream):
    ann = agent(tenant.key, "Ann", capacity=1)
    g = group(tenant.key, [ann["id"]])
    first, second = ticket(tenant.key, groupId=g["id"]), ticket(tenant.key, groupId=g["id"])
    assert (first["assigneeId"], second["assigneeId"]) == (ann["id"], None)
    consume(stream.new())
    assert get_ticket(tenant.key, second["id"])["assigneeId"] is None and load(tenant.key, ann) == [1]

    patch(f"/v1/agents/{ann['id']}", tenant.key, {"capacity": 2})
    consume(stream.new())
    assert get_ticket(tenant.key, second["id"])["assigneeId"] == ann["id"] and load(tenant.key, ann) == [2]
    assert patch(f"/v1/agents/{ann['id']}", tenant.key, {"capacity": None})["capacity"] is None


def test_given_an_unavailable_agent_then_it_is_passed_over_and_gets_the_waiting_tickets_when_available(
    aws, tenant, stream
):
    ann = agent(tenant.key, "Ann", available=False)
    bea = agent(tenant.key, "Bea", capacity=1)
    g = group(tenant.key, [ann["id"], bea["id"]], "least_loaded")
    got = [ticket(tenant.key, groupId=g["id"], priority=p) for p in ("low", "urgent", "low")]
    assert [t["assigneeId"] for t in got] == [bea["id"], None, None]
    consume(stream.new())

    patch(f"/v1/agents/{ann['id']}", tenant.key, {"available": True, "capacity": 1})
    consume(stream.new())
    assert get_ticket(tenant.key, got[1]["id"])["assigneeId"] == ann["id"]  # the most urgent first
    assert get_ticket(tenant.key, got[2]["id"])["assigneeId"] is None and load(tenant.key, ann, bea) == [1, 1]


def test_given_waiting_tickets_then_each_freed_slot_takes_the_oldest_of_the_most_urgent(aws, tenant, stream):
    ann = agent(tenant.key, "Ann", capacity=1)
    g = group(tenant.key, [ann["id"]])
    holding = ticket(tenant.key, groupId=g["id"])
    old_low, old_high, new_high, was_urgent = (
        ticket(tenant.key, groupId=g["id"], priority=p) for p in ("low", "high", "high", "urgent")
    )
    patch(f"/v1/tickets/{was_urgent['id']}", tenant.key, {"priority": "medium"})  # its place in the queue moves
    consume(stream.new())
    queue = (old_low, old_high, new_high, was_urgent)
    order = []
    for _ in queue:
        patch(f"/v1/tickets/{holding['id']}", tenant.key, {"status": "resolved"})
        consume(stream.new())
        holding = next(t for t in queue if t not in order and get_ticket(tenant.key, t["id"])["assigneeId"])
        order.append(holding)
        assert load(tenant.key, ann) == [1]
    assert [t["id"] for t in order] == [x["id"] for x in (old_high, new_high, was_urgent, old_low)]


# ------------------------------------------------------------------------------------------------ business hours


def test_given_business_hours_closed_then_the_ticket_waits_and_is_routed_when_they_open(aws, tenant, stream, clock):
    ann, bea = agent(tenant.key, "Ann"), agent(tenant.key, "Bea")
    hours = business_hours(aws, tenant, NINE_TO_FIVE, holidays=("2026-11-19",))
    g = group(tenant.key, [ann["id"], bea["id"]], businessHoursId=hours)
    assert ticket(tenant.key, groupId=g["id"])["assigneeId"] == ann["id"]  # Wednesday 10:00: open

    clock.at = datetime(2026, 11, 18, 18, 30, tzinfo=UTC)  # closed for the evening, and Thursday is a holiday
    night = [ticket(tenant.key, groupId=g["id"]) for _ in range(3)]
    consume(stream.new())
    assert [get_ticket(tenant.key, t["id"])["assigneeId"] for t in night] == [None, None, None]
    reopen = [i for i in items(aws, keys.REOPEN_PARTITION)]
    assert [i["SK"] for i in reopen] == [f"2026-11-20T09:00:00.000Z#{tenant.tenant_id}#{g['id']}"]

    clock.at = datetime(2026, 11, 20, 8, 59, tzinfo=UTC)
    assert scheduled() == {"reopened": 0, "drained": 0}
    clock.at = datetime(2026, 11, 20, 9, 0, 30, tzinfo=UTC)
    assert scheduled() == {"reopened": 1, "drained": 1}
    got = [get_ticket(tenant.key, t["id"])["assigneeId"] for t in night]
    assert got == [bea["id"], ann["id"], bea["id"]]  # round robin, oldest first
    assert items(aws, keys.REOPEN_PARTITION) == []
    assert scheduled() == {"reopened": 0, "drained": 0}
    consume(stream.new())
    assert [get_ticket(tenant.key, t["id"])["version"] for t in night] == [2, 2, 2] and load(tenant.key, ann, bea) == [
        2,
        2,
    ]


def test_given_a_slot_freed_while_closed_then_the_queue_waits_for_the_opening_not_for_the_next_slot(
    aws, tenant, stream, clock
):
    ann = agent(tenant.key, "Ann", capacity=1)
    g = group(tenant.key, [ann["id"]], businessHoursId=business_hours(aws, tenant, NINE_TO_FIVE))
    busy = ticket(tenant.key, groupId=g["id"])
    queued = ticket(tenant.key, groupId=g["id"])
    consume(stream.new())
    assert items(aws, keys.REOPEN_PARTITION) == []  # open: it waits for capacity, not for the hours

    clock.at = datetime(2026, 11, 18, 20, 0, tzinfo=UTC)
    patch(f"/v1/tickets/{busy['id']}", tenant.key, {"status": "resolved"})
    consume(stream.new())
    assert get_ticket(tenant.key, queued["id"])["assigneeId"] is None
    assert [i["SK"].split("#")[0] for i in items(aws, keys.REOPEN_PARTITION)] == ["2026-11-19T09:00:00.000Z"]
    clock.at = datetime(2026, 11, 19, 9, 1, tzinfo=UTC)
    assert scheduled()["drained"] == 1
    assert get_ticket(tenant.key, queued["id"])["assigneeId"] == ann["id"]


def test_given_a_group_that_leaves_manual_then_its_queue_is_shared_out_by_its_method(aws, tenant, stream):
    ann, bea = agent(tenant.key, "Ann"), agent(tenant.key, "Bea")
    g = group(tenant.key, [ann["id"], bea["id"]], "manual")
    queued = [ticket(tenant.key, groupId=g["id"]) for _ in range(4)]
    consume(stream.new())
    patch(f"/v1/groups/{g['id']}", tenant.key, {"routing": "round_robin"})
    batch = consume(stream.new())
    assert Counter(get_ticket(tenant.key, t["id"])["assigneeId"] for t in queued) == {ann["id"]: 2, bea["id"]: 2}
    consume(batch)
    assert [get_ticket(tenant.key, t["id"])["version"] for t in queued] == [2, 2, 2, 2]


# ------------------------------------------------------------------------------------------------ re-runs


def test_given_an_assigned_ticket_deleted_or_unassigned_then_its_slot_goes_to_the_queue_and_not_back_to_it(
    aws, tenant, stream
):
    ann, bea = agent(tenant.key, "Ann", capacity=1), agent(tenant.key, "Bea", capacity=1)
    g = group(tenant.key, [ann["id"], bea["id"]])
    held = [ticket(tenant.key, groupId=g["id"]) for _ in range(2)]  # Ann's, then Bea's
    queued = [ticket(tenant.key, groupId=g["id"]) for _ in range(2)]
    consume(stream.new())
    assert [t["assigneeId"] for t in held + queued] == [ann["id"], bea["id"], None, None]

    assert call("DELETE", f"/v1/tickets/{held[0]['id']}", key=tenant.key).status == 204  # the REMOVE frees Ann
    consume(stream.new())
    assert get_ticket(tenant.key, queued[0]["id"])["assigneeId"] == ann["id"]

    patch(f"/v1/tickets/{held[1]['id']}", tenant.key, {"assigneeId": None})  # Bea lets hers go: it waits again
    consume(stream.new())
    assert get_ticket(tenant.key, queued[1]["id"])["assigneeId"] == bea["id"]  # not the one she let go
    assert get_ticket(tenant.key, held[1]["id"])["assigneeId"] is None  # and hers waits: Ann is full
    assert load(tenant.key, ann, bea) == [1, 1]


def test_given_an_agent_that_becomes_available_then_it_fills_to_capacity_once_however_often_the_record_runs(
    aws, tenant, stream
):
    ann = agent(tenant.key, "Ann", available=False, capacity=2)
    g = group(tenant.key, [ann["id"]])
    queued = [ticket(tenant.key, groupId=g["id"]) for _ in range(3)]
    consume(stream.new())
    patch(f"/v1/agents/{ann['id']}", tenant.key, {"available": True})
    batch = consume(stream.new())
    assert [get_ticket(tenant.key, t["id"])["assigneeId"] for t in queued] == [ann["id"], ann["id"], None]
    consume(batch)
    consume(batch)
    assert [get_ticket(tenant.key, t["id"])["version"] for t in queued] == [2, 2, 1] and load(tenant.key, ann) == [2]


def test_given_a_freed_slot_whose_record_runs_again_then_it_takes_no_second_ticket(aws, tenant, stream):
    ann = agent(tenant.key, "Ann", capacity=1)
    g = group(tenant.key, [ann["id"]])
    first, *queued = (ticket(tenant.key, groupId=g["id"]) for _ in range(4))
    consume(stream.new())
    patch(f"/v1/tickets/{first['id']}", tenant.key, {"status": "resolved"})
    batch = consume(stream.new())
    assert [get_ticket(tenant.key, t["id"])["assigneeId"] for t in queued] == [ann["id"], None, None]

    patch(f"/v1/agents/{ann['id']}", tenant.key, {"capacity": 3})  # room now; its own record is not read yet
    consume(batch)  # the freed slot's record again: that slot was filled, so nothing
    assert [get_ticket(tenant.key, t["id"])["assigneeId"] for t in queued] == [ann["id"], None, None]
    consume(stream.new())  # the capacity change's record fills the new room
    assert [get_ticket(tenant.key, t["id"])["assigneeId"] for t in queued] == [ann["id"]] * 3
    assert load(tenant.key, ann) == [3]


# ------------------------------------------------------------------------------------------------ tickets' groupId


def test_given_group_ids_on_writes_then_patch_and_batch_route_and_unknown_groups_are_400(aws, tenant, customer):
    ann, bea = agent(tenant.key, "Ann"), agent(tenant.key, "Bea")
    g = group(tenant.key, [ann["id"]])
    h = group(tenant.key, [bea["id"]])
    t = ticket(tenant.key)
    assert (t["groupId"], t["assigneeId"]) == (None, None)
    moved = patch(f"/v1/tickets/{t['id']}", tenant.key, {"groupId": g["id"]})
    assert (moved["groupId"], moved["assigneeId"], moved["status"]) == (g["id"], ann["id"], "open")
    kept = patch(f"/v1/tickets/{t['id']}", tenant.key, {"groupId": h["id"]})  # assigned already: it stays so
    assert (kept["groupId"], kept["assigneeId"]) == (h["id"], ann["id"])

    loose = [ticket(tenant.key) for _ in range(2)]
    r = call("POST", "/v1/tickets/batch", key=tenant.key,
             body={"ids": [x["id"] for x in loose], "actions": [{"type": "set_group", "value": h["id"]}]})  # fmt: skip
    assert r.status == 200, r.body
    assert [get_ticket(tenant.key, x["id"])["assigneeId"] for x in loose] == [bea["id"], bea["id"]]

    unknown = "01JZZZZZZZZZZZZZZZZZZZZZZZ"
    before = items(aws, keys.tenant_pk(tenant.tenant_id))
    for resp in (
        call("POST", "/v1/tickets", key=tenant.key, body={"subject": "s", "groupId": unknown}),
        call("PATCH", f"/v1/tickets/{t['id']}", key=tenant.key, body={"groupId": unknown}),
        event(tenant.key, groupId=unknown),
    ):
        assert (resp.status, resp.json["code"], resp.json["errors"][0]["field"]) == (400, "INVALID_GROUP", "groupId")
    r = call("POST", "/v1/tickets/batch", key=tenant.key,
             body={"ids": [t["id"]], "actions": [{"type": "set_group", "value": unknown}]})  # fmt: skip
    assert r.status == 200 and r.json["results"][0]["error"]["code"] == "INVALID_GROUP", r.body
    after = items(aws, keys.tenant_pk(tenant.tenant_id))
    assert [i for i in after if i.get("type") == "ticket"] == [i for i in before if i.get("type") == "ticket"]

    by_group = ok(call("GET", "/v1/tickets", key=tenant.key, query={"groupId": h["id"]}))
    assert sorted(x["id"] for x in by_group["data"]) == sorted([t["id"], *(x["id"] for x in loose)])
    none = ok(call("GET", "/v1/tickets", key=tenant.key, query={"groupId": "none"}))
    assert (none["total"], none["data"]) == (0, [])
    cleared = patch(f"/v1/tickets/{t['id']}", tenant.key, {"groupId": None})
    assert cleared["groupId"] is None and cleared["assigneeId"] == ann["id"]


# ------------------------------------------------------------------------------------------------ groups


def test_given_groups_then_crud_keeps_members_both_ways_and_counts(aws, tenant):
    ann, bea = agent(tenant.key, "Ann"), agent(tenant.key, "Bea")
    g = group(tenant.key, [ann["id"]], "least_loaded", description="Tier 1")
    assert {k: g[k] for k in ("name", "description", "agentIds", "routing", "businessHoursId")} == {
        "name": "G-least_loaded", "description": "Tier 1", "agentIds": [ann["id"]], "routing": "least_loaded",
        "businessHoursId": None,
    }  # fmt: skip
    assert ok(call("GET", f"/v1/agents/{ann['id']}", key=tenant.key))["groupIds"] == [g["id"]]
    changed = patch(f"/v1/groups/{g['id']}", tenant.key, {"agentIds": [bea["id"]], "routing": "ROUND_ROBIN"})
    assert (changed["agentIds"], changed["routing"]) == ([bea["id"]], "round_robin")
    assert ok(call("GET", f"/v1/agents/{ann['id']}", key=tenant.key))["groupIds"] == []
    assert ok(call("GET", f"/v1/agents/{bea['id']}", key=tenant.key))["groupIds"] == [g["id"]]
    assert ok(call("GET", f"/v1/groups/{g['id']}", key=tenant.key)) == changed
    listed = ok(call("GET", "/v1/groups", key=tenant.key))
    assert (listed["total"], [x["id"] for x in listed["data"]]) == (1, [g["id"]])

    assert call("DELETE", f"/v1/agents/{bea['id']}", key=tenant.key).status == 204  # leaves its group with it
    assert ok(call("GET", f"/v1/groups/{g['id']}", key=tenant.key))["agentIds"] == []
    assert call("DELETE", f"/v1/groups/{g['id']}", key=tenant.key).status == 204
    assert call("GET", f"/v1/groups/{g['id']}", key=tenant.key).status == 404
    assert ok(call("GET", "/v1/groups", key=tenant.key))["total"] == 0


def test_given_a_group_with_unfinished_tickets_then_it_cannot_be_deleted_until_they_are_finished(aws, tenant):
    g = group(tenant.key, [])
    t = ticket(tenant.key, groupId=g["id"])
    r = call("DELETE", f"/v1/groups/{g['id']}", key=tenant.key)
    assert (r.status, r.json["code"]) == (409, "CONFLICT") and "1 unfinished" in r.json["detail"]
    patch(f"/v1/tickets/{t['id']}", tenant.key, {"status": "closed"})
    assert call("DELETE", f"/v1/groups/{g['id']}", key=tenant.key).status == 204


def test_given_bad_members_or_business_hours_then_400_naming_the_field_and_nothing_written(aws, tenant, other_tenant):
    theirs = agent(other_tenant.key, "Zed")
    before = items(aws, keys.tenant_pk(tenant.tenant_id))
    for body, code, field in (
        ({"name": "G", "agentIds": [theirs["id"]]}, "VALIDATION_ERROR", "agentIds"),
        ({"name": "G", "agentIds": ["not-an-id"]}, "VALIDATION_ERROR", "agentIds"),
        ({"name": "G", "businessHoursId": "01JZZZZZZZZZZZZZZZZZZZZZZZ"}, "INVALID_BUSINESS_HOURS", "businessHoursId"),
        ({"name": "G", "routing": "random"}, "VALIDATION_ERROR", "routing"),
        ({"name": "G", "agentIds": [theirs["id"], theirs["id"]]}, "VALIDATION_ERROR", "agentIds"),
    ):
        r = call("POST", "/v1/groups", key=tenant.key, body=body)
        assert (r.status, r.json["code"], r.json["errors"][0]["field"]) == (400, code, field), r.body
    assert items(aws, keys.tenant_pk(tenant.tenant_id)) == before


def test_given_business_hours_then_groups_take_and_give_back_a_use_of_them(aws, tenant):
    first, second = business_hours(aws, tenant, NINE_TO_FIVE), business_hours(aws, tenant, NINE_TO_FIVE)
    uses = lambda h: stored(aws, tenant, f"BUSINESSHOURS#{h}").get("useCount", 0)  # noqa: E731
    g = group(tenant.key, [], businessHoursId=first)
    assert (g["businessHoursId"], uses(first)) == (first, 1)
    patch(f"/v1/groups/{g['id']}", tenant.key, {"businessHoursId": second})
    assert (uses(first), uses(second)) == (0, 1)
    patch(f"/v1/groups/{g['id']}", tenant.key, {"businessHoursId": None})
    assert (uses(first), uses(second)) == (0, 0)
    patch(f"/v1/groups/{g['id']}", tenant.key, {"businessHoursId": first})
    assert call("DELETE", f"/v1/groups/{g['id']}", key=tenant.key).status == 204
    assert uses(first) == 0


def test_given_business_hours_that_are_gone_then_the_group_routes_as_if_always_open(aws, tenant, clock):
    ann = agent(tenant.key, "Ann")
    hours = business_hours(aws, tenant, [{"day": "sun", "start": "09:00", "end": "10:00"}])
    g = group(tenant.key, [ann["id"]], businessHoursId=hours)
    assert ticket(tenant.key, groupId=g["id"])["assigneeId"] is None  # Wednesday: closed
    aws.delete_item(TableName=TABLE, Key=serialize(keys.business_hours(tenant.tenant_id, hours)))
    assert ticket(tenant.key, groupId=g["id"])["assigneeId"] == ann["id"]


def test_given_a_ticket_routed_by_the_consumer_then_it_is_the_actor_and_the_stream_markers_are_spent(
    aws, tenant, stream
):
    ann = agent(tenant.key, "Ann", available=False)
    g = group(tenant.key, [ann["id"]])
    t = ticket(tenant.key, groupId=g["id"])
    assert stored(aws, tenant, f"TICKET#{t['id']}")["routingChanged"] is True
    consume(stream.new())
    patch(f"/v1/agents/{ann['id']}", tenant.key, {"available": True})
    assert stored(aws, tenant, f"AGENT#{ann['id']}")["routingChanged"] is True
    consume(stream.new())
    routed = stored(aws, tenant, f"TICKET#{t['id']}")
    assert (routed["assigneeId"], routed["updatedBy"], routed.get("routingChanged")) == (ann["id"], "routing", None)
    assert routed["assigneeChanged"] is True  # the assignment email and history consumers see it as any other
    assert "routingChanged" not in stored(aws, tenant, f"AGENT#{ann['id']}")
    assert "GSI5PK" not in routed
