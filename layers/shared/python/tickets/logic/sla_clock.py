"""The SLA clock of one ticket: a pure module (no I/O), tested in milliseconds.

A ticket's `sla` map holds its policy's targets, the due times they give, the facts recorded so far and the
next deadline the breach sweep must act on. Every function here takes the map (or None) and returns a new one.

The rules:
- Due times are measured from the ticket's creation in business minutes of the policy's calendar (no calendar:
  24x7 minutes): firstReplyDueAt = creation + firstReplyMinutes, resolutionDueAt = creation + resolutionMinutes +
  the business minutes the resolution clock has been stopped. Warnings fall at 80 % of a target, measured the
  same way. An instant the calendar does not reach within its horizon (3 years) is None: that stage never falls due.
- The resolution clock stops while the ticket is pending or on_hold (pausedAt is set) and while it is resolved;
  when it starts again, the business minutes it was stopped (Calendar.minutes_between) are added, so the due
  time moves by exactly that. A closed ticket's clocks are over.
- The first-reply target is met by the ticket's firstRespondedAt (the first public comment of an agent or API key);
  it stays open while that is unset and the ticket is neither resolved nor closed. It does not pause.
- A priority or group change re-applies the first matching policy: its targets, measured from the creation,
  keeping the stopped minutes. A warning or breach once recorded stays recorded (its event was sent): each is
  recorded once per ticket and target, whatever the policy becomes.
- The next deadline (`nextAt`) is the earliest of the open stages: a target's 80 % warning until it is
  recorded, then its breach. No open stage: None (the ticket leaves the sweep's index).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from tickets.logic.calendar import Calendar
from tickets.timeutil import iso

PAUSING = frozenset({"pending", "on_hold"})
MET = frozenset({"resolved", "closed"})
TARGETS = ("firstReply", "resolution")
WARN_AT = 0.8  # a warning at 80 % of a target

# The map's public fields (the Ticket model shows these) and its bookkeeping (stored, never shown).
PUBLIC = ("policyId", "firstReplyDueAt", "resolutionDueAt", "firstReplyBreachedAt", "resolutionBreachedAt", "pausedAt")


@dataclass(frozen=True)
class Target:
    """One priority's targets in a policy, and the calendar they count in (None: 24x7)."""

    policy_id: str
    first_reply_minutes: int
    resolution_minutes: int
    business_hours_id: str | None = None


def parse(ts: str) -> datetime:
    return datetime.fromisoformat(ts.replace("Z", "+00:00")).astimezone(UTC)


def add(calendar: Calendar | None, start: datetime, minutes: float) -> str | None:
    """The instant (ISO) `minutes` business minutes after `start`; None when the calendar is not open that long
    within its horizon (3 years: a target of months in a calendar open an hour a week): that stage never falls due.
    """
    if calendar is None:
        return iso(start + timedelta(minutes=minutes))
    try:
        return iso(calendar.add_minutes(start, minutes))
    except ValueError:
        return None


def between(calendar: Calendar | None, start: datetime, end: datetime) -> float:
    if calendar is None:
        return max(0.0, (end - start).total_seconds() / 60)
    return calendar.minutes_between(start, end)


def _phase(status: str) -> str:
    return "paused" if status in PAUSING else "met" if status in MET else "running"


def _stopped_since(sla: dict[str, Any], ticket: dict[str, Any]) -> str | None:
    """When the resolution clock stopped, for a ticket whose clock is stopped now."""
    phase = _phase(ticket["status"])
    if phase == "paused":
        return sla.get("pausedAt")
    if phase == "met":
        return ticket.get("resolvedAt") or ticket.get("closedAt")
    return None


def _due_times(sla: dict[str, Any], created: datetime, calendar: Calendar | None) -> dict[str, Any]:
    """The due and warning instants of the targets the map holds, from creation (stopped minutes included)."""
    if not sla.get("policyId"):
        return {k: None for k in ("firstReplyDueAt", "firstReplyWarnAt", "resolutionDueAt", "resolutionWarnAt")}
    paused = int(sla.get("pausedMs") or 0) / 60_000
    first, resolution = int(sla["firstReplyMinutes"]), int(sla["resolutionMinutes"])
    return {
        "firstReplyDueAt": add(calendar, created, first),
        "firstReplyWarnAt": add(calendar, created, first * WARN_AT),
        "resolutionDueAt": add(calendar, created, resolution + paused),
        "resolutionWarnAt": add(calendar, created, resolution * WARN_AT + paused),
    }


def _open_stages(sla: dict[str, Any], ticket: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(instant, target, stage) of each stage the sweep may still act on."""
    if not sla.get("policyId"):
        return []
    phase = _phase(ticket["status"])
    stages = []
    is_open = {
        "firstReply": not ticket.get("firstRespondedAt") and phase != "met",
        "resolution": phase == "running",
    }
    for target in TARGETS:
        if not is_open[target] or sla.get(f"{target}BreachedAt"):
            continue
        if not sla.get(f"{target}WarnedAt") and sla.get(f"{target}WarnAt"):
            stages.append((sla[f"{target}WarnAt"], target, "warning"))
        if sla.get(f"{target}DueAt"):
            stages.append((sla[f"{target}DueAt"], target, "breach"))
    return stages


def with_next(sla: dict[str, Any], ticket: dict[str, Any]) -> dict[str, Any]:
    """The map with `nextAt`: the earliest open stage's instant (None: nothing for the sweep to do)."""
    stages = _open_stages(sla, ticket)
    return {**sla, "nextAt": min(s[0] for s in stages) if stages else None}


def advance(
    sla: dict[str, Any] | None,
    old: dict[str, Any] | None,
    new: dict[str, Any],
    target: Target | None,
    calendar: Calendar | None,
    at: str,
    *,
    rematch: bool,
) -> dict[str, Any] | None:
    """The `sla` map of the ticket `new` after a write at `at` (`old`: the ticket before it, None at creation).

    `rematch`: the policy was looked up again (creation, priority or group change) and `target` is its answer
    (None: no policy matches, or it has no target for the ticket's priority); otherwise `target` is ignored and
    the map's own targets stand. `calendar` is the calendar of the targets that will apply.
    """
    if sla is None and (not rematch or target is None):
        return None
    state: dict[str, Any] = dict(sla or {})
    moment = parse(at)
    # 1. The resolution clock: add the minutes it was stopped, if it starts again now (old calendar's minutes).
    old_phase = _phase(old["status"]) if old else "running"
    new_phase = _phase(new["status"])
    if old is not None and sla is not None and old_phase != "running" and new_phase != old_phase:
        since = _stopped_since(sla, old)
        if since:
            state["pausedMs"] = int(state.get("pausedMs") or 0) + round(
                between(calendar, parse(since), moment) * 60_000
            )
    state["pausedAt"] = (state.get("pausedAt") if old_phase == "paused" else at) if new_phase == "paused" else None
    # 2. The targets: re-applied from the matching policy, or kept.
    if rematch:
        if target is None:
            state |= {"policyId": None, "businessHoursId": None, "firstReplyMinutes": None, "resolutionMinutes": None}
        else:
            state |= {
                "policyId": target.policy_id,
                "businessHoursId": target.business_hours_id,
                "firstReplyMinutes": target.first_reply_minutes,
                "resolutionMinutes": target.resolution_minutes,
            }
    for fact in ("firstReplyBreachedAt", "resolutionBreachedAt", "firstReplyWarnedAt", "resolutionWarnedAt"):
        state.setdefault(fact, None)
    state.setdefault("pausedMs", 0)
    # 3. Due times, from creation: computed again only when the targets or the stopped minutes changed.
    if rematch or sla is None or state["pausedMs"] != sla.get("pausedMs"):
        state |= _due_times(state, parse(new["createdAt"]), calendar)
    return with_next(state, new)


def needs_calendar(sla: dict[str, Any] | None, old: dict[str, Any], new: dict[str, Any]) -> bool:
    """Whether advance() will count business minutes for this change (a clock starting again after a stop)."""
    old_phase, new_phase = _phase(old["status"]), _phase(new["status"])
    return sla is not None and old_phase != "running" and new_phase != old_phase


def due_facts(sla: dict[str, Any], ticket: dict[str, Any], now: datetime) -> list[tuple[str, str, str]]:
    """(target, stage, instant) of each open stage whose instant has come by `now`, in the order they fell due."""
    stamp = iso(now)
    return sorted(((t, s, i) for i, t, s in _open_stages(sla, ticket) if i <= stamp), key=lambda f: (f[2], f[1]))


def record(sla: dict[str, Any], ticket: dict[str, Any], facts: Iterable[tuple[str, str, str]]) -> dict[str, Any]:
    """The map with `facts` recorded: a warning as `<target>WarnedAt`, a breach as `<target>BreachedAt` (each the
    instant it fell due), and its next deadline moved on."""
    state = dict(sla)
    for target, stage, instant in facts:
        field = f"{target}WarnedAt" if stage == "warning" else f"{target}BreachedAt"
        if not state.get(field):
            state[field] = instant
    return with_next(state, ticket)


def new_facts(before: dict[str, Any] | None, after: dict[str, Any] | None) -> list[tuple[str, str]]:
    """(target, stage) of the facts `after` records that `before` did not: what a stream consumer turns into
    ticket.sla_warning / ticket.sla_breached events."""
    before, after = before or {}, after or {}
    out = []
    for target in TARGETS:
        for stage, field in (("warning", f"{target}WarnedAt"), ("breach", f"{target}BreachedAt")):
            if after.get(field) and not before.get(field):
                out.append((target, stage))
    return out


def matches(conditions: dict[str, Any], ticket: dict[str, Any]) -> bool:
    """Every condition given holds: the ticket's priority, groupId (absent: null) and channel are in its list."""
    for field in ("priority", "groupId", "channel"):
        wanted = conditions.get(field)
        if wanted is not None and ticket.get(field) not in wanted:
            return False
    return True


def choose(policies: Iterable[dict[str, Any]], ticket: dict[str, Any]) -> Target | None:
    """The targets of the first policy (in position order) whose conditions the ticket meets, for its priority.

    The first matching policy decides: if it has no target for the ticket's priority, the ticket has none."""
    for policy in policies:
        if matches(policy.get("conditions") or {}, ticket):
            target = (policy.get("targets") or {}).get(ticket["priority"])
            if target is None:
                return None
            return Target(
                policy["id"],
                int(target["firstReplyMinutes"]),
                int(target["resolutionMinutes"]),
                policy.get("businessHoursId"),
            )
    return None
