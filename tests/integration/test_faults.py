"""Fault injection (issue 7, part 4): AWS throttling and failures under the real handlers, against moto.

Faults are answered at botocore's `before-send` on the app's own cached clients (`tickets.aws.client`), in
place of moto's answer, so botocore's retry logic (standard mode, `tickets/aws.py`) runs exactly as against
AWS: a fault on one attempt is retried and succeeds; a fault on every attempt reaches the app as the
ClientError it must handle. Backoff delays are zeroed (and counted) to keep the file fast.

- API writes: a throttle that outlasts the retries is a 503 problem+json with `Retry-After`, and nothing is
  half-written: the table after the 503 is the table before it (a ticket create may burn a number: a gap).
  The client's retry then succeeds and counts once.
- Stream consumers: an SES or EventBridge failure fails the record, the retry sends it, nothing twice.
- Webhook delivery: a receiver that accepts the connection and never answers holds up no other delivery.
"""

from __future__ import annotations

import json
import socket
import threading
import time
import weakref
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import boto3
import pytest

from tests.conftest import TABLE, ApiResponse, TenantKey, call, items, make_tenant, reset_caches
from tests.e2e.test_webhooks import Receiver
from tests.utils import expected_ticket_counters, ticket_counters
from tools import localmail, template
from tools.events import FakeContext
from tools.eventsources import EventSources, sqs_record

INJECTED = "x-fault-injected"  # marks a request whose answer is the fault: moto must not also run it
THROTTLE = "ThrottlingException"
ATTEMPTS = 4  # tickets/aws.py: standard mode, RETRIES=3 after the first attempt (every client)
TXN_ATTEMPTS = 3  # tickets/dal/client.py: a transiently cancelled transaction is sent again, 3 calls in all
TOTALS: Counter[str] = Counter()  # faults injected by the whole module, printed at its end
OUTCOMES: Counter[str] = Counter()


# ---------------------------------------------------------------- the injector


@dataclass
class Rule:
    service: str  # botocore service id, hyphenized: dynamodb, sesv2, eventbridge
    operation: str
    code: str
    times: int  # how many matching calls (botocore attempts) fail
    after: int = 0  # matching calls let through first
    when: Callable[[dict[str, Any]], bool] | None = None  # on the request's JSON body
    status: int = 400
    answer: dict[str, Any] | None = None  # a 200 answer instead of an error (PutEvents partial failure)
    reason: str = "ThrottlingError"  # TransactionCanceledException: the cancellation reason of one item
    seen: int = 0
    fired: int = 0


class Faults:
    """Rules answered at `before-send` on the app's clients; `injected` counts faults by operation and code."""

    def __init__(self) -> None:
        self.rules: list[Rule] = []
        self.injected: Counter[str] = Counter()
        self.backoffs = 0  # botocore retries (its backoff was asked for a delay)
        self._armed: weakref.WeakSet[Any] = weakref.WeakSet()

    def add(self, service: str, operation: str, code: str = THROTTLE, *, times: int = 1, **kw: Any) -> Rule:
        from tickets.aws import client

        rule = Rule(service, operation, code, times, **kw)
        self.rules.append(rule)
        name = {"eventbridge": "events"}.get(service, service)
        c = client(name)  # the cached client the app uses (make it now if need be)
        if c not in self._armed:
            c.meta.events.register_first("before-send", self._before_send)
            self._armed.add(c)
        return rule

    def clear(self) -> None:
        self.rules.clear()

    def _before_send(self, request: Any, event_name: str, **kwargs: Any) -> Any:
        _, service, operation = event_name.split(".", 2)
        payload: dict[str, Any] | None = None
        for rule in self.rules:
            if (rule.service, rule.operation) != (service, operation):
                continue
            if rule.when is not None:
                payload = payload if payload is not None else _json(request.body)
                if not rule.when(payload):
                    continue
            rule.seen += 1
            if rule.seen <= rule.after or rule.fired >= rule.times:
                continue
            rule.fired += 1
            self.injected[f"{service}.{operation}:{rule.code}"] += 1
            request.headers[INJECTED] = "1"
            return _answer(request, rule, payload if payload is not None else _json(request.body))
        return None


def _json(body: Any) -> dict[str, Any]:
    if not body:
        return {}
    if hasattr(body, "read"):
        return {}
    try:
        return json.loads(body)
    except ValueError:
        return {}


def _answer(request: Any, rule: Rule, payload: dict[str, Any]) -> Any:
    from botocore.awsrequest import AWSResponse
    from moto.core.botocore_stubber import MockRawResponse

    headers = {"Content-Type": "application/x-amz-json-1.0", "x-amzn-RequestId": "injected-fault"}
    if rule.answer is not None:
        return AWSResponse(request.url, 200, headers, MockRawResponse(json.dumps(rule.answer)))
    body: dict[str, Any] = {"__type": rule.code, "message": f"injected fault: {rule.code}"}
    if rule.code == "TransactionCanceledException":
        n = len(payload.get("TransactItems") or [])
        codes = ["None"] * n
        codes[-1] = rule.reason  # DynamoDB names the item that could not be written
        body["Message"] = f"Transaction cancelled, please refer cancellation reasons for specific reasons {codes}"
        body["CancellationReasons"] = [{"Code": c} for c in codes]
    headers["x-amzn-ErrorType"] = rule.code
    return AWSResponse(request.url, rule.status, headers, MockRawResponse(json.dumps(body)))


@pytest.fixture(scope="module", autouse=True)
def summary() -> Iterator[None]:
    yield
    print(f"\n[test_faults] faults injected: {sum(TOTALS.values())}")
    for what, n in sorted(TOTALS.items()):
        print(f"  {n:4d}  {what}")
    print(f"[test_faults] outcomes: {dict(sorted(OUTCOMES.items()))}")


@pytest.fixture
def faults(aws: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Faults]:
    from botocore.retries.standard import ExponentialBackoff
    from moto.core.botocore_stubber import BotocoreStubber

    f = Faults()
    real_stub = BotocoreStubber.__call__

    def stub(self: Any, event_name: str, request: Any, **kwargs: Any) -> Any:
        if request.headers.get(INJECTED):
            return None  # already answered by the fault: the request never reaches the service
        return real_stub(self, event_name, request, **kwargs)

    def no_wait(self: Any, context: Any) -> float:
        f.backoffs += 1
        return 0.0

    monkeypatch.setattr(BotocoreStubber, "__call__", stub)
    monkeypatch.setattr(ExponentialBackoff, "delay_amount", no_wait)
    yield f
    TOTALS.update(f.injected)


# ---------------------------------------------------------------- reading the table


def _plain(v: Any) -> Any:
    if isinstance(v, Decimal):
        return int(v) if v == v.to_integral_value() else float(v)
    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items()}
    if isinstance(v, list | set):
        return [_plain(x) for x in v]
    return v


def stored(ddb: Any, tenant: TenantKey) -> dict[str, list[dict[str, Any]]]:
    by_type: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for item in items(ddb, f"TENANT#{tenant.tenant_id}"):
        by_type[item.get("type", "?")].append(_plain(item))
    return by_type


def snapshot(ddb: Any, tenant: TenantKey) -> dict[tuple[str, str], dict[str, Any]]:
    """Every item of the tenant but its ticket sequence (a create that failed late may leave a gap)."""
    out = {}
    for item in items(ddb, f"TENANT#{tenant.tenant_id}"):
        item = _plain(item)
        if item.get("type") == "tenant":
            item.pop("seq")
        out[item["PK"], item["SK"]] = item
    return out


def assert_consistent(ddb: Any, tenant: TenantKey) -> dict[str, list[dict[str, Any]]]:
    """Counters (COUNTS and the ticket counters), sequence, references, customers' ticketCount and agents'
    openTickets agree with the tickets."""
    s = stored(ddb, tenant)
    tickets, (counts,), (meta,) = s["ticket"], s["counts"], s["tenant"]
    numbers = [t["number"] for t in tickets]
    assert len(numbers) == len(set(numbers)), f"duplicate ticket numbers: {sorted(numbers)}"
    assert all(1 <= n <= meta["seq"] for n in numbers), (numbers, meta["seq"])
    assert all(t["reference"] == f"{tenant.prefix}-{t['number']}" for t in tickets)
    refs = {int(r["SK"].split("#")[1]): r["ticketId"] for r in s["ticketref"]}
    assert refs == {t["number"]: t["id"] for t in tickets}, "reference pointers and tickets differ"
    everything = [i for kind in s.values() for i in kind]
    assert ticket_counters(everything) == expected_ticket_counters(tenant.tenant_id, tickets), "ticket counters"
    assert counts.get("customers", 0) == len(s["customer"]), counts
    assert counts.get("agents", 0) == len(s["agent"]), counts
    per_customer = Counter(t.get("customerId") for t in tickets if t.get("customerId"))
    for c in s["customer"]:
        assert c.get("ticketCount", 0) == per_customer.get(c["id"], 0), (c["id"], c.get("ticketCount"))
    open_by = Counter(
        t["assigneeId"] for t in tickets if t.get("assigneeId") and t["status"] not in ("resolved", "closed")
    )
    for a in s["agent"]:
        assert a.get("openTickets", 0) == open_by.get(a["id"], 0), (a["id"], a.get("openTickets"), open_by)
    for d in s["dedupe"]:
        assert "claim" not in d and d.get("ticketId"), f"a dedupe claim was left behind: {d}"
    return s


def usage(s: dict[str, list[dict[str, Any]]]) -> int:
    """Tickets counted against the monthly quota."""
    (meta,) = s["tenant"]
    return sum(v for k, v in meta.items() if k.startswith("used#"))


def idempotency_records(ddb: Any, tenant: TenantKey) -> list[dict[str, Any]]:
    return [_plain(i) for i in items(ddb, f"TENANT#{tenant.tenant_id}#IDEMPOTENCY")]


# ---------------------------------------------------------------- API writes


def _has_put(kind: str) -> Callable[[dict[str, Any]], bool]:
    def check(body: dict[str, Any]) -> bool:
        puts = [i["Put"]["Item"] for i in body.get("TransactItems", []) if "Put" in i]
        return any(p.get("type", {}).get("S") == kind for p in puts)

    return check


def _update_has(fragment: str) -> Callable[[dict[str, Any]], bool]:
    return lambda body: fragment in body.get("UpdateExpression", "")


def _put_of(kind: str) -> Callable[[dict[str, Any]], bool]:
    return lambda body: body.get("Item", {}).get("type", {}).get("S") == kind


def _idempotency(body: dict[str, Any]) -> bool:
    pk = (body.get("Item") or body.get("Key") or {}).get("PK", {}).get("S", "")
    return pk.endswith("#IDEMPOTENCY")


def _key_type(prefix: str) -> Callable[[dict[str, Any]], bool]:
    def check(body: dict[str, Any]) -> bool:
        ops = [next(iter(i.values())) for i in body.get("TransactItems", [])]
        keys = [op.get("Key") or op.get("Item") or {} for op in ops]
        return any(k.get("SK", {}).get("S", "").startswith(prefix) for k in keys)

    return check


@dataclass
class World:
    ddb: Any
    tenant: TenantKey
    ids: dict[str, str] = field(default_factory=dict)

    def api(self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None) -> ApiResponse:
        return call(method, path, key=self.tenant.key, body=body, headers=headers)

    def made(self, method: str, path: str, body: Any, status: int = 201) -> dict[str, Any]:
        resp = self.api(method, path, body)
        assert resp.status == status, resp.body
        return resp.json


@pytest.fixture
def world(aws: Any) -> World:
    """A tenant with two customers, three N1 agents and one open ticket of customer c1 assigned to a1."""
    w = World(aws, make_tenant("FLT"))
    for name in ("c1", "c2"):
        w.ids[name] = w.made("POST", "/v1/customers", {"externalId": name, "name": name, "email": f"{name}@x.io"})["id"]
    for name in ("a1", "a2", "a3"):
        w.ids[name] = w.made("POST", "/v1/agents", {"name": name, "email": f"{name}@x.io", "level": "N1"})["id"]
    # a3 takes no tickets: it is the one the DELETE case removes
    w.api("PATCH", f"/v1/agents/{w.ids['a3']}", {"available": False})
    t = w.made("POST", "/v1/tickets", {"subject": "Seed", "customerId": w.ids["c1"], "assigneeId": w.ids["a1"]})
    w.ids["t1"] = t["id"]
    return w


@dataclass(frozen=True)
class Write:
    op: str  # the DynamoDB operation that is throttled
    when: Callable[[dict[str, Any]], bool] | None
    request: Callable[[World], tuple[str, str, Any, dict[str, str] | None]]
    ok: int
    grows: dict[str, int]  # item types whose count the write changes, and by how much
    prepare: Callable[[World], None] | None = None


def _intake(w: World, **extra: Any) -> tuple[str, str, Any, None]:
    body = {"customerExternalId": "c2", "subject": "Payment failed", "dedupeKey": "pay:1", **extra}
    return "POST", "/v1/tickets/api-create", body, None


def _first_intake(w: World) -> None:
    w.made("POST", "/v1/tickets/api-create", _intake(w)[2])


WRITES: dict[str, Write] = {
    "create ticket: its transaction": Write(
        "TransactWriteItems", _has_put("ticketref"),
        lambda w: ("POST", "/v1/tickets", {"subject": "New", "customerId": w.ids["c2"], "assigneeId": w.ids["a2"]},
                   None),
        201, {"ticket": 1, "ticketref": 1},
    ),
    "create ticket: its number": Write(
        "UpdateItem", _update_has("seq = seq + :one"),
        lambda w: ("POST", "/v1/tickets", {"subject": "New", "customerId": w.ids["c2"]}, None),
        201, {"ticket": 1, "ticketref": 1},
    ),
    "PATCH a plain field": Write(
        "UpdateItem", _update_has("#version = #version + :one"),
        lambda w: ("PATCH", f"/v1/tickets/{w.ids['t1']}", {"priority": "urgent"}, {"if-match": '"1"'}),
        200, {},
    ),
    "PATCH the status": Write(
        "TransactWriteItems", _has_put("ticket"),
        lambda w: ("PATCH", f"/v1/tickets/{w.ids['t1']}", {"status": "resolved"}, {"if-match": '"1"'}),
        200, {},
    ),
    "PATCH assignee and customer": Write(
        "TransactWriteItems", _has_put("ticket"),
        lambda w: ("PATCH", f"/v1/tickets/{w.ids['t1']}", {"assigneeId": w.ids["a2"], "customerId": w.ids["c2"]},
                   None),
        200, {},
    ),
    "DELETE a ticket": Write(
        "TransactWriteItems", _key_type("TICKETREF#"),
        lambda w: ("DELETE", f"/v1/tickets/{w.ids['t1']}", None, None),
        204, {"ticket": -1, "ticketref": -1},
    ),
    "api-create: auto-assigned, deduplicated": Write(
        "TransactWriteItems", _has_put("ticketref"), _intake, 201, {"ticket": 1, "ticketref": 1, "dedupe": 1},
    ),
    "api-create: the dedupe claim": Write(
        "PutItem", _put_of("dedupe"), _intake, 201, {"ticket": 1, "ticketref": 1, "dedupe": 1},
    ),
    "api-create: a repeated event's occurrence": Write(
        "UpdateItem", _update_has("ADD occurrences"), _intake, 200, {}, prepare=_first_intake,
    ),
    "create customer": Write(
        "TransactWriteItems", _has_put("customer"),
        lambda w: ("POST", "/v1/customers", {"externalId": "c3", "name": "C3", "email": "c3@x.io"}, None),
        201, {"customer": 1, "customerext": 1, "customeremail": 1},
    ),
    "PATCH customer externalId": Write(
        "TransactWriteItems", _has_put("customer"),
        lambda w: ("PATCH", f"/v1/customers/{w.ids['c2']}", {"externalId": "c2-new"}, None),
        200, {},
    ),
    "DELETE customer": Write(
        "TransactWriteItems", _key_type("CUSTOMER"),
        lambda w: ("DELETE", f"/v1/customers/{w.ids['c2']}", None, None),
        204, {"customer": -1, "customerext": -1, "customeremail": -1},
    ),
    "create agent": Write(
        "TransactWriteItems", _has_put("agent"),
        lambda w: ("POST", "/v1/agents", {"name": "a4", "email": "a4@x.io", "level": "N2"}, None),
        201, {"agent": 1},
    ),
    "PATCH agent": Write(
        "UpdateItem", None,
        lambda w: ("PATCH", f"/v1/agents/{w.ids['a2']}", {"level": "N2"}, None),
        200, {},
    ),
    "DELETE agent": Write(
        "TransactWriteItems", _key_type("AGENT#"),
        lambda w: ("DELETE", f"/v1/agents/{w.ids['a3']}", None, None),
        204, {"agent": -1},
    ),
    "Idempotency-Key: the in-progress record": Write(
        "PutItem", _idempotency,
        lambda w: ("POST", "/v1/tickets", {"subject": "Once"}, {"idempotency-key": "k-1"}),
        201, {"ticket": 1, "ticketref": 1},
    ),
}  # fmt: skip


def _types(s: dict[str, list[dict[str, Any]]]) -> Counter[str]:
    return Counter({k: len(v) for k, v in s.items()})


def _assert_503(resp: ApiResponse) -> None:
    assert resp.status == 503, resp.body
    assert resp.headers.get("content-type") == "application/problem+json"
    assert resp.headers.get("retry-after") == "1"
    assert resp.json["code"] == "SERVICE_UNAVAILABLE" and resp.json["status"] == 503


@pytest.mark.parametrize("name", list(WRITES))
def test_given_a_write_throttled_on_every_attempt_then_503_with_nothing_written_and_the_retry_counts_once(
    world: World, faults: Faults, name: str
) -> None:
    case = WRITES[name]
    if case.prepare:
        case.prepare(world)
    before, before_s = snapshot(world.ddb, world.tenant), stored(world.ddb, world.tenant)
    method, path, body, headers = case.request(world)
    every = faults.add("dynamodb", case.op, THROTTLE, times=ATTEMPTS, when=case.when)

    resp = world.api(method, path, body, headers)

    assert every.fired == ATTEMPTS, f"the fault fired {every.fired} times"
    _assert_503(resp)
    assert snapshot(world.ddb, world.tenant) == before, "a throttled write was half-written"
    assert_consistent(world.ddb, world.tenant)

    # The client's retry is throttled once more: botocore's own retry gets it through.
    faults.clear()
    once = faults.add("dynamodb", case.op, "ProvisionedThroughputExceededException", times=1, when=case.when)
    retries = faults.backoffs
    resp = world.api(method, path, body, headers)

    assert resp.status == case.ok, resp.body
    assert once.fired == 1 and faults.backoffs > retries
    OUTCOMES[f"api write: 503, then {resp.status} after a botocore retry"] += 1
    after = assert_consistent(world.ddb, world.tenant)
    assert usage(after) - usage(before_s) == max(0, case.grows.get("ticket", 0)), "quota used twice or not at all"
    grown = _types(after)
    grown.subtract(_types(before_s))
    assert {k: v for k, v in grown.items() if v} == case.grows, "the write counted twice or not at all"


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("create ticket: its transaction", "ThrottlingError"),
        ("PATCH the status", "TransactionConflict"),
        ("DELETE a ticket", "ThrottlingError"),
        ("api-create: auto-assigned, deduplicated", "TransactionConflict"),
        ("create customer", "TransactionConflict"),
    ],
)
def test_given_a_transaction_cancelled_for_throttling_or_a_conflict_then_503_with_nothing_written(
    world: World, faults: Faults, name: str, reason: str
) -> None:
    """DynamoDB reports a throttled or contended item of a transaction as TransactionCanceledException (with
    that reason per item), which botocore does not retry: the layer sends it again, and when every call is
    cancelled the API must still say 503, not 500."""
    case = WRITES[name]
    before = snapshot(world.ddb, world.tenant)
    method, path, body, headers = case.request(world)
    rule = faults.add(
        "dynamodb", case.op, "TransactionCanceledException", times=TXN_ATTEMPTS, when=case.when, reason=reason
    )

    resp = world.api(method, path, body, headers)

    assert rule.fired == TXN_ATTEMPTS
    _assert_503(resp)
    assert snapshot(world.ddb, world.tenant) == before
    OUTCOMES[f"api transaction cancelled ({reason}): 503"] += 1
    faults.clear()
    assert world.api(method, path, body, headers).status == case.ok
    assert_consistent(world.ddb, world.tenant)


@pytest.mark.parametrize("name", ["create ticket: its transaction", "PATCH the status", "DELETE a ticket"])
def test_given_a_transaction_cancelled_by_a_conflict_once_then_it_is_sent_again_and_counts_once(
    world: World, faults: Faults, name: str
) -> None:
    case = WRITES[name]
    before = snapshot(world.ddb, world.tenant)
    method, path, body, headers = case.request(world)
    rule = faults.add(
        "dynamodb", case.op, "TransactionCanceledException", times=TXN_ATTEMPTS - 1, when=case.when,
        reason="TransactionConflict",
    )  # fmt: skip

    resp = world.api(method, path, body, headers)

    assert rule.fired == TXN_ATTEMPTS - 1
    assert resp.status == case.ok, resp.body
    assert snapshot(world.ddb, world.tenant) != before
    assert_consistent(world.ddb, world.tenant)
    OUTCOMES["api transaction cancelled (TransactionConflict) twice: sent again, written once"] += 1


def test_given_a_plain_patch_conflicting_with_a_transaction_then_503(world: World, faults: Faults) -> None:
    case = WRITES["PATCH a plain field"]
    before = snapshot(world.ddb, world.tenant)
    method, path, body, headers = case.request(world)
    faults.add("dynamodb", "UpdateItem", "TransactionConflictException", times=1, when=case.when)

    _assert_503(world.api(method, path, body, headers))
    assert snapshot(world.ddb, world.tenant) == before
    OUTCOMES["api TransactionConflictException: 503"] += 1


def test_given_the_quota_give_back_also_throttled_when_a_create_fails_then_503_and_nothing_else_moves(
    world: World, faults: Faults
) -> None:
    """The create's transaction and then the UpdateItem that returns its quota unit are both throttled out."""
    case = WRITES["create ticket: its transaction"]
    before = stored(world.ddb, world.tenant)
    method, path, body, headers = case.request(world)
    faults.add("dynamodb", "TransactWriteItems", times=ATTEMPTS, when=case.when)
    give_back = faults.add("dynamodb", "UpdateItem", times=ATTEMPTS, when=_update_has("#used - :one"))

    _assert_503(world.api(method, path, body, headers))

    assert give_back.fired == ATTEMPTS
    after = assert_consistent(world.ddb, world.tenant)
    assert _types(after) == _types(before)
    # The unit could not be given back: the month counts one ticket more than was made (never fewer).
    assert usage(after) == usage(before) + 1
    OUTCOMES["api create: 503, one quota unit not given back"] += 1


def test_given_the_dedupe_claim_release_also_throttled_when_an_intake_fails_then_the_retry_waits_out_the_claim(
    world: World, faults: Faults, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tickets.logic import intake

    monkeypatch.setattr(intake, "CLAIM_TTL_SECONDS", 0.2)
    case = WRITES["api-create: auto-assigned, deduplicated"]
    method, path, body, headers = case.request(world)
    faults.add("dynamodb", "TransactWriteItems", times=ATTEMPTS, when=case.when)
    faults.add("dynamodb", "DeleteItem", times=ATTEMPTS, when=lambda b: "claim" in b.get("ConditionExpression", ""))

    _assert_503(world.api(method, path, body, headers))
    (claim,) = stored(world.ddb, world.tenant)["dedupe"]
    assert "claim" in claim and "ticketId" not in claim  # left behind: it expires after CLAIM_TTL_SECONDS

    faults.clear()
    time.sleep(0.25)
    resp = world.api(method, path, body, headers)
    assert resp.status == 201, resp.body
    again = world.api(method, path, body, headers)
    assert again.status == 200 and again.json["id"] == resp.json["id"] and again.json["occurrences"] == 2
    assert_consistent(world.ddb, world.tenant)
    OUTCOMES["api intake: 503, stale claim taken over, then 201 + 200"] += 1


def test_given_the_idempotency_record_cannot_be_completed_then_the_written_ticket_is_answered_not_a_503(
    world: World, faults: Faults
) -> None:
    """The ticket is written; only saving the answer under the Idempotency-Key fails (on every attempt)."""
    before = stored(world.ddb, world.tenant)
    headers = {"idempotency-key": "k-2"}
    body = {"subject": "Once only"}
    save = faults.add("dynamodb", "UpdateItem", times=ATTEMPTS, when=_idempotency)

    resp = world.api("POST", "/v1/tickets", body, headers)

    assert save.fired == ATTEMPTS
    # A 503 would tell the client to retry a request that has taken effect: a second ticket.
    assert resp.status == 201, resp.body
    after = assert_consistent(world.ddb, world.tenant)
    assert len(after["ticket"]) == len(before["ticket"]) + 1
    # The key's record stays in progress until the invocation's time is up: a quick retry cannot run it again.
    faults.clear()
    retry = world.api("POST", "/v1/tickets", body, headers)
    assert retry.status == 409 and retry.json["code"] == "IDEMPOTENCY_IN_PROGRESS", retry.body
    assert len(stored(world.ddb, world.tenant)["ticket"]) == len(after["ticket"])
    OUTCOMES["api idempotency save failed: 201, retry 409"] += 1


def test_given_one_ticket_of_a_bulk_change_throttled_then_that_item_is_503_and_the_others_are_written(
    world: World, faults: Faults
) -> None:
    ids = [world.ids["t1"]] + [world.made("POST", "/v1/tickets", {"subject": f"B{i}"})["id"] for i in range(3)]
    victim = ids[2]

    def victims_write(body: dict[str, Any]) -> bool:
        puts = [i["Put"]["Item"] for i in body.get("TransactItems", []) if "Put" in i]
        return any(p.get("id", {}).get("S") == victim for p in puts)

    rule = faults.add("dynamodb", "TransactWriteItems", times=ATTEMPTS, when=victims_write)

    resp = world.api("POST", "/v1/tickets/bulk/status", {"ids": ids, "status": "pending"})

    assert rule.fired == ATTEMPTS
    assert resp.status == 200, resp.body
    by_id = {r["id"]: r for r in resp.json["results"]}
    assert by_id[victim]["status"] == 503 and by_id[victim]["error"]["code"] == "SERVICE_UNAVAILABLE"
    assert all(by_id[i]["status"] == 200 for i in ids if i != victim)
    assert (resp.json["succeeded"], resp.json["failed"]) == (3, 1)
    s = assert_consistent(world.ddb, world.tenant)
    assert {t["id"]: t["status"] for t in s["ticket"]} == {i: "pending" if i != victim else "new" for i in ids} | {
        world.ids["t1"]: "pending"
    }

    faults.clear()
    again = world.api("POST", "/v1/tickets/bulk/status", {"ids": ids, "status": "pending"})
    assert again.status == 200 and again.json["succeeded"] == 4
    s = assert_consistent(world.ddb, world.tenant)
    assert {t["status"] for t in s["ticket"]} == {"pending"}
    OUTCOMES["api bulk: one item 503, the others 200"] += 1


# ---------------------------------------------------------------- stream and queue consumers

FUNCTIONS = template.functions()
FANOUT, HISTORY, STATUS, DELIVER, EMAIL = (
    "FanoutWebhooksFunction",
    "RecordTicketHistoryFunction",
    "PublishStatusEventsFunction",
    "DeliverWebhookFunction",
    "SendAssignmentEmailFunction",
)


@dataclass
class Pipeline:
    """The template's stream and queue consumers, fed real stream records and SQS messages by tools.eventsources."""

    world: World
    runner: EventSources
    queues: dict[str, Any]
    results: dict[str, list[Any]] = field(default_factory=lambda: defaultdict(list))  # fn -> handler results
    receivers: list[Receiver] = field(default_factory=list)

    def run(self) -> None:
        self.runner.run_until_idle(timeout=30, quiet=0.2)

    def failures(self, fn: str) -> int:
        """Records reported failed (or in a batch that raised) over every invocation of `fn`."""
        return sum(len((r or {}).get("batchItemFailures") or []) for r in self.results[fn])

    def receiver(self) -> Receiver:
        self.receivers.append(Receiver())
        return self.receivers[-1]

    def subscribe(self, tenant: TenantKey, url: str, receiver: Receiver | None = None) -> dict[str, Any]:
        resp = call("POST", "/v1/webhooks", key=tenant.key, body={"url": url, "events": ["*"]}, apply_env=False)
        assert resp.status == 201, resp.body
        if receiver is not None:
            receiver.secret = resp.json["secret"]
        return resp.json


@pytest.fixture
def pipeline(world: World, monkeypatch: pytest.MonkeyPatch) -> Iterator[Pipeline]:
    from tickets.logic import assignment_emails, status_events

    queues = template.create_queues(boto3.client("sqs", region_name="us-east-1"))
    parameters = {"AllowPrivateWebhookTargets": "true", "WebhookRetrySchedule": "0,0,0", "LogLevel": "WARNING"}
    refs = template.build_refs(table=template.table_refs(world.ddb, TABLE), queues=queues, parameters=parameters)
    for name in (FANOUT, DELIVER, EMAIL, "CreateTicketFunction"):
        for key, val in template.resolve_function_env(FUNCTIONS[name], refs, strict=True).items():
            monkeypatch.setenv(key, val)
    reset_caches()
    status_events.publish_once.cache_clear()
    assignment_emails.send_once.cache_clear()

    def invoke(fn: template.Function, event: dict[str, Any]) -> Any:
        try:
            result = template.load_handler(fn)(event, FakeContext(fn.name))
        except Exception:  # every record failed: Powertools raises, and the whole batch is retried
            p.results[fn.name].append({"batchItemFailures": event["Records"]})
            raise
        p.results[fn.name].append(result)
        return result

    fns = [FUNCTIONS[n] for n in (FANOUT, HISTORY, STATUS, DELIVER, EMAIL)]
    p = Pipeline(world, EventSources(fns, invoke, refs=refs, retry_backoff=(0, 0), failed_message_visibility=0), queues)
    yield p
    for r in p.receivers:
        r.close()
    reset_caches()
    status_events.publish_once.cache_clear()
    assignment_emails.send_once.cache_clear()


def api(w: World, method: str, path: str, body: Any = None) -> dict[str, Any]:
    resp = call(method, path, key=w.tenant.key, body=body, apply_env=False)
    assert 200 <= resp.status < 300, resp.body
    return resp.json


def test_given_ses_throttling_when_assignment_emails_are_sent_then_the_record_is_retried_and_each_email_sent_once(
    pipeline: Pipeline, faults: Faults
) -> None:
    w = pipeline.world
    # The first send is throttled on all 4 attempts (the record fails); a later one once (botocore retries it).
    every = faults.add("sesv2", "SendEmail", "TooManyRequestsException", times=ATTEMPTS, status=429)
    once = faults.add("sesv2", "SendEmail", "TooManyRequestsException", times=1, status=429, after=1)
    first = api(w, "POST", "/v1/tickets", {"subject": "One", "assigneeId": w.ids["a1"]})
    second = api(w, "POST", "/v1/tickets", {"subject": "Two", "assigneeId": w.ids["a2"]})
    api(w, "PATCH", f"/v1/tickets/{first['id']}", {"assigneeId": w.ids["a2"]})

    pipeline.run()

    assert (every.fired, once.fired) == (ATTEMPTS, 1)
    assert pipeline.failures(EMAIL) >= 1  # reported failed, not swallowed
    sent = Counter((m["subject"], m["to"][0]) for m in localmail.sent_emails())
    assert sent == {
        (f"[{first['reference']}] One", "a1@x.io"): 1,
        (f"[{second['reference']}] Two", "a2@x.io"): 1,
        (f"[{first['reference']}] One", "a2@x.io"): 1,
    }
    OUTCOMES[f"ses throttled: record failed and retried, {sum(sent.values())} emails, none twice"] += 1


EVENTBRIDGE_FAULTS: dict[str, dict[str, Any]] = {
    "throttled on every attempt": {"code": THROTTLE, "times": ATTEMPTS},
    "internal error on every attempt": {"code": "InternalException", "status": 500, "times": ATTEMPTS},
    "FailedEntryCount > 0 (HTTP 200)": {
        "code": "FailedEntry",
        "times": 1,
        "answer": {"FailedEntryCount": 1, "Entries": [{"ErrorCode": "InternalFailure", "ErrorMessage": "injected"}]},
    },
}


def _capture_status_events() -> Callable[[], list[dict[str, Any]]]:
    """A rule on the default bus that copies `tickets` events to a queue; returns a drain() of that queue."""
    sqs = boto3.client("sqs", region_name="us-east-1")
    url = sqs.create_queue(QueueName="captured-status-events")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events = boto3.client("events", region_name="us-east-1")
    events.put_rule(Name="capture", EventPattern=json.dumps({"source": ["tickets"]}), State="ENABLED")
    events.put_targets(Rule="capture", Targets=[{"Id": "queue", "Arn": arn}])

    def drain() -> list[dict[str, Any]]:
        out = []
        while batch := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
            out += [json.loads(m["Body"]) for m in batch]
            for m in batch:
                sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
        return out

    return drain


def test_given_eventbridge_failing_when_status_changes_are_published_then_retried_and_each_published_once(
    pipeline: Pipeline, faults: Faults
) -> None:
    """Every EventBridge fault in turn (each fails the record once), then the history write after a publish."""
    w = pipeline.world
    drain = _capture_status_events()
    rules = []
    for spec in EVENTBRIDGE_FAULTS.values():
        spec = dict(spec)
        rules.append(faults.add("eventbridge", "PutEvents", spec.pop("code"), times=spec.pop("times"), **spec))
    rules.append(
        faults.add(
            "dynamodb",
            "PutItem",
            times=ATTEMPTS,
            when=lambda b: b.get("Item", {}).get("entryType", {}).get("S") == "status_changed",
        )
    )
    other = api(w, "POST", "/v1/tickets", {"subject": "Other"})
    api(w, "PATCH", f"/v1/tickets/{w.ids['t1']}", {"status": "pending"})
    api(w, "PATCH", f"/v1/tickets/{other['id']}", {"status": "resolved"})

    pipeline.run()

    assert [r.fired for r in rules] == [ATTEMPTS, ATTEMPTS, 1, ATTEMPTS]
    assert pipeline.failures(STATUS) >= len(rules)  # each fault failed the record, and it was retried
    published = Counter((e["detail"]["ticket"]["id"], e["detail"]["newStatus"]) for e in drain())
    assert published == {(w.ids["t1"], "pending"): 1, (other["id"], "resolved"): 1}
    for ticket_id in (w.ids["t1"], other["id"]):
        history = api(w, "GET", f"/v1/tickets/{ticket_id}/history")["data"]
        assert [h["type"] for h in history].count("status_changed") == 1
    OUTCOMES["eventbridge: 4 kinds of failure, records retried, each event published once"] += 1


FANOUT_FAULTS = {
    "listing the endpoints (Query)": ("Query", lambda b: "WEBHOOK#" in json.dumps(b.get("ExpressionAttributeValues"))),
    "recording a delivery (PutItem)": ("PutItem", _put_of("delivery")),
    "marking it queued (UpdateItem)": ("UpdateItem", _update_has("SET enqueuedAt")),
}


def test_given_dynamodb_throttling_in_the_fanout_then_every_event_reaches_every_endpoint_once(
    pipeline: Pipeline, faults: Faults
) -> None:
    """Each of the fan-out's writes is throttled out once in turn; the stream record is retried each time."""
    w = pipeline.world
    receivers = [pipeline.receiver(), pipeline.receiver()]
    hooks = [pipeline.subscribe(w.tenant, r.url, r) for r in receivers]
    rules = [faults.add("dynamodb", op, times=ATTEMPTS, when=when) for op, when in FANOUT_FAULTS.values()]
    made = [api(w, "POST", "/v1/tickets", {"subject": f"F{i}"})["id"] for i in range(3)]

    pipeline.run()

    assert [r.fired for r in rules] == [ATTEMPTS] * 3 and pipeline.failures(FANOUT) >= 3
    for r in receivers:
        assert r.verification_failures == 0
        got = Counter(q.json["data"]["ticket"]["id"] for q in r.requests if q.json["type"] == "ticket.created")
        # Every event arrived; one may arrive twice (sent, then not marked as sent), with the same webhook-id.
        assert set(got) == set(made) and sum(got.values()) <= 4 and len({q.webhook_id for q in r.requests}) == 3
    deliveries = stored(w.ddb, w.tenant)["delivery"]
    assert Counter(d["webhookId"] for d in deliveries) == {h["id"]: 3 for h in hooks}  # one per (event, endpoint)
    assert {(d["state"], d["attempt"]) for d in deliveries} == {("succeeded", 1)}
    for hook in hooks:
        log = call("GET", f"/v1/webhooks/{hook['id']}/deliveries", key=w.tenant.key, apply_env=False).json["data"]
        assert sorted(a["attempt"] for a in log) == [1, 1, 1]  # each counted once
    OUTCOMES["fanout throttled (Query, PutItem, UpdateItem): 6 deliveries, none lost or logged twice"] += 1


def test_given_the_attempt_record_cancelled_by_throttling_then_the_message_is_retried_not_taken_for_a_duplicate(
    pipeline: Pipeline, faults: Faults
) -> None:
    w = pipeline.world
    receiver = pipeline.receiver()
    hook = pipeline.subscribe(w.tenant, receiver.url, receiver)
    rule = faults.add("dynamodb", "TransactWriteItems", "TransactionCanceledException", times=TXN_ATTEMPTS,
                      when=_has_put("deliveryattempt"))  # fmt: skip
    api(w, "POST", "/v1/tickets", {"subject": "Logged"})

    pipeline.run()

    assert rule.fired == TXN_ATTEMPTS
    assert len({q.webhook_id for q in receiver.requests}) == 1  # at least once, one event
    (delivery,) = stored(w.ddb, w.tenant)["delivery"]
    assert (delivery["state"], delivery["attempt"]) == ("succeeded", 1), delivery
    log = call("GET", f"/v1/webhooks/{hook['id']}/deliveries", key=w.tenant.key, apply_env=False).json["data"]
    assert [(a["attempt"], a["state"]) for a in log] == [(1, "succeeded")]
    OUTCOMES["delivery log write cancelled: retried, logged once"] += 1


# ---------------------------------------------------------------- a receiver that never answers


class Silent:
    """A TCP server that accepts every connection and then says nothing, ever (nor reads what it is sent)."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.connections: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.getsockname()[1]}/hook"

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            self.connections.append(conn)

    def close(self) -> None:
        self.server.close()
        for conn in self.connections:
            conn.close()


HANGING = 7  # more than asyncio's default executor has threads on 2 CPUs (6), fewer than the BatchSize (10)
TIMEOUT = 1.5


def test_given_a_receiver_that_never_answers_when_a_batch_is_delivered_then_other_tenants_are_not_held_up(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tickets.config import settings
    from tickets.dal import webhooks as dal

    monkeypatch.setenv("WEBHOOK_TIMEOUT_SECONDS", str(TIMEOUT))
    settings.cache_clear()
    w = pipeline.world
    other = make_tenant("OTB")
    silent, receiver = Silent(), pipeline.receiver()
    try:
        stuck_hook = pipeline.subscribe(w.tenant, silent.url)
        pipeline.subscribe(other, receiver.url, receiver)
        # Only the fan-out runs from the stream (from here on); the delivery batch is invoked by hand below.
        fanout = EventSources([FUNCTIONS[FANOUT]], lambda fn, ev: template.load_handler(fn)(ev, FakeContext(fn.name)),
                              refs=pipeline.runner.refs, retry_backoff=(0, 0))  # fmt: skip
        for i in range(HANGING):
            api(w, "POST", "/v1/tickets", {"subject": f"Hang {i}"})
        call("POST", "/v1/tickets", key=other.key, body={"subject": "Fine"}, apply_env=False)
        fanout.run_until_idle(timeout=10, quiet=0.1, include_delayed=False)

        sqs = boto3.client("sqs", region_name="us-east-1")
        url, arn = pipeline.queues["WebhookDeliveryQueue"].url, pipeline.queues["WebhookDeliveryQueue"].arn
        messages: list[dict[str, Any]] = []
        for _ in range(5):
            messages += sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
            if len(messages) >= HANGING + 1:
                break
        assert len(messages) == HANGING + 1
        recorded: dict[str, list[float]] = defaultdict(list)
        real_record = dal.record_attempt

        def timed_record(tenant_id: str, *args: Any, **kwargs: Any) -> bool:
            recorded[tenant_id].append(time.monotonic())
            return real_record(tenant_id, *args, **kwargs)

        monkeypatch.setattr(dal, "record_attempt", timed_record)
        event = {"Records": [sqs_record(m, arn, "us-east-1") for m in messages]}  # one batch, as Lambda sends it
        started = time.monotonic()
        result = template.load_handler(FUNCTIONS[DELIVER])(event, FakeContext(DELIVER))
        took = time.monotonic() - started
    finally:
        silent.close()

    assert result == {"batchItemFailures": []}
    (fine,) = receiver.requests
    waited = {"other tenant's POST": fine.at - started, "its attempt recorded": recorded[other.tenant_id][0] - started}
    OUTCOMES[f"hanging receiver: other tenant delivered in {waited['its attempt recorded']:.2f} s, "
             f"batch {took:.2f} s (timeout {TIMEOUT} s)"] += 1  # fmt: skip
    print(f"\n[test_faults] hanging receiver: {waited}, whole batch {took:.2f} s")
    assert all(t < TIMEOUT / 2 for t in waited.values()), waited  # done well before the hanging ones time out
    assert TIMEOUT <= took < 2 * TIMEOUT  # the hanging ones waited out their deadline, all at the same time
    assert len(silent.connections) == HANGING
    log = call("GET", f"/v1/webhooks/{stuck_hook['id']}/deliveries", key=w.tenant.key, query={"limit": "50"},
               apply_env=False).json["data"]  # fmt: skip
    assert len(log) == HANGING
    for attempt in log:
        assert (attempt["attempt"], attempt["state"], attempt["responseStatus"]) == (1, "pending", None), attempt
        assert attempt["error"] == "timeout" and attempt["nextAttemptAt"], attempt
    retries = [json.loads(m["Body"]) for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]]
    assert sorted(m["attempt"] for m in retries) == [2] * HANGING  # a retry scheduled for each
    assert {m["tenantId"] for m in retries} == {w.tenant.tenant_id}
