"""GET /v1/me and GET /v1/usage through the real handlers against moto (contract v1.1, "Small additions")."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import pytest

from tests.conftest import TABLE, call, items, make_tenant
from tickets.logic.account import next_month, usage


def test_given_any_key_when_asking_who_it_is_then_tenant_key_and_no_secret(aws):
    t = make_tenant("ME", scopes=["customers:read"])  # no ticket scope at all: any valid key may ask
    resp = call("GET", "/v1/me", key=t.key)

    assert resp.status == 200, resp.body
    me = resp.json
    assert me["tenant"] == {"id": t.tenant_id, "name": "ME Corp", "ticketPrefix": "ME", "inboundEmail": None}
    assert set(me["key"]) == {"id", "name", "scopes", "agentId"} and me["key"]["scopes"] == ["customers:read"]
    assert me["key"]["id"].startswith("key_") and me["agent"] is None
    assert t.key not in resp.body and hashlib.sha256(t.key.encode()).hexdigest() not in resp.body


def test_given_a_named_key_then_me_shows_its_name(tenant):
    made = call("POST", "/v1/api-keys", key=tenant.key, body={"scopes": ["tickets:read"], "name": "CI robot"}).json
    assert call("GET", "/v1/me", key=made["key"]).json["key"] == {
        "id": made["id"], "name": "CI robot", "scopes": ["tickets:read"], "agentId": None,
    }  # fmt: skip


@pytest.mark.parametrize("path", ["/v1/me", "/v1/usage"])
def test_given_no_or_a_bad_key_then_401(aws, path):
    for headers in ({}, {"x-api-key": "tk_" + "x" * 40}):
        resp = call("GET", path, headers=headers)
        assert resp.status == 401 and resp.json["code"] == "UNAUTHORIZED"


@pytest.mark.parametrize("path", ["/v1/me", "/v1/usage"])
def test_given_a_query_parameter_then_400_naming_it(tenant, path):
    resp = call("GET", path, key=tenant.key, query={"verbose": "1"})
    assert resp.status == 400 and resp.json["errors"][0]["field"] == "verbose"


def test_given_a_quota_and_three_creates_then_usage_counts_them_and_the_remainder(aws):
    t = make_tenant("USE", quota=5, scopes=["tickets:write", "tickets:read"])
    for i in range(3):
        assert call("POST", "/v1/tickets", key=t.key, body={"subject": f"t{i}"}).status == 201

    resp = call("GET", "/v1/usage", key=t.key)

    now = datetime.now(UTC)
    assert resp.status == 200, resp.body
    assert resp.json == {
        "month": now.strftime("%Y-%m"),
        "ticketsCreated": 3,
        "monthlyTicketQuota": 5,
        "remaining": 2,
        "resetsAt": next_month(now).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
    }


def test_given_the_quota_used_up_then_remaining_is_zero_and_creates_are_refused(aws):
    t = make_tenant("FULL", quota=1)
    assert call("POST", "/v1/tickets", key=t.key, body={"subject": "a"}).status == 201
    assert call("POST", "/v1/tickets", key=t.key, body={"subject": "b"}).status == 403
    assert call("GET", "/v1/usage", key=t.key).json | {"resetsAt": None, "month": None} == {
        "month": None, "ticketsCreated": 1, "monthlyTicketQuota": 1, "remaining": 0, "resetsAt": None,
    }  # fmt: skip


def test_given_no_quota_then_quota_and_remaining_are_null(tenant):
    body = call("GET", "/v1/usage", key=tenant.key).json
    assert body["monthlyTicketQuota"] is None and body["remaining"] is None and body["ticketsCreated"] == 0


def test_given_last_months_usage_then_this_month_starts_at_zero(aws):
    t = make_tenant("OLD", quota=10)
    tenant_item = next(i for i in items(aws, f"TENANT#{t.tenant_id}") if i["SK"] == "TENANT")
    aws.update_item(
        TableName=TABLE,
        Key={"PK": {"S": tenant_item["PK"]}, "SK": {"S": "TENANT"}},
        UpdateExpression="SET #u = :n",
        ExpressionAttributeNames={"#u": "used#2026-10"},
        ExpressionAttributeValues={":n": {"N": "7"}},
    )
    assert usage(t.tenant_id, datetime(2026, 10, 31, 23, 59, tzinfo=UTC))["ticketsCreated"] == 7
    november = usage(t.tenant_id, datetime(2026, 11, 1, 0, 0, tzinfo=UTC))
    assert (november["month"], november["ticketsCreated"], november["remaining"]) == ("2026-11", 0, 10)


@pytest.mark.parametrize(
    ("moment", "resets"),
    [
        (datetime(2026, 11, 30, 23, 59, 59, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC)),
        (datetime(2026, 12, 31, 12, 0, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC)),
        (datetime(2027, 2, 1, 0, 0, tzinfo=UTC), datetime(2027, 3, 1, tzinfo=UTC)),
    ],
)
def test_given_a_moment_then_the_quota_resets_at_the_next_months_first_instant_in_utc(moment, resets):
    assert next_month(moment) == resets
