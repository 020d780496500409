"""Ticket routes through the real handlers against moto, asserting on what is stored."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.conftest import call, items, make_tenant
from tests.utils import ticket_totals


def _create(key: str, **body):
    body.setdefault("subject", "Payment failed")
    r = call("POST", "/v1/tickets", key=key, body=body)
    assert r.status == 201, r.body
    return r.json


def _counts(aws, tenant_id: str) -> dict:
    """The tenant's ticket counters by status x priority (COUNTS#TICKETS), with their sums: total, status#<s>."""
    stored = items(aws, f"TENANT#{tenant_id}")
    return {**next(i for i in stored if i["SK"] == "COUNTS#TICKETS"), **ticket_totals(stored)}


class TestCreate:
    def test_given_a_minimal_body_when_created_then_defaults_numbering_and_headers_follow_the_contract(
        self, aws, tenant
    ):
        r = call("POST", "/v1/tickets", key=tenant.key, body={"subject": "Order blocked", "priority": "URGENT"})
        assert r.status == 201
        t = r.json
        assert (t["number"], t["reference"], t["status"], t["priority"], t["channel"]) == (
            1,
            "INV-1",
            "new",
            "urgent",
            "api",
        )
        assert t["version"] == 1 and t["occurrences"] == 1 and t["tags"] == [] and t["customer"] is None
        assert t["createdAt"].endswith("Z") and len(t["createdAt"]) == 24
        assert r.headers["etag"] == '"1"'
        assert r.headers["location"] == f"/v1/tickets/{t['id']}"
        stored = [i for i in items(aws, f"TENANT#{tenant.tenant_id}") if i["SK"] == f"TICKET#{t['id']}"]
        assert stored and stored[0]["subject"] == "Order blocked"
        assert stored[0]["GSI1PK"] == f"TENANT#{tenant.tenant_id}#STATUS#new#PRIORITY#urgent"
        assert "GSI3PK" not in stored[0]  # unassigned and in no group: in no GSI3 partition
        assert _counts(aws, tenant.tenant_id)["new#urgent"] == 1

    def test_given_every_field_when_created_then_all_are_returned(self, aws, tenant):
        c = call(
            "POST",
            "/v1/customers",
            key=tenant.key,
            body={"externalId": "cus_1", "name": "Ann", "email": "ann@example.com"},
        ).json
        parent = _create(tenant.key)
        body = {
            "subject": "Refund",
            "description": "**markdown**",
            "status": "Open",
            "priority": "low",
            "category": "billing",
            "channel": "EMAIL",
            "customerId": c["id"],
            "requester": {"name": "Bob", "email": "bob@example.com", "phone": "+1"},
            "tags": ["vip", "refund"],
            "parentId": parent["id"],
            "customFields": {"plan": "pro", "seats": 3, "trial": False, "ratio": 0.5, "none": None},
            "metadata": {"orderId": "o-1", "nested": {"a": [1, 2]}},
            "dedupeKey": "order-o-1",
            "dueAt": "2026-12-01T10:00:00+02:00",
        }
        t = _create(tenant.key, **body)
        assert t["customer"] == {"id": c["id"], "externalId": "cus_1", "name": "Ann", "email": "ann@example.com"}
        assert t["status"] == "open" and t["channel"] == "email"
        assert t["customFields"] == body["customFields"] and t["metadata"] == body["metadata"]
        assert t["dueAt"] == "2026-12-01T08:00:00.000Z"
        assert t["parentId"] == parent["id"] and t["tags"] == ["vip", "refund"]
        got = call("GET", f"/v1/tickets/{t['id']}", key=tenant.key).json
        assert got == t

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({}, "subject"),
            ({"subject": ""}, "subject"),
            ({"subject": "   "}, "subject"),
            ({"subject": "x" * 251}, "subject"),
            ({"subject": "x", "priority": "whenever"}, "priority"),
            ({"subject": "x", "tags": ["a", "a"]}, "tags"),
            ({"subject": "x", "tags": [str(i) for i in range(21)]}, "tags"),
            ({"subject": "x", "customFields": {"k": {"nested": 1}}}, "customFields.k.str"),
            ({"subject": "x", "metadata": {"blob": "x" * 9000}}, "metadata"),
            ({"subject": "x", "unknown": 1}, "unknown"),
        ],
    )
    def test_given_invalid_input_when_created_then_400_names_the_field_and_nothing_is_written(
        self, aws, tenant, body, field
    ):
        r = call("POST", "/v1/tickets", key=tenant.key, body=body)
        assert r.status == 400 and r.headers["content-type"] == "application/problem+json"
        assert r.json["code"] == "VALIDATION_ERROR"
        assert any(e["field"].startswith(field.split(".")[0]) for e in r.json["errors"]), r.json
        assert not [i for i in items(aws, f"TENANT#{tenant.tenant_id}") if i["SK"].startswith("TICKET")]

    @pytest.mark.parametrize(
        ("field", "code"),
        [("customerId", "INVALID_CUSTOMER"), ("assigneeId", "INVALID_ASSIGNEE"), ("parentId", "INVALID_PARENT")],
    )
    def test_given_an_unknown_reference_when_created_then_400_and_no_number_or_quota_is_used(self, aws, field, code):
        t = make_tenant("REF", quota=5)
        r = call("POST", "/v1/tickets", key=t.key, body={"subject": "x", field: "01JZZZZZZZZZZZZZZZZZZZZZZZ"})
        assert r.status == 400 and r.json["code"] == code
        assert _create(t.key)["number"] == 1
        tenant_item = next(i for i in items(aws, f"TENANT#{t.tenant_id}") if i["SK"] == "TENANT")
        assert sum(v for k, v in tenant_item.items() if k.startswith("used#")) == 1

    def test_given_another_tenants_customer_when_created_then_invalid_customer(self, aws, tenant, other_tenant):
        theirs = call("POST", "/v1/customers", key=other_tenant.key, body={"externalId": "x"}).json
        r = call("POST", "/v1/tickets", key=tenant.key, body={"subject": "x", "customerId": theirs["id"]})
        assert r.status == 400 and r.json["code"] == "INVALID_CUSTOMER"

    def test_given_a_quota_when_it_is_used_up_then_403_plan_limit_reached(self, aws):
        t = make_tenant("Q", quota=2)
        _create(t.key)
        _create(t.key)
        r = call("POST", "/v1/tickets", key=t.key, body={"subject": "third"})
        assert r.status == 403 and r.json["code"] == "PLAN_LIMIT_REACHED"
        assert _counts(aws, t.tenant_id)["total"] == 2

    def test_given_concurrent_creates_when_they_race_then_numbers_are_distinct_and_consecutive(self, aws, tenant):
        with ThreadPoolExecutor(8) as pool:
            created = list(pool.map(lambda i: _create(tenant.key, subject=f"t{i}"), range(24)))
        assert sorted(t["number"] for t in created) == list(range(1, 25))
        assert _counts(aws, tenant.tenant_id)["total"] == 24

    def test_given_concurrent_creates_at_the_quota_boundary_then_the_quota_is_never_exceeded(self, aws):
        t = make_tenant("QB", quota=5)
        with ThreadPoolExecutor(8) as pool:
            results = list(
                pool.map(lambda i: call("POST", "/v1/tickets", key=t.key, body={"subject": f"{i}"}), range(12))
            )
        assert sorted(r.status for r in results) == [201] * 5 + [403] * 7
        assert _counts(aws, t.tenant_id)["total"] == 5


class TestGet:
    def test_given_a_reference_when_fetched_then_same_ticket_case_insensitively(self, aws, tenant):
        t = _create(tenant.key)
        for ref in ("INV-1", "inv-1"):
            r = call("GET", f"/v1/tickets/{ref}", key=tenant.key)
            assert r.status == 200 and r.json["id"] == t["id"] and r.headers["etag"] == '"1"'

    @pytest.mark.parametrize("ident", ["01JZZZZZZZZZZZZZZZZZZZZZZZ", "INV-99", "nope", "OTH-1", "TICKET%23x", "ü"])
    def test_given_an_unknown_id_or_reference_when_fetched_then_404(self, aws, tenant, ident):
        _create(tenant.key)
        r = call("GET", f"/v1/tickets/{ident}", key=tenant.key)
        assert r.status == 404 and r.json["code"] == "NOT_FOUND"

    def test_given_another_tenants_ticket_when_fetched_by_id_or_reference_then_404(self, aws, tenant, other_tenant):
        theirs = _create(other_tenant.key)
        assert call("GET", f"/v1/tickets/{theirs['id']}", key=tenant.key).status == 404
        assert call("GET", f"/v1/tickets/{theirs['reference']}", key=tenant.key).status == 404

    def test_given_a_query_parameter_on_get_then_400(self, aws, tenant):
        t = _create(tenant.key)
        r = call("GET", f"/v1/tickets/{t['id']}", key=tenant.key, query={"expand": "x"})
        assert r.status == 400 and r.json["errors"][0]["field"] == "expand"


class TestPatch:
    def test_given_a_status_cycle_then_resolved_and_closed_timestamps_follow(self, aws, tenant):
        t = _create(tenant.key)
        r = call("PATCH", f"/v1/tickets/{t['id']}", key=tenant.key, body={"status": "RESOLVED"})
        assert r.status == 200 and r.json["resolvedAt"] and r.json["version"] == 2 and r.headers["etag"] == '"2"'
        r = call("PATCH", f"/v1/tickets/{t['id']}", key=tenant.key, body={"status": "open"})
        assert r.json["resolvedAt"] is None and r.json["version"] == 3
        r = call("PATCH", f"/v1/tickets/{t['id']}", key=tenant.key, body={"status": "closed"})
        assert r.json["closedAt"] and r.json["status"] == "closed"
        counts = _counts(aws, tenant.tenant_id)
        assert (counts["closed#medium"], counts["new#medium"], counts["open#medium"]) == (1, 0, 0)

    def test_given_a_closed_ticket_when_patched_then_409_and_delete_still_works(self, aws, tenant):
        t = _create(tenant.key, status="closed")
        r = call("PATCH", f"/v1/tickets/{t['id']}", key=tenant.key, body={"subject": "again"})
        assert r.status == 409 and r.json["code"] == "TICKET_CLOSED"
        assert call("DELETE", f"/v1/tickets/{t['id']}", key=tenant.key).status == 204

    def test_given_null_when_patched_then_nullable_fields_clear_and_required_ones_refuse(self, aws, tenant):
        t = _create(tenant.key, description="d", category="billing")
        r = call("PATCH", f"/v1/tickets/{t['id']}", key=tenant.key, body={"description": None, "category": None})
        assert r.status == 200 and r.json["description"] is None and r.json["category"] is None
        r = call("PATCH", f"/v1/tickets/{t['id']}", key=tenant.key, body={"subject": None})
        assert r.status == 400 and r.json["code"] == "VALIDATION_ERROR"

    def test_given_a_stale_if_match_then_412_and_nothing_changes(self, aws, tenant):
        t = _create(tenant.key)
        assert (
            call(
                "PATCH",
                f"/v1/tickets/{t['id']}",
                key=tenant.key,
                body={"priority": "high"},
                headers={"if-match": '"1"'},
            ).status
            == 200
        )
        r = call(
            "PATCH", f"/v1/tickets/{t['id']}", key=tenant.key, body={"priority": "low"}, headers={"if-match": '"1"'}
        )
        assert r.status == 412 and r.json["code"] == "PRECONDITION_FAILED"
        got = call("GET", f"/v1/tickets/{t['id']}", key=tenant.key).json
        assert got["priority"] == "high" and got["version"] == 2

    def test_given_a_patch_that_changes_nothing_then_no_new_version(self, aws, tenant):
        t = _create(tenant.key, priority="high")
        r = call("PATCH", f"/v1/tickets/{t['id']}", key=tenant.key, body={"priority": "HIGH"})
        assert r.status == 200 and r.json["version"] == 1

    def test_given_a_customer_change_then_snapshot_and_customer_counts_move(self, aws, tenant):
        a = call("POST", "/v1/customers", key=tenant.key, body={"externalId": "a", "name": "A"}).json
        b = call("POST", "/v1/customers", key=tenant.key, body={"externalId": "b", "name": "B"}).json
        t = _create(tenant.key, customerId=a["id"])
        r = call("PATCH", f"/v1/tickets/{t['id']}", key=tenant.key, body={"customerId": b["id"]})
        assert r.json["customer"]["externalId"] == "b"
        lst = call("GET", "/v1/tickets", key=tenant.key, query={"customerId": a["id"]}).json
        assert (lst["total"], lst["data"]) == (0, [])
        lst = call("GET", "/v1/tickets", key=tenant.key, query={"customerId": b["id"]}).json
        assert lst["total"] == 1 and lst["data"][0]["id"] == t["id"]
        r = call("PATCH", f"/v1/tickets/{t['id']}", key=tenant.key, body={"customerId": "01JZZZZZZZZZZZZZZZZZZZZZZZ"})
        assert r.status == 400 and r.json["code"] == "INVALID_CUSTOMER"

    def test_given_own_id_as_parent_then_400(self, aws, tenant):
        t = _create(tenant.key)
        r = call("PATCH", f"/v1/tickets/{t['id']}", key=tenant.key, body={"parentId": t["id"]})
        assert r.status == 400

    def test_given_concurrent_patches_without_if_match_then_no_field_update_is_lost(self, aws, tenant):
        t = _create(tenant.key)
        fields = [
            {"priority": "high"},
            {"category": "billing"},
            {"description": "d"},
            {"tags": ["x"]},
            {"dueAt": "2027-01-01T00:00:00Z"},
            {"status": "pending"},
        ]
        with ThreadPoolExecutor(6) as pool:
            results = list(pool.map(lambda b: call("PATCH", f"/v1/tickets/{t['id']}", key=tenant.key, body=b), fields))
        assert all(r.status == 200 for r in results)
        got = call("GET", f"/v1/tickets/{t['id']}", key=tenant.key).json
        assert (got["priority"], got["category"], got["description"], got["tags"], got["status"]) == (
            "high",
            "billing",
            "d",
            ["x"],
            "pending",
        )
        assert got["version"] == 7

    def test_given_another_tenants_ticket_when_patched_or_deleted_then_404_and_untouched(
        self, aws, tenant, other_tenant
    ):
        theirs = _create(other_tenant.key)
        before = items(aws, f"TENANT#{other_tenant.tenant_id}")
        assert call("PATCH", f"/v1/tickets/{theirs['id']}", key=tenant.key, body={"subject": "x"}).status == 404
        assert call("DELETE", f"/v1/tickets/{theirs['id']}", key=tenant.key).status == 404
        assert items(aws, f"TENANT#{other_tenant.tenant_id}") == before


class TestDelete:
    def test_given_a_ticket_when_deleted_then_gone_and_counters_and_reference_freed(self, aws, tenant):
        c = call("POST", "/v1/customers", key=tenant.key, body={"externalId": "a"}).json
        t = _create(tenant.key, customerId=c["id"])
        assert call("DELETE", f"/v1/tickets/{t['id']}", key=tenant.key).status == 204
        assert call("GET", f"/v1/tickets/{t['id']}", key=tenant.key).status == 404
        assert call("GET", "/v1/tickets/INV-1", key=tenant.key).status == 404
        assert call("DELETE", f"/v1/tickets/{t['id']}", key=tenant.key).status == 404
        assert _counts(aws, tenant.tenant_id)["total"] == 0
        assert not [i for i in items(aws, f"TENANT#{tenant.tenant_id}") if i["SK"].startswith("TICKET")]
        assert call("DELETE", f"/v1/customers/{c['id']}", key=tenant.key).status == 204


class TestHostileNumbers:
    @pytest.mark.parametrize(
        "body",
        [
            '{"subject": "x", "customFields": {"n": NaN}}',
            '{"subject": "x", "customFields": {"n": Infinity}}',
            '{"subject": "x", "customFields": {"n": 1e400}}',
            '{"subject": "x", "metadata": {"n": 1' + "0" * 40 + "}}",
            '{"subject": "x", "metadata": {"n": [NaN]}}',
            '{"subject": "x", "metadata": {"s": "a\\u0000b"}}',
            '{"subject": "a\\u0000b"}',
        ],
    )
    def test_given_numbers_or_strings_dynamodb_cannot_store_then_400_not_500(self, aws, tenant, body):
        r = call("POST", "/v1/tickets", key=tenant.key, body=body)
        assert r.status == 400 and r.json["code"] == "VALIDATION_ERROR", r.body
