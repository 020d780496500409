"""Pure helpers: identifiers, cursors, key formats."""

from __future__ import annotations

import pytest

from tickets import ids
from tickets.dal import keys
from tickets.errors import ValidationFailed
from tickets.logic import cursor


@pytest.fixture(autouse=True)
def _restore_generator_state():
    """These tests feed the monotonic generator far-future times; later ids must not inherit them."""
    saved = (ids._last_ms, ids._last_rand)
    yield
    ids._last_ms, ids._last_rand = saved


def test_given_ids_made_in_sequence_then_they_sort_in_creation_order_even_within_one_millisecond():
    made = [ids.new_id(4_100_000_000_000) for _ in range(50)] + [ids.new_id(4_100_000_000_001)]
    assert made == sorted(made) and len(set(made)) == len(made)
    assert all(ids.is_ulid(i) for i in made)


def test_given_a_millisecond_then_bounds_enclose_every_id_of_that_millisecond():
    ms = 4_000_000_000_123  # later than any clock here, so the monotonic generator keeps it
    i = ids.new_id(ms)
    assert ids.timestamp_ms(i) == ms
    assert ids.bound_for_ms(ms, upper=False) <= i <= ids.bound_for_ms(ms, upper=True)
    assert ids.bound_for_ms(ms + 1, upper=False) > i


def test_given_a_ticket_then_every_index_partition_starts_with_its_tenant():
    ticket = {"id": "01J", "status": "open", "updatedAt": "2026", "customerId": "C", "assigneeId": "A"}
    index_keys = keys.ticket_index_keys("T1", ticket)
    assert all(v.startswith("TENANT#T1#") for k, v in index_keys.items() if k.endswith("PK"))
    assert "GSI2PK" not in keys.ticket_index_keys("T1", {**ticket, "customerId": None})


def test_given_a_cursor_then_it_round_trips_only_for_the_same_tenant_and_query():
    key = {"PK": "TENANT#T1", "SK": "TICKET#01J"}
    fp = cursor.fingerprint("T1", {"status": ["open"]})
    token = cursor.encode(key, fp)
    assert cursor.decode(token, fp, "T1", {"PK", "SK"}) == key
    with pytest.raises(ValidationFailed):
        cursor.decode(token, cursor.fingerprint("T1", {"status": ["new"]}), "T1", {"PK", "SK"})
    with pytest.raises(ValidationFailed):
        cursor.decode(token, fp, "T2", {"PK", "SK"})
    with pytest.raises(ValidationFailed):
        cursor.decode(cursor.encode({"PK": "TENANT#T10", "SK": "x"}, fp), fp, "T1", {"PK", "SK"})
    for garbage in ["", "!!!", "e30", token[:-4]]:
        with pytest.raises(ValidationFailed):
            cursor.decode(garbage, fp, "T1", {"PK", "SK"})
