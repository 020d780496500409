"""`make load`: mixed concurrent traffic against a local stack, then a recount of everything it implies.

    python -m tools.load [--requests 5000] [--concurrency 32] [--tenants 3] [--seed N]
                         [--drain-timeout 3600] [--stall-seconds 120] [--receiver-failure-rate 0.02]

It starts its own `python -m tools.devstack` on free ports (tools.devproc.running_stack; nothing else may be
running), makes the tenants with the admin logic, and through the API gives each tenant customers, agents,
tags and 1-2 webhook endpoints on "*" that point at a receiver in this process. Then `--requests` requests
from `--concurrency` threads: creates (with and without customer or assignee, some with an Idempotency-Key
and some replaying one), PATCHes with If-Match (status, priority, assignee, customer, plain fields; a 412
or 409 on a race is a valid answer), lists with filters and cursor paging, api-create (customers by
externalId, auto-assignment, dedupeKeys) and deletes. Every acknowledged write is recorded with the ticket
version it produced.

When the pipeline has drained (every implied webhook event received and the receiver quiet for a few
seconds; it gives up after --drain-timeout, or once the receiver has heard nothing for --stall-seconds),
it checks:

- no 5xx, no transport errors, and every answer is one its request allows; list pages match their filters;
- every 201'd ticket is stored exactly as the last acknowledged answer shows it (or is gone after a 204),
  every version between 1 and that one was acknowledged, nothing unacknowledged exists, every 404 is a
  ticket this client deleted;
- the tenant counters (`total`, per status), customers' `ticketCount` and agents' `openTickets` (assigned
  tickets neither resolved nor closed) equal a recount of the tenant's ticket items (one Query), and so do
  the API's list `total`s; a cursor walk lists every ticket exactly once;
- webhooks: the events the acknowledged writes imply (from consecutive acknowledged versions: created,
  assigned, updated, status_changed, deleted) reach every endpoint exactly once after deduplication on
  webhook-id, with valid signatures, one webhook-id per (event, endpoint), payloads equal to the
  acknowledged ticket; the fan-out's delivery records are exactly the delivered ids and all succeeded;
  the dead-letter queues are empty and no function raised.

The receiver answers 503 to the first attempt of a few deliveries (--receiver-failure-rate), so retries
are part of the run; those and any redelivery of an id already accepted are counted separately.
Exit status 1 if any check fails. tests/e2e/test_load.py runs a smaller load with the same code.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

from tools import template
from tools.devproc import Response, StackInfo, TenantFactory, TenantKey, aimed_at, running_stack
from tools.receiver import post_server, read_request, respond, verify

STACK_ENV = {
    "DEV_ALLOW_PRIVATE_WEBHOOK_TARGETS": "true",  # the receiver is on 127.0.0.1
    "DEV_WEBHOOK_RETRY_SCHEDULE": "1,1,1,1,1,1,1",  # retries a second apart
    "WEBHOOK_TIMEOUT_SECONDS": "10",
}
STATUSES = ("new", "open", "in_progress", "pending", "on_hold", "resolved", "closed")
FINISHED = ("resolved", "closed")
PRIORITIES = ("low", "medium", "high", "urgent", "critical")
WORDS = ("printer", "invoice", "login", "payment", "refund", "export", "crash", "latency", "password", "webhook")
TAGS = ("billing", "bug", "vip", "mobile", "api")
NOT_CHANGES = frozenset({"updatedAt", "version"})  # bookkeeping: no event of their own

# Share of each kind of operation (one request each).
MIX = {"create": 24, "replay": 2, "patch": 30, "list": 20, "api-create": 19, "delete": 5}
# What each kind may answer. A 412/409/404 is the loser of a race between this client's own threads.
ALLOWED = {
    "create": {201},
    "replay": {201},
    "patch": {200, 404, 409, 412},
    "list": {200},
    "api-create": {200, 201, 404},
    "delete": {204, 404},
}


@dataclass
class Options:
    requests: int = 5000
    concurrency: int = 32
    tenants: int = 3
    seed: int = 1
    drain_timeout: float = 3600.0  # at most this long after the last request
    stall_seconds: float = 120.0  # ... and give up sooner if the receiver hears nothing for this long
    quiet_seconds: float = 3.0
    receiver_failure_rate: float = 0.02
    customers: int = 6  # per tenant


# ---------------------------------------------------------------- the webhook receiver


@dataclass
class Reception:
    endpoint: str
    webhook_id: str
    event_type: str
    ticket_id: str | None
    version: int | None
    ticket: dict[str, Any] | None
    answered: int
    verified: bool
    body: bytes


class Receiver:
    """A threaded HTTP server on 127.0.0.1 with one path per endpoint; verifies every signature.

    Refuses the first attempt of a deterministic share (`failure_rate`) of the deliveries with a 503.
    """

    def __init__(self, failure_rate: float = 0.0, seed: int = 0) -> None:
        self.failure_rate, self.seed = failure_rate, seed
        self.secrets: dict[str, str] = {}
        self.receptions: list[Reception] = []
        self.last_at = time.monotonic()
        self._seen: set[tuple[str, str]] = set()
        self._lock = threading.Lock()

        def on_post(h: BaseHTTPRequestHandler) -> None:
            body, headers = read_request(h)
            respond(h, self._receive(h.path, body, headers))

        self._server = post_server(on_post)

    def url(self, endpoint: str) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/hook/{endpoint}"

    def _refuse(self, endpoint: str, webhook_id: str) -> bool:
        digest = hashlib.sha256(f"{self.seed}|{endpoint}|{webhook_id}".encode()).digest()
        return int.from_bytes(digest[:4], "big") / 2**32 < self.failure_rate

    def _receive(self, path: str, body: bytes, headers: dict[str, str]) -> int:
        endpoint = path.rsplit("/", 1)[-1]
        webhook_id = headers.get("webhook-id", "")
        secret = self.secrets.get(endpoint)
        verified = secret is not None and verify(secret, headers, body)
        try:
            payload = json.loads(body)
            data = payload.get("data") or {}
            ticket = data.get("ticket")
            event_type = str(payload.get("type"))
        except (ValueError, AttributeError):
            ticket, event_type = None, "(not JSON)"
        with self._lock:
            first = (endpoint, webhook_id) not in self._seen
            self._seen.add((endpoint, webhook_id))
            answered = 503 if first and self._refuse(endpoint, webhook_id) else 200
            self.receptions.append(
                Reception(
                    endpoint,
                    webhook_id,
                    event_type,
                    (ticket or {}).get("id"),
                    (ticket or {}).get("version"),
                    ticket,
                    answered,
                    verified,
                    body,
                )
            )
            self.last_at = time.monotonic()
        return answered

    def accepted(self) -> list[Reception]:
        with self._lock:
            return [r for r in self.receptions if r.answered < 300]

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


# ---------------------------------------------------------------- what the client knows


@dataclass
class Track:
    """One ticket as this client saw it: every acknowledged version's body, and whether a delete was acked."""

    id: str
    tenant: int
    versions: dict[int, dict[str, Any]] = field(default_factory=dict)
    deleted: bool = False

    @property
    def last(self) -> dict[str, Any]:
        return self.versions[max(self.versions)]


@dataclass
class TenantSetup:
    index: int
    key: TenantKey
    customers: list[dict[str, Any]] = field(default_factory=list)
    agents: list[dict[str, Any]] = field(default_factory=list)
    tags: list[dict[str, Any]] = field(default_factory=list)
    endpoints: dict[str, str] = field(default_factory=dict)  # receiver path name -> webhook id


@dataclass
class Stats:
    kinds: Counter[str] = field(default_factory=Counter)
    statuses: Counter[int] = field(default_factory=Counter)
    by_kind: dict[str, Counter[int]] = field(default_factory=lambda: defaultdict(Counter))
    latencies: list[float] = field(default_factory=list)
    elapsed: float = 0.0
    errors: list[str] = field(default_factory=list)  # transport errors
    server_errors: list[str] = field(default_factory=list)  # 5xx answers
    unexpected: list[str] = field(default_factory=list)  # other answers outside ALLOWED
    list_violations: list[str] = field(default_factory=list)
    not_found: list[tuple[str, str]] = field(default_factory=list)  # (kind, ticket id) answered 404


class Model:
    """Everything the load's threads share: tickets, idempotency keys, cursors. One lock guards it."""

    def __init__(self, tenants: list[TenantSetup]) -> None:
        self.tenants = tenants
        self.tickets: dict[str, Track] = {}
        self.live: list[list[str]] = [[] for _ in tenants]
        self.idempotent: list[list[tuple[str, dict[str, Any], str]]] = [[] for _ in tenants]  # (key, body, id)
        self.cursors: list[list[tuple[dict[str, Any], str]]] = [[] for _ in tenants]
        self.stats = Stats()
        self.lock = threading.Lock()

    def acknowledge(self, tenant: int, body: dict[str, Any]) -> None:
        """A 2xx answer carrying a ticket: that version of it exists (or existed)."""
        with self.lock:
            track = self.tickets.get(body["id"])
            if track is None:
                track = self.tickets[body["id"]] = Track(body["id"], tenant)
                self.live[tenant].append(body["id"])
            track.versions.setdefault(int(body["version"]), body)

    def deleted(self, ticket_id: str) -> None:
        with self.lock:
            track = self.tickets[ticket_id]
            track.deleted = True
            if ticket_id in self.live[track.tenant]:
                self.live[track.tenant].remove(ticket_id)

    def pick(self, tenant: int, rng: random.Random) -> Track | None:
        with self.lock:
            if self.live[tenant] and rng.random() < 0.98:
                return self.tickets[rng.choice(self.live[tenant])]
            gone = [t for t in self.tickets.values() if t.tenant == tenant and t.deleted]
            return rng.choice(gone) if gone else None


# ---------------------------------------------------------------- setup


def setup_tenants(stack: StackInfo, receiver: Receiver, opts: Options) -> list[TenantSetup]:
    """Tenants (admin logic) and, through the API, their customers, agents, tags and webhooks."""
    factory = TenantFactory(stack)
    out = []
    for i in range(opts.tenants):
        t = TenantSetup(i, factory("LD"))

        def post(path: str, body: dict[str, Any], t: TenantSetup = t) -> dict[str, Any]:
            resp = stack.request("POST", path, key=t.key.key, body=body)
            if resp.status != 201:
                raise RuntimeError(f"setup: POST {path} -> {resp.status} {resp.body[:300]!r}")
            return dict(resp.json)

        for n in range(opts.customers):
            t.customers.append(
                post("/v1/customers", {"externalId": f"cus_{n}", "name": f"Customer {n}", "email": f"c{n}@example.com"})
            )
        # Tenant 0: three available N1 agents; tenant 1: two, and one unavailable; tenant 2: none (api-create
        # leaves its tickets new and unassigned). Every tenant has an N2 agent for manual assignment.
        n1 = [(3, 0), (2, 1), (0, 0)][i % 3]
        for n in range(n1[0]):
            t.agents.append(post("/v1/agents", {"name": f"N1 {n}", "email": f"n1-{n}@example.com", "level": "N1"}))
        for n in range(n1[1]):
            t.agents.append(
                post(
                    "/v1/agents",
                    {"name": f"Off {n}", "email": f"off{n}@example.com", "level": "N1", "available": False},
                )
            )
        t.agents.append(post("/v1/agents", {"name": "Senior", "email": "n2@example.com", "level": "N2"}))
        for name in TAGS[:3]:
            t.tags.append(post("/v1/tags", {"name": name}))
        for n in range(2 - i % 2):
            name = f"{t.key.prefix}-{n}"
            hook = post("/v1/webhooks", {"url": receiver.url(name), "events": ["*"]})
            receiver.secrets[name] = hook["secret"]
            t.endpoints[name] = hook["id"]
        out.append(t)
    return out


# ---------------------------------------------------------------- the operations


def _subject(rng: random.Random) -> str:
    return f"{rng.choice(WORDS).title()} {rng.choice(WORDS)} #{rng.randrange(10_000)}"


def _create_body(t: TenantSetup, rng: random.Random) -> dict[str, Any]:
    body: dict[str, Any] = {"subject": _subject(rng), "priority": rng.choice(PRIORITIES)}
    if rng.random() < 0.5:
        body["customerId"] = rng.choice(t.customers)["id"]
    else:
        body["requester"] = {"name": "Walk In", "email": "walkin@example.com"}
    if rng.random() < 0.3:
        body["assigneeId"] = rng.choice(t.agents)["id"]
    if rng.random() < 0.2:
        body["status"] = rng.choice(("open", "in_progress", "pending", "resolved"))
    if rng.random() < 0.5:
        body["tags"] = rng.sample(TAGS, rng.randint(1, 2))
    if rng.random() < 0.3:
        body["description"] = f"Steps: {rng.choice(WORDS)} then {rng.choice(WORDS)}."
    if rng.random() < 0.2:
        body["category"] = rng.choice(("hardware", "software"))
    return body


def _patch_body(t: TenantSetup, rng: random.Random) -> dict[str, Any]:
    kind = rng.choices(["status", "priority", "assignee", "customer", "plain", "combo"], [30, 15, 20, 10, 15, 10])[0]
    if kind == "status":
        return {"status": rng.choices(STATUSES, [5, 20, 20, 10, 10, 25, 10])[0]}
    if kind == "priority":
        return {"priority": rng.choice(PRIORITIES)}
    if kind == "assignee":
        return {"assigneeId": rng.choice(t.agents)["id"] if rng.random() < 0.8 else None}
    if kind == "customer":
        return {"customerId": rng.choice(t.customers)["id"] if rng.random() < 0.8 else None}
    if kind == "plain":
        return rng.choice(
            [{"subject": _subject(rng)}, {"tags": rng.sample(TAGS, rng.randint(0, 3))}, {"category": None}]
        )
    return {"status": rng.choice(("open", "in_progress", "resolved")), "assigneeId": rng.choice(t.agents)["id"]}


def _list_query(t: TenantSetup, rng: random.Random) -> dict[str, Any]:
    q: dict[str, Any] = {"limit": rng.choice((5, 10, 25, 50))}
    shape = rng.choice(["none", "status", "statuses", "priority", "customer", "assignee", "unassigned", "q", "tag"])
    if shape == "status":
        q["status"] = rng.choice(STATUSES)
    elif shape == "statuses":
        q["status"] = ",".join(rng.sample(STATUSES, 2))
    elif shape == "priority":
        q["priority"] = rng.choice(PRIORITIES)
    elif shape == "customer":
        q["customerId"] = rng.choice(t.customers)["id"]
    elif shape == "assignee":
        q["assigneeId"] = rng.choice(t.agents)["id"]
    elif shape == "unassigned":
        q["assigneeId"] = "none"
    elif shape == "q":
        q["q"] = rng.choice(WORDS)
    elif shape == "tag":
        q["tag"] = rng.choice(TAGS)
    if rng.random() < 0.25:
        q["sort"] = rng.choice(("createdAt", "-updatedAt"))
    return q


def _list_violations(t: TenantSetup, q: dict[str, Any], page: dict[str, Any]) -> list[str]:
    """What is wrong with a list page, given its query."""
    data, bad = page["data"], []
    if len(data) > int(q["limit"]) or page["total"] < len(data):
        bad.append(f"{len(data)} items, limit {q['limit']}, total {page['total']}")
    statuses = set(q["status"].split(",")) if "status" in q else None
    for item in data:
        wrong = [
            name
            for name, ok in (
                ("tenant", item["reference"].startswith(t.key.prefix + "-")),
                ("status", statuses is None or item["status"] in statuses),
                ("priority", "priority" not in q or item["priority"] == q["priority"]),
                ("customerId", "customerId" not in q or item["customerId"] == q["customerId"]),
                ("assigneeId", "assigneeId" not in q or item["assigneeId"] == (None if q["assigneeId"] == "none"
                                                                                 else q["assigneeId"])),
                ("q", "q" not in q or q["q"] in f"{item['subject']} {item.get('description') or ''}".casefold()),
                ("tag", "tag" not in q or q["tag"] in item["tags"]),
            )
            if not ok
        ]  # fmt: skip
        if wrong:
            bad.append(f"{item['id']} does not match {wrong}")
    sort = q.get("sort", "-createdAt")
    attr = "id" if sort.endswith("createdAt") else "updatedAt"
    got = [item[attr] for item in data]
    if got != sorted(got, reverse=sort.startswith("-")):
        bad.append(f"not in {sort} order")
    return [f"GET /v1/tickets {q}: {b}" for b in bad]


class Load:
    def __init__(self, stack: StackInfo, model: Model, opts: Options) -> None:
        self.stack, self.model, self.opts = stack, model, opts

    def _send(self, kind: str, t: TenantSetup, method: str, path: str, **kw: Any) -> Response | None:
        stats = self.model.stats
        started = time.monotonic()
        try:
            resp = self.stack.request(method, path, key=t.key.key, timeout=120, **kw)
        except OSError as exc:
            with self.model.lock:
                stats.kinds[kind] += 1
                stats.errors.append(f"{kind} {method} {path}: {exc!r}")
            return None
        took = time.monotonic() - started
        with self.model.lock:
            stats.kinds[kind] += 1
            stats.statuses[resp.status] += 1
            stats.by_kind[kind][resp.status] += 1
            stats.latencies.append(took)
            if resp.status >= 500:
                stats.server_errors.append(f"{kind} {method} {path} -> {resp.status} {resp.body[:300]!r}")
            elif resp.status not in ALLOWED[kind]:
                stats.unexpected.append(f"{kind} {method} {path} -> {resp.status} {resp.body[:300]!r}")
        return resp

    def _unexpected(self, what: str) -> None:
        with self.model.lock:
            self.model.stats.unexpected.append(what)

    def run_one(self, i: int) -> None:
        rng = random.Random(self.opts.seed * 1_000_003 + i)
        t = rng.choice(self.model.tenants)
        kind = rng.choices(list(MIX), list(MIX.values()))[0]
        getattr(self, "op_" + kind.replace("-", "_"))(t, rng)

    def op_create(self, t: TenantSetup, rng: random.Random) -> None:
        body = _create_body(t, rng)
        headers = {}
        if rng.random() < 0.2:
            headers["Idempotency-Key"] = f"load-{rng.getrandbits(64):016x}"
        resp = self._send("create", t, "POST", "/v1/tickets", body=body, headers=headers)
        if resp is not None and resp.status == 201:
            self.model.acknowledge(t.index, resp.json)
            if headers:
                with self.model.lock:
                    self.model.idempotent[t.index].append((headers["Idempotency-Key"], body, resp.json["id"]))

    def op_replay(self, t: TenantSetup, rng: random.Random) -> None:
        with self.model.lock:
            earlier = rng.choice(self.model.idempotent[t.index]) if self.model.idempotent[t.index] else None
        if earlier is None:
            return self.op_create(t, rng)
        key, body, ticket_id = earlier
        resp = self._send("replay", t, "POST", "/v1/tickets", body=body, headers={"Idempotency-Key": key})
        if resp is not None and resp.status == 201:
            if resp.json["id"] != ticket_id or resp.headers.get("idempotent-replayed") != "true":
                self._unexpected(f"replay of {key}: {resp.headers} {resp.body[:300]!r} (first answer: {ticket_id})")
            else:
                self.model.acknowledge(t.index, resp.json)
        return None

    def op_patch(self, t: TenantSetup, rng: random.Random) -> None:
        track = self.model.pick(t.index, rng)
        if track is None:
            return self.op_create(t, rng)
        with self.model.lock:
            version = max(track.versions)
        headers = {"If-Match": f'"{version}"'} if rng.random() < 0.85 else {}
        resp = self._send("patch", t, "PATCH", f"/v1/tickets/{track.id}", body=_patch_body(t, rng), headers=headers)
        if resp is None:
            return None
        if resp.status == 200:
            self.model.acknowledge(t.index, resp.json)
        elif resp.status == 404:
            with self.model.lock:
                self.model.stats.not_found.append(("patch", track.id))
        elif resp.status in (409, 412):
            code = (resp.json or {}).get("code")
            if code != {409: "TICKET_CLOSED", 412: "PRECONDITION_FAILED"}[resp.status]:
                self._unexpected(f"PATCH {track.id} -> {resp.status} {code}")
        return None

    def op_delete(self, t: TenantSetup, rng: random.Random) -> None:
        track = self.model.pick(t.index, rng)
        if track is None:
            return self.op_create(t, rng)
        resp = self._send("delete", t, "DELETE", f"/v1/tickets/{track.id}")
        if resp is not None and resp.status == 204:
            self.model.deleted(track.id)
        elif resp is not None and resp.status == 404:
            with self.model.lock:
                self.model.stats.not_found.append(("delete", track.id))
        return None

    def op_list(self, t: TenantSetup, rng: random.Random) -> None:
        query, cursor = _list_query(t, rng), None
        with self.model.lock:
            saved = self.model.cursors[t.index]
            if saved and rng.random() < 0.4:
                query, cursor = saved.pop(rng.randrange(len(saved)))
        resp = self._send("list", t, "GET", "/v1/tickets", query={**query, "cursor": cursor} if cursor else query)
        if resp is None or resp.status != 200:
            return
        page = resp.json
        violations = _list_violations(t, query, page)
        with self.model.lock:
            self.model.stats.list_violations.extend(violations)
            if page.get("nextCursor") and len(self.model.cursors[t.index]) < 50:
                self.model.cursors[t.index].append((query, page["nextCursor"]))

    def op_api_create(self, t: TenantSetup, rng: random.Random) -> None:
        unknown = rng.random() < 0.04
        body: dict[str, Any] = {
            "customerExternalId": "cus_unknown" if unknown else rng.choice(t.customers)["externalId"],
            "subject": _subject(rng),
            "priority": rng.choice(PRIORITIES),
            "metadata": {"orderId": f"ord_{rng.randrange(100_000)}"},
        }
        if rng.random() < 0.5:
            body["dedupeKey"] = f"event-{rng.randrange(12)}"
        if rng.random() < 0.3:
            body["tagIds"] = [rng.choice(t.tags)["id"]]
        headers = {"Idempotency-Key": f"evt-{rng.getrandbits(64):016x}"} if rng.random() < 0.3 else {}
        resp = self._send("api-create", t, "POST", "/v1/tickets/api-create", body=body, headers=headers)
        if resp is None:
            return
        if resp.status in (200, 201):
            if unknown or (resp.status == 200 and "dedupeKey" not in body):
                self._unexpected(f"api-create {body} -> {resp.status}")
            self.model.acknowledge(t.index, resp.json)
        elif resp.status == 404 and not unknown:
            self._unexpected(f"api-create {body} -> 404 {resp.body[:300]!r}")


def run_requests(stack: StackInfo, model: Model, opts: Options, log: Callable[[str], None]) -> None:
    load = Load(stack, model, opts)
    done = [0]
    started = time.monotonic()

    def one(i: int) -> None:
        try:
            load.run_one(i)
        except Exception as exc:  # a bug in this tool must not pass for a clean run
            load._unexpected(f"request {i}: the load tool raised {exc!r}")
        with model.lock:
            done[0] += 1
            if done[0] % 500 == 0:
                rate = done[0] / (time.monotonic() - started)
                log(f"  {done[0]}/{opts.requests} requests ({rate:.0f}/s)")

    with ThreadPoolExecutor(opts.concurrency) as pool:
        list(pool.map(one, range(opts.requests)))
    model.stats.elapsed = time.monotonic() - started


# ---------------------------------------------------------------- what the writes imply


EventKey = tuple[str, str, int]  # (type, ticket id, ticket version in the payload)


def implied_events(track: Track) -> tuple[dict[EventKey, dict[str, Any]], list[str]]:
    """The webhook events the acknowledged versions imply (with the ticket each carries), and any gap."""
    problems = []
    top = max(track.versions)
    missing = [v for v in range(1, top + 1) if v not in track.versions]
    if missing:
        problems.append(f"{track.id}: versions {missing} were never acknowledged (up to {top})")
    events: dict[EventKey, dict[str, Any]] = {}
    if 1 in track.versions:
        first = track.versions[1]
        events[("ticket.created", track.id, 1)] = first
        if first.get("assigneeId"):
            events[("ticket.assigned", track.id, 1)] = first
    for v in range(2, top + 1):
        before, after = track.versions.get(v - 1), track.versions.get(v)
        if before is None or after is None:
            continue
        changed = {f for f in set(before) | set(after) if f not in NOT_CHANGES and before.get(f) != after.get(f)}
        if not changed:
            problems.append(f"{track.id}: version {v} changes nothing visible")
            continue
        events[("ticket.updated", track.id, v)] = after
        if "status" in changed:
            events[("ticket.status_changed", track.id, v)] = after
        if "assigneeId" in changed and after.get("assigneeId"):
            events[("ticket.assigned", track.id, v)] = after
    if track.deleted:
        events[("ticket.deleted", track.id, top)] = track.versions[top]
    return events, problems


def expected_deliveries(model: Model) -> tuple[dict[tuple[str, EventKey], dict[str, Any]], list[str]]:
    """(endpoint, event) -> the ticket it carries, for every endpoint of the event's tenant."""
    out: dict[tuple[str, EventKey], dict[str, Any]] = {}
    problems: list[str] = []
    for track in model.tickets.values():
        events, gaps = implied_events(track)
        problems += gaps
        for endpoint in model.tenants[track.tenant].endpoints:
            for key, ticket in events.items():
                out[(endpoint, key)] = ticket
    return out, problems


def drain(receiver: Receiver, expected: set[tuple[str, EventKey]], opts: Options, log: Callable[[str], None]) -> float:
    """Wait until every expected delivery arrived and the receiver has been quiet; returns the seconds waited."""
    started = time.monotonic()
    deadline, last_log = started + opts.drain_timeout, started
    while True:
        got = {(r.endpoint, (r.event_type, r.ticket_id or "", r.version or 0)) for r in receiver.accepted()}
        missing = len(expected - got)
        now = time.monotonic()
        if not missing and now - receiver.last_at >= opts.quiet_seconds:
            return now - started
        if now > deadline or now - max(receiver.last_at, started) > opts.stall_seconds:
            log(f"  draining: gave up with {missing} of {len(expected)} deliveries missing")
            return now - started
        if now - last_log >= 10:
            log(f"  draining: {len(expected) - missing}/{len(expected)} deliveries received")
            last_log = now
        time.sleep(0.2)


# ---------------------------------------------------------------- checks


@dataclass
class Check:
    name: str
    ok: bool
    detail: str = ""
    samples: list[str] = field(default_factory=list)


def _check(name: str, problems: list[str], detail: str = "") -> Check:
    return Check(name, not problems, detail or (f"{len(problems)} problems" if problems else ""), problems[:10])


def _query_all(ddb: Any, table: str, pk: str, prefix: str) -> list[dict[str, Any]]:
    from tickets.dal.client import deserialize

    items, start = [], None
    while True:
        params: dict[str, Any] = {
            "TableName": table,
            "KeyConditionExpression": "PK = :pk AND begins_with(SK, :p)",
            "ExpressionAttributeValues": {":pk": {"S": pk}, ":p": {"S": prefix}},
            "ConsistentRead": True,
        }
        if start:
            params["ExclusiveStartKey"] = start
        resp = ddb.query(**params)
        items += [deserialize(i) for i in resp["Items"]]
        start = resp.get("LastEvaluatedKey")
        if not start:
            return items


@dataclass
class Stored:
    """One tenant as the table holds it."""

    tickets: dict[str, dict[str, Any]]  # public shape
    counts: dict[str, dict[str, int]]  # the ticket counter items (COUNTS#...): {sort key: {attribute: n}}
    agents: dict[str, dict[str, Any]]
    customers: dict[str, dict[str, Any]]
    deliveries: list[dict[str, Any]]


def read_table(stack: StackInfo, tenants: list[TenantSetup]) -> list[Stored]:
    from tickets.dal import keys
    from tickets.dal.client import ddb, strip_keys, table
    from tickets.models.tickets import Ticket

    out = []
    with aimed_at(stack):
        client, name = ddb(), table()
        for t in tenants:
            pk = keys.tenant_pk(t.key.id)
            tickets = {}
            for item in _query_all(client, name, pk, keys.TICKET_PREFIX):
                public = Ticket.model_validate(strip_keys(item)).model_dump(mode="json")
                tickets[public["id"]] = public
            counts = {
                item["SK"]: {k: int(v) for k, v in strip_keys(item).items() if k != keys.COUNTERS_SINCE and int(v)}
                for item in _query_all(client, name, pk, keys.TICKET_COUNTS_PREFIX)
            }
            out.append(
                Stored(
                    tickets,
                    {sk: c for sk, c in counts.items() if c},
                    {a["id"]: a for a in _query_all(client, name, pk, keys.AGENT_PREFIX)},
                    {c["id"]: c for c in _query_all(client, name, pk, keys.CUSTOMER_PREFIX)},
                    _query_all(client, name, pk, keys.delivery(t.key.id, "", "")["SK"].removesuffix("##")),
                )
            )
    return out


def dead_letters(stack: StackInfo) -> dict[str, int]:
    """Messages waiting in each dead-letter queue of the stack."""
    import boto3

    with aimed_at(stack):
        sqs = boto3.client("sqs")
        out = {}
        for url in sqs.list_queues().get("QueueUrls", []):
            if "dlq" in url.lower():
                attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
                out[url.rsplit("/", 1)[-1]] = int(attrs["Attributes"]["ApproximateNumberOfMessages"])
    return out


def check_state(model: Model, stored: list[Stored]) -> list[Check]:
    lost, wrong, resurrected, phantom, gaps, unexplained = [], [], [], [], [], []
    for track in model.tickets.values():
        found = stored[track.tenant].tickets.get(track.id)
        if track.deleted:
            if found is not None:
                resurrected.append(f"{track.id} was deleted (204) but is stored at version {found['version']}")
            continue
        if found is None:
            lost.append(f"{track.id} (last acknowledged version {max(track.versions)}) is not stored")
        elif found != track.last:
            diff = {k: (track.last.get(k), found.get(k)) for k in set(found) | set(track.last)
                    if found.get(k) != track.last.get(k)}  # fmt: skip
            wrong.append(f"{track.id}: acknowledged -> stored {diff}")
        top = max(track.versions)
        missing = [v for v in range(1, top + 1) if v not in track.versions]
        if missing:
            gaps.append(f"{track.id}: versions {missing} of 1..{top} were never acknowledged")
    for s in stored:
        phantom += [f"{tid} is stored but was never acknowledged" for tid in s.tickets if tid not in model.tickets]
    for kind, tid in model.stats.not_found:
        track = model.tickets[tid]
        if not track.deleted:
            unexplained.append(f"{kind} {tid} -> 404, but no delete of it was acknowledged")
    return [
        _check("every acknowledged ticket is stored", lost),
        _check("stored tickets equal their last acknowledged state", wrong),
        _check("acknowledged deletes stay deleted", resurrected),
        _check("no unacknowledged ticket is stored", phantom),
        _check("every version of a ticket was acknowledged (no hidden writes)", gaps),
        _check("every 404 is a ticket this client deleted", unexplained),
    ]


def check_counters(stack: StackInfo, model: Model, stored: list[Stored]) -> list[Check]:
    from tickets.dal import counters as ticket_counters

    counters, totals, agents, customers, walk = [], [], [], [], []
    for t, s in zip(model.tenants, stored, strict=True):
        tickets = list(s.tickets.values())
        by_status = Counter(x["status"] for x in tickets)
        want = {sk: {a: n for a, n in c.items() if n} for sk, c in ticket_counters.totals(t.key.id, tickets).items()}
        if s.counts != want:
            counters.append(f"{t.key.prefix}: counters {s.counts} != recount {want}")

        def total(t: TenantSetup = t, **query: Any) -> int:
            resp = stack.request("GET", "/v1/tickets", key=t.key.key, query={"limit": 1, **query})
            if resp.status != 200:
                return -1
            return int(resp.json["total"])

        api_checks: list[tuple[str, dict[str, Any], int]] = [("all", {}, len(tickets))]
        api_checks += [(f"status={st}", {"status": st}, by_status[st]) for st in STATUSES]
        api_checks.append(("status=new,open", {"status": "new,open"}, by_status["new"] + by_status["open"]))
        for c in t.customers:
            n = sum(1 for x in tickets if x["customerId"] == c["id"])
            api_checks.append((f"customerId={c['externalId']}", {"customerId": c["id"]}, n))
        for a in t.agents:
            n = sum(1 for x in tickets if x["assigneeId"] == a["id"])
            api_checks.append((f"assigneeId={a['name']}", {"assigneeId": a["id"]}, n))
        api_checks.append(("assigneeId=none", {"assigneeId": "none"}, sum(1 for x in tickets if not x["assigneeId"])))
        for label, query, n in api_checks:
            if (got_total := total(**query)) != n:
                totals.append(f"{t.key.prefix} {label}: total {got_total} != recount {n}")

        for a in t.agents:
            n = sum(1 for x in tickets if x["assigneeId"] == a["id"] and x["status"] not in FINISHED)
            stored_n = int(s.agents.get(a["id"], {}).get("openTickets", 0))
            if stored_n != n:
                agents.append(f"{t.key.prefix} agent {a['name']}: openTickets {stored_n} != recount {n}")
        resp = stack.request("GET", "/v1/agents", key=t.key.key, query={"limit": 100})
        for a in resp.json["data"] if resp.status == 200 else []:
            n = sum(1 for x in tickets if x["assigneeId"] == a["id"] and x["status"] not in FINISHED)
            if a["openTickets"] != n:
                agents.append(f"{t.key.prefix} GET /v1/agents {a['name']}: openTickets {a['openTickets']} != {n}")
        for c in t.customers:
            n = sum(1 for x in tickets if x["customerId"] == c["id"])
            stored_n = int(s.customers.get(c["id"], {}).get("ticketCount", 0))
            if stored_n != n:
                customers.append(f"{t.key.prefix} customer {c['externalId']}: ticketCount {stored_n} != recount {n}")

        seen: list[str] = []
        page_query: dict[str, Any] = {"limit": 100}
        while True:
            resp = stack.request("GET", "/v1/tickets", key=t.key.key, query=page_query)
            if resp.status != 200:
                walk.append(f"{t.key.prefix}: cursor walk -> {resp.status}")
                break
            seen += [x["id"] for x in resp.json["data"]]
            if not resp.json["nextCursor"]:
                break
            page_query = {"limit": 100, "cursor": resp.json["nextCursor"]}
        if sorted(seen) != sorted(s.tickets) or len(set(seen)) != len(seen):
            walk.append(
                f"{t.key.prefix}: cursor walk listed {len(seen)} ({len(set(seen))} distinct), stored {len(s.tickets)}"
            )
    return [
        _check("tenant counters (total, per status) == recount", counters),
        _check("list `total` from the API == recount", totals),
        _check("agents' openTickets == recount of assigned unfinished tickets", agents),
        _check("customers' ticketCount == recount", customers),
        _check("a cursor walk lists every ticket exactly once", walk),
    ]


@dataclass
class WebhookNumbers:
    expected: int = 0
    delivered: int = 0  # distinct (endpoint, webhook-id) accepted
    received: int = 0  # every request the receiver got
    refused: int = 0  # answered 503 on purpose
    redelivered: int = 0  # accepted again with an id already accepted


def check_webhooks(
    model: Model, receiver: Receiver, stored: list[Stored], expected: dict[tuple[str, EventKey], dict[str, Any]]
) -> tuple[list[Check], WebhookNumbers]:
    receptions = list(receiver.receptions)
    accepted = [r for r in receptions if r.answered < 300]
    nums = WebhookNumbers(expected=len(expected), received=len(receptions))
    nums.refused = len(receptions) - len(accepted)
    bad_sig = [f"{r.endpoint} {r.webhook_id} {r.event_type}" for r in receptions if not r.verified]

    by_id: dict[tuple[str, str], list[Reception]] = defaultdict(list)
    for r in accepted:
        by_id[(r.endpoint, r.webhook_id)].append(r)
    nums.delivered = len(by_id)
    nums.redelivered = len(accepted) - len(by_id)
    differing = [f"{ep} {wid}: redelivered with another body" for (ep, wid), rs in by_id.items()
                 if len({r.body for r in rs}) > 1]  # fmt: skip

    ids_per_event: dict[tuple[str, EventKey], set[str]] = defaultdict(set)
    for (ep, wid), rs in by_id.items():
        r = rs[0]
        ids_per_event[(ep, (r.event_type, r.ticket_id or "", r.version or 0))].add(wid)
    doubled = [f"{ep} {key}: {len(ids)} webhook-ids" for (ep, key), ids in ids_per_event.items() if len(ids) > 1]
    missing = [f"{ep} {key}" for (ep, key) in expected if (ep, key) not in ids_per_event]
    extra = [f"{ep} {key}" for (ep, key) in ids_per_event if (ep, key) not in expected]
    payload = []
    for (ep, _wid), rs in by_id.items():
        r = rs[0]
        want = expected.get((ep, (r.event_type, r.ticket_id or "", r.version or 0)))
        if want is not None and r.ticket != want:
            payload.append(f"{ep} {r.event_type} {r.ticket_id} v{r.version}: payload != acknowledged ticket")

    records = []
    for t, s in zip(model.tenants, stored, strict=True):
        webhook_ids = {wid: ep for ep, wid in t.endpoints.items()}
        recorded: dict[str, dict[str, str]] = defaultdict(dict)
        for d in s.deliveries:
            recorded[webhook_ids.get(d["webhookId"], d["webhookId"])][d["eventId"]] = d["state"]
        for ep in t.endpoints:
            delivered = {wid for (e, wid) in by_id if e == ep}
            states = recorded.get(ep, {})
            if set(states) != delivered:
                records.append(f"{ep}: {len(states)} delivery records, {len(delivered)} ids delivered "
                               f"(only recorded: {sorted(set(states) - delivered)[:3]}, "
                               f"only delivered: {sorted(delivered - set(states))[:3]})")  # fmt: skip
            not_done = Counter(st for st in states.values() if st != "succeeded")
            if not_done:
                records.append(f"{ep}: delivery records not succeeded: {dict(not_done)}")
    checks = [
        _check("every webhook signature verifies", bad_sig),
        _check("one webhook-id per (event, endpoint) (no real duplicates)", doubled),
        _check(
            "every implied event delivered to every endpoint", missing, f"{len(missing)} missing" if missing else ""
        ),
        _check("no event that no acknowledged write implies", extra, f"{len(extra)} unexpected" if extra else ""),
        _check("event payloads equal the acknowledged ticket", payload),
        _check("a redelivered webhook-id carries the same body", differing),
        _check("fan-out's delivery records == delivered ids, all succeeded", records),
    ]
    return checks, nums


# ---------------------------------------------------------------- the run


@dataclass
class Result:
    opts: Options
    stats: Stats
    checks: list[Check]
    webhooks: WebhookNumbers
    drain_seconds: float
    setup_seconds: float
    total_seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    def failed(self) -> list[Check]:
        return [c for c in self.checks if not c.ok]

    def report(self) -> str:
        s, w = self.stats, self.webhooks
        lat = sorted(s.latencies) or [0.0]
        p50 = statistics.median(lat)
        p95 = lat[min(len(lat) - 1, int(len(lat) * 0.95))]
        lines = [
            f"load: {sum(s.kinds.values())} requests, concurrency {self.opts.concurrency}, "
            f"{self.opts.tenants} tenants, seed {self.opts.seed}",
            "  by kind:   " + ", ".join(f"{k} {n}" for k, n in sorted(s.kinds.items())),
            "  statuses:  " + ", ".join(f"{k} {n}" for k, n in sorted(s.statuses.items())),
        ]
        lines += [
            f"    {kind:<10} " + ", ".join(f"{k} {n}" for k, n in sorted(c.items()))
            for kind, c in sorted(s.by_kind.items())
        ]
        lines += [
            f"  latency:   p50 {p50 * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms, max {lat[-1] * 1000:.0f} ms",
            f"  throughput {sum(s.kinds.values()) / max(s.elapsed, 1e-9):.1f} requests/s over {s.elapsed:.1f} s "
            f"(setup {self.setup_seconds:.1f} s, drain {self.drain_seconds:.1f} s, total {self.total_seconds:.1f} s)",
            f"  webhooks:  expected {w.expected}, delivered {w.delivered} (after dedup on webhook-id), "
            f"received {w.received} requests: {w.refused} refused on purpose (503), {w.redelivered} redelivered",
            "checks:",
        ]
        for c in self.checks:
            lines.append(f"  {'PASS' if c.ok else 'FAIL'}  {c.name}" + (f": {c.detail}" if c.detail else ""))
            lines += [f"          {x}" for x in c.samples]
        lines.append("RESULT: " + ("PASS" if self.ok else f"FAIL ({len(self.failed())} checks)"))
        return "\n".join(lines)


def run(stack: StackInfo, opts: Options, log: Callable[[str], None] = print) -> Result:
    """Set up, load, drain and check one running stack (it should be fresh: only this run's tenants)."""
    template.ensure_shared_layer_on_path()
    started = time.monotonic()
    receiver = Receiver(opts.receiver_failure_rate, opts.seed)
    try:
        tenants = setup_tenants(stack, receiver, opts)
        setup_seconds = time.monotonic() - started
        model = Model(tenants)
        log(f"load: {opts.requests} requests at concurrency {opts.concurrency} over {len(tenants)} tenants")
        run_requests(stack, model, opts, log)
        expected, _ = expected_deliveries(model)
        log(f"load: {model.stats.elapsed:.1f} s; waiting for {len(expected)} webhook deliveries")
        drained = drain(receiver, set(expected), opts, log)
        stats = model.stats
        checks = [
            _check("no 5xx", stats.server_errors),
            _check("no transport errors", stats.errors),
            _check("every answer is one its request allows", stats.unexpected),
            _check("list pages match their filters and order", stats.list_violations),
        ]
        try:
            stored = read_table(stack, tenants)
        except Exception as exc:  # e.g. the stack died: say so instead of a traceback without numbers
            checks.append(Check("the stack answered the checks' reads", False, repr(exc)[:300]))
            return Result(opts, stats, checks, WebhookNumbers(expected=len(expected)), drained, setup_seconds,
                          time.monotonic() - started)  # fmt: skip
        checks += check_state(model, stored)
        checks += check_counters(stack, model, stored)
        hook_checks, numbers = check_webhooks(model, receiver, stored, expected)
        checks += hook_checks
        dlq = dead_letters(stack)
        checks.append(_check("dead-letter queues are empty", [f"{q}: {n}" for q, n in dlq.items() if n]))
        raised = _raised(stack)
        checks.append(_check("no function raised (stack log)", raised))
        result = Result(opts, stats, checks, numbers, drained, setup_seconds)
        result.total_seconds = time.monotonic() - started
        return result
    finally:
        receiver.close()


def _raised(stack: StackInfo) -> list[str]:
    """First lines of every `<function> raised:` report in the stack's output so far."""
    out = []
    for name in ("stdout", "stderr"):
        path = stack.log_dir / name
        lines = path.read_text(errors="replace").splitlines() if path.exists() else []
        out += [" | ".join(lines[i : i + 1] + lines[i + 1 : i + 40][-1:]) for i, line in enumerate(lines)
                if line.endswith(" raised:")]  # fmt: skip
    return out


@contextmanager
def load_stack() -> Iterator[StackInfo]:
    """A fresh devstack for one load run, with retries a second apart and private receivers allowed."""
    with running_stack(STACK_ENV) as stack:
        yield stack


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=Options.requests)
    parser.add_argument("--concurrency", type=int, default=Options.concurrency)
    parser.add_argument("--tenants", type=int, default=Options.tenants)
    parser.add_argument("--seed", type=int, default=Options.seed)
    parser.add_argument("--drain-timeout", type=float, default=Options.drain_timeout)
    parser.add_argument("--stall-seconds", type=float, default=Options.stall_seconds)
    parser.add_argument("--receiver-failure-rate", type=float, default=Options.receiver_failure_rate)
    args = parser.parse_args(argv)
    opts = Options(args.requests, args.concurrency, args.tenants, args.seed, args.drain_timeout, args.stall_seconds,
                   receiver_failure_rate=args.receiver_failure_rate)  # fmt: skip
    started = time.monotonic()
    with load_stack() as stack:
        print(f"load: devstack up in {stack.startup_seconds:.1f} s at {stack.base_url}", flush=True)
        result = run(stack, opts, lambda line: print(line, flush=True))
        if not result.ok:  # keep the stack's output, which goes away with it
            kept = Path(tempfile.mkdtemp(prefix="tickets-load-"))
            for name in ("stdout", "stderr"):
                if (stack.log_dir / name).exists():
                    shutil.copy(stack.log_dir / name, kept / name)
            print(f"load: the stack's output is kept in {kept}", flush=True)
    print(result.report())
    print(f"load: {time.monotonic() - started:.0f} s in all", flush=True)
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
