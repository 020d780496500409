"""End-to-end: concurrent requests through the local stack (numbering, tenant separation, If-Match)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from tests.e2e.conftest import Stack, Tenant, assert_problem


def test_given_30_concurrent_creates_then_30_distinct_consecutive_numbers(stack: Stack, make_tenant: Any) -> None:
    tenant = make_tenant("CON")
    start = threading.Barrier(30)

    def create(i: int) -> Any:
        start.wait()
        return stack.request("POST", "/v1/tickets", key=tenant.key, body={"subject": f"race {i}"})

    with ThreadPoolExecutor(30) as pool:
        results = list(pool.map(create, range(30)))
    assert [r.status for r in results] == [201] * 30, [r.body for r in results if r.status != 201]
    tickets = [r.json for r in results]
    assert sorted(t["number"] for t in tickets) == list(range(1, 31))
    assert {t["reference"] for t in tickets} == {f"{tenant.prefix}-{n}" for n in range(1, 31)}
    # Each response is the ticket that request asked for (no cross-talk between concurrent invocations).
    assert sorted(t["subject"] for t in tickets) == sorted(f"race {i}" for i in range(30))
    assert stack.request("GET", "/v1/tickets", key=tenant.key, query={"limit": 1}).json["total"] == 30


def test_given_concurrent_requests_from_two_tenants_then_each_sees_only_its_own(stack: Stack, make_tenant: Any) -> None:
    a, b = make_tenant("MXA"), make_tenant("MXB")
    start = threading.Barrier(24)

    def create(i: int) -> tuple[Tenant, Any]:
        tenant = a if i % 2 else b
        start.wait()
        return tenant, stack.request("POST", "/v1/tickets", key=tenant.key, body={"subject": f"{tenant.prefix} {i}"})

    with ThreadPoolExecutor(24) as pool:
        results = list(pool.map(create, range(24)))
    for tenant, resp in results:
        assert resp.status == 201
        assert resp.json["reference"].startswith(f"{tenant.prefix}-")
        assert resp.json["subject"].startswith(f"{tenant.prefix} ")
    for tenant in (a, b):
        listed = stack.request("GET", "/v1/tickets", key=tenant.key, query={"limit": 100}).json
        assert listed["total"] == 12
        assert all(t["subject"].startswith(f"{tenant.prefix} ") for t in listed["data"])


def test_given_two_concurrent_patches_with_the_same_if_match_then_exactly_one_wins(
    stack: Stack, make_tenant: Any
) -> None:
    tenant = make_tenant("IFM")
    for round_ in range(5):
        ticket = stack.create_ticket(tenant.key)
        start = threading.Barrier(2)

        def patch(subject: str, ticket_id: str = ticket["id"], gate: threading.Barrier = start) -> Any:
            gate.wait()
            return stack.request(
                "PATCH",
                f"/v1/tickets/{ticket_id}",
                key=tenant.key,
                body={"subject": subject},
                headers={"If-Match": '"1"'},
            )

        with ThreadPoolExecutor(2) as pool:
            first, second = pool.map(patch, [f"first {round_}", f"second {round_}"])
        by_status = {r.status: r for r in (first, second)}
        assert sorted(by_status) == [200, 412], [first.body, second.body]
        assert_problem(by_status[412], 412, "PRECONDITION_FAILED")
        winner = by_status[200].json
        assert winner["version"] == 2 and by_status[200].headers["etag"] == '"2"'
        stored = stack.request("GET", f"/v1/tickets/{ticket['id']}", key=tenant.key)
        assert stored.json["version"] == 2 and stored.json["subject"] == winner["subject"]


def test_given_a_stale_if_match_when_patching_then_412_and_nothing_changes(stack: Stack, make_tenant: Any) -> None:
    tenant = make_tenant("STL")
    ticket = stack.create_ticket(tenant.key)
    fresh = stack.request(
        "PATCH", f"/v1/tickets/{ticket['id']}", key=tenant.key, body={"priority": "low"}, headers={"If-Match": '"1"'}
    )
    assert fresh.status == 200 and fresh.headers["etag"] == '"2"'
    stale = stack.request(
        "PATCH", f"/v1/tickets/{ticket['id']}", key=tenant.key, body={"priority": "urgent"}, headers={"If-Match": '"1"'}
    )
    assert_problem(stale, 412, "PRECONDITION_FAILED")
    after = stack.request("GET", f"/v1/tickets/{ticket['id']}", key=tenant.key)
    assert after.headers["etag"] == '"2"'
    assert after.json == fresh.json
