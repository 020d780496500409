"""Agents, business-event intake, auto-assignment and dedupe, through the real handlers."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.conftest import call, items, make_tenant


def _agent(key, name="Ann", level="N1", available=True):
    r = call("POST", "/v1/agents", key=key, body={"name": name, "email": f"{name.lower()}@example.com",
                                                    "level": level, "available": available})  # fmt: skip
    assert r.status == 201, r.body
    return r.json


def _customer(key, external_id="cus_1"):
    r = call("POST", "/v1/customers", key=key, body={"externalId": external_id, "name": "Bob", "email": "bob@x.io"})
    assert r.status == 201, r.body
    return r.json


def _event(key, **body):
    body.setdefault("customerExternalId", "cus_1")
    body.setdefault("subject", "Payment failed")
    return call("POST", "/v1/tickets/api-create", key=key, body=body)


def _open(key, agent_id):
    return call("GET", f"/v1/agents/{agent_id}", key=key).json["openTickets"]


class TestAgents:
    def test_given_agents_then_crud_with_levels_in_any_case_and_open_tickets_read_only(self, aws, tenant):
        a = _agent(tenant.key, level="n2")
        assert (a["level"], a["available"], a["openTickets"]) == ("N2", True, 0)
        r = call("PATCH", f"/v1/agents/{a['id']}", key=tenant.key, body={"openTickets": 5})
        assert r.status == 400 and r.json["errors"][0]["field"] == "openTickets"
        r = call("PATCH", f"/v1/agents/{a['id']}", key=tenant.key, body={"available": False, "level": "N1"})
        assert r.status == 200 and (r.json["available"], r.json["level"]) == (False, "N1")
        assert call("GET", "/v1/agents", key=tenant.key).json["total"] == 1
        assert (
            call("POST", "/v1/agents", key=tenant.key, body={"name": "x", "email": "x@y.z", "level": "N4"}).status
            == 400
        )
        assert call("DELETE", f"/v1/agents/{a['id']}", key=tenant.key).status == 204
        assert call("GET", f"/v1/agents/{a['id']}", key=tenant.key).status == 404

    def test_given_open_tickets_then_the_count_follows_patch_status_reassignment_and_delete(self, aws, tenant):
        a, b = _agent(tenant.key, "Ann"), _agent(tenant.key, "Bea")
        t = call("POST", "/v1/tickets", key=tenant.key, body={"subject": "s", "assigneeId": a["id"]}).json
        assert t["assignee"]["name"] == "Ann" and _open(tenant.key, a["id"]) == 1
        call("PATCH", f"/v1/tickets/{t['id']}", key=tenant.key, body={"assigneeId": b["id"]})
        assert (_open(tenant.key, a["id"]), _open(tenant.key, b["id"])) == (0, 1)
        call("PATCH", f"/v1/tickets/{t['id']}", key=tenant.key, body={"status": "resolved"})
        assert _open(tenant.key, b["id"]) == 0
        call("PATCH", f"/v1/tickets/{t['id']}", key=tenant.key, body={"status": "open"})
        assert _open(tenant.key, b["id"]) == 1
        r = call("DELETE", f"/v1/agents/{b['id']}", key=tenant.key)
        assert r.status == 409 and r.json["code"] == "CONFLICT"
        call("PATCH", f"/v1/tickets/{t['id']}", key=tenant.key, body={"assigneeId": None})
        assert _open(tenant.key, b["id"]) == 0
        t2 = call("POST", "/v1/tickets", key=tenant.key, body={"subject": "s2", "assigneeId": a["id"]}).json
        call("DELETE", f"/v1/tickets/{t2['id']}", key=tenant.key)
        assert _open(tenant.key, a["id"]) == 0

    def test_given_another_tenants_agent_then_invalid_assignee(self, aws, tenant, other_tenant):
        theirs = _agent(other_tenant.key)
        r = call("POST", "/v1/tickets", key=tenant.key, body={"subject": "s", "assigneeId": theirs["id"]})
        assert r.status == 400 and r.json["code"] == "INVALID_ASSIGNEE"
        assert call("GET", f"/v1/agents/{theirs['id']}", key=tenant.key).status == 404


class TestIntake:
    def test_given_an_available_n1_agent_then_the_event_is_assigned_and_open(self, aws, tenant):
        _customer(tenant.key)
        _agent(tenant.key, "Busy", level="N2")
        n1 = _agent(tenant.key, "Ann")
        r = _event(tenant.key, priority="HIGH", metadata={"orderId": "o-1"})
        assert r.status == 201, r.body
        t = r.json
        assert (t["status"], t["channel"], t["assigneeId"]) == ("open", "api", n1["id"])
        assert t["assignee"] == {"id": n1["id"], "name": "Ann", "email": "ann@example.com"}
        assert t["customer"]["externalId"] == "cus_1" and t["priority"] == "high"
        assert _open(tenant.key, n1["id"]) == 1

    def test_given_no_available_n1_agent_then_new_and_unassigned(self, aws, tenant):
        _customer(tenant.key)
        _agent(tenant.key, "Off", available=False)
        t = _event(tenant.key).json
        assert (t["status"], t["assigneeId"], t["assignee"]) == ("new", None, None)

    def test_given_a_tenant_without_auto_assign_then_unassigned(self, aws):
        from tickets.logic import admin
        from tickets.models.tenants import TenantCreate

        tenant = admin.create_tenant(TenantCreate(name="Manual", ticketPrefix="MAN", autoAssign=False))
        key = admin.create_api_key(tenant["id"], ["tickets:write", "customers:write", "agents:write"])["key"]
        _customer(key)
        _agent(key)
        assert _event(key).json["assigneeId"] is None

    def test_given_an_unknown_customer_or_tag_then_404_or_400(self, aws, tenant):
        r = _event(tenant.key, customerExternalId="nobody")
        assert r.status == 404 and r.json["code"] == "CUSTOMER_NOT_FOUND"
        _customer(tenant.key)
        r = _event(tenant.key, tagIds=["01JZZZZZZZZZZZZZZZZZZZZZZZ"])
        assert r.status == 400 and r.json["code"] == "INVALID_TAG"
        tag = call("POST", "/v1/tags", key=tenant.key, body={"name": "billing"}).json
        r = _event(tenant.key, tagIds=[tag["id"]], tags=["vip"])
        assert r.status == 201 and r.json["tags"] == ["vip", "billing"]
        assert _event(tenant.key, channel="email").status == 400  # not an intake field

    def test_given_20_concurrent_events_and_2_agents_then_they_split_10_10_and_counts_are_exact(self, aws, tenant):
        _customer(tenant.key)
        a, b = _agent(tenant.key, "Ann"), _agent(tenant.key, "Bea")
        with ThreadPoolExecutor(8) as pool:
            results = list(pool.map(lambda i: _event(tenant.key, subject=f"e{i}"), range(20)))
        assert all(r.status == 201 for r in results), [r.body for r in results if r.status != 201]
        split = Counter(r.json["assigneeId"] for r in results)
        assert split == {a["id"]: 10, b["id"]: 10}
        assert (_open(tenant.key, a["id"]), _open(tenant.key, b["id"])) == (10, 10)
        assert sorted(r.json["number"] for r in results) == list(range(1, 21))

    def test_given_10_concurrent_identical_events_then_one_ticket_with_10_occurrences(self, aws, tenant):
        _customer(tenant.key)
        with ThreadPoolExecutor(8) as pool:
            results = list(pool.map(lambda i: _event(tenant.key, dedupeKey="order-42"), range(10)))
        assert sorted(r.status for r in results) == [200] * 9 + [201]
        assert len({r.json["id"] for r in results}) == 1
        page = call("GET", "/v1/tickets", key=tenant.key).json
        assert page["total"] == 1 and page["data"][0]["occurrences"] == 10
        tenant_item = next(i for i in items(aws, f"TENANT#{tenant.tenant_id}") if i["SK"] == "TENANT")
        assert sum(v for k, v in tenant_item.items() if k.startswith("used#")) == 1  # one unit of quota

    def test_given_a_resolved_deduplicated_ticket_then_the_next_event_opens_a_new_one(self, aws, tenant):
        _customer(tenant.key)
        first = _event(tenant.key, dedupeKey="k").json
        assert _event(tenant.key, dedupeKey="k").status == 200
        call("PATCH", f"/v1/tickets/{first['id']}", key=tenant.key, body={"status": "resolved"})
        r = _event(tenant.key, dedupeKey="k")
        assert r.status == 201 and r.json["id"] != first["id"] and r.json["occurrences"] == 1
        assert _event(tenant.key, dedupeKey="k").json["id"] == r.json["id"]

    def test_given_a_quota_then_intake_never_goes_past_it_and_dedupe_hits_use_none(self, aws):
        t = make_tenant("QI", quota=3)
        _customer(t.key)
        with ThreadPoolExecutor(8) as pool:
            results = list(pool.map(lambda i: _event(t.key, subject=f"{i}"), range(8)))
        assert sorted(r.status for r in results) == [201] * 3 + [403] * 5
        assert {r.json["code"] for r in results if r.status == 403} == {"PLAN_LIMIT_REACHED"}

    @pytest.mark.parametrize("missing", ["customerExternalId", "subject"])
    def test_given_a_missing_required_field_then_400(self, aws, tenant, missing):
        body = {"customerExternalId": "c", "subject": "s"}
        del body[missing]
        r = call("POST", "/v1/tickets/api-create", key=tenant.key, body=body)
        assert r.status == 400 and r.json["errors"][0]["field"] == missing


class TestChangeMarkers:
    def test_given_writes_then_only_status_changes_and_new_assignees_carry_the_stream_filter_markers(self, aws, tenant):
        from tickets.dal import keys
        from tickets.dal.client import deserialize, serialize

        def stored(ticket_id):
            raw = aws.get_item(TableName="tickets-test", Key=serialize(keys.ticket(tenant.tenant_id, ticket_id)))
            item = deserialize(raw["Item"])
            return (item.get("statusChanged", False), item.get("assigneeChanged", False))

        a = _agent(tenant.key)
        t = call("POST", "/v1/tickets", key=tenant.key, body={"subject": "s"}).json
        assert stored(t["id"]) == (False, False)
        call("PATCH", f"/v1/tickets/{t['id']}", key=tenant.key, body={"assigneeId": a["id"]})
        assert stored(t["id"]) == (False, True)
        call("PATCH", f"/v1/tickets/{t['id']}", key=tenant.key, body={"priority": "high"})
        assert stored(t["id"]) == (False, False)
        call("PATCH", f"/v1/tickets/{t['id']}", key=tenant.key, body={"status": "pending"})
        assert stored(t["id"]) == (True, False)
        assigned = call("POST", "/v1/tickets", key=tenant.key, body={"subject": "s", "assigneeId": a["id"]}).json
        assert stored(assigned["id"]) == (False, True)


def test_given_a_cancelled_transaction_then_the_table_stream_is_still_read(aws, tenant):
    """moto swaps in a copied table on rollback; tools.motolock keeps open stream iterators working."""
    import boto3
    from botocore.config import Config

    streams = boto3.client(
        "dynamodbstreams", region_name="us-east-1", config=Config(account_id_endpoint_mode="disabled")
    )
    arn = aws.describe_table(TableName="tickets-test")["Table"]["LatestStreamArn"]
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    it = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="LATEST")["ShardIterator"]
    r = call("POST", "/v1/tickets", key=tenant.key, body={"subject": "x", "parentId": "01JZZZZZZZZZZZZZZZZZZZZZZZ"})
    assert r.status == 400  # refused before any write
    call("POST", "/v1/customers", key=tenant.key, body={"externalId": "dup"})
    assert call("POST", "/v1/customers", key=tenant.key, body={"externalId": "dup"}).status == 409  # cancelled txn
    call("POST", "/v1/tickets", key=tenant.key, body={"subject": "after the rollback"})
    records = streams.get_records(ShardIterator=it)["Records"]
    subjects = [r["dynamodb"].get("NewImage", {}).get("subject", {}).get("S") for r in records]
    assert "after the rollback" in subjects
