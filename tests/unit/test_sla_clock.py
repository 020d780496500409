"""The SLA clock without AWS: due times, pauses, recomputes, facts and policy matching (logic/sla_clock.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from tickets.logic import sla_clock
from tickets.logic.calendar import Calendar
from tickets.logic.sla_clock import Target

WEEKDAYS = [{"day": d, "start": "09:00", "end": "17:00"} for d in ("mon", "tue", "wed", "thu", "fri")]
UTC_9_TO_5 = Calendar.of("UTC", WEEKDAYS)


def ticket(created: str, status: str = "new", **fields: Any) -> dict[str, Any]:
    return {"createdAt": created, "status": status, "priority": "high", "firstRespondedAt": None, **fields}


def start(t: dict[str, Any], target: Target, cal: Calendar | None) -> dict[str, Any]:
    sla = sla_clock.advance(None, None, t, target, cal, t["createdAt"], rematch=True)
    assert sla is not None
    return sla


def move(sla: dict[str, Any], old: dict[str, Any], at: str, cal: Calendar | None, **changes: Any) -> tuple:
    new = {**old, **changes}
    after = sla_clock.advance(sla, old, new, None, cal, at, rematch=False)
    return after, new


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


FOUR_HOURS = Target("P1", first_reply_minutes=60, resolution_minutes=240)


# ---------------------------------------------------------------- due times


def test_given_no_business_hours_when_a_ticket_starts_then_targets_count_24x7_minutes_and_warnings_fall_at_80_percent():
    sla = start(ticket("2026-11-28T22:00:00.000Z"), FOUR_HOURS, None)  # a Saturday night: no calendar, no matter
    assert sla["policyId"] == "P1"
    assert sla["firstReplyDueAt"] == "2026-11-28T23:00:00.000Z"
    assert sla["firstReplyWarnAt"] == "2026-11-28T22:48:00.000Z"
    assert sla["resolutionDueAt"] == "2026-11-29T02:00:00.000Z"
    assert sla["resolutionWarnAt"] == "2026-11-29T01:12:00.000Z"
    assert sla["nextAt"] == "2026-11-28T22:48:00.000Z"
    assert sla["pausedAt"] is None and sla["firstReplyBreachedAt"] is None and sla["resolutionBreachedAt"] is None


def test_given_the_worked_example_when_created_friday_16_00_then_4_business_hours_end_monday_12_00():
    # README "Business hours and SLA": 09:00-17:00 Monday to Friday, created Friday 2026-11-27 16:00.
    sla = start(ticket("2026-11-27T16:00:00.000Z"), FOUR_HOURS, UTC_9_TO_5)
    assert sla["firstReplyDueAt"] == "2026-11-27T17:00:00.000Z"  # 1 h: Friday's last hour, due at closing time
    assert sla["resolutionDueAt"] == "2026-11-30T12:00:00.000Z"  # 1 h Friday + 3 h Monday
    assert sla["resolutionWarnAt"] == "2026-11-30T11:12:00.000Z"  # 192 min: 60 Friday + 132 Monday


def test_given_a_target_that_starts_outside_business_hours_then_it_starts_counting_at_the_next_opening():
    sla = start(ticket("2026-11-28T10:00:00.000Z"), FOUR_HOURS, UTC_9_TO_5)  # Saturday
    assert sla["firstReplyDueAt"] == "2026-11-30T10:00:00.000Z"
    assert sla["resolutionDueAt"] == "2026-11-30T13:00:00.000Z"


def test_given_business_hours_across_a_dst_change_then_due_times_follow_the_local_wall_clock():
    every_day = Calendar.of("Europe/Paris", [{"day": d, "start": "09:00", "end": "17:00"} for d in
                                             ("mon", "tue", "wed", "thu", "fri", "sat", "sun")])  # fmt: skip
    # Saturday 2026-03-28 16:00 CET (15:00 UTC); clocks go forward on Sunday night 29 March.
    sla = start(ticket("2026-03-28T15:00:00.000Z"), Target("P", 120, 10 * 60), every_day)
    assert sla["firstReplyDueAt"] == "2026-03-29T08:00:00.000Z"  # Sunday 10:00 CEST, not 09:00 UTC
    assert sla["resolutionDueAt"] == "2026-03-30T08:00:00.000Z"  # 1 h Saturday + 8 h Sunday + 1 h: Monday 10:00 CEST


def test_given_a_holiday_then_it_is_skipped_like_a_closed_day():
    christmas = Calendar.of("Europe/Paris", WEEKDAYS, ["2026-12-25"])
    sla = start(ticket("2026-12-24T15:00:00.000Z"), Target("P", 120, 240), christmas)  # Thursday 16:00 CET
    assert sla["firstReplyDueAt"] == "2026-12-28T09:00:00.000Z"  # 1 h Thursday, Friday off, Monday 10:00 CET
    assert sla["resolutionDueAt"] == "2026-12-28T11:00:00.000Z"


def test_given_a_target_longer_than_the_calendar_opens_in_3_years_then_that_stage_has_no_due_time_and_no_error():
    one_hour_a_week = Calendar.of("UTC", [{"day": "mon", "start": "09:00", "end": "10:00"}])
    t = ticket("2026-11-30T09:00:00.000Z")
    sla = start(t, Target("P", 120, 300_000), one_hour_a_week)  # 5,000 h at 1 h a week: about 96 years
    assert sla["firstReplyDueAt"] == "2026-12-07T10:00:00.000Z"  # the first reply still counts
    assert sla["resolutionDueAt"] is None and sla["resolutionWarnAt"] is None
    assert sla["nextAt"] == sla["firstReplyWarnAt"]
    late = at("2030-01-01T00:00:00Z")
    assert [(target, stage) for target, stage, _ in sla_clock.due_facts(sla, t, late)] == [
        ("firstReply", "warning"), ("firstReply", "breach")]  # fmt: skip


# ---------------------------------------------------------------- pause and resume


def test_given_a_ticket_pending_for_2_business_hours_then_its_resolution_due_time_moves_by_exactly_that():
    t = ticket("2026-11-27T16:00:00.000Z")
    sla = start(t, FOUR_HOURS, UTC_9_TO_5)
    paused, t = move(sla, t, "2026-11-27T16:30:00.000Z", UTC_9_TO_5, status="pending")
    assert paused["pausedAt"] == "2026-11-27T16:30:00.000Z"
    assert paused["resolutionDueAt"] == "2026-11-30T12:00:00.000Z"  # unchanged while paused
    assert paused["nextAt"] == paused["firstReplyWarnAt"]  # only the first reply runs on
    # back on Monday 10:30: 30 min Friday + 90 min Monday = 2 business hours (the weekend does not count)
    resumed, t = move(paused, t, "2026-11-30T10:30:00.000Z", UTC_9_TO_5, status="open")
    assert UTC_9_TO_5.minutes_between(at("2026-11-27T16:30:00Z"), at("2026-11-30T10:30:00Z")) == 120
    assert resumed["pausedAt"] is None and resumed["pausedMs"] == 120 * 60_000
    assert resumed["resolutionDueAt"] == "2026-11-30T14:00:00.000Z"  # 12:00 + exactly 2 business hours
    assert resumed["firstReplyDueAt"] == sla["firstReplyDueAt"]  # the first reply does not pause


def test_given_pending_then_on_hold_when_it_opens_again_then_the_pause_counts_from_when_it_first_stopped():
    t = ticket("2026-11-30T09:00:00.000Z")
    sla = start(t, FOUR_HOURS, UTC_9_TO_5)
    sla, t = move(sla, t, "2026-11-30T10:00:00.000Z", UTC_9_TO_5, status="pending")
    sla, t = move(sla, t, "2026-11-30T10:30:00.000Z", UTC_9_TO_5, status="on_hold")
    assert sla["pausedAt"] == "2026-11-30T10:00:00.000Z"
    sla, t = move(sla, t, "2026-11-30T11:00:00.000Z", UTC_9_TO_5, status="open")
    assert sla["resolutionDueAt"] == "2026-11-30T14:00:00.000Z"  # 13:00 + 60 min paused


def test_given_a_resolved_ticket_reopened_then_the_time_it_was_resolved_does_not_count():
    t = ticket("2026-11-30T09:00:00.000Z")
    sla = start(t, FOUR_HOURS, None)
    sla, t = move(sla, t, "2026-11-30T10:00:00.000Z", None, status="resolved", resolvedAt="2026-11-30T10:00:00.000Z")
    assert sla["nextAt"] is None and sla["pausedAt"] is None  # met: nothing left for the sweep
    sla, t = move(sla, t, "2026-11-30T10:45:00.000Z", None, status="open", resolvedAt=None)
    assert sla["resolutionDueAt"] == "2026-11-30T13:45:00.000Z"


# ---------------------------------------------------------------- recompute, first reply, facts


def test_given_a_priority_change_when_the_policy_is_applied_again_then_from_creation_keeping_paused_time():
    t = ticket("2026-11-30T09:00:00.000Z")
    sla = start(t, FOUR_HOURS, None)
    sla, t = move(sla, t, "2026-11-30T09:30:00.000Z", None, status="pending")
    sla, t = move(sla, t, "2026-11-30T10:00:00.000Z", None, status="open")  # 30 min paused
    urgent = {**t, "priority": "urgent"}
    again = sla_clock.advance(sla, t, urgent, Target("P2", 15, 60, None), None, "2026-11-30T10:05:00.000Z",
                              rematch=True)  # fmt: skip
    assert again is not None and again["policyId"] == "P2"
    assert again["firstReplyDueAt"] == "2026-11-30T09:15:00.000Z"  # from creation, already past
    assert again["resolutionDueAt"] == "2026-11-30T10:30:00.000Z"  # 60 + 30 paused
    assert again["nextAt"] == "2026-11-30T09:12:00.000Z"  # the sweep's next run records it at once


def test_given_no_policy_matches_any_more_then_due_times_go_but_recorded_facts_stay():
    t = ticket("2026-11-30T09:00:00.000Z")
    sla = sla_clock.record(start(t, FOUR_HOURS, None), t, [("firstReply", "breach", "2026-11-30T10:00:00.000Z")])
    after = sla_clock.advance(sla, t, {**t, "priority": "low"}, None, None, "2026-11-30T11:00:00.000Z", rematch=True)
    assert after is not None and after["policyId"] is None and after["resolutionDueAt"] is None
    assert after["firstReplyBreachedAt"] == "2026-11-30T10:00:00.000Z" and after["nextAt"] is None


def test_given_the_first_reply_is_met_then_only_the_resolution_stages_remain():
    t = ticket("2026-11-30T09:00:00.000Z")
    sla = start(t, FOUR_HOURS, None)
    met, t = move(sla, t, "2026-11-30T09:05:00.000Z", None, firstRespondedAt="2026-11-30T09:05:00.000Z")
    assert met["nextAt"] == met["resolutionWarnAt"] == "2026-11-30T12:12:00.000Z"
    assert sla_clock.due_facts(met, t, at("2026-11-30T11:00:00Z")) == []  # first reply due 10:00: met, no breach


def test_given_deadlines_passing_then_the_warning_then_the_breach_each_once():
    t = ticket("2026-11-30T09:00:00.000Z")
    sla = start(t, FOUR_HOURS, None)
    assert sla_clock.due_facts(sla, t, at("2026-11-30T09:47:59Z")) == []
    warn = sla_clock.due_facts(sla, t, at("2026-11-30T09:48:00Z"))
    assert warn == [("firstReply", "warning", "2026-11-30T09:48:00.000Z")]
    sla = sla_clock.record(sla, t, warn)
    assert sla["firstReplyWarnedAt"] == "2026-11-30T09:48:00.000Z" and sla["nextAt"] == "2026-11-30T10:00:00.000Z"
    assert sla_clock.due_facts(sla, t, at("2026-11-30T09:59:00Z")) == []  # recorded: not again
    breach = sla_clock.due_facts(sla, t, at("2026-11-30T10:00:00Z"))
    assert breach == [("firstReply", "breach", "2026-11-30T10:00:00.000Z")]
    sla = sla_clock.record(sla, t, breach)
    assert sla["firstReplyBreachedAt"] == "2026-11-30T10:00:00.000Z" and sla["nextAt"] == sla["resolutionWarnAt"]
    assert sla_clock.due_facts(sla, t, at("2026-11-30T10:01:00Z")) == []


def test_given_a_sweep_late_past_every_deadline_then_all_four_facts_in_the_order_they_fell_due():
    t = ticket("2026-11-30T09:00:00.000Z")
    sla = start(t, FOUR_HOURS, None)
    facts = sla_clock.due_facts(sla, t, at("2026-12-01T00:00:00Z"))
    assert [(f[0], f[1]) for f in facts] == [
        ("firstReply", "warning"), ("firstReply", "breach"), ("resolution", "warning"), ("resolution", "breach"),
    ]  # fmt: skip
    done = sla_clock.record(sla, t, facts)
    assert done["nextAt"] is None
    assert sla_clock.new_facts(sla, done) == [
        ("firstReply", "warning"), ("firstReply", "breach"), ("resolution", "warning"), ("resolution", "breach"),
    ]  # fmt: skip
    assert sla_clock.new_facts(done, done) == []


def test_given_a_paused_ticket_then_its_resolution_cannot_breach_but_its_first_reply_can():
    t = ticket("2026-11-30T09:00:00.000Z", status="pending")
    sla = start(t, FOUR_HOURS, None)
    assert sla["pausedAt"] == "2026-11-30T09:00:00.000Z"
    facts = sla_clock.due_facts(sla, t, at("2026-12-01T00:00:00Z"))
    assert [f[0] for f in facts] == ["firstReply", "firstReply"]


# ---------------------------------------------------------------- matching


POLICIES = [
    {"id": "VIP", "position": 1, "conditions": {"priority": ["urgent"], "channel": ["email"]},
     "targets": {"urgent": {"firstReplyMinutes": 15, "resolutionMinutes": 60}}},
    {"id": "GROUPED", "position": 2, "conditions": {"groupId": ["G1"]}, "businessHoursId": "BH",
     "targets": {"high": {"firstReplyMinutes": 30, "resolutionMinutes": 120}}},
    {"id": "DEFAULT", "position": 3, "conditions": {},
     "targets": {p: {"firstReplyMinutes": 60, "resolutionMinutes": 480} for p in ("high", "urgent", "medium")}},
]  # fmt: skip


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"priority": "urgent", "channel": "email"}, ("VIP", 15, 60, None)),
        ({"priority": "urgent", "channel": "api"}, ("DEFAULT", 60, 480, None)),  # one condition fails: next
        ({"priority": "high", "channel": "api", "groupId": "G1"}, ("GROUPED", 30, 120, "BH")),
        ({"priority": "high", "channel": "api"}, ("DEFAULT", 60, 480, None)),  # no groupId: null is not G1
        ({"priority": "low", "channel": "api"}, None),  # the first match has no target for low
        ({"priority": "medium", "channel": "api", "groupId": "G1"}, None),  # GROUPED matches first, no medium
    ],
)
def test_given_policies_in_position_order_then_the_first_whose_conditions_hold_decides(fields, expected):
    target = sla_clock.choose(POLICIES, fields)
    if expected is None:
        assert target is None
    else:
        assert target is not None
        got = (target.policy_id, target.first_reply_minutes, target.resolution_minutes, target.business_hours_id)
        assert got == expected
