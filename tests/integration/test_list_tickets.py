"""GET /v1/tickets: filters, sorting, totals and both paging styles."""

from __future__ import annotations

import base64
import json
import time

import pytest

from tests.conftest import call


def _create(key: str, **body):
    body.setdefault("subject", "Something happened")
    r = call("POST", "/v1/tickets", key=key, body=body)
    assert r.status == 201, r.body
    return r.json


def _list(key: str, **query):
    r = call("GET", "/v1/tickets", key=key, query={k: str(v) for k, v in query.items()})
    assert r.status == 200, r.body
    return r.json


@pytest.fixture
def seeded(aws, tenant):
    c1 = call("POST", "/v1/customers", key=tenant.key, body={"externalId": "c1"}).json
    specs = [
        {"subject": "Card declined", "status": "open", "priority": "high", "customerId": c1["id"], "tags": ["billing"]},
        {"subject": "Order blocked", "status": "new", "priority": "low", "category": "orders"},
        {"subject": "Login broken", "status": "pending", "priority": "urgent", "description": "cannot LOG in"},
        {
            "subject": "Refund please",
            "status": "open",
            "priority": "low",
            "customerId": c1["id"],
            "tags": ["billing", "vip"],
        },
        {"subject": "Old issue", "status": "resolved", "priority": "medium"},
    ]
    created = []
    for spec in specs:
        created.append(_create(tenant.key, **spec))
        time.sleep(0.002)  # distinct createdAt milliseconds
    return tenant, c1, created


def _ids(page):
    return [t["id"] for t in page["data"]]


class TestFilters:
    def test_given_no_filter_then_newest_first_with_exact_total(self, seeded):
        tenant, _, created = seeded
        page = _list(tenant.key)
        assert _ids(page) == [t["id"] for t in reversed(created)]
        assert (page["total"], page["limit"], page["offset"], page["nextCursor"]) == (5, 50, 0, None)

    def test_given_sort_ascending_then_oldest_first(self, seeded):
        tenant, _, created = seeded
        assert _ids(_list(tenant.key, sort="createdAt")) == [t["id"] for t in created]

    @pytest.mark.parametrize(
        ("query", "expected"),
        [
            ({"status": "open"}, [3, 0]),
            ({"status": "OPEN,new"}, [3, 1, 0]),
            ({"priority": "low"}, [3, 1]),
            ({"priority": "low,high", "status": "open"}, [3, 0]),
            ({"tag": "vip"}, [3]),
            ({"tag": "billing"}, [3, 0]),
            ({"category": "orders"}, [1]),
            ({"q": "log"}, [2]),
            ({"q": "REFUND"}, [3]),
            ({"assigneeId": "none"}, [4, 3, 2, 1, 0]),
            ({"assigneeId": "01JZZZZZZZZZZZZZZZZZZZZZZZ"}, []),
        ],
    )
    def test_given_a_filter_then_only_matches_and_total_counts_them(self, seeded, query, expected):
        tenant, _, created = seeded
        page = _list(tenant.key, **query)
        assert _ids(page) == [created[i]["id"] for i in expected]
        assert page["total"] == len(expected)

    def test_given_a_customer_filter_then_its_tickets_with_counter_total(self, seeded):
        tenant, c1, created = seeded
        page = _list(tenant.key, customerId=c1["id"], status="open")
        assert _ids(page) == [created[3]["id"], created[0]["id"]] and page["total"] == 2
        page = _list(tenant.key, customerId=c1["id"])
        assert page["total"] == 2

    def test_given_a_created_range_then_only_tickets_inside_it(self, seeded):
        tenant, _, created = seeded
        page = _list(tenant.key, createdAfter=created[1]["createdAt"], createdBefore=created[3]["createdAt"])
        assert _ids(page) == [created[2]["id"], created[1]["id"]] and page["total"] == 2

    def test_given_updates_then_updated_sort_and_updated_since_follow_them(self, seeded):
        tenant, _, created = seeded
        time.sleep(0.002)
        patched = call("PATCH", f"/v1/tickets/{created[0]['id']}", key=tenant.key, body={"priority": "low"}).json
        page = _list(tenant.key, sort="-updatedAt")
        assert _ids(page)[0] == created[0]["id"]
        page = _list(tenant.key, updatedSince=patched["updatedAt"])
        assert _ids(page) == [created[0]["id"]] and page["total"] == 1
        page = _list(tenant.key, sort="updatedAt", updatedSince=patched["updatedAt"])
        assert _ids(page) == [created[0]["id"]]

    @pytest.mark.parametrize(
        "query",
        [
            {"limit": "0"},
            {"limit": "101"},
            {"limit": "abc"},
            {"offset": "-1"},
            {"status": "bogus"},
            {"sort": "subject"},
            {"createdAfter": "yesterday"},
            {"cursor": "abc", "offset": "0"},
            {"foo": "bar"},
            {"limit": "99999999999999999999999"},
        ],
    )
    def test_given_bad_query_parameters_then_400_validation_error(self, seeded, query):
        tenant, _, _ = seeded
        r = call("GET", "/v1/tickets", key=tenant.key, query=query)
        assert r.status == 400 and r.json["code"] == "VALIDATION_ERROR", r.body
        assert r.json["errors"] and r.json["errors"][0]["field"]


class TestPaging:
    def test_given_many_tickets_when_paged_by_offset_or_cursor_then_each_ticket_appears_exactly_once(self, aws, tenant):
        created = [_create(tenant.key, subject=f"t{i}") for i in range(23)]
        expected = [t["id"] for t in reversed(created)]
        offset_ids, offset = [], 0
        while True:
            page = _list(tenant.key, limit=5, offset=offset)
            assert page["total"] == 23
            offset_ids += _ids(page)
            if len(page["data"]) < 5:
                break
            offset += 5
        assert offset_ids == expected
        cursor_ids, cursor, pages = [], None, 0
        while True:
            page = _list(tenant.key, limit=5, **({"cursor": cursor} if cursor else {}))
            cursor_ids += _ids(page)
            pages += 1
            cursor = page["nextCursor"]
            if not cursor:
                break
        assert cursor_ids == expected and pages == 5

    def test_given_a_filtered_cursor_then_pages_keep_the_filter(self, aws, tenant):
        for i in range(12):
            _create(tenant.key, priority="high" if i % 2 else "low")
        page = _list(tenant.key, priority="high", limit=4)
        second = _list(tenant.key, priority="high", limit=4, cursor=page["nextCursor"])
        assert (len(page["data"]), len(second["data"]), second["nextCursor"]) == (4, 2, None)
        assert page["total"] == second["total"] == 6
        assert all(t["priority"] == "high" for t in page["data"] + second["data"])
        assert not set(_ids(page)) & set(_ids(second))

    def test_given_a_cursor_used_with_other_filters_or_by_another_tenant_or_edited_then_400(
        self, aws, tenant, other_tenant
    ):
        for _ in range(3):
            _create(tenant.key)
            _create(other_tenant.key)
        cursor = _list(tenant.key, limit=1)["nextCursor"]
        raw = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        raw["k"]["PK"] = f"TENANT#{other_tenant.tenant_id}"
        forged = base64.urlsafe_b64encode(json.dumps(raw).encode()).decode().rstrip("=")
        for key, query in [
            (tenant.key, {"cursor": cursor, "status": "new"}),
            (other_tenant.key, {"cursor": cursor}),
            (tenant.key, {"cursor": forged}),
            (tenant.key, {"cursor": cursor[:-3] + "xyz"}),
            (tenant.key, {"cursor": "%%%"}),
        ]:
            r = call("GET", "/v1/tickets", key=key, query=query)
            assert r.status == 400 and r.json["code"] == "VALIDATION_ERROR" and r.json["errors"][0]["field"] == "cursor"

    def test_given_another_tenants_tickets_then_lists_never_show_them(self, aws, tenant, other_tenant):
        mine = _create(tenant.key)
        _create(other_tenant.key)
        page = _list(tenant.key)
        assert _ids(page) == [mine["id"]] and page["total"] == 1
