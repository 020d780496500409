"""Business hours, SLA policies, the ticket's `sla` and the breach sweep, through the real handlers against moto.

The clock's own rules are tested in memory (tests/unit/test_sla_clock.py); here: the wiring, and the hard cases
again through the handlers. Tickets are created at the real time (a ticket's createdAt is its id's millisecond),
or at a fixed past instant with ticket_at (DST, holiday, closed hours, the README's example); the sweep and the
PATCH clock take an injected `now`, so deadlines minutes ahead are reached without waiting.
"""

from __future__ import annotations

import secrets
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from tests.conftest import TABLE, call, items
from tests.integration.test_pipeline import STATUS, _capture_status_events, _drain, make_pipeline  # noqa: F401
from tests.integration.test_realtime import connect, pushes  # noqa: F401
from tickets.events import domain_events
from tickets.models.events import DomainEvent
from tools import template
from tools.eventsources import Clients, stream_record

WEEK = [{"day": d, "start": "09:00", "end": "17:00"} for d in ("mon", "tue", "wed", "thu", "fri")]
ALWAYS = [{"day": d, "start": "00:00", "end": "24:00"} for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")]


def ok(resp: Any, status: int = 200) -> Any:
    assert resp.status == status, resp.body
    return resp.json


def problem(resp: Any, status: int, code: str, field: str | None = None) -> dict[str, Any]:
    assert resp.status == status, resp.body
    assert resp.headers["content-type"] == "application/problem+json"
    body = resp.json
    assert body["code"] == code, body
    if field is not None:
        assert field in [e["field"] for e in body["errors"]], body
    return body


def hours(key: str, **fields: Any) -> dict[str, Any]:
    body = {"name": "Office", "timeZone": "Europe/Paris", "weekly": WEEK, **fields}
    return ok(call("POST", "/v1/business-hours", key=key, body=body), 201)


def policy(key: str, position: int = 1, **fields: Any) -> dict[str, Any]:
    targets = {p: {"firstReplyMinutes": 60, "resolutionMinutes": 240} for p in ("low", "medium", "high")}
    body = {"name": f"P{position}", "position": position, "targets": targets, **fields}
    return ok(call("POST", "/v1/sla-policies", key=key, body=body), 201)


def ticket(key: str, **fields: Any) -> dict[str, Any]:
    return ok(call("POST", "/v1/tickets", key=key, body={"subject": "Printer on fire", **fields}), 201)


def ticket_at(monkeypatch: pytest.MonkeyPatch, at: str, key: str, **fields: Any) -> dict[str, Any]:
    """A ticket created through POST /v1/tickets at `at` (a past instant): its createdAt is its id's millisecond."""
    from tickets import ids

    ms = int(parse(at).timestamp() * 1000)
    with monkeypatch.context() as m:  # derived ids leave the process's monotonic clock as it was
        m.setattr(ids, "new_id", lambda now_ms=None: ids.derived_id(ms, secrets.token_hex(8)))
        made = ticket(key, **fields)
    assert made["createdAt"] == at
    return made


def parse(ts: str) -> datetime:
    return datetime.fromisoformat(ts.replace("Z", "+00:00"))


def minutes(a: str, b: str) -> float:
    return (parse(b) - parse(a)).total_seconds() / 60


def stream_events(ticket_id: str | None = None) -> list[DomainEvent]:
    """Every domain event the table's stream holds (for one ticket), in stream order: what each consumer gets."""
    ddb = boto3.client("dynamodb", region_name="us-east-1")
    streams = Clients.create("us-east-1").streams
    arn = ddb.describe_table(TableName=TABLE)["Table"]["LatestStreamArn"]
    events: list[DomainEvent] = []
    for shard in streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
        it = streams.get_shard_iterator(StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON")
        for record in streams.get_records(ShardIterator=it["ShardIterator"], Limit=1000)["Records"]:
            found = domain_events(stream_record(record, arn, "us-east-1"))
            events += [e for e in found if ticket_id is None or (e.data.get("ticket") or {}).get("id") == ticket_id]
    return events


def sla_events(ticket_id: str | None = None) -> list[tuple[str, str, str]]:
    return [
        (e.type, e.data["target"], e.data["ticket"]["id"])
        for e in stream_events(ticket_id)
        if e.type in ("ticket.sla_warning", "ticket.sla_breached")
    ]


# ---------------------------------------------------------------- business hours


def test_given_business_hours_when_created_read_listed_patched_then_the_calendar_is_kept_as_given(tenant):
    created = hours(tenant.key, holidays=["2026-12-25"])
    assert created["timeZone"] == "Europe/Paris" and created["weekly"][0] == {"day": "mon", "start": "09:00",
                                                                                 "end": "17:00"}  # fmt: skip
    assert ok(call("GET", f"/v1/business-hours/{created['id']}", key=tenant.key)) == created
    hours(tenant.key, name="Second")
    page = ok(call("GET", "/v1/business-hours", key=tenant.key))
    assert [b["name"] for b in page["data"]] == ["Office", "Second"] and page["total"] == 2
    patched = ok(call("PATCH", f"/v1/business-hours/{created['id']}", key=tenant.key, body={"timeZone": "Asia/Tokyo"}))
    assert patched == {**created, "timeZone": "Asia/Tokyo"}
    assert "useCount" not in patched


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"timeZone": "Mars/Olympus_Mons"}, "timeZone"),
        ({"timeZone": "../../etc/passwd"}, "timeZone"),
        ({"weekly": [{"day": "mon", "start": "17:00", "end": "09:00"}]}, "weekly"),
        (
            {
                "weekly": [
                    {"day": "mon", "start": "09:00", "end": "12:00"},
                    {"day": "mon", "start": "11:00", "end": "13:00"},
                ]
            },
            "weekly",
        ),
        ({"weekly": [{"day": "mon", "start": "24:00", "end": "24:00"}]}, "weekly"),
        ({"weekly": [{"day": "someday", "start": "09:00", "end": "17:00"}]}, "weekly.0.day"),
        ({"weekly": []}, "weekly"),
        ({"holidays": ["2026-02-30"]}, "holidays.0"),
    ],
)
def test_given_an_invalid_calendar_when_created_then_400_naming_the_field_and_nothing_stored(tenant, aws, body, field):
    before = items(aws, f"TENANT#{tenant.tenant_id}")
    resp = call("POST", "/v1/business-hours", key=tenant.key, body={"name": "x", "timeZone": "UTC", "weekly": WEEK,
                                                                    **body})  # fmt: skip
    problem(resp, 400, "VALIDATION_ERROR", field)
    assert items(aws, f"TENANT#{tenant.tenant_id}") == before


def test_given_stored_intervals_when_a_patch_changes_one_part_then_the_whole_calendar_is_checked(tenant):
    created = hours(tenant.key)
    resp = call("PATCH", f"/v1/business-hours/{created['id']}", key=tenant.key, body={"timeZone": "Nowhere/Land"})
    problem(resp, 400, "VALIDATION_ERROR", "timeZone")
    resp = call("PATCH", f"/v1/business-hours/{created['id']}", key=tenant.key, body={"timeZone": None})
    problem(resp, 400, "VALIDATION_ERROR", "timeZone")
    assert ok(call("GET", f"/v1/business-hours/{created['id']}", key=tenant.key)) == created


def test_given_business_hours_a_policy_uses_when_deleted_then_409_until_the_policy_lets_go(tenant):
    used = hours(tenant.key)
    p = policy(tenant.key, businessHoursId=used["id"])
    problem(call("DELETE", f"/v1/business-hours/{used['id']}", key=tenant.key), 409, "CONFLICT")
    assert ok(call("GET", f"/v1/business-hours/{used['id']}", key=tenant.key)) == used
    ok(call("PATCH", f"/v1/sla-policies/{p['id']}", key=tenant.key, body={"businessHoursId": None}))
    assert call("DELETE", f"/v1/business-hours/{used['id']}", key=tenant.key).status == 204
    problem(call("DELETE", f"/v1/business-hours/{used['id']}", key=tenant.key), 404, "NOT_FOUND")
    assert ok(call("GET", "/v1/business-hours", key=tenant.key))["total"] == 0


def test_given_a_key_without_settings_manage_then_business_hours_and_policies_are_403(aws):
    from tests.conftest import make_tenant

    reader = make_tenant("RDR", scopes=["tickets:read", "tickets:write"])
    for method, path in [("GET", "/v1/business-hours"), ("POST", "/v1/sla-policies"), ("GET", "/v1/sla-policies")]:
        resp = call(method, path, key=reader.key, body={} if method == "POST" else None)
        assert resp.status == 403, (path, resp.body)


# ---------------------------------------------------------------- policies


def test_given_policies_created_out_of_order_then_listed_and_applied_by_position(tenant):
    third = policy(tenant.key, 30, name="catch-all")
    first = policy(tenant.key, 10, name="email", conditions={"channel": ["email"]})
    second = policy(tenant.key, 20, name="urgent", conditions={"priority": ["urgent", "high"]},
                    targets={"high": {"firstReplyMinutes": 15, "resolutionMinutes": 60}})  # fmt: skip
    page = ok(call("GET", "/v1/sla-policies", key=tenant.key))
    assert [p["id"] for p in page["data"]] == [first["id"], second["id"], third["id"]] and page["total"] == 3
    assert first["conditions"] == {"channel": ["email"], "priority": None, "groupId": None}
    assert third["conditions"] == {"channel": None, "priority": None, "groupId": None}  # null: no condition
    assert ticket(tenant.key, channel="email", priority="high")["sla"]["policyId"] == first["id"]
    assert ticket(tenant.key, priority="high")["sla"]["policyId"] == second["id"]
    assert ticket(tenant.key, priority="low")["sla"]["policyId"] == third["id"]
    assert ticket(tenant.key, priority="urgent")["sla"] is None  # "urgent" matches policy 20 first: no urgent target
    moved = ok(call("PATCH", f"/v1/sla-policies/{third['id']}", key=tenant.key, body={"position": 1}))
    assert moved["position"] == 1
    assert ok(call("GET", "/v1/sla-policies", key=tenant.key))["data"][0]["id"] == third["id"]
    assert ok(call("GET", f"/v1/sla-policies/{third['id']}", key=tenant.key)) == moved
    assert call("DELETE", f"/v1/sla-policies/{third['id']}", key=tenant.key).status == 204
    problem(call("GET", f"/v1/sla-policies/{third['id']}", key=tenant.key), 404, "NOT_FOUND")
    assert ok(call("GET", "/v1/sla-policies", key=tenant.key))["total"] == 2


def test_given_a_policy_naming_unknown_business_hours_then_400_and_nothing_stored(tenant, aws):
    before = items(aws, f"TENANT#{tenant.tenant_id}")
    targets = {"high": {"firstReplyMinutes": 1, "resolutionMinutes": 2}}
    body = {"name": "x", "position": 1, "businessHoursId": "01JAAAAAAAAAAAAAAAAAAAAAAA", "targets": targets}
    resp = call("POST", "/v1/sla-policies", key=tenant.key, body=body)
    problem(resp, 400, "INVALID_BUSINESS_HOURS", "businessHoursId")
    assert items(aws, f"TENANT#{tenant.tenant_id}") == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"targets": {}}, "targets"),
        ({"targets": {"whenever": {"firstReplyMinutes": 1, "resolutionMinutes": 2}}}, "targets.whenever.[key]"),
        ({"targets": {"high": {"firstReplyMinutes": 0, "resolutionMinutes": 2}}}, "targets.high.firstReplyMinutes"),
        ({"conditions": {"priority": []}}, "conditions.priority"),
        ({"conditions": {"status": ["new"]}}, "conditions.status"),
        ({"position": -1}, "position"),
    ],
)
def test_given_an_invalid_policy_then_400_naming_the_field(tenant, body, field):
    base = {"name": "x", "position": 1, "targets": {"high": {"firstReplyMinutes": 1, "resolutionMinutes": 2}}}
    problem(call("POST", "/v1/sla-policies", key=tenant.key, body={**base, **body}), 400, "VALIDATION_ERROR", field)


# ---------------------------------------------------------------- the ticket's sla


def test_given_no_policy_then_a_ticket_has_no_sla_and_keeps_its_own_due_time(tenant):
    created = ticket(tenant.key, dueAt="2030-01-01T00:00:00Z")
    assert created["sla"] is None and created["dueAt"] == "2030-01-01T00:00:00.000Z"
    assert ticket(tenant.key)["dueAt"] is None


def test_given_a_24x7_policy_then_due_times_count_plain_minutes_and_due_at_follows_resolution(tenant):
    p = policy(tenant.key)
    created = ticket(tenant.key, priority="high")
    sla = created["sla"]
    assert set(sla) == {"policyId", "firstReplyDueAt", "resolutionDueAt", "firstReplyBreachedAt",
                        "resolutionBreachedAt", "pausedAt"}  # fmt: skip
    assert sla["policyId"] == p["id"]
    assert minutes(created["createdAt"], sla["firstReplyDueAt"]) == 60
    assert minutes(created["createdAt"], sla["resolutionDueAt"]) == 240
    assert created["dueAt"] == sla["resolutionDueAt"]
    own = ticket(tenant.key, priority="high", dueAt="2030-01-01T00:00:00Z")
    assert own["dueAt"] == "2030-01-01T00:00:00.000Z" and own["sla"]["resolutionDueAt"] != own["dueAt"]
    # null hands the due time back to the SLA; a value takes it again
    back = ok(call("PATCH", f"/v1/tickets/{own['id']}", key=tenant.key, body={"dueAt": None}))
    assert back["dueAt"] == back["sla"]["resolutionDueAt"]
    mine = ok(call("PATCH", f"/v1/tickets/{own['id']}", key=tenant.key, body={"dueAt": "2031-01-01T00:00:00Z"}))
    assert mine["dueAt"] == "2031-01-01T00:00:00.000Z"
    urgent = ok(call("PATCH", f"/v1/tickets/{own['id']}", key=tenant.key, body={"priority": "low"}))
    assert urgent["dueAt"] == "2031-01-01T00:00:00.000Z"  # the client's own stays through a recompute


def test_given_business_hours_then_due_times_are_business_minutes_of_that_calendar(tenant):
    cal = hours(tenant.key, timeZone="UTC", weekly=ALWAYS[:1])  # Mondays only, all day
    policy(tenant.key, businessHoursId=cal["id"])
    created = ticket(tenant.key)
    created_at, due = parse(created["createdAt"]), parse(created["sla"]["firstReplyDueAt"])
    assert due.weekday() == 0 and due > created_at  # lands on a Monday, whatever today is
    if created_at.weekday() != 0:
        assert due.hour == 1 and due.minute == 0  # the next Monday's first hour


def test_given_a_priority_change_then_the_matching_policy_applies_again_from_creation(tenant):
    slow = policy(tenant.key, 2)
    fast = policy(tenant.key, 1, conditions={"priority": ["urgent"]},
                  targets={"urgent": {"firstReplyMinutes": 10, "resolutionMinutes": 30}})  # fmt: skip
    created = ticket(tenant.key, priority="medium")
    assert created["sla"]["policyId"] == slow["id"]
    changed = ok(call("PATCH", f"/v1/tickets/{created['id']}", key=tenant.key, body={"priority": "urgent"}))
    assert changed["sla"]["policyId"] == fast["id"]
    assert minutes(created["createdAt"], changed["sla"]["resolutionDueAt"]) == 30  # from creation
    assert changed["dueAt"] == changed["sla"]["resolutionDueAt"]
    bulk = ok(call("POST", "/v1/tickets/bulk/priority", key=tenant.key, body={"ids": [created["id"]],
                                                                               "priority": "low"}))  # fmt: skip
    assert bulk["results"][0]["status"] == 200
    after = ok(call("GET", f"/v1/tickets/{created['id']}", key=tenant.key))
    assert after["sla"]["policyId"] == slow["id"] and minutes(created["createdAt"], after["dueAt"]) == 240


def test_given_a_policy_made_in_another_container_then_the_next_creation_applies_it_at_once(tenant):
    from tickets.logic import sla_setup

    assert ticket(tenant.key)["sla"] is None  # this container now caches "no policies"
    stale = sla_setup._cache[tenant.tenant_id]
    made = policy(tenant.key)
    sla_setup._cache[tenant.tenant_id] = stale  # as a container that did not make the change still has it
    assert ticket(tenant.key)["sla"]["policyId"] == made["id"]  # the tenant item's slaRev moved: read again


def test_given_a_cached_setup_then_patches_use_it_for_at_most_60_s_and_then_read_again(tenant, monkeypatch):
    from tickets.logic import sla_setup

    created = ticket(tenant.key)
    stale = sla_setup._cache[tenant.tenant_id]
    made = policy(tenant.key)
    sla_setup._cache[tenant.tenant_id] = stale
    path = f"/v1/tickets/{created['id']}"
    assert ok(call("PATCH", path, key=tenant.key, body={"priority": "high"}))["sla"] is None  # within 60 s
    monkeypatch.setattr(sla_setup, "CACHE_SECONDS", 0.0)  # 60 s later
    assert ok(call("PATCH", path, key=tenant.key, body={"priority": "low"}))["sla"]["policyId"] == made["id"]


def test_given_a_ticket_whose_policy_is_gone_when_its_priority_changes_then_its_due_times_go(tenant, aws):
    made = policy(tenant.key)
    created = ticket(tenant.key)
    assert call("DELETE", f"/v1/sla-policies/{made['id']}", key=tenant.key).status == 204
    # The tenant has no policies: a priority is a plain field, but this ticket has an sla, so it is recomputed.
    changed = ok(call("PATCH", f"/v1/tickets/{created['id']}", key=tenant.key, body={"priority": "high"}))
    assert changed["sla"]["policyId"] is None and changed["sla"]["resolutionDueAt"] is None
    assert changed["dueAt"] is None and changed["version"] == created["version"] + 1
    stored = next(i for i in items(aws, f"TENANT#{tenant.tenant_id}") if i.get("id") == created["id"])
    assert "SLADUEPK" not in stored and "DUEPK" not in stored  # out of the sweep's and the due lists' indexes


def test_given_a_group_condition_then_a_ticket_with_that_group_matches_and_one_without_does_not(tenant):
    group = ok(call("POST", "/v1/groups", key=tenant.key, body={"name": "Billing", "routing": "manual"}), 201)
    grouped = policy(tenant.key, 1, conditions={"groupId": [group["id"]]},
                     targets={"high": {"firstReplyMinutes": 5, "resolutionMinutes": 10}})  # fmt: skip
    policy(tenant.key, 2)
    with_group = ticket(tenant.key, priority="high", groupId=group["id"])
    without = ticket(tenant.key, priority="high")
    assert with_group["sla"]["policyId"] == grouped["id"] and without["sla"]["policyId"] != grouped["id"]
    moved = ok(call("PATCH", f"/v1/tickets/{without['id']}", key=tenant.key, body={"groupId": group["id"]}))
    assert moved["sla"]["policyId"] == grouped["id"]  # a group change re-applies the policies


def test_given_a_ticket_pending_then_open_then_its_resolution_due_moves_by_exactly_the_paused_minutes(
    tenant, monkeypatch
):
    from tickets.logic import tickets as logic

    policy(tenant.key)
    created = ticket(tenant.key)
    start = parse(created["createdAt"])
    clock = {"now": start + timedelta(minutes=10)}
    monkeypatch.setattr(logic, "now", lambda: clock["now"])
    paused = ok(call("PATCH", f"/v1/tickets/{created['id']}", key=tenant.key, body={"status": "pending"}))
    assert paused["sla"]["pausedAt"] == paused["updatedAt"]
    assert paused["sla"]["resolutionDueAt"] == created["sla"]["resolutionDueAt"]
    clock["now"] = start + timedelta(minutes=130)  # pending for 2 hours (24x7: 120 business minutes)
    resumed = ok(call("PATCH", f"/v1/tickets/{created['id']}", key=tenant.key, body={"status": "open"}))
    assert resumed["sla"]["pausedAt"] is None
    assert minutes(created["sla"]["resolutionDueAt"], resumed["sla"]["resolutionDueAt"]) == 120
    assert resumed["dueAt"] == resumed["sla"]["resolutionDueAt"]
    assert resumed["sla"]["firstReplyDueAt"] == created["sla"]["firstReplyDueAt"]


# The hard cases of the clock, through POST /v1/business-hours, /v1/sla-policies and /v1/tickets at fixed instants.
PARIS_EVERY_DAY = [{"day": d, "start": "09:00", "end": "17:00"} for d in ("mon", "tue", "wed", "thu", "fri", "sat",
                                                                          "sun")]  # fmt: skip


@pytest.mark.parametrize(
    ("calendar", "created_at", "first_reply_due", "resolution_due"),
    [
        pytest.param(  # Saturday 16:00 CET; clocks go forward in the night to Sunday 29 March
            {"timeZone": "Europe/Paris", "weekly": PARIS_EVERY_DAY}, "2026-03-28T15:00:00.000Z",
            "2026-03-29T08:00:00.000Z",  # 2 h: 1 h Saturday + Sunday 10:00 CEST (08:00 UTC, not 09:00)
            "2026-03-30T08:00:00.000Z",  # 10 h: 1 h Saturday + 8 h Sunday + Monday 10:00 CEST
            id="across a DST change",
        ),
        pytest.param(  # Wednesday 24 December 16:00 CET; Thursday is a holiday
            {"timeZone": "Europe/Paris", "weekly": WEEK, "holidays": ["2025-12-25"]}, "2025-12-24T15:00:00.000Z",
            "2025-12-26T09:00:00.000Z",  # 1 h Wednesday, none Thursday, Friday 10:00 CET
            "2025-12-29T09:00:00.000Z",  # 10 h: 1 h Wednesday + 8 h Friday + 1 h: Monday 10:00 CET
            id="across a holiday",
        ),
        pytest.param(  # Saturday 10:00 in London (GMT = UTC in November): closed until Monday 09:00
            {"timeZone": "Europe/London", "weekly": WEEK}, "2026-11-28T10:00:00.000Z",
            "2026-11-30T11:00:00.000Z",  # 2 h from Monday's opening
            "2026-12-01T11:00:00.000Z",  # 10 h: 8 h Monday + 2 h Tuesday
            id="starting outside business hours",
        ),
    ],
)  # fmt: skip
def test_given_business_hours_when_a_ticket_is_created_then_its_due_times_count_only_open_minutes(
    tenant, monkeypatch, calendar, created_at, first_reply_due, resolution_due
):
    cal = hours(tenant.key, **calendar)
    p = policy(tenant.key, businessHoursId=cal["id"], targets={"medium": {"firstReplyMinutes": 120,
                                                                          "resolutionMinutes": 600}})  # fmt: skip
    created = ticket_at(monkeypatch, created_at, tenant.key)
    assert created["sla"] == {
        "policyId": p["id"],
        "firstReplyDueAt": first_reply_due,
        "resolutionDueAt": resolution_due,
        "firstReplyBreachedAt": None,
        "resolutionBreachedAt": None,
        "pausedAt": None,
    }
    assert created["dueAt"] == resolution_due
    assert ok(call("GET", f"/v1/tickets/{created['id']}", key=tenant.key))["sla"] == created["sla"]


def test_given_a_target_the_calendar_cannot_reach_in_3_years_then_the_ticket_is_created_without_that_due_time(
    tenant,
):
    cal = hours(tenant.key, weekly=[{"day": "mon", "start": "09:00", "end": "10:00"}])  # one hour a week
    policy(tenant.key, businessHoursId=cal["id"],
           targets={"medium": {"firstReplyMinutes": 60, "resolutionMinutes": 366 * 24 * 60}})  # fmt: skip
    created = ticket(tenant.key)
    assert created["sla"]["firstReplyDueAt"] is not None
    assert created["sla"]["resolutionDueAt"] is None and created["dueAt"] is None
    paused = ok(call("PATCH", f"/v1/tickets/{created['id']}", key=tenant.key, body={"status": "on_hold"}))
    resumed = ok(call("PATCH", f"/v1/tickets/{created['id']}", key=tenant.key, body={"status": "open"}))
    assert paused["sla"]["resolutionDueAt"] is None and resumed["sla"]["resolutionDueAt"] is None


def test_given_the_readme_example_when_pending_for_2_business_hours_then_resolution_due_moves_by_exactly_that(
    tenant, monkeypatch
):
    from tickets.logic import tickets as logic

    # README "SLA clock": London office, Monday to Friday 09:00-17:00; high: first reply 1 h, resolution 4 h.
    cal = hours(tenant.key, name="London office", timeZone="Europe/London", holidays=["2026-12-25"])
    p = policy(tenant.key, 10, businessHoursId=cal["id"],
               targets={"high": {"firstReplyMinutes": 60, "resolutionMinutes": 240}})  # fmt: skip
    created = ticket_at(monkeypatch, "2026-11-27T16:00:00.000Z", tenant.key, priority="high")  # Friday 16:00
    assert created["sla"]["policyId"] == p["id"]
    assert created["sla"]["firstReplyDueAt"] == "2026-11-27T17:00:00.000Z"  # Friday's last hour
    assert created["sla"]["resolutionDueAt"] == "2026-11-30T12:00:00.000Z"  # 1 h Friday + 3 h Monday
    path = f"/v1/tickets/{created['id']}"
    monkeypatch.setattr(logic, "now", lambda: parse("2026-11-27T16:30:00Z"))
    paused = ok(call("PATCH", path, key=tenant.key, body={"status": "pending"}))
    assert paused["sla"]["pausedAt"] == "2026-11-27T16:30:00.000Z"
    assert paused["sla"]["resolutionDueAt"] == "2026-11-30T12:00:00.000Z"  # unchanged while paused
    monkeypatch.setattr(logic, "now", lambda: parse("2026-11-30T10:30:00Z"))  # Monday 10:30
    resumed = ok(call("PATCH", path, key=tenant.key, body={"status": "open"}))
    # 30 min Friday + 90 min Monday = 2 business hours (the weekend does not count): 12:00 + 2 h
    assert resumed["sla"]["pausedAt"] is None
    assert resumed["sla"]["resolutionDueAt"] == "2026-11-30T14:00:00.000Z"
    assert resumed["dueAt"] == "2026-11-30T14:00:00.000Z"
    assert resumed["sla"]["firstReplyDueAt"] == "2026-11-27T17:00:00.000Z"  # the first reply never pauses


def test_given_comments_then_only_the_first_public_agent_or_key_comment_meets_first_reply(tenant, aws):
    from tickets.logic.comments import CommentDraft, write_comment
    from tickets.models.comments import Visibility

    policy(tenant.key)
    created = ticket(tenant.key)
    path = f"/v1/tickets/{created['id']}/comments"
    ok(call("POST", path, key=tenant.key, body={"body": "Internal: toner", "visibility": "internal"}), 201)
    customer = {"type": "customer", "id": None, "name": "Cy", "email": "cy@example.com"}
    write_comment(tenant.tenant_id, created["id"], CommentDraft("Any news?", Visibility.PUBLIC, author=customer), None)
    after = ok(call("GET", f"/v1/tickets/{created['id']}", key=tenant.key))
    assert after["firstRespondedAt"] is None and after["commentCount"] == 2
    stored = next(i for i in items(aws, f"TENANT#{tenant.tenant_id}") if i.get("id") == created["id"])
    assert stored["sla"]["nextAt"] == stored["sla"]["firstReplyWarnAt"]  # the first reply is still open
    ok(call("POST", path, key=tenant.key, body={"body": "On it"}), 201)
    met = ok(call("GET", f"/v1/tickets/{created['id']}", key=tenant.key))
    assert met["firstRespondedAt"] is not None
    stored = next(i for i in items(aws, f"TENANT#{tenant.tenant_id}") if i.get("id") == created["id"])
    assert stored["sla"]["nextAt"] == stored["sla"]["resolutionWarnAt"]  # only the resolution is left to watch


# ---------------------------------------------------------------- the breach sweep


def _sweep(at: datetime) -> Any:
    from tickets.logic.sla_sweep import sweep

    return sweep(at)


def test_given_deadlines_when_the_sweep_runs_then_the_80_percent_warning_then_the_breach_each_once(tenant):
    policy(tenant.key, targets={"medium": {"firstReplyMinutes": 10, "resolutionMinutes": 100}})
    created = ticket(tenant.key)
    t0 = parse(created["createdAt"])
    assert _sweep(t0 + timedelta(minutes=7)).facts == 0
    assert _sweep(t0 + timedelta(minutes=8, seconds=1)).facts == 1  # 80 % of 10 minutes
    assert _sweep(t0 + timedelta(minutes=9)).facts == 0
    assert _sweep(t0 + timedelta(minutes=10, seconds=1)).facts == 1
    after = ok(call("GET", f"/v1/tickets/{created['id']}", key=tenant.key))
    assert after["sla"]["firstReplyBreachedAt"] == after["sla"]["firstReplyDueAt"]
    assert after["sla"]["resolutionBreachedAt"] is None and after["version"] == created["version"] + 2
    assert _sweep(t0 + timedelta(minutes=11)).facts == 0
    assert sla_events(created["id"]) == [
        ("ticket.sla_warning", "firstReply", created["id"]),
        ("ticket.sla_breached", "firstReply", created["id"]),
    ]
    # no ticket.updated for a recorded fact: the sweep's writes are SLA events only
    assert [e.type for e in stream_events(created["id"])] == [
        "ticket.created", "ticket.sla_warning", "ticket.sla_breached"]  # fmt: skip


def test_given_a_sweep_that_crashes_midway_when_it_runs_again_then_no_breach_event_is_duplicated(tenant, monkeypatch):
    from tickets.dal import sla_sweep as dal

    policy(tenant.key, targets={"medium": {"firstReplyMinutes": 1, "resolutionMinutes": 2}})
    tickets = [ticket(tenant.key) for _ in range(4)]
    late = parse(tickets[-1]["createdAt"]) + timedelta(minutes=5)  # every stage of every ticket is due
    real, calls = dal.record_facts, []

    def crash_on_third(*args: Any, **kwargs: Any) -> None:
        calls.append(args[1]["id"])
        if len(calls) == 3:
            raise RuntimeError("injected crash mid-sweep")
        real(*args, **kwargs)

    monkeypatch.setattr(dal, "record_facts", crash_on_third)
    before = dal.checkpoint()
    with pytest.raises(RuntimeError):
        _sweep(late)
    assert dal.checkpoint() == before  # nothing finished: the next run reads the same buckets
    monkeypatch.setattr(dal, "record_facts", real)
    again = _sweep(late)
    assert again.facts == 4 * 4 - 2 * 4  # the two tickets written before the crash are not written again
    assert _sweep(late).facts == 0
    counted = Counter(sla_events())
    assert len(counted) == 4 * 4 and set(counted.values()) == {1}, counted  # each ticket, target and stage: once
    assert dal.checkpoint() == (late - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M")


def test_given_a_paused_ticket_then_its_resolution_never_breaches_while_paused(tenant):
    policy(tenant.key, targets={"medium": {"firstReplyMinutes": 1, "resolutionMinutes": 2}})
    created = ticket(tenant.key, status="on_hold")
    assert created["sla"]["pausedAt"] == created["createdAt"]
    _sweep(parse(created["createdAt"]) + timedelta(hours=1))
    assert [(kind, target) for kind, target, _ in sla_events(created["id"])] == [
        ("ticket.sla_warning", "firstReply"), ("ticket.sla_breached", "firstReply")]  # fmt: skip


def test_given_other_tenants_tickets_then_the_sweep_serves_all_and_mixes_none(tenant, other_tenant):
    policy(tenant.key, targets={"medium": {"firstReplyMinutes": 1, "resolutionMinutes": 600}})
    policy(other_tenant.key, targets={"medium": {"firstReplyMinutes": 600, "resolutionMinutes": 900}})
    mine, theirs = ticket(tenant.key), ticket(other_tenant.key)
    _sweep(parse(theirs["createdAt"]) + timedelta(minutes=2))
    assert {t for _, _, t in sla_events()} == {mine["id"]}
    assert ok(call("GET", f"/v1/tickets/{theirs['id']}", key=other_tenant.key))["sla"]["firstReplyBreachedAt"] is None


def test_given_the_scheduled_function_when_invoked_then_it_sweeps_with_its_own_policy(tenant, monkeypatch, resources):
    from tickets import timeutil
    from tools.events import FakeContext
    from tools.eventsources import scheduled_event

    policy(tenant.key, targets={"medium": {"firstReplyMinutes": 1, "resolutionMinutes": 600}})
    created = ticket(tenant.key)
    fn = template.functions()["SweepSlaBreachesFunction"]
    (source,) = fn.event_sources
    assert isinstance(source, template.ScheduleSource) and source.period_seconds == 60
    template.apply_env(fn, resources.refs)
    later = parse(created["createdAt"]) + timedelta(minutes=2)
    monkeypatch.setattr(timeutil, "now", lambda: later)
    result = template.load_handler(fn)(
        scheduled_event(source, "us-east-1", "123456789012", later), FakeContext(fn.name)
    )
    assert result["result"]["facts"] == 2 and result["result"]["entries"] >= 1
    assert [k for k, _, _ in sla_events(created["id"])] == ["ticket.sla_warning", "ticket.sla_breached"]


def test_given_a_breach_then_webhooks_history_and_eventbridge_get_it_once(make_pipeline):  # noqa: F811
    from tests.conftest import make_tenant

    pipeline = make_pipeline()
    tenant = make_tenant("SLA")
    sqs, captured = _capture_status_events()
    receiver = pipeline.receiver()
    hook = pipeline.subscribe(tenant, receiver.url, receiver)
    assert hook["events"] == ["*"]
    ok(pipeline.api("POST", "/v1/sla-policies", tenant.key, {"name": "fast", "position": 1, "targets": {
        "medium": {"firstReplyMinutes": 1, "resolutionMinutes": 600}}}), 201)  # fmt: skip
    created = pipeline.ticket(tenant)
    pipeline.run()
    _sweep(parse(created["createdAt"]) + timedelta(minutes=2))
    pipeline.run()
    got = Counter(r.json["type"] for r in receiver.requests if r.json["type"].startswith("ticket.sla"))
    assert all(r.verified for r in receiver.requests)
    assert got == {"ticket.sla_warning": 1, "ticket.sla_breached": 1}, got  # deliveries run concurrently: any order
    history = pipeline.api("GET", f"/v1/tickets/{created['id']}/history", tenant.key).json["data"]
    assert [(h["type"], (h["to"] or {}).get("target") if isinstance(h["to"], dict) else h["to"]) for h in history] == [
        ("created", "new"), ("sla_warning", "firstReply"), ("sla_breached", "firstReply")]  # fmt: skip
    published = [(e["detail-type"], e["detail"]["target"]) for e in _drain(sqs, captured)]
    assert published == [("TicketSlaWarning", "firstReply"), ("TicketSlaBreached", "firstReply")]


def test_given_a_breach_then_every_connected_console_gets_the_warning_and_the_breach_once(
    tenant,
    realtime,
    pushes,  # noqa: F811
):
    policy(tenant.key, targets={"medium": {"firstReplyMinutes": 1, "resolutionMinutes": 600}})
    console = connect(realtime, tenant.key)
    created = ticket(tenant.key)
    pushes()
    _sweep(parse(created["createdAt"]) + timedelta(minutes=2))
    pushes()
    _sweep(parse(created["createdAt"]) + timedelta(minutes=3))  # nothing new: no second push
    pushes()
    got = [(m["type"], m["ticket"]["id"], m["ticket"]["version"], m["changes"]) for m in console.messages()]
    assert got == [
        ("ticket.created", created["id"], 1, []),
        ("ticket.sla_warning", created["id"], 2, []),
        ("ticket.sla_breached", created["id"], 2, []),
    ]
    assert len({m["eventId"] for m in console.messages()}) == 3


# ---------------------------------------------------------------- lists


def test_given_due_times_then_lists_sort_and_filter_on_due_at_and_sla_breached(tenant):
    policy(tenant.key, targets={"medium": {"firstReplyMinutes": 1, "resolutionMinutes": 600},
                                "high": {"firstReplyMinutes": 60, "resolutionMinutes": 60}})  # fmt: skip
    late = ticket(tenant.key)  # due in 10 h
    soon = ticket(tenant.key, priority="high")  # due in 1 h
    own = ticket(tenant.key, dueAt="2020-01-01T00:00:00Z")  # overdue, the client's own time
    done = ticket(tenant.key, priority="high")
    ok(call("PATCH", f"/v1/tickets/{done['id']}", key=tenant.key, body={"status": "resolved"}))
    ticket(tenant.key, priority="low")  # no target for low: no due time

    def ids(query: dict[str, str]) -> tuple[list[str], int]:
        page = ok(call("GET", "/v1/tickets", key=tenant.key, query=query))
        return [t["id"] for t in page["data"]], page["total"]

    assert ids({"sort": "dueAt"}) == ([own["id"], soon["id"], late["id"]], 3)  # unfinished with a due time
    assert ids({"sort": "-dueAt", "limit": "2"}) == ([late["id"], soon["id"]], 3)
    now = datetime.now(UTC).isoformat()
    assert ids({"sort": "dueAt", "dueBefore": now}) == ([own["id"]], 1)  # the overdue queue: one Query
    assert ids({"dueAfter": now}) == ([done["id"], soon["id"], late["id"]], 3)  # newest first, any status
    _sweep(parse(late["createdAt"]) + timedelta(minutes=2))
    # medium: a 1-minute first reply, breached for `late` and `own`; `soon` has an hour; `done` was resolved
    assert ids({"slaBreached": "true"}) == ([own["id"], late["id"]], 2)
    assert ids({"slaBreached": "false", "priority": "high"}) == ([done["id"], soon["id"]], 2)
    assert ids({"sort": "dueAt", "slaBreached": "true"}) == ([own["id"], late["id"]], 2)
