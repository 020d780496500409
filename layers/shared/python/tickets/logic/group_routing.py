"""Routing a ticket while it is written: the choice (logic/routing.py) made from fresh reads, then written with a
guard that re-checks it inside the ticket's own transaction (dal/tickets.AssignGuard), and made again when another
request changed the chosen agent first. So racing requests split fairly and no agent ever goes past its capacity.

Which writes route (when the tenant's `autoAssign` is on, the default; off, none of this happens):
- POST /v1/tickets/api-create: by its group if it names one, else by the N1 rule (as before groups);
- POST /v1/tickets with a groupId and no assigneeId;
- a PATCH (or a batch `set_group`) that gives an unassigned, unfinished ticket a group it did not have.
A ticket its group cannot place (manual routing, hours closed, nobody eligible) waits unassigned in the group's
queue; logic/waiting.py assigns it when an agent frees capacity or becomes able to take it.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger

from tickets.dal import agents as agents_dal
from tickets.dal import groups as groups_dal
from tickets.dal import routing as routing_dal
from tickets.dal import tenants as tenants_dal
from tickets.dal import tickets as tickets_dal
from tickets.dal.tickets import AssignGuard
from tickets.errors import ServiceUnavailable
from tickets.logic import routing
from tickets.logic.calendar import Calendar
from tickets.timeutil import now

logger = Logger()

ROUTING_RETRIES = 25  # as many choices as racing requests may force; each re-reads the agents

Choice = tuple[dict[str, Any], AssignGuard] | None
Assigner = Callable[[dict[str, Any]], Choice]


def calendar_of(tenant_id: str, group: dict[str, Any]) -> Calendar | None:
    """The group's business hours as a calendar; None when it has none. Hours that are gone or unreadable do not
    stop routing (logged): the group routes as if it had none."""
    hours_id = group.get("businessHoursId")
    if not hours_id:
        return None
    hours = groups_dal.business_hours(tenant_id, hours_id)
    try:
        if hours is None:
            raise ValueError("not found")
        return Calendar.of(str(hours["timeZone"]), hours.get("weekly") or [], hours.get("holidays") or [])
    except (KeyError, ValueError) as exc:
        logger.warning("group business hours unusable; routing as if always open",
                       extra={"group": group.get("id"), "businessHoursId": hours_id, "reason": str(exc)})  # fmt: skip
        return None


def guard_for(group: dict[str, Any], agent: dict[str, Any]) -> AssignGuard:
    return AssignGuard(
        agent["id"],
        int(agent.get("openTickets") or 0),
        group_id=group["id"],
        round_robin=group.get("routing") == routing.ROUND_ROBIN,
        last_assigned_at=agent.get("lastAssignedAt"),
    )


def choose_in_group(
    tenant_id: str,
    group: dict[str, Any],
    ticket: dict[str, Any],
    calendar: Calendar | None,
    exclude: tuple[str, ...] = (),
) -> Choice:
    """The fields that route `ticket` to a member of `group`, read now, with their guard; None: it waits."""
    if group.get("routing") == routing.MANUAL or not routing.open_now(calendar, now()):
        return None  # no read of the members needed
    members = routing_dal.agents(tenant_id, list(group.get("agentIds") or []))
    agent = routing.choose_agent(
        str(group.get("routing")),
        members,
        ticket.get("requiredSkills") or (),
        now=now(),
        calendar=calendar,
        exclude=exclude,
    )
    if agent is None:
        return None
    return routing.assignment(ticket, agent), guard_for(group, agent)


def _auto(tenant: dict[str, Any] | None) -> bool:
    return bool(tenant) and (tenant or {}).get("autoAssign") is not False


def group_assigner(tenant_id: str, group: dict[str, Any], ticket: dict[str, Any]) -> Assigner:
    """insert_ticket's `assign` for a new ticket with a group (called with the tenant, once per attempt)."""
    calendar: list[Calendar | None] = []

    def assign(tenant: dict[str, Any]) -> Choice:
        if not _auto(tenant):
            return None
        if not calendar:
            calendar.append(calendar_of(tenant_id, group))
        return choose_in_group(tenant_id, group, ticket, calendar[0])

    return assign


def n1_assigner(tenant_id: str, ticket: dict[str, Any]) -> Assigner:
    """insert_ticket's `assign` for api-create without a group: the N1 rule, over every agent of the tenant."""

    def assign(tenant: dict[str, Any]) -> Choice:
        if not _auto(tenant):
            return None
        agent = routing.choose_n1(agents_dal.list_all(tenant_id), ticket.get("requiredSkills") or ())
        if agent is None:
            return None
        return routing.assignment(ticket, agent), AssignGuard(agent["id"], int(agent.get("openTickets") or 0), "N1")

    return assign


def jitter(attempt: int) -> None:
    time.sleep(random.uniform(0, 0.005 * (attempt + 1)))


def write_routed(tenant_id: str, old: dict[str, Any], new: dict[str, Any], actor: str | None) -> dict[str, Any]:
    """Write `new` over `old` (a PATCH or batch that gives the ticket a group), routed to a member of the group
    if one can take it. Raises what dal.tickets.replace raises (VersionConflict: the caller reads again)."""
    tenant = tenants_dal.get_tenant(tenant_id)
    group = groups_dal.get(tenant_id, new["groupId"])
    if not _auto(tenant) or group is None:  # a missing group: the write's own check answers INVALID_GROUP
        tickets_dal.replace(tenant_id, old, new, actor)
        return new
    calendar = calendar_of(tenant_id, group)
    for attempt in range(ROUTING_RETRIES):
        choice = choose_in_group(tenant_id, group, new, calendar)
        if choice is None:
            tickets_dal.replace(tenant_id, old, new, actor)
            return new
        fields, guard = choice
        routed = {**new, **fields}
        try:
            tickets_dal.replace(tenant_id, old, routed, actor, guard=guard)
        except tickets_dal.AssignmentRaced:
            jitter(attempt)
            continue
        return routed
    raise ServiceUnavailable("agents are being assigned too fast; retry")
