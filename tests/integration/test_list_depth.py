"""List cost at depth (the small version of bench/depth.py): a cursor page reads limit + 1 items at any depth.

5,000 tickets are seeded straight into moto with the product's own item builder (bench._harness), then
read through the real list handler and moto's real Query; items read = sum of ScannedCount.
"""

from __future__ import annotations

import pytest

from bench._harness import LIMIT, expected_page_ids, make_tenant, page_cursor, seed_tickets
from bench.depth import read_page, same_cursor

pytestmark = pytest.mark.slow  # 5,000 tickets seeded

TICKETS = 5_000
CURSOR_BUDGET = 55


@pytest.fixture
def deep(aws):
    tenant = make_tenant("INV")
    ids = seed_tickets(tenant, TICKETS)["ids"]
    assert read_page(tenant.key, {"limit": "1"})["status"] == 200  # warm the auth cache
    return tenant, ids


def test_given_5000_tickets_when_a_cursor_page_is_read_at_any_depth_then_at_most_55_items_are_read(deep):
    tenant, ids = deep
    for depth in (1, 50, 100):  # one seeded table for all three depths (seeding is most of the cost)
        query = {"limit": str(LIMIT)}
        if cursor := page_cursor(tenant.tenant_id, ids, depth):
            query["cursor"] = cursor
        page = read_page(tenant.key, query)
        assert page["status"] == 200, depth
        assert page["ids"] == expected_page_ids(ids, depth), depth
        assert page["items_read"] <= CURSOR_BUDGET, (depth, page["items_read"])
        assert page["total"] == TICKETS
        following = page_cursor(tenant.tenant_id, ids, depth + 1) if depth * LIMIT < TICKETS else None
        assert same_cursor(page["next_cursor"], following), depth


def test_given_5000_tickets_when_the_deepest_offset_page_is_read_then_it_reads_the_skipped_items_within_the_budget(
    deep,
):
    tenant, ids = deep
    page = read_page(tenant.key, {"limit": str(LIMIT), "offset": str(19 * LIMIT)})  # offset + limit = 1,000
    assert page["status"] == 200
    assert page["ids"] == expected_page_ids(ids, 20)
    assert page["items_read"] == 1_000  # offset + limit (+1 for a next page, which the budget leaves out)
    deeper = read_page(tenant.key, {"limit": str(LIMIT), "offset": str(20 * LIMIT)})
    assert (deeper["status"], deeper["code"], deeper["items_read"]) == (400, "VALIDATION_ERROR", 0)
