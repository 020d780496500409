"""End-to-end: list paging over HTTP, by offset and by cursor, with exact totals."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.conftest import Stack, Tenant, assert_problem


@pytest.fixture(scope="module")
def paged(stack: Stack, make_tenant: Any) -> tuple[Tenant, list[dict[str, Any]]]:
    """A tenant with 125 tickets, made one after the other; every fifth one is `open`."""
    tenant = make_tenant("PAG")
    made = [
        stack.create_ticket(tenant.key, subject=f"ticket {i}", status="open" if i % 5 == 0 else "new")
        for i in range(1, 126)
    ]
    return tenant, made


def _walk_offsets(stack: Stack, key: str, limit: int, **query: Any) -> tuple[list[dict[str, Any]], set[int]]:
    rows: list[dict[str, Any]] = []
    totals = set()
    offset = 0
    while True:
        page = stack.request("GET", "/v1/tickets", key=key, query={"limit": limit, "offset": offset, **query}).json
        totals.add(page["total"])
        assert page["limit"] == limit and page["offset"] == offset
        rows.extend(page["data"])
        if not page["data"]:
            break
        offset += limit
    return rows, totals


def _walk_cursor(stack: Stack, key: str, limit: int, **query: Any) -> tuple[list[dict[str, Any]], set[int], int]:
    rows: list[dict[str, Any]] = []
    totals = set()
    pages = 0
    params: dict[str, Any] = {"limit": limit, **query}
    while True:
        resp = stack.request("GET", "/v1/tickets", key=key, query=params)
        assert resp.status == 200, resp.body
        page = resp.json
        pages += 1
        totals.add(page["total"])
        assert len(page["data"]) <= limit
        rows.extend(page["data"])
        if page["nextCursor"] is None:
            return rows, totals, pages
        assert len(page["data"]) == limit  # only the last page may be short
        params = {"limit": limit, "cursor": page["nextCursor"], **query}


def test_given_125_tickets_when_paging_by_offset_then_every_ticket_once_newest_first(
    stack: Stack, paged: tuple[Tenant, list[dict[str, Any]]]
) -> None:
    tenant, made = paged
    rows, totals = _walk_offsets(stack, tenant.key, 50)
    assert totals == {125}
    assert [r["number"] for r in rows] == list(range(125, 0, -1))
    assert [r["id"] for r in rows] == [t["id"] for t in reversed(made)]


@pytest.mark.parametrize("limit", [50, 17])
def test_given_125_tickets_when_paging_by_cursor_then_every_ticket_once_newest_first(
    stack: Stack, paged: tuple[Tenant, list[dict[str, Any]]], limit: int
) -> None:
    tenant, made = paged
    rows, totals, pages = _walk_cursor(stack, tenant.key, limit)
    assert totals == {125}
    assert pages == -(-125 // limit)
    assert [r["id"] for r in rows] == [t["id"] for t in reversed(made)]
    created = [r["createdAt"] for r in rows]
    assert created == sorted(created, reverse=True)


def test_given_125_tickets_when_listing_one_status_then_total_and_pages_cover_only_those(
    stack: Stack, paged: tuple[Tenant, list[dict[str, Any]]]
) -> None:
    tenant, made = paged
    rows, totals, _ = _walk_cursor(stack, tenant.key, 10, status="OPEN")
    assert totals == {25}
    assert [r["number"] for r in rows] == list(range(125, 0, -5))
    assert [r["id"] for r in rows] == [t["id"] for t in reversed(made) if t["status"] == "open"]
    assert {r["status"] for r in rows} == {"open"}
    both, both_totals = _walk_offsets(stack, tenant.key, 100, status="new,open")
    assert both_totals == {125} and len(both) == 125


def test_given_both_cursor_and_offset_when_listing_then_400(
    stack: Stack, paged: tuple[Tenant, list[dict[str, Any]]]
) -> None:
    tenant, _ = paged
    first = stack.request("GET", "/v1/tickets", key=tenant.key, query={"limit": 5}).json
    resp = stack.request("GET", "/v1/tickets", key=tenant.key, query={"cursor": first["nextCursor"], "offset": 5})
    assert_problem(resp, 400, "VALIDATION_ERROR")
