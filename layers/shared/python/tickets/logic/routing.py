"""Routing decisions: which agent takes a ticket, which waiting ticket an agent takes. Pure: no AWS, no clock.

Everything here decides over plain dicts (agents and tickets as stored) and returns a value; the code that acts on
the decision (logic/group_routing.py for a ticket being written, logic/waiting.py for the stream consumer) reads
what is needed, calls these, and writes with a guard that re-checks the decision inside the ticket's transaction.

- An agent is **eligible** for a ticket when it is available, below its capacity (`openTickets < capacity`; no
  capacity: no limit) and has every skill the ticket requires (case-insensitively).
- A **group** offers its tickets to its eligible members, and only while its business hours (if any) are open:
  `least_loaded` picks the fewest open tickets (ties: least recently assigned, then id), `round_robin` the least
  recently assigned (then id), `manual` nobody.
- **Without a group** (api-create's N1 rule): the available N1 agent with the fewest open tickets, ties to the least
  recently assigned; capacity and required skills bound it as they bound a group's routing.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from tickets.logic.calendar import Calendar

LEAST_LOADED, ROUND_ROBIN, MANUAL = "least_loaded", "round_robin", "manual"
FINISHED = frozenset({"resolved", "closed"})


def _open(agent: dict[str, Any]) -> int:
    return int(agent.get("openTickets") or 0)


def has_room(agent: dict[str, Any]) -> bool:
    capacity = agent.get("capacity")
    return capacity is None or _open(agent) < int(capacity)


def has_skills(agent: dict[str, Any], required: Iterable[str]) -> bool:
    held = {s.casefold() for s in agent.get("skills") or ()}
    return all(s.casefold() in held for s in required)


def eligible(agent: dict[str, Any], required: Iterable[str] = ()) -> bool:
    return bool(agent.get("available")) and has_room(agent) and has_skills(agent, required)


def open_now(calendar: Calendar | None, now: datetime) -> bool:
    """Whether a group with these business hours (None: none, always open) routes at `now`."""
    return calendar is None or calendar.is_open(now)


def _recency(agent: dict[str, Any]) -> str:
    return str(agent.get("lastAssignedAt") or "")  # never assigned sorts first


def choose_agent(
    routing: str,
    agents: Iterable[dict[str, Any]],
    required: Iterable[str] = (),
    *,
    now: datetime,
    calendar: Calendar | None = None,
    exclude: Iterable[str] = (),
) -> dict[str, Any] | None:
    """The group member a ticket goes to, or None (it waits): `agents` are the group's members as stored."""
    if routing == MANUAL or not open_now(calendar, now):
        return None
    needed, left_out = list(required), set(exclude)
    candidates = [a for a in agents if a["id"] not in left_out and eligible(a, needed)]
    if not candidates:
        return None
    if routing == ROUND_ROBIN:
        return min(candidates, key=lambda a: (_recency(a), a["id"]))
    return min(candidates, key=lambda a: (_open(a), _recency(a), a["id"]))


def choose_n1(agents: Iterable[dict[str, Any]], required: Iterable[str] = ()) -> dict[str, Any] | None:
    """api-create without a group: the available N1 agent with the fewest open tickets, ties to whoever was assigned
    least recently (then id); capacity and required skills respected."""
    needed = list(required)
    candidates = [a for a in agents if a.get("level") == "N1" and eligible(a, needed)]
    if not candidates:
        return None
    return min(candidates, key=lambda a: (_open(a), _recency(a), a["id"]))


def choose_waiting(
    agent: dict[str, Any], queues: dict[str, list[dict[str, Any]]], skip: Iterable[str] = ()
) -> tuple[str, dict[str, Any]] | None:
    """The waiting ticket a freed agent takes: (group id, entry) of the first entry, across its groups' queues,
    that it has the skills for, most urgent first, then oldest. `queues`: group id -> waiting entries
    `{id, sort, requiredSkills}` in queue order (only groups that route now); `skip`: ticket ids not to offer."""
    left_out = set(skip)
    best: tuple[str, dict[str, Any]] | None = None
    for group_id, entries in queues.items():
        for entry in entries:
            if entry["id"] in left_out or not has_skills(agent, entry.get("requiredSkills") or ()):
                continue
            if best is None or entry["sort"] < best[1]["sort"]:
                best = (group_id, entry)
            break  # a queue is in order: its first match is its best
    return best


def may_take_more(old: dict[str, Any], new: dict[str, Any]) -> bool:
    """Whether an agent's own change can give it waiting tickets: it became available, its capacity was raised (or
    removed), it gained a skill or joined a group, while available."""
    if not new.get("available"):
        return False
    if not old.get("available"):
        return True
    before, after = old.get("capacity"), new.get("capacity")
    if before is not None and (after is None or int(after) > int(before)):
        return True
    if {s.casefold() for s in new.get("skills") or ()} - {s.casefold() for s in old.get("skills") or ()}:
        return True
    return bool(set(new.get("groupIds") or ()) - set(old.get("groupIds") or ()))


def free_slots(agent: dict[str, Any], limit: int) -> int:
    """How many more tickets routing may give the agent now, at most `limit` (no capacity: `limit`)."""
    if not agent.get("available"):
        return 0
    capacity = agent.get("capacity")
    if capacity is None:
        return limit
    return max(0, min(limit, int(capacity) - _open(agent)))


def assignment(ticket: dict[str, Any], agent: dict[str, Any]) -> dict[str, Any]:
    """The fields that give `ticket` to `agent`: assignee and its snapshot; a `new` ticket becomes `open`."""
    fields: dict[str, Any] = {
        "assigneeId": agent["id"],
        "assignee": {"id": agent["id"], "name": agent.get("name"), "email": agent.get("email")},
    }
    if ticket.get("status", "new") == "new":
        fields["status"] = "open"
    return fields


def routes_on_write(old: dict[str, Any] | None, new: dict[str, Any]) -> bool:
    """Whether writing `new` (over `old`, None for a create) routes it now: it gets a group it did not have, and is
    unassigned and unfinished. A client that names an assignee, or a ticket already in the group, is left alone."""
    group = new.get("groupId")
    return (
        bool(group)
        and group != (old or {}).get("groupId")
        and not new.get("assigneeId")
        and new.get("status") not in FINISHED
    )
