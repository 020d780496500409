"""Lists at any size (issue 15): items read and DynamoDB calls of one page of 50, per list shape, 100,000 tickets.

The tickets of one tenant are seeded straight into moto with the product's own item builder and counters
(bench._harness.seed_tickets with `ticket` below: statuses, priorities, 20 agents, 500 customers, tags), then each
shape is read through the real handler (GET /v1/tickets, GET /v1/views/{id}/tickets) and moto's real Query, counted
with tools.ddbcalls (items read = sum of ScannedCount). Every page's ids are checked against the same filter applied
in Python to the seeded tickets (a short page: against the matches among the items it could read).

Budgets: every shape reads at most LIST_ITEM_BUDGET items (1,000; the issue's aim: <= 1,100); the queue shapes
(my open tickets, a group's unassigned tickets, urgent open tickets, overdue tickets) read <= 55 in one Query.

The change feed's pages (issue 15 too) are measured by their own section, bench/feed.py.

    python -m bench.lists [--tickets N]    (alone, at 100,000: merges its rows into bench/results.json)
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bench._harness import LIMIT, TenantKey, call, make_tenant, moto_env, realistic_ticket, seed_tickets
from tools.ddbcalls import count_calls

TICKETS = 100_000
QUEUE_BUDGET = 55
AIM = 1_100  # the aim for every shape; the enforced budget is LIST_ITEM_BUDGET
AGENTS = [f"01KQ219W80AGENT{i:011d}" for i in range(20)]
CUSTOMERS = [f"01KQ219W80CVSTMER{i:09d}" for i in range(500)]
GROUPS = [f"01KQ219W80GR0VP{i:011d}" for i in range(5)]
# Mature-tenant mixes (per 20 tickets): most are finished, the open ones spread over statuses and priorities.
STATUSES = ["new"] * 2 + ["open"] * 4 + ["in_progress"] * 2 + ["pending"] * 2 + ["on_hold"] + ["resolved"] * 5
STATUSES += ["closed"] * 4
PRIORITIES = ["low"] * 4 + ["medium"] * 8 + ["high"] * 5 + ["urgent"] * 2 + ["critical"]


def _pick(i: int, salt: int, n: int) -> int:
    """A deterministic, well spread choice among n for ticket i (dimensions drawn independently of each other)."""
    return ((i * 2654435761 + salt * 40503) ^ (i >> 3) * 2246822519) % 2**32 % n


def ticket(i: int, ms: int, prefix: str) -> dict[str, Any]:
    """Ticket i: realistic_ticket's fields with every list dimension varied (deterministic in i)."""
    from tickets.timeutil import from_ms, iso

    t = realistic_ticket(i, ms, prefix)
    status = STATUSES[_pick(i, 1, len(STATUSES))]
    agent = None if status == "new" else AGENTS[_pick(i, 2, len(AGENTS))]
    customer = CUSTOMERS[_pick(i, 3, len(CUSTOMERS))]
    group = GROUPS[g] if (g := _pick(i, 7, len(GROUPS) * 2)) < len(GROUPS) else None  # half of them in a group
    t |= {
        "groupId": group,
        "requiredSkills": [],
        "status": status,
        "priority": PRIORITIES[_pick(i, 4, len(PRIORITIES))],
        "assigneeId": agent,
        "assignee": {"id": agent, "name": f"Agent {agent[-2:]}", "email": None} if agent else None,
        "customerId": customer,
        "customer": {"id": customer, "externalId": f"crm-{customer[-4:]}", "name": None, "email": None},
        "resolvedAt": t["createdAt"] if status in ("resolved", "closed") else None,
        "closedAt": t["createdAt"] if status == "closed" else None,
        "tags": ["billing", "card"] if _pick(i, 5, 3) else ["billing", "vip"],
        # due from 12 hours before to 36 hours after creation (a client's dueAt, or an SLA's): some are overdue
        "dueAt": iso(from_ms(ms + (_pick(i, 6, 48) - 12) * 3_600_000)),
    }
    return t


@dataclass
class Shape:
    name: str
    path: str
    query: dict[str, str]
    matches: Callable[[dict[str, Any]], bool]  # the filter in Python, to check the page
    queue: bool = False  # a queue shape: one Query, <= QUEUE_BUDGET items
    key: str = "admin"  # which key asks: "admin" or "agent" (bound to AGENTS[0])
    order: str = "-createdAt"  # the order `matches` lists tickets in: -createdAt, or dueAt (soonest first)


@dataclass
class Seeded:
    tenant: TenantKey
    agent_key: str
    tickets: list[dict[str, Any]] = field(default_factory=list)  # oldest first
    view_id: str = ""
    now: str = ""  # "now" for the overdue queue, fixed at seeding


def seed(n: int) -> Seeded:
    """A tenant with `n` tickets, its agents and groups, a key bound to AGENTS[0], and the three-condition view.
    Call inside moto_env()."""
    from tickets.logic import admin, agents, groups
    from tickets.models.agents import AgentCreate
    from tickets.models.groups import GroupCreate
    from tickets.models.tenants import SCOPES
    from tools.sample_events import _made_with_id

    tenant = make_tenant("INV")
    for agent_id in AGENTS:
        with _made_with_id(agent_id):
            agents.create_agent(
                tenant.tenant_id, AgentCreate(name=f"Agent {agent_id[-2:]}", email=f"agent{agent_id[-2:]}@example.com")
            )
    for group_id in GROUPS:
        with _made_with_id(group_id):
            groups.create_group(tenant.tenant_id, GroupCreate(name=f"Group {group_id[-2:]}", routing="manual"))
    agent_key = admin.create_api_key(tenant.tenant_id, ["tickets:read"], agent_id=AGENTS[0])["key"]
    made: list[dict[str, Any]] = []

    def make(i: int, ms: int, prefix: str) -> dict[str, Any]:
        made.append(ticket(i, ms, prefix))
        return made[-1]

    seed_tickets(tenant, n, make=make)
    view = call("POST", "/v1/views", key=tenant.key, body=THREE_CONDITIONS).json
    assert "settings:manage" in SCOPES and view and "id" in view, view
    from tickets.timeutil import now_iso

    return Seeded(tenant, agent_key, made, view["id"], now_iso())


THREE_CONDITIONS = {
    "name": "Unfinished, high or urgent, VIP",
    "conditions": {
        "all": [
            {"field": "status", "operator": "in", "value": ["new", "open", "pending"]},
            {"field": "priority", "operator": "in", "value": ["high", "urgent"]},
            {"field": "tag", "operator": "is", "value": "vip"},
        ]
    },
}
_UNFINISHED = ("new", "open", "in_progress", "pending", "on_hold")


def shapes(s: Seeded) -> list[Shape]:
    a0 = AGENTS[0]
    return [
        Shape("unfiltered", "/v1/tickets", {}, lambda t: True),
        Shape("status=open", "/v1/tickets", {"status": "open"}, lambda t: t["status"] == "open"),
        Shape("priority=urgent", "/v1/tickets", {"priority": "urgent"}, lambda t: t["priority"] == "urgent"),
        Shape(
            "status=new,open&priority=high",
            "/v1/tickets",
            {"status": "new,open", "priority": "high"},
            lambda t: t["status"] in ("new", "open") and t["priority"] == "high",
        ),
        Shape("assigneeId=<agent>", "/v1/tickets", {"assigneeId": a0}, lambda t: t["assigneeId"] == a0),
        Shape("q=<no match>", "/v1/tickets", {"q": "zz-no-such-text"}, lambda t: False),
        Shape("tag=<no match>", "/v1/tickets", {"tag": "no-such-tag"}, lambda t: False),
        Shape(
            "view: status in 3, priority in 2, tag is vip",
            f"/v1/views/{s.view_id}/tickets",
            {},
            lambda t: (
                t["status"] in ("new", "open", "pending") and t["priority"] in ("high", "urgent") and "vip" in t["tags"]
            ),
        ),
        Shape(
            "queue: my open tickets (assigneeId=me&status=open)",
            "/v1/tickets",
            {"assigneeId": "me", "status": "open"},
            lambda t: t["assigneeId"] == a0 and t["status"] == "open",
            queue=True,
            key="agent",
        ),
        Shape(
            "assigneeId=none&status=new (every group's)",
            "/v1/tickets",
            {"assigneeId": "none", "status": "new"},
            lambda t: t["assigneeId"] is None and t["status"] == "new",
        ),
        Shape(
            "queue: urgent open tickets (status=open&priority=urgent)",
            "/v1/tickets",
            {"status": "open", "priority": "urgent"},
            lambda t: t["status"] == "open" and t["priority"] == "urgent",
            queue=True,
        ),
        Shape(
            "queue: a group's unassigned tickets (groupId=<group>&assigneeId=none&status=<5 unfinished>)",
            "/v1/tickets",
            {"groupId": GROUPS[0], "assigneeId": "none", "status": ",".join(_UNFINISHED)},
            lambda t: t["groupId"] == GROUPS[0] and t["assigneeId"] is None and t["status"] in _UNFINISHED,
            queue=True,
        ),
        Shape(
            "queue: overdue tickets (sort=dueAt&dueBefore=<now>)",
            "/v1/tickets",
            {"sort": "dueAt", "dueBefore": s.now},
            lambda t: t["status"] in _UNFINISHED and t["dueAt"] < s.now,
            queue=True,
            order="dueAt",
        ),
        Shape(
            "console Mine (assigneeId=me&status=<5 unfinished>)",
            "/v1/tickets",
            {"assigneeId": "me", "status": ",".join(_UNFINISHED)},
            lambda t: t["assigneeId"] == a0 and t["status"] in _UNFINISHED,
            key="agent",
        ),
        Shape(
            "console All open (status=<5 unfinished>)",
            "/v1/tickets",
            {"status": ",".join(_UNFINISHED)},
            lambda t: t["status"] in _UNFINISHED,
        ),
    ]


def read(s: Seeded, shape: Shape, limit: int = LIMIT) -> dict[str, Any]:
    """One page of the shape through the real handler: what it read and whether its rows are the right ones."""
    key = s.agent_key if shape.key == "agent" else s.tenant.key
    started = time.perf_counter()
    with count_calls() as calls:
        resp = call("GET", shape.path, key=key, query={"limit": str(limit), **shape.query})
    seconds = time.perf_counter() - started
    body = resp.json or {}
    got = [t["id"] for t in body.get("data") or []]
    if shape.order == "dueAt":
        ordered = sorted((t for t in s.tickets if shape.matches(t)), key=lambda t: (t["dueAt"], t["id"]))
        newest_first = [t["id"] for t in ordered]
    else:
        newest_first = [t["id"] for t in reversed(s.tickets) if shape.matches(t)]
    short = len(got) < limit and body.get("nextCursor") is not None
    # A full page is the first `limit` matches; a short one, the first matches (all it could reach).
    ids_ok = (
        resp.status == 200 and got == newest_first[: len(got)] and (short or len(got) == min(limit, len(newest_first)))
    )
    return {
        "status": resp.status,
        "items_read": calls.items_read,
        "queries": calls.operations.count("Query"),
        "operations": list(calls.operations),
        "queried": sorted(set(calls.queried)),
        "rows": len(got),
        "short": short,
        "total": body.get("total"),
        "totalExact": body.get("totalExact"),
        "matches": len(newest_first),
        "ids_ok": ids_ok,
        "seconds": round(seconds, 3),
    }


def measure(n: int) -> dict[str, Any]:
    """Seed `n` tickets and read every shape once (warm auth cache); raw figures, used by the tests as well."""
    from tickets.models.common import LIST_ITEM_BUDGET

    with moto_env():
        t0 = time.perf_counter()
        s = seed(n)
        seeded_s = time.perf_counter() - t0
        call("GET", "/v1/tickets", key=s.tenant.key, query={"limit": "1"})  # warm the auth cache
        call("GET", "/v1/tickets", key=s.agent_key, query={"limit": "1"})
        out: dict[str, Any] = {"tickets": n, "limit": LIMIT, "budget": LIST_ITEM_BUDGET, "seed_seconds": seeded_s}
        out["shapes"] = {shape.name: {**read(s, shape), "queue": shape.queue} for shape in shapes(s)}
    return out


def _row(name: str, r: dict[str, Any], budget: int) -> dict[str, Any]:
    limit = QUEUE_BUDGET if r.get("queue") else budget
    ok = r["status"] == 200 and r["items_read"] <= limit and r["ids_ok"] and (not r.get("queue") or r["queries"] == 1)
    total = f"total {r['total']}{'' if r['totalExact'] else '+'}"
    return {
        "section": "lists",
        "metric": f"{name}: {r['queries']} Query on {'/'.join(r['queried']) or '-'}, {r['rows']} rows"
        f"{' (short page)' if r['short'] else ''}, {total}, {' + '.join(r['operations'])}"
        f"{'' if r['ids_ok'] else ', WRONG IDS'}",
        "value": r["items_read"],
        "unit": "items read",
        "budget": f"<= {limit}" + (" in 1 Query" if r.get("queue") else ""),
        "ok": ok,
    }


def run(context: dict[str, Any] | None = None) -> dict[str, Any]:
    context = context or {}
    n = int(context.get("lists_tickets", TICKETS))
    t0 = time.perf_counter()
    data = measure(n)
    data["seconds"] = time.perf_counter() - t0
    rows = [
        {
            "section": "lists",
            "metric": f"seed {n} tickets (20 agents, 500 customers, 5 groups)",
            "value": round(data["seed_seconds"], 1),
            "unit": "s",
            "budget": None,
            "ok": None,
        }
    ]
    rows += [_row(name, r, data["budget"]) for name, r in data["shapes"].items()]
    rows.append({"section": "lists", "metric": "section run time", "value": round(data["seconds"], 1), "unit": "s",
                 "budget": None, "ok": None})  # fmt: skip
    return {"rows": rows, "data": data}


def main(argv: list[str] | None = None) -> int:
    from bench.report import merge_section, print_rows
    from bench.run import RESULTS

    parser = argparse.ArgumentParser(prog="python -m bench.lists", description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=TICKETS)
    args = parser.parse_args(argv)
    result = run({"lists_tickets": args.tickets})
    print_rows(result["rows"])
    if args.tickets == TICKETS:  # a smaller run is a trial: it does not replace the recorded figures
        merge_section(RESULTS, "lists", result)
    return 1 if any(r.get("ok") is False for r in result["rows"]) else 0


if __name__ == "__main__":
    raise SystemExit(main())
