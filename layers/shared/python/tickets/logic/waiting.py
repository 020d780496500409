"""Waiting tickets: the consumer that assigns a group's queued tickets when someone can take them.

A ticket with a group that nobody could take waits unassigned in its group's queue (the sparse index GSI5: most
urgent first, then oldest). The table's stream tells this consumer (its FilterCriteria in template.yaml keep to the
writes marked `routingChanged`, ticket deletions that free a slot, and group changes) when that may have changed:

- **a slot freed**: a ticket of agent A was resolved, closed, deleted, unassigned or reassigned away. A gets the
  first waiting ticket of its groups that it can take (one per freed slot; never the very ticket it let go);
- **an agent able to take more**: A became available, its capacity was raised or removed, it gained a skill or
  joined a group. A gets waiting tickets of its groups until it is full (at most FILL_LIMIT for one change);
- **a group routing again**: its routing left `manual` or its business hours changed. Its queue is drained in
  order, each ticket routed by the group's own method (so least_loaded and round_robin still share it out);
- **a ticket newly waiting** (created in a group nobody could take, moved to a group, unassigned, reopened): it is
  routed by its group's rules, to anyone but the agent who just let it go.

A group whose business hours are closed routes nothing; where it has waiting tickets, a reopen item remembers
when its hours open next (dal/routing.mark_reopen), and the function's schedule (every minute: `reopen_due`)
drains the queue of every group whose opening has come, whatever the tenant.

"Can take" is routing's own rule (logic/routing.py): available, under capacity, every required skill, the group's
business hours open now, the group not `manual`; and the tenant's `autoAssign` on. Each assignment is the ticket's
own guarded transaction (dal/tickets.AssignGuard: the agent's load as read, availability, capacity and membership
re-checked), so it can race API requests and other slots and never exceed a capacity.

Idempotent under stream re-runs: what a trigger may assign is counted in the same transaction as each assignment
(`ROUTED#<trigger>`, dal/routing.trigger_step), the trigger named after the write that caused it (a ticket's id and
version, an agent's change), so a re-run record continues where the first run stopped and never assigns twice; a
ticket routed by its group's rules (a newly waiting one, a drained queue) is re-read consistently first and is
simply no longer waiting the second time. The decisions are in logic/routing.py (pure); this module reads, decides
and writes.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import Enum
from typing import Any

from aws_lambda_powertools import Logger

from tickets.dal import agents as agents_dal
from tickets.dal import groups as groups_dal
from tickets.dal import keys
from tickets.dal import routing as routing_dal
from tickets.dal import tenants as tenants_dal
from tickets.dal import tickets as tickets_dal
from tickets.dal.client import deserialize
from tickets.dal.tickets import AssignGuard
from tickets.logic import group_routing, routing
from tickets.logic.calendar import Calendar
from tickets.logic.tickets import next_state, shape
from tickets.timeutil import iso, now

logger = Logger()

ACTOR = "routing"  # who history and events name for an assignment this consumer makes
FILL_LIMIT = 50  # the most waiting tickets one change of an agent (or group) assigns to one agent
PEEK = 25  # waiting tickets read per Query of a queue
MAX_PEEKS = 8  # pages of a queue looked through for a ticket the agent has the skills for (200 tickets)
DRAIN_LIMIT = 200  # waiting tickets one drain of a queue looks at; the rest are left to the next scheduled run
REOPEN_PAGE = 50  # reopen items read per Query by the scheduled run
MAX_REOPENS = 500  # reopen items one scheduled run handles (the rest: the next minute)
RETRY_REOPEN_AFTER = timedelta(minutes=5)  # a group whose drain failed is tried again after this


@dataclass(frozen=True)
class Offer:
    """Give `agent_id` up to `limit` waiting tickets of its groups (never those in `skip`)."""

    agent_id: str
    trigger: str
    limit: int
    skip: tuple[str, ...] = ()


@dataclass(frozen=True)
class Route:
    """Route the newly waiting ticket by its group's rules (to anyone but `exclude`)."""

    ticket_id: str
    exclude: tuple[str, ...] = ()


@dataclass
class Work:
    tenant_id: str
    routes: list[Route] = field(default_factory=list)
    offers: list[Offer] = field(default_factory=list)
    drains: list[str] = field(default_factory=list)  # groups whose queues to drain by their own routing


def _image(raw: dict[str, Any] | None) -> dict[str, Any] | None:
    return deserialize(raw) if raw else None


def work_of(record: dict[str, Any]) -> Work | None:
    """What one stream record asks of routing (None: nothing). Pure."""
    change = record.get("dynamodb") or {}
    new, old = _image(change.get("NewImage")), _image(change.get("OldImage"))
    item = new or old or {}
    work = Work(str(item.get("tenantId") or ""))
    kind = item.get("type")
    if kind == "ticket":
        _ticket_work(work, old, new)
    elif kind == "agent" and old and new and routing.may_take_more(old, new):
        work.offers.append(Offer(new["id"], f"agent#{new['id']}#{_digest(new)}", FILL_LIMIT))
    elif kind == "group" and old and new:
        reopened = old.get("routing") != new.get("routing") or old.get("businessHoursId") != new.get("businessHoursId")
        if reopened and new.get("routing") != routing.MANUAL:
            work.drains.append(str(new["id"]))
    return work if work.tenant_id and (work.routes or work.offers or work.drains) else None


def _digest(agent: dict[str, Any]) -> str:
    """An agent change's name: its time and what routing reads of it (two changes in one millisecond differ)."""
    seen = [agent.get("updatedAt"), agent.get("available"), agent.get("capacity"),
            sorted(agent.get("skills") or []), sorted(agent.get("groupIds") or [])]  # fmt: skip
    return f"{agent.get('updatedAt')}#{hashlib.sha256(json.dumps(seen).encode()).hexdigest()[:12]}"


def _ticket_work(work: Work, old: dict[str, Any] | None, new: dict[str, Any] | None) -> None:
    ticket_id = str((new or old or {}).get("id"))
    freed = tickets_dal.open_assignee(old)
    if freed and freed != tickets_dal.open_assignee(new):
        write = str(new["version"]) if new else f"{(old or {}).get('version')}-deleted"
        work.offers.append(Offer(freed, f"ticket#{ticket_id}#{write}", 1, skip=(ticket_id,)))
    if new and keys.waits(new) and (not keys.waits(old) or (old or {}).get("groupId") != new.get("groupId")):
        let_go = (old or {}).get("assigneeId")
        work.routes.append(Route(ticket_id, (let_go,) if let_go and not new.get("assigneeId") else ()))


# ------------------------------------------------------------------------------------------------ acting


@dataclass
class _Batch:
    """What one invocation reads once: tenants' autoAssign, groups' calendars."""

    tenants: dict[str, bool] = field(default_factory=dict)
    calendars: dict[tuple[str, str], Calendar | None] = field(default_factory=dict)
    marked: set[tuple[str, str, str]] = field(default_factory=set)  # reopen items written by this invocation

    def auto_assign(self, tenant_id: str) -> bool:
        if tenant_id not in self.tenants:
            tenant = tenants_dal.get_tenant(tenant_id)
            self.tenants[tenant_id] = bool(tenant) and (tenant or {}).get("autoAssign") is not False
        return self.tenants[tenant_id]

    def calendar(self, tenant_id: str, group: dict[str, Any]) -> Calendar | None:
        key = (tenant_id, f"{group['id']}#{group.get('businessHoursId')}")
        if key not in self.calendars:
            self.calendars[key] = group_routing.calendar_of(tenant_id, group)
        return self.calendars[key]


def on_record(record: dict[str, Any], batch_state: dict[str, Any]) -> None:
    """The consumer's record handler (functions/route_waiting_tickets)."""
    work = work_of(record)
    if work is None:
        return
    batch = batch_state.setdefault("routing", _Batch())
    if not batch.auto_assign(work.tenant_id):
        return
    for route in work.routes:
        route_waiting(work.tenant_id, route, batch)
    for offer in work.offers:
        fill(work.tenant_id, offer, batch)
    for group_id in work.drains:
        if not drain(work.tenant_id, group_id, batch):
            _mark(work.tenant_id, group_id, now() + timedelta(minutes=1), batch)  # the schedule goes on with it


def _assign(
    tenant_id: str, ticket: dict[str, Any], agent: dict[str, Any], guard: AssignGuard, extra: tuple[Any, ...] = ()
) -> dict[str, Any]:
    """Write `ticket` assigned to `agent` (raises what dal.tickets.replace raises)."""
    old = shape(ticket)
    fields = routing.assignment(old, agent)
    changes = {k: v for k, v in fields.items() if k != "assignee"}
    new = next_state(tenant_id, old, changes, {"assignee": fields["assignee"]})
    tickets_dal.replace(tenant_id, old, new, ACTOR, guard=guard, extra=extra)
    logger.info("waiting ticket assigned", extra={"tenant": tenant_id, "ticket": new["id"], "agent": agent["id"]})
    return new


def _mark(tenant_id: str, group_id: str, at: datetime, batch: _Batch) -> None:
    """Have the scheduled run drain the group's queue at `at` (a datetime), once per invocation and opening."""
    opens_at = iso(at)
    if (tenant_id, group_id, opens_at) not in batch.marked:
        routing_dal.mark_reopen(opens_at, int(at.timestamp()), tenant_id, group_id)
        batch.marked.add((tenant_id, group_id, opens_at))


def _closed(tenant_id: str, group: dict[str, Any], batch: _Batch, *, if_waiting: bool = False) -> bool:
    """Whether the group's business hours are closed now; if so, its queue is drained when they next open
    (`if_waiting`: only if it has waiting tickets now, which the caller does not know)."""
    calendar = batch.calendar(tenant_id, group)
    if routing.open_now(calendar, now()):
        return False
    assert calendar is not None
    if if_waiting and not routing_dal.waiting(tenant_id, group["id"], limit=1):
        return True
    try:
        _mark(tenant_id, group["id"], calendar.next_open(now()), batch)
    except ValueError:  # never open again within the calendar's horizon: nothing to wait for
        logger.warning("group business hours never open", extra={"tenant": tenant_id, "group": group["id"]})
    return True


class Outcome(Enum):
    ASSIGNED = "assigned"
    GONE = "gone"  # no longer waiting (assigned, finished, moved or deleted meanwhile)
    NOBODY = "nobody"  # nobody in its group can take this ticket now (skills), though someone could take another
    FULL = "full"  # nobody in its group can take any ticket now (manual, closed, all unavailable or full)


def route_waiting(tenant_id: str, route: Route, batch: _Batch, group_id: str | None = None) -> Outcome:
    """Route one waiting ticket by its group's rules (`group_id`: only while it still waits in that group)."""
    for attempt in range(group_routing.ROUTING_RETRIES):
        ticket = tickets_dal.get(tenant_id, route.ticket_id)
        if not keys.waits(ticket) or (group_id and (ticket or {}).get("groupId") != group_id):
            return Outcome.GONE  # assigned, finished or deleted meanwhile (or by an earlier run of this record)
        assert ticket is not None
        group = groups_dal.get(tenant_id, ticket["groupId"])
        if group is None or group.get("routing") == routing.MANUAL or _closed(tenant_id, group, batch):
            return Outcome.FULL
        members = routing_dal.agents(tenant_id, list(group.get("agentIds") or []))
        agent = routing.choose_agent(
            str(group.get("routing")), members, ticket.get("requiredSkills") or (), now=now(), exclude=route.exclude
        )
        if agent is None:
            return Outcome.NOBODY if any(routing.eligible(m) for m in members) else Outcome.FULL
        try:
            _assign(tenant_id, ticket, agent, group_routing.guard_for(group, agent))
        except (tickets_dal.AssignmentRaced, tickets_dal.VersionConflict):
            group_routing.jitter(attempt)
            continue
        return Outcome.ASSIGNED
    return Outcome.NOBODY  # lost every race: the agents who won them will free slots in turn


def drain(tenant_id: str, group_id: str, batch: _Batch) -> bool:
    """Route the group's waiting tickets in queue order by the group's own method, until nobody in it can take
    more; False if DRAIN_LIMIT tickets were looked at and there may be more to do."""
    looked, after = 0, None
    while looked < DRAIN_LIMIT:
        entries = routing_dal.waiting(tenant_id, group_id, limit=PEEK, after=after)
        for entry in entries:
            looked += 1
            if route_waiting(tenant_id, Route(entry["id"]), batch, group_id) is Outcome.FULL:
                return True  # freed slots and agents' changes take it from here
        if len(entries) < PEEK:
            return True
        after = entries[-1]["sort"]
    return False


def reopen_due(event: dict[str, Any]) -> dict[str, int]:
    """The scheduled run (every minute): drain the queue of every group whose business hours have opened since
    it was marked, every tenant. A run that fails midway leaves the rest of its items for the next one, and what
    it did is not done twice (a drained ticket no longer waits)."""
    upto = iso(now())  # the schedule's own time is ignored: a late run catches up to now
    done = drained = 0
    batch = _Batch()
    while done < MAX_REOPENS:
        due = routing_dal.due_reopens(upto, limit=min(REOPEN_PAGE, MAX_REOPENS - done))
        for opens_at, tenant_id, group_id in due:
            try:
                if batch.auto_assign(tenant_id):
                    if not drain(tenant_id, group_id, batch):
                        _mark(tenant_id, group_id, now() + timedelta(minutes=1), batch)
                    drained += 1
            except Exception:  # one group's failure must not hold up the others: it is tried again later
                logger.exception("reopen failed", extra={"tenant": tenant_id, "group": group_id})
                _mark(tenant_id, group_id, now() + RETRY_REOPEN_AFTER, batch)
            routing_dal.clear_reopen(opens_at, tenant_id, group_id)
            done += 1
        if len(due) < REOPEN_PAGE:
            break
    return {"reopened": done, "drained": drained}


def _head(tenant_id: str, group_id: str, agent: dict[str, Any], skip: set[str]) -> dict[str, Any] | None:
    """The first ticket of a group's queue the agent can take (by skills), looking through MAX_PEEKS pages."""
    after = None
    for _ in range(MAX_PEEKS):
        entries = routing_dal.waiting(tenant_id, group_id, limit=PEEK, after=after)
        pick = routing.choose_waiting(agent, {group_id: entries}, skip)
        if pick is not None:
            return pick[1]
        if len(entries) < PEEK:
            return None
        after = entries[-1]["sort"]
    return None


def next_for(tenant_id: str, agent: dict[str, Any], batch: _Batch, skip: set[str]) -> tuple[str, str] | None:
    """(group id, ticket id) of the waiting ticket the agent takes next: most urgent, then oldest, across the
    queues of its groups that route now."""
    heads: dict[str, list[dict[str, Any]]] = {}
    for group in routing_dal.groups(tenant_id, sorted(agent.get("groupIds") or [])):
        if group.get("routing") == routing.MANUAL or _closed(tenant_id, group, batch, if_waiting=True):
            continue
        if head := _head(tenant_id, group["id"], agent, skip):
            heads[group["id"]] = [head]
    pick = routing.choose_waiting(agent, heads, skip)
    return (pick[0], pick[1]["id"]) if pick else None


def fill(tenant_id: str, offer: Offer, batch: _Batch) -> int:
    """Assign the agent up to `offer.limit` waiting tickets of its groups while it can take them; how many now."""
    done = routing_dal.trigger_count(tenant_id, offer.trigger) if offer.limit > 1 else 0
    skip, assigned = set(offer.skip), 0
    for attempt in range(offer.limit + group_routing.ROUTING_RETRIES):
        if done >= offer.limit:
            break
        agent = agents_dal.get(tenant_id, offer.agent_id)
        if agent is None or not routing.eligible(agent):
            break  # gone, unavailable or full
        found = next_for(tenant_id, agent, batch, skip)
        if found is None:
            break
        group_id, ticket_id = found
        ticket = tickets_dal.get(tenant_id, ticket_id)
        if not keys.waits(ticket) or (ticket or {}).get("groupId") != group_id:
            skip.add(ticket_id)  # the index lags the table: it was assigned, moved or finished meanwhile
            continue
        assert ticket is not None
        if not routing.has_skills(agent, ticket.get("requiredSkills") or ()):
            skip.add(ticket_id)
            continue
        guard = AssignGuard(agent["id"], int(agent.get("openTickets") or 0), group_id=group_id)
        try:
            _assign(tenant_id, ticket, agent, guard, (routing_dal.trigger_step(tenant_id, offer.trigger, done),))
        except routing_dal.TriggerSpent:
            break  # an earlier run of this record did it
        except (tickets_dal.AssignmentRaced, tickets_dal.VersionConflict):
            group_routing.jitter(attempt)
            continue
        done += 1
        assigned += 1
    return assigned
