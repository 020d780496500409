"""The change feed's pure parts: positions sort as the reader relies on, the query model, the stored envelope."""

from __future__ import annotations

import json
import zlib

import pytest
from pydantic import ValidationError

from tickets.dal import keys
from tickets.logic import cursor as cursors
from tickets.logic import feed
from tickets.models.events import DomainEvent
from tickets.models.feed import EventFeedQuery

EVENT = "evt_01KQ219W800001000BCDEFGHJK"


def test_given_positions_then_a_bare_time_sorts_before_every_item_of_its_millisecond_and_after_the_ones_before():
    earlier = keys.feed_position("2026-04-25T10:00:00.000Z", "evt_" + "Z" * 26)
    bare = keys.feed_position("2026-04-25T10:00:00.001Z")
    first = keys.feed_position("2026-04-25T10:00:00.001Z", "evt_" + "0" * 26)
    last = keys.feed_position("2026-04-25T10:00:00.001Z", "evt_" + "Z" * 26)
    later = keys.feed_position("2026-04-25T10:00:00.002Z")

    assert earlier < bare < first < last < later
    assert keys.feed_item("T1", first) == {"PK": "TENANT#T1#FEED", "SK": f"2026-04-25T10:00:00.001Z#evt_{'0' * 26}"}
    assert keys.feed_marker("T1", EVENT) == {"PK": "TENANT#T1#FEEDEVT", "SK": f"FEEDEVT#{EVENT}"}


def test_given_the_safety_horizon_then_it_leaves_the_write_bound_and_a_clock_allowance():
    from tickets import aws

    assert feed.SAFETY_MS == 5_000 and feed.LATE_MS == 3_000
    assert aws.PROMPT_SECONDS * 1000 <= feed.LATE_MS < feed.SAFETY_MS


@pytest.mark.parametrize(
    ("raw", "types"),
    [
        ("ticket.created", ["ticket.created"]),
        ("Ticket.Deleted,COMMENT.created", ["ticket.deleted", "comment.created"]),
        ("ticket.created,ticket.created, ticket.updated", ["ticket.created", "ticket.updated"]),
        (["ticket.assigned", "ticket.status_changed"], ["ticket.assigned", "ticket.status_changed"]),
    ],
)
def test_given_types_then_they_are_lowercased_and_deduplicated(raw, types):
    assert EventFeedQuery.model_validate({"types": raw}).types == types


@pytest.mark.parametrize(
    ("query", "field", "says"),
    [
        ({"types": "webhook.test"}, "types", "unknown event types: webhook.test"),
        ({"types": " , "}, "types", "name at least one event type"),
        ({"after": "c", "since": "2026-04-25T10:00:00Z"}, "since", "give one of them"),
        ({"limit": "1.0"}, "limit", "must be a whole number"),
        ({"limit": 101}, "limit", "less than or equal to 100"),
        ({"since": "12345"}, "since", "ISO 8601"),
        ({"offset": 0}, "offset", "Extra inputs"),
    ],
)
def test_given_a_bad_query_then_the_error_names_its_field(query, field, says):
    with pytest.raises(ValidationError) as caught:
        EventFeedQuery.model_validate(query)
    (error,) = caught.value.errors()
    assert error["loc"] == (field,) and says in str(error["msg"]), error


def test_given_since_then_it_is_canonical_utc_milliseconds():
    assert EventFeedQuery.model_validate({"since": "2026-04-25T12:00:00+02:00"}).since == "2026-04-25T10:00:00.000Z"


def test_given_an_event_then_the_stored_bytes_are_its_webhook_envelope_compressed():
    event = DomainEvent(
        id=EVENT, type="ticket.deleted", createdAt="2026-04-25T10:00:00.000Z",
        data={"id": "T", "ticket": {"subject": "Ünïcode ✓"}}, tenantId="T1", actor="key_1",
    )  # fmt: skip

    stored = feed.envelope_bytes(event)

    assert json.loads(zlib.decompress(stored)) == {
        "id": EVENT, "type": "ticket.deleted", "createdAt": "2026-04-25T10:00:00.000Z",
        "data": {"id": "T", "ticket": {"subject": "Ünïcode ✓"}},
    }  # fmt: skip
    assert "Ünïcode ✓".encode() in zlib.decompress(stored)  # UTF-8, not \\u escapes: smaller items


def test_given_a_write_time_then_its_items_expire_30_days_later():
    assert feed._expires_at(1_777_111_200_999) == 1_777_111_200 + 30 * 86_400


def test_given_a_cursor_refusal_then_it_names_the_parameter_the_cursor_came_in():
    assert cursors.invalid().errors[0].field == "cursor"
    refusal = cursors.invalid("after")
    assert (refusal.code, refusal.errors[0].field, refusal.errors[0].message) == (
        "VALIDATION_ERROR", "after", "invalid or expired cursor",
    )  # fmt: skip
