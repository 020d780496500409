"""What the cost model (bench/capacity.py) bills for real handler calls: the write units of a ticket's create,
plain patch and delete, item by item and index by index, so a change that adds a write or an index copy shows."""

from __future__ import annotations

import pytest

from bench.capacity import meter
from tests.conftest import TABLE, call


@pytest.fixture
def warm(aws, tenant):
    assert call("GET", "/v1/tickets", key=tenant.key).status == 200
    return tenant


def _billed(aws, method, path, key, **kwargs):
    with meter(aws, TABLE) as m:
        r = call(method, path, key=key, **kwargs)
    assert r.status < 400, r.body
    return r, m


def test_given_a_small_ticket_when_created_then_9_wru_item_by_item_and_index_by_index(aws, warm):
    _, m = _billed(aws, "POST", "/v1/tickets", warm.key, body={"subject": "Cannot log in"})
    assert m.wru == 9 and m.rru == 0
    parts = [line.rsplit(" ", 1) for line in m.write_lines]
    assert [(what.split(" (")[0], int(units)) for what, units in parts] == [
        ("UpdateItem TENANT", 1),  # the number and the month's usage
        ("Put TICKET", 2),  # in the transaction: twice
        ("GSI1 put", 1),
        ("GSI4 put", 1),
        ("Put TICKETREF", 2),  # the reference pointer: small, but doubled by the transaction
        ("Update COUNTS", 2),  # a busy tenant's is 899 B: still 1 KB
    ]


def test_given_a_small_ticket_when_a_plain_field_is_patched_then_the_ticket_and_its_list_indexes_only(aws, warm):
    t = call("POST", "/v1/tickets", key=warm.key, body={"subject": "Cannot log in"}).json
    _, m = _billed(aws, "PATCH", f"/v1/tickets/{t['id']}", warm.key, body={"category": "login"})
    # GSI1 (ALL) is rewritten with the ticket, GSI4 moves with updatedAt (a delete and a put)
    assert (m.wru, m.write_lines[1:]) == (4, ["GSI1 rewrite 1", "GSI4 key change: delete + put 2"])


def test_given_a_ticket_when_deleted_then_the_stamp_the_transaction_and_the_index_deletes(aws, warm):
    t = call("POST", "/v1/tickets", key=warm.key, body={"subject": "Cannot log in"}).json
    _, m = _billed(aws, "DELETE", f"/v1/tickets/{t['id']}", warm.key)
    # the stamp rewrites the ALL entries too; the transaction deletes ticket, pointer and index entries, moves a counter
    assert [line.split(" (")[0] for line in m.write_lines] == [
        "UpdateItem TICKET",
        "GSI1 rewrite 1",
        "GSI4 rewrite 1",
        "Delete TICKET",
        "GSI1 delete 1",
        "GSI4 delete 1",
        "Delete TICKETREF",
        "Update COUNTS",
    ]
    assert m.wru == 1 + 1 + 1 + 2 + 1 + 1 + 2 + 2
