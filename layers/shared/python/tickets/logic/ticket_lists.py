"""Ticket lists: one planner and one executor for GET /v1/tickets, views (logic/views.py) and solve-unfinished.

A list is first described as a `Filter` (what must hold of a ticket) and a sort. The planner reads the counters the
filter's dimensions have (dal/counters.py: status x priority, per assignee, per customer), lists the Query shapes that
could drive it, estimates the items each would read for one page from those counts, and takes the cheapest:

- the tenant's tickets (base table, `TICKET#<ulid>`), one Query;
- GSI1 (status x priority): the partitions the filter's statuses and priorities span, merged on the ULID;
- GSI3 (assignee x status, `UNASSIGNED` for none): the partitions of the filter's assignees and statuses, merged;
- GSI2 (customer): the partitions of the filter's customers, merged;
- sorts on updatedAt read GSI4 (its only order), sorts on dueAt the DUE index (unfinished tickets that have a due
  time, by it: "overdue" is `sort=dueAt&dueBefore=<now>`, one Query).

Partitions that the counters say are empty are not read at all. Whatever the Query does not guarantee is checked in
Python (the predicate), and the page is bounded by logic/paging.py's budget. `total` comes from the counters when
the filter uses only dimensions one counter family covers (and no other condition): `totalExact: true`; otherwise
it is the number of matches seen, a lower bound.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from tickets import ids
from tickets.dal import counters as counters_dal
from tickets.dal import keys
from tickets.errors import ValidationFailed
from tickets.logic import cursor as cursors
from tickets.logic import paging
from tickets.models.common import PageQuery
from tickets.models.tickets import Priority, Status, TicketListQuery

STATUSES = tuple(s.value for s in Status)
PRIORITIES = tuple(p.value for p in Priority)
UNASSIGNED = None  # the "no assignee" member of Filter.assignees
CALL_COST = 10  # a Query call, weighed in items read: what the planner trades a merge's extra calls against
MAX_MERGE_KEYS = 10  # most assignees or customers a filter is planned over (as a merge of their partitions)

Check = Callable[[dict[str, Any]], bool]


@dataclass(frozen=True)
class Filter:
    """What a listed ticket must satisfy. A set is the values allowed (None: any); ranges are [from, to) ISO times."""

    statuses: frozenset[str] | None = None
    priorities: frozenset[str] | None = None
    assignees: frozenset[str | None] | None = None  # agent ids; UNASSIGNED (None) for "no assignee"
    customers: frozenset[str] | None = None
    groups: frozenset[str | None] | None = None  # group ids; None for "no group"
    created: tuple[str | None, str | None] = (None, None)
    updated: tuple[str | None, str | None] = (None, None)
    due: tuple[str | None, str | None] = (None, None)
    checks: tuple[Check, ...] = field(default=(), compare=False)  # every other condition
    sort: str = "-createdAt"

    def narrow(self, **sets: Iterable[Any]) -> Filter:
        """This filter with each named set intersected with `values` (an empty result matches nothing)."""
        changes: dict[str, Any] = {}
        for name, values in sets.items():
            current = getattr(self, name)
            new = frozenset(values)
            changes[name] = new if current is None else current & new
        return replace(self, **changes)

    def within(self, name: str, low: str | None, high: str | None) -> Filter:
        """This filter with the range `name` ("created", "updated" or "due") narrowed to [low, high)."""
        lo, hi = getattr(self, name)
        lo = low if lo is None else (lo if low is None else max(lo, low))
        hi = high if hi is None else (hi if high is None else min(hi, high))
        if name == "created":
            return replace(self, created=(lo, hi))
        return replace(self, updated=(lo, hi)) if name == "updated" else replace(self, due=(lo, hi))

    def check(self, *checks: Check) -> Filter:
        return replace(self, checks=(*self.checks, *checks))

    @property
    def empty(self) -> bool:
        sets = (self.statuses, self.priorities, self.assignees, self.customers, self.groups)
        ranges = (self.created, self.updated, self.due)
        return any(s is not None and not s for s in sets) or any(lo and hi and lo >= hi for lo, hi in ranges)


# ---------------------------------------------------------------- predicate


def predicate(f: Filter, done: frozenset[str] = frozenset()) -> paging.Predicate:
    """What the filter asks that the plan's Queries do not guarantee (`done`: Plan.guarantees), as one check of a
    stored ticket (None: all of it is guaranteed, and a page reads exactly the rows it returns plus one)."""
    parts: list[Check] = []
    if f.statuses is not None and "statuses" not in done:
        statuses = f.statuses
        parts.append(lambda t: t["status"] in statuses)
    if f.priorities is not None and "priorities" not in done:
        priorities = f.priorities
        parts.append(lambda t: t["priority"] in priorities)
    if f.assignees is not None and "assignees" not in done:
        assignees = f.assignees
        parts.append(lambda t: (t.get("assigneeId") or None) in assignees)
    if f.customers is not None and "customers" not in done:
        customers = f.customers
        parts.append(lambda t: t.get("customerId") in customers)
    if f.groups is not None and "groups" not in done:
        groups = f.groups
        parts.append(lambda t: (t.get("groupId") or None) in groups)
    ranges = ((f.created, "created", "createdAt"), (f.updated, "updated", "updatedAt"), (f.due, "due", "dueAt"))
    for (lo, hi), name, attr in ranges:
        if lo is not None and name not in done:
            parts.append(_at_or_after(attr, lo))
        if hi is not None and name not in done:
            parts.append(_before(attr, hi))
    parts.extend(f.checks)
    if not parts:
        return None
    return lambda t: all(part(t) for part in parts)


def _at_or_after(attr: str, at: str) -> Check:
    return lambda t: bool(t.get(attr)) and t[attr] >= at


def _before(attr: str, at: str) -> Check:
    return lambda t: bool(t.get(attr)) and t[attr] < at


# ---------------------------------------------------------------- counters


@dataclass
class Counts:
    """The counter items a filter needs, read in one call."""

    tickets: dict[str, int]
    by_assignee: dict[str, dict[str, int]]
    by_customer: dict[str, dict[str, int]]
    by_group: dict[str, dict[str, int]] = field(default_factory=dict)
    # False for a tenant whose counter items predate them (made before `tenant reindex` ran): nothing is pruned or
    # estimated from them, and no total is exact.
    known: bool = True

    def status_priority(self, status: str, priority: str) -> int:
        return self.tickets.get(keys.status_priority_attr(status, priority), 0)

    def status(self, status: str) -> int:
        return sum(self.status_priority(status, p) for p in PRIORITIES)

    def assignee(self, agent_id: str | None, status: str) -> int:
        if agent_id is None:
            return max(0, self.status(status) - self.tickets.get(keys.assigned_attr(status), 0))
        return self.by_assignee.get(agent_id, {}).get(keys.status_count_attr(status), 0)

    def customer(self, customer_id: str, status: str) -> int:
        return self.by_customer.get(customer_id, {}).get(keys.status_count_attr(status), 0)

    def group(self, group_id: str | None, status: str) -> int:
        if group_id is None:
            return max(0, self.status(status) - self.tickets.get(keys.grouped_attr(status), 0))
        return self.by_group.get(group_id, {}).get(keys.status_count_attr(status), 0)

    def group_unassigned(self, group_id: str | None, status: str) -> int | None:
        """A group's unassigned tickets of a status; for no group, not counted (None)."""
        if group_id is None:
            return None
        return self.by_group.get(group_id, {}).get(keys.unassigned_attr(status), 0)


def read_counts(tenant_id: str, f: Filter) -> Counts:
    wanted = {"tickets": keys.ticket_counts(tenant_id)}
    agents = [a for a in f.assignees or () if a is not None][:MAX_MERGE_KEYS]
    for a in agents:
        wanted[f"a:{a}"] = keys.assignee_counts(tenant_id, a)
    for c in sorted(f.customers or ())[:MAX_MERGE_KEYS]:
        wanted[f"c:{c}"] = keys.customer_counts(tenant_id, c)
    for g in sorted(g for g in f.groups or () if g is not None)[:MAX_MERGE_KEYS]:
        wanted[f"g:{g}"] = keys.group_counts(tenant_id, g)
    found = counters_dal.read(tenant_id, wanted)
    return Counts(
        found["tickets"],
        {name[2:]: v for name, v in found.items() if name.startswith("a:")},
        {name[2:]: v for name, v in found.items() if name.startswith("c:")},
        {name[2:]: v for name, v in found.items() if name.startswith("g:")},
        known=keys.COUNTERS_SINCE in found["tickets"],
    )


def _statuses(f: Filter) -> list[str]:
    return [s for s in STATUSES if f.statuses is None or s in f.statuses]


def _priorities(f: Filter) -> list[str]:
    return [p for p in PRIORITIES if f.priorities is None or p in f.priorities]


def _counted(f: Filter, c: Counts) -> list[int]:
    """Counts of tickets that satisfy part of the filter, one per counter family that applies (each is an upper
    bound of the matches; the smallest is the planner's estimate)."""
    statuses, priorities = _statuses(f), _priorities(f)
    out = [sum(c.status_priority(s, p) for s in statuses for p in priorities)]
    if f.assignees is not None and len(f.assignees) <= MAX_MERGE_KEYS:
        out.append(sum(c.assignee(a, s) for a in f.assignees for s in statuses))
    if f.customers is not None and len(f.customers) <= MAX_MERGE_KEYS:
        out.append(sum(c.customer(cu, s) for cu in f.customers for s in statuses))
    if f.groups is not None and len(f.groups) <= MAX_MERGE_KEYS:
        out.append(sum(c.group(g, s) for g in f.groups for s in statuses))
        unassigned = [c.group_unassigned(g, s) for g in f.groups for s in statuses]
        if f.assignees == frozenset({UNASSIGNED}) and None not in unassigned:
            out.append(sum(n or 0 for n in unassigned))
    return out


def exact_total(f: Filter, c: Counts) -> int | None:
    """The number of matches when one counter family covers every condition of the filter, else None."""
    if not c.known or f.checks or any(r != (None, None) for r in (f.created, f.updated, f.due)):
        return None
    if f.sort.endswith("dueAt"):  # only the unfinished tickets that have a due time, which nothing counts
        return None
    statuses = _statuses(f)
    named = {n for n in ("assignees", "customers", "groups") if getattr(f, n) is not None}
    if not named:
        return sum(c.status_priority(s, p) for s in statuses for p in _priorities(f))
    if f.priorities is not None or any(len(getattr(f, n)) > MAX_MERGE_KEYS for n in named):
        return None
    if named == {"assignees"} and f.assignees is not None:
        return sum(c.assignee(a, s) for a in f.assignees for s in statuses)
    if named == {"customers"} and f.customers is not None:
        return sum(c.customer(cu, s) for cu in f.customers for s in statuses)
    if named == {"groups"} and f.groups is not None:
        return sum(c.group(g, s) for g in f.groups for s in statuses)
    if named == {"groups", "assignees"} and f.groups is not None and f.assignees == frozenset({UNASSIGNED}):
        counted = [c.group_unassigned(g, s) for g in f.groups for s in statuses]
        return None if None in counted else sum(n or 0 for n in counted)
    return None


# ---------------------------------------------------------------- planning


@dataclass(frozen=True)
class Plan:
    """The Queries that drive a list, merged on their position, and the position bounds of the filter's ranges."""

    name: str
    streams: tuple[paging.Stream, ...]
    forward: bool
    low: str | None = None
    high: str | None = None
    estimate: float = 0.0
    density: float | None = None  # the share of its items expected to match (from the counters)
    guarantees: frozenset[str] = frozenset()  # what its key conditions ensure of every item (see predicate())

    @property
    def position_re(self) -> re.Pattern[str]:
        return _TIMED_POSITION if self.name in ("updated", "due") else _CREATED_POSITION


_CREATED_POSITION = re.compile(r"^[0-7][0-9A-HJKMNP-TV-Z]{25}$")
_TIMED_POSITION = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z#[0-7][0-9A-HJKMNP-TV-Z]{25}$")


def _ms(ts: str) -> int:
    return int(datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp() * 1000)


def _id_bounds(f: Filter) -> tuple[str | None, str | None]:
    """The created range as ULID bounds (an id's first characters are its creation millisecond)."""
    after, before = f.created
    lo = ids.bound_for_ms(_ms(after), upper=False) if after else None
    hi = ids.bound_for_ms(_ms(before) - 1, upper=True) if before else None
    return lo, hi


_UNFINISHED = frozenset(STATUSES) - {"resolved", "closed"}


def _assignee_plan(tenant_id: str, f: Filter, c: Counts, forward: bool) -> Plan | None:
    """GSI3: each named agent's partitions of the filter's statuses, and for `none` the unassigned partitions of the
    filter's groups, unfinished and/or finished (unassigned tickets of no group have no GSI3 partition)."""
    if f.assignees is None or len(f.assignees) > MAX_MERGE_KEYS:
        return None
    statuses = _statuses(f)
    agents = sorted(a for a in f.assignees if a is not None)
    streams = [
        paging.Stream(keys.BY_ASSIGNEE, keys.assignee_partition(tenant_id, a, s), size=c.assignee(a, s))
        for a in agents
        for s in statuses
    ]
    guarantees = {"assignees", "created", "statuses"}
    if UNASSIGNED in f.assignees:
        groups = f.groups
        if groups is None or None in groups or len(groups) > MAX_MERGE_KEYS:
            return None  # every group's, or no group's, unassigned tickets: no partition to name
        for unfinished in (True, False):
            wanted = [s for s in statuses if (s in _UNFINISHED) == unfinished]
            if not wanted:
                continue
            if set(wanted) != {s for s in STATUSES if (s in _UNFINISHED) == unfinished}:
                guarantees.discard("statuses")  # the partition holds the bucket's other statuses too
            for g in sorted(gid for gid in groups if gid is not None):
                size = sum(c.group_unassigned(g, s) or 0 for s in wanted)
                partition = keys.unassigned_partition(tenant_id, g, unfinished)
                streams.append(paging.Stream(keys.BY_ASSIGNEE, partition, size=size))
        if not agents:
            guarantees.add("groups")
    return Plan("assignee-status", tuple(streams), forward, guarantees=frozenset(guarantees))


def candidates(tenant_id: str, f: Filter, c: Counts) -> list[Plan]:
    """Every Query shape that can drive the filter, in its sort order."""
    forward = not f.sort.startswith("-")
    if f.sort.endswith("dueAt"):
        stream = paging.Stream(keys.BY_DUE, keys.due_partition(tenant_id))
        return [Plan("due", (stream,), forward, f.due[0], f.due[1], guarantees=frozenset({"due"}))]
    if f.sort.endswith("updatedAt"):
        stream = paging.Stream(keys.BY_UPDATED, keys.updated_partition(tenant_id), size=_counted(f, c)[0] or None)
        return [Plan("updated", (stream,), forward, f.updated[0], f.updated[1], guarantees=frozenset({"updated"}))]
    lo, hi = _id_bounds(f)
    statuses, priorities = _statuses(f), _priorities(f)
    total = sum(c.status_priority(s, p) for s in STATUSES for p in PRIORITIES)
    base = paging.Stream(None, keys.tenant_pk(tenant_id), keys.TICKET_PREFIX, total)
    plans = [Plan("tickets", (base,), forward, guarantees=frozenset({"created"}))]
    if f.statuses is not None or f.priorities is not None:
        streams = tuple(
            paging.Stream(keys.BY_STATUS, keys.status_partition(tenant_id, s, p), size=c.status_priority(s, p))
            for s in statuses
            for p in priorities
        )
        plans.append(
            Plan("status-priority", streams, forward, guarantees=frozenset({"statuses", "priorities", "created"}))
        )
    if assignee_plan := _assignee_plan(tenant_id, f, c, forward):
        plans.append(assignee_plan)
    if f.customers is not None and len(f.customers) <= MAX_MERGE_KEYS:
        streams = tuple(
            paging.Stream(
                keys.BY_CUSTOMER, keys.customer_partition(tenant_id, cu), size=sum(c.customer(cu, s) for s in STATUSES)
            )
            for cu in sorted(f.customers)
        )
        plans.append(Plan("customer", streams, forward, guarantees=frozenset({"customers", "created"})))
    return [replace(p, low=lo, high=hi) for p in plans]


def choose(tenant_id: str, f: Filter, c: Counts, want: int) -> Plan:
    """The candidate expected to read the fewest items (a Query call weighing CALL_COST items) for `want` matches.

    A plan of n non-empty streams holding `size` tickets, of which `matched` (the smallest counted superset of the
    matches) are wanted, reads about want x size / matched items (all of them at most), plus a little per stream
    for a merge's lookahead, and costs n calls."""
    plans = candidates(tenant_id, f, c)
    if not c.known:
        # A tenant not reindexed yet: its GSI1/GSI3 entries may have the old shapes, its counts are unknown. The
        # tenant's tickets (or GSI4, whose keys did not change) list it right, if slower.
        plan = next(p for p in plans if p.name in ("tickets", "updated", "due"))
        return replace(plan, streams=tuple(replace(s, size=None) for s in plan.streams))
    matched = max(1, min(_counted(f, c)))
    best: Plan | None = None
    for plan in plans:
        sizes = [s.size or 0 for s in plan.streams if s.size != 0]
        size = sum(sizes)
        reads = min(size, math.ceil(want * size / matched)) + (2 * len(sizes) if len(sizes) > 1 else 0)
        estimate = reads + CALL_COST * max(1, len(sizes))
        if best is None or estimate < best.estimate:
            best = replace(plan, estimate=estimate, density=min(1.0, matched / size) if size else None)
    assert best is not None
    return best


# ---------------------------------------------------------------- running


def source(plan: Plan, budget: paging.Budget, after: str | None = None) -> paging.MergeSource:
    return paging.MergeSource(
        plan.streams, forward=plan.forward, budget=budget, low=plan.low, high=plan.high, after=after
    )


def _resume(q: PageQuery, fp: str, tenant_id: str, plan: Plan) -> tuple[str | None, dict[str, int]]:
    if not q.cursor:
        return None, {}
    key, meta = cursors.decode_with_meta(q.cursor, fp, tenant_id, {"p"})
    if not plan.position_re.match(key["p"]):
        raise cursors.invalid()
    return key["p"], meta


def list_page(tenant_id: str, f: Filter, q: PageQuery, fp: str) -> dict[str, Any]:
    """One bounded page of the tickets that match `f` (a list envelope with `total` and `totalExact`)."""
    counts = read_counts(tenant_id, f)
    plan = choose(tenant_id, f, counts, q.offset + q.limit + 1)
    after, meta = _resume(q, fp, tenant_id, plan)
    if f.empty:  # contradictory conditions (status is open and is closed): nothing to read
        plan = replace(plan, streams=())
    src = source(plan, paging.Budget(), after)
    skip = meta.get("o", 0) if q.cursor else q.offset
    found = paging.examine(src, skip=skip, limit=q.limit, predicate=predicate(f, plan.guarantees), density=plan.density)
    total = 0 if f.empty else exact_total(f, counts)
    return paging.envelope(found, src, q, fp, meta, total=total)


def count(tenant_id: str, f: Filter) -> dict[str, Any]:
    """How many tickets match `f`: exact from the counters when they cover it, else counted within the budget."""
    counts = read_counts(tenant_id, f)
    if f.empty:
        return {"total": 0, "totalExact": True}
    total = exact_total(f, counts)
    if total is not None:
        return {"total": total, "totalExact": True}
    plan = choose(tenant_id, f, counts, paging.LIST_ITEM_BUDGET)
    n, ended = paging.count(source(plan, paging.Budget()), predicate(f, plan.guarantees))
    return {"total": n, "totalExact": ended}


def ticket_ids(tenant_id: str, f: Filter, limit: int) -> list[str]:
    """Ids of up to `limit` matching tickets in the filter's order (for a bulk change of them, not a list: read within
    twice `limit` items, so that a merge's lookahead does not cost it ids)."""
    counts = read_counts(tenant_id, f)
    if f.empty:
        return []
    plan = choose(tenant_id, f, counts, limit)
    found = paging.examine(
        source(plan, paging.Budget(left=2 * limit)), skip=0, limit=limit, predicate=predicate(f, plan.guarantees)
    )
    return [t["id"] for t in found.rows]


# ---------------------------------------------------------------- GET /v1/tickets


def from_query(q: TicketListQuery, me: str | None) -> Filter:
    """The filter of GET /v1/tickets' parameters (`me`: the agent the calling key acts as)."""
    f = Filter(sort=q.sort)
    if q.status:
        f = f.narrow(statuses=[s.value for s in q.status])
    if q.priority:
        f = f.narrow(priorities=[p.value for p in q.priority])
    if q.customerId:
        f = f.narrow(customers=[q.customerId])
    if q.assigneeId == "me":
        if me is None:
            raise ValidationFailed.of("assigneeId", "'me' needs a key bound to an agent")
        f = f.narrow(assignees=[me])
    elif q.assigneeId == "none":
        f = f.narrow(assignees=[UNASSIGNED])
    elif q.assigneeId:
        f = f.narrow(assignees=[q.assigneeId])
    if q.groupId == "none":
        f = f.narrow(groups=[None])
    elif q.groupId:
        f = f.narrow(groups=[q.groupId])
    if q.createdAfter or q.createdBefore:
        f = f.within("created", q.createdAfter, q.createdBefore)
    if q.updatedSince:
        f = f.within("updated", q.updatedSince, None)
    if q.dueAfter or q.dueBefore:
        f = f.within("due", q.dueAfter, q.dueBefore)
    if q.slaBreached is not None:
        breached = q.slaBreached
        f = f.check(lambda t: sla_breached(t) is breached)
    if q.tag:
        tag = q.tag.casefold()  # tag names are unique case-insensitively, so the filter matches that way too
        f = f.check(lambda t: any(tag == name.casefold() for name in t.get("tags") or ()))
    if q.category:
        category = q.category
        f = f.check(lambda t: t.get("category") == category)
    if q.q:
        needle = q.q.casefold()
        f = f.check(lambda t: needle in t["subject"].casefold() or needle in (t.get("description") or "").casefold())
    return f


def sla_breached(ticket: dict[str, Any]) -> bool:
    """Whether an SLA target of the ticket is breached (its first reply or its resolution)."""
    sla = ticket.get("sla") or {}
    return bool(sla.get("firstReplyBreachedAt") or sla.get("resolutionBreachedAt"))


def list_tickets(tenant_id: str, q: TicketListQuery, me: str | None = None) -> dict[str, Any]:
    """A page of the tenant's tickets; `me` is the agent the calling key acts as (for `assigneeId=me`)."""
    f = from_query(q, me)
    return list_page(tenant_id, f, q, paging.query_fingerprint(tenant_id, q, me=me if q.assigneeId == "me" else None))
