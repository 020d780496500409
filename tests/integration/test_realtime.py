"""The real-time channel through the real handlers, against moto: tokens (POST /v1/realtime/tokens), the WebSocket
API's $connect / $disconnect / $default functions (tools.realtime runs them as API Gateway would, connections
recorded), and the push consumer on the table's stream (tools.eventsources), posting through boto3's
apigatewaymanagementapi to the local @connections endpoint, exactly as it posts to API Gateway's.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import boto3
import pytest

from tests.conftest import TABLE, TenantKey, call, items, make_tenant
from tools import template
from tools.eventsources import EventSources
from tools.realtime import Connection, Refused, Routes

FUNCTIONS = template.functions()
TICKET_FIELDS = ["id", "reference", "subject", "status", "priority", "assigneeId", "groupId", "version", "updatedAt"]
MESSAGE_KEYS = ["type", "eventId", "at", "ticket", "changes", "forYou"]
EVENT_ID = re.compile(r"^evt_[0-9A-Z]{26}$")
CONSOLE_SCOPES = ["tickets:read", "tickets:write", "tickets:status"]


@dataclass
class Agent:
    id: str
    key: str
    key_id: str


def make_agent(tenant: TenantKey, name: str, scopes: list[str] = CONSOLE_SCOPES) -> Agent:
    agent = call("POST", "/v1/agents", key=tenant.key, body={"name": name, "email": f"{name.lower()}@example.com"})
    assert agent.status == 201, agent.body
    made = call("POST", "/v1/api-keys", key=tenant.key, body={"scopes": scopes, "agentId": agent.json["id"]})
    assert made.status == 201, made.body
    return Agent(agent.json["id"], made.json["key"], made.json["id"])


def token_for(key: str) -> str:
    resp = call("POST", "/v1/realtime/tokens", key=key)
    assert resp.status == 201, resp.body
    return str(resp.json["token"])


def connect(realtime: Routes, key: str) -> Connection:
    return realtime.connect({"token": token_for(key)})


def ping(realtime: Routes, conn: Connection, text: str | bytes = '{"action": "ping"}') -> Any:
    answer = realtime.message(conn.id, text)
    assert answer is not None, "$default is two-way: every message gets an answer"
    return json.loads(answer)


def stored(client: Any, tenant: TenantKey, prefix: str) -> list[dict[str, Any]]:
    return [i for i in items(client, f"TENANT#{tenant.tenant_id}") if i["SK"].startswith(prefix)]


def get(client: Any, pk: str, sk: str) -> dict[str, Any] | None:
    from boto3.dynamodb.types import TypeDeserializer

    found = client.get_item(TableName=TABLE, Key={"PK": {"S": pk}, "SK": {"S": sk}}).get("Item")
    return {k: TypeDeserializer().deserialize(v) for k, v in found.items()} if found else None


@pytest.fixture
def pushes(aws: Any, realtime: Routes) -> Callable[[], int]:
    """Run the push consumer on what the stream holds since now (its template event source, StartingPosition
    LATEST, as a freshly deployed mapping); returns how many records it was given."""
    queues = template.create_queues(boto3.client("sqs", region_name="us-east-1"))
    refs = template.build_refs(table=template.table_refs(aws, TABLE), queues=queues)

    def invoke(fn: template.Function, event: dict[str, Any]) -> Any:
        return realtime.invoke(fn.name, event)

    runner = EventSources([FUNCTIONS["PushRealtimeFunction"]], invoke, refs=refs, retry_backoff=(0, 0))
    return lambda: runner.run_until_idle(timeout=30, quiet=0.1)


# ------------------------------------------------------------------------------------------------ tokens


def test_given_an_agent_key_when_it_asks_for_a_token_then_201_with_the_websocket_url_and_only_a_hash_is_stored(
    aws, tenant
):
    grace = make_agent(tenant, "Grace")
    before = time.time()
    resp = call("POST", "/v1/realtime/tokens", key=grace.key)

    assert resp.status == 201 and resp.headers["cache-control"] == "no-store"
    body = resp.json
    assert sorted(body) == ["expiresAt", "token", "url"]
    token = body["token"]
    assert re.fullmatch(r"rt_[A-Za-z0-9_-]{43}", token)
    stage_url = template.resolve_function_env(FUNCTIONS["CreateRealtimeTokenFunction"], {})["REALTIME_URL"]
    assert stage_url.startswith("wss://") and stage_url.endswith("/v1")
    assert body["url"] == f"{stage_url}?token={token}"
    expires = datetime.fromisoformat(body["expiresAt"].replace("Z", "+00:00")).timestamp()
    assert int(before) + 60 <= expires <= time.time() + 60 and body["expiresAt"].endswith(".000Z")
    digest = hashlib.sha256(token.encode()).hexdigest()
    item = get(aws, f"RTTOKEN#{digest}", "RTTOKEN")
    assert item is not None
    assert {k: item[k] for k in ("tenantId", "keyId", "agentId")} == {
        "tenantId": tenant.tenant_id, "keyId": grace.key_id, "agentId": grace.id,
    }  # fmt: skip
    assert int(before) + 60 <= item["expiresAt"] <= time.time() + 60  # the table's TTL attribute
    assert token not in json.dumps(aws.scan(TableName=TABLE)["Items"])  # never in clear, anywhere


def test_given_a_key_without_an_agent_then_its_token_is_bound_to_the_key_alone(aws, tenant):
    token = token_for(tenant.key)
    item = get(aws, f"RTTOKEN#{hashlib.sha256(token.encode()).hexdigest()}", "RTTOKEN")
    assert item is not None and item["tenantId"] == tenant.tenant_id and item["agentId"] is None


def test_given_a_key_without_tickets_read_when_it_asks_for_a_token_then_403_and_nothing_is_stored(aws):
    writer = make_tenant("WRT", scopes=["customers:read"])
    resp = call("POST", "/v1/realtime/tokens", key=writer.key)
    assert resp.status == 403 and resp.json["code"] == "INSUFFICIENT_SCOPE"
    assert not [i for i in aws.scan(TableName=TABLE)["Items"] if i["PK"]["S"].startswith("RTTOKEN#")]


def test_given_no_key_when_asking_for_a_token_then_401(aws):
    resp = call("POST", "/v1/realtime/tokens")
    assert resp.status == 401 and resp.json["code"] == "UNAUTHORIZED"


def test_given_an_idempotency_key_replay_then_the_token_and_url_are_null_and_the_first_token_still_works(
    tenant, realtime
):
    first = call("POST", "/v1/realtime/tokens", key=tenant.key, headers={"Idempotency-Key": "console-1"})
    again = call("POST", "/v1/realtime/tokens", key=tenant.key, headers={"Idempotency-Key": "console-1"})

    assert first.status == again.status == 201 and again.headers["idempotent-replayed"] == "true"
    assert first.json["token"].startswith("rt_") and (again.json["token"], again.json["url"]) == (None, None)
    assert again.json["expiresAt"] == first.json["expiresAt"]
    assert realtime.connect({"token": first.json["token"]}).id


# ------------------------------------------------------------------------------------------------ $connect


def test_given_a_fresh_token_when_connecting_then_the_connection_is_stored_under_the_tenant_and_the_token_is_spent(
    aws, tenant, realtime
):
    grace = make_agent(tenant, "Grace")
    token = token_for(grace.key)
    before = int(time.time())
    conn = realtime.connect({"token": token})

    (item,) = stored(aws, tenant, "CONN#")
    assert item["SK"] == f"CONN#{conn.id}"
    expected = {"connectionId": conn.id, "keyId": grace.key_id, "agentId": grace.id, "tenantId": tenant.tenant_id}
    assert {k: item[k] for k in expected} == expected
    assert before + 2 * 3600 + 600 <= item["expiresAt"] <= time.time() + 2 * 3600 + 600  # API Gateway's 2 h, +10 min
    lookup = get(aws, f"CONN#{conn.id}", "CONN")
    assert lookup is not None and {k: lookup[k] for k in expected} == expected
    assert get(aws, f"RTTOKEN#{hashlib.sha256(token.encode()).hexdigest()}", "RTTOKEN") is None


def test_given_a_used_token_when_connecting_again_then_401_and_no_second_connection(aws, tenant, realtime):
    token = token_for(tenant.key)
    realtime.connect({"token": token})
    with pytest.raises(Refused) as refused:
        realtime.connect({"token": token})
    assert refused.value.status == 401 and json.loads(refused.value.body)["code"] == "UNAUTHORIZED"
    assert len(stored(aws, tenant, "CONN#")) == 1


def test_given_one_token_in_two_simultaneous_connects_then_exactly_one_opens(aws, tenant, realtime):
    token = token_for(tenant.key)
    outcomes: list[int] = []
    start = threading.Barrier(2)

    def attempt() -> None:
        start.wait()
        try:
            realtime.connect({"token": token})
            outcomes.append(200)
        except Refused as refused:
            outcomes.append(refused.status)

    threads = [threading.Thread(target=attempt) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == [200, 401]
    assert len(stored(aws, tenant, "CONN#")) == 1


def test_given_an_expired_token_when_connecting_then_401_and_nothing_is_stored(aws, tenant, realtime, monkeypatch):
    token = token_for(tenant.key)
    real_time = time.time
    monkeypatch.setattr(time, "time", lambda: real_time() + 61)  # the token's 60 s are over; TTL has not run yet
    with pytest.raises(Refused) as refused:
        realtime.connect({"token": token})
    assert refused.value.status == 401
    assert stored(aws, tenant, "CONN#") == []


@pytest.mark.parametrize(
    "query",
    [None, {}, {"token": ""}, {"token": "rt_" + "x" * 43}, {"token": "tk_not_a_realtime_token_at_all_0123"},
     {"token": "rt_" + "é" * 20}, {"token": "rt_" + "a" * 500}, {"other": "x"}],
    ids=["no query", "empty query", "empty token", "unknown token", "an API key", "not ascii", "too long", "no token"],
)  # fmt: skip
def test_given_no_or_a_forged_token_when_connecting_then_401_and_nothing_is_stored(aws, tenant, realtime, query):
    with pytest.raises(Refused) as refused:
        realtime.connect(query)
    assert refused.value.status == 401 and json.loads(refused.value.body)["code"] == "UNAUTHORIZED"
    assert stored(aws, tenant, "CONN#") == []


def test_given_the_key_was_revoked_after_the_token_was_made_when_connecting_then_403_and_nothing_is_stored(
    aws, tenant, realtime
):
    grace = make_agent(tenant, "Grace")
    token = token_for(grace.key)
    assert call("DELETE", f"/v1/api-keys/{grace.key_id}", key=tenant.key).status == 204

    with pytest.raises(Refused) as refused:
        realtime.connect({"token": token})
    assert refused.value.status == 403 and json.loads(refused.value.body)["code"] == "FORBIDDEN"
    assert stored(aws, tenant, "CONN#") == []


def test_given_another_tenants_token_then_the_connection_is_that_tenants_and_never_under_this_one(
    aws, tenant, other_tenant, realtime
):
    conn = connect(realtime, other_tenant.key)
    assert stored(aws, tenant, "CONN#") == []
    (theirs,) = stored(aws, other_tenant, "CONN#")
    assert theirs["connectionId"] == conn.id and theirs["tenantId"] == other_tenant.tenant_id


# ------------------------------------------------------------------------------------------------ $disconnect, $default


def test_given_a_connection_when_it_closes_then_both_its_items_are_deleted_and_a_second_disconnect_is_harmless(
    aws, tenant, realtime
):
    conn = connect(realtime, tenant.key)
    realtime.disconnect(conn.id)
    assert stored(aws, tenant, "CONN#") == [] and get(aws, f"CONN#{conn.id}", "CONN") is None
    realtime.disconnect(conn.id)  # API Gateway may deliver it twice; nothing left to do


def test_given_a_ping_then_pong(tenant, realtime):
    conn = connect(realtime, tenant.key)
    assert ping(realtime, conn) == {"type": "pong"}
    assert conn.messages() == [{"type": "pong"}]


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("not json", "INVALID_MESSAGE"),
        ("[1, 2]", "INVALID_MESSAGE"),
        ('"ping"', "INVALID_MESSAGE"),
        ("", "INVALID_MESSAGE"),
        ("[" * 2000 + "]" * 2000, "INVALID_MESSAGE"),
        ('{"action": "subscribe", "ticket": "x"}', "UNKNOWN_ACTION"),
        ('{"action": ["ping"]}', "UNKNOWN_ACTION"),
        ("{}", "UNKNOWN_ACTION"),
        (json.dumps({"action": "ping", "pad": "x" * 5000}), "MESSAGE_TOO_LARGE"),
        (b"\x00\x01binary", "INVALID_MESSAGE"),
    ],
    ids=["text", "array", "string", "empty", "deep", "other action", "action list", "no action", "large", "binary"],
)
def test_given_anything_but_a_ping_then_a_small_error_message_and_never_a_crash(tenant, realtime, text, code):
    conn = connect(realtime, tenant.key)
    answer = ping(realtime, conn, text)
    assert sorted(answer) == ["code", "message", "type"] and (answer["type"], answer["code"]) == ("error", code)
    assert ping(realtime, conn) == {"type": "pong"}  # the connection still works


def test_given_a_connection_the_server_forgot_when_it_pings_then_it_is_told_to_reconnect(aws, tenant, realtime):
    conn = connect(realtime, tenant.key)
    from tickets.dal import realtime as dal

    dal.delete_connection(tenant.tenant_id, conn.id)
    answer = ping(realtime, conn)
    assert (answer["type"], answer["code"]) == ("error", "UNKNOWN_CONNECTION")


# ------------------------------------------------------------------------------------------------ pushes


def _expected(ticket: dict[str, Any], kind: str, at: str, changes: list[str], for_you: bool) -> dict[str, Any]:
    return {
        "type": kind,
        "at": at,
        "ticket": {name: ticket.get(name) for name in TICKET_FIELDS},
        "changes": changes,
        "forYou": for_you,
    }


def _without_ids(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    for m in messages:
        assert list(m) == MESSAGE_KEYS, m  # exactly these keys, in this order
        assert list(m["ticket"]) == TICKET_FIELDS, m["ticket"]
        assert EVENT_ID.match(m["eventId"]), m
    return [{k: v for k, v in m.items() if k != "eventId"} for m in messages]


def test_given_a_ticket_assigned_to_an_agent_then_its_console_gets_for_you_and_the_others_do_not(
    tenant, realtime, pushes
):
    grace, alan = make_agent(tenant, "Grace"), make_agent(tenant, "Alan")
    mine, theirs, plain = connect(realtime, grace.key), connect(realtime, alan.key), connect(realtime, tenant.key)
    created = call("POST", "/v1/tickets", key=tenant.key, body={"subject": "Printer on fire", "assigneeId": grace.id})
    assert created.status == 201
    t = created.json
    pushes()

    for conn, for_you in ((mine, True), (theirs, False), (plain, False)):
        assert _without_ids(conn.messages()) == [
            _expected(t, "ticket.created", t["createdAt"], [], for_you),
            _expected(t, "ticket.assigned", t["createdAt"], ["assigneeId"], for_you),
        ]
        assert (
            conn.messages()[0]["ticket"]["groupId"] is None and conn.messages()[0]["ticket"]["assigneeId"] == grace.id
        )
    ids = [[m["eventId"] for m in c.messages()] for c in (mine, theirs, plain)]
    assert ids[0] == ids[1] == ids[2] and len(set(ids[0])) == 2  # one id per event, the same for everyone


def test_given_a_patch_of_status_and_priority_then_updated_names_the_fields_and_status_changed_names_status(
    tenant, realtime, pushes
):
    grace = make_agent(tenant, "Grace")
    t = call("POST", "/v1/tickets", key=tenant.key, body={"subject": "Slow", "assigneeId": grace.id}).json
    pushes()  # the creation's events, to nobody
    conn = connect(realtime, grace.key)
    patched = call("PATCH", f"/v1/tickets/{t['id']}", key=grace.key, body={"status": "open", "priority": "urgent"})
    assert patched.status == 200
    after = patched.json
    pushes()

    assert _without_ids(conn.messages()) == [
        _expected(after, "ticket.updated", after["updatedAt"], ["priority", "status"], True),
        _expected(after, "ticket.status_changed", after["updatedAt"], ["status"], True),
    ]
    assert conn.messages()[0]["ticket"]["version"] == 2 and conn.messages()[0]["ticket"]["status"] == "open"


def test_given_a_comment_then_the_push_names_its_ticket_and_never_carries_its_body(tenant, realtime, pushes):
    t = call("POST", "/v1/tickets", key=tenant.key, body={"subject": "Refund", "description": "SECRET-DESC"}).json
    pushes()
    conn = connect(realtime, tenant.key)
    body = "Internal: card ending 4242, SECRET-NOTE"
    resp = call(
        "POST", f"/v1/tickets/{t['id']}/comments", key=tenant.key, body={"body": body, "visibility": "internal"}
    )
    assert resp.status == 201
    pushes()

    (message,) = conn.messages()
    assert message["type"] == "comment.created" and message["ticket"]["id"] == t["id"] and message["changes"] == []
    raw = "".join(conn.received)
    assert "SECRET-NOTE" not in raw and "4242" not in raw and "SECRET-DESC" not in raw and resp.json["id"] not in raw


def test_given_a_deleted_ticket_then_the_push_says_so_with_the_ticket_as_it_was(tenant, realtime, pushes):
    t = call("POST", "/v1/tickets", key=tenant.key, body={"subject": "Dup"}).json
    pushes()
    conn = connect(realtime, tenant.key)
    assert call("DELETE", f"/v1/tickets/{t['id']}", key=tenant.key).status == 204
    pushes()

    (message,) = conn.messages()
    assert (message["type"], message["ticket"]["id"], message["ticket"]["subject"]) == (
        "ticket.deleted",
        t["id"],
        "Dup",
    )
    assert message["changes"] == [] and message["forYou"] is False


def test_given_a_connection_api_gateway_says_is_gone_then_the_consumer_deletes_it_and_the_others_still_get_theirs(
    aws, tenant, realtime, pushes
):
    gone, alive = connect(realtime, tenant.key), connect(realtime, tenant.key)
    realtime.connections.remove(gone.id)  # the socket went away without a $disconnect: @connections answers 410
    call("POST", "/v1/tickets", key=tenant.key, body={"subject": "One"})
    pushes()

    assert gone.messages() == [] and [m["type"] for m in alive.messages()] == ["ticket.created"]
    assert [i["connectionId"] for i in stored(aws, tenant, "CONN#")] == [alive.id]
    assert get(aws, f"CONN#{gone.id}", "CONN") is None

    call("POST", "/v1/tickets", key=tenant.key, body={"subject": "Two"})
    pushes()
    assert [m["ticket"]["subject"] for m in alive.messages()] == ["One", "Two"]


def test_given_a_revoked_key_then_its_connections_stop_receiving_within_the_60_s_cache_and_are_closed(
    aws, tenant, realtime, pushes, monkeypatch
):
    grace = make_agent(tenant, "Grace")
    revoked, other = connect(realtime, grace.key), connect(realtime, tenant.key)
    call("POST", "/v1/tickets", key=tenant.key, body={"subject": "Before"})
    pushes()  # the key's state is now cached
    assert call("DELETE", f"/v1/api-keys/{grace.key_id}", key=tenant.key).status == 204

    from tickets.config import settings
    from tickets.logic import realtime_push

    assert settings().api_key_cache_seconds <= 60
    real = time.monotonic
    monkeypatch.setattr(realtime_push.time, "monotonic", lambda: real() + settings().api_key_cache_seconds + 0.1)
    call("POST", "/v1/tickets", key=tenant.key, body={"subject": "After"})
    pushes()

    assert [m["ticket"]["subject"] for m in revoked.messages()] == ["Before"]
    assert revoked.closed  # DELETE @connections: API Gateway closes the socket (and runs $disconnect)
    assert [m["ticket"]["subject"] for m in other.messages()] == ["Before", "After"]
    assert [i["connectionId"] for i in stored(aws, tenant, "CONN#")] == [other.id]


def test_given_two_tenants_connected_then_each_receives_only_its_own_events(tenant, other_tenant, realtime, pushes):
    a, b = connect(realtime, tenant.key), connect(realtime, other_tenant.key)
    ta = call("POST", "/v1/tickets", key=tenant.key, body={"subject": "A's secret subject"}).json
    call("PATCH", f"/v1/tickets/{ta['id']}", key=tenant.key, body={"priority": "low"})
    call("POST", f"/v1/tickets/{ta['id']}/comments", key=tenant.key, body={"body": "A talks"})
    tb = call("POST", "/v1/tickets", key=other_tenant.key, body={"subject": "B's own"}).json
    pushes()

    # created; the priority patch; the public reply opens the ticket (updated, status_changed); the comment
    assert [(m["type"], m["ticket"]["id"]) for m in a.messages()] == [
        (kind, ta["id"])
        for kind in ("ticket.created", "ticket.updated", "ticket.updated", "ticket.status_changed", "comment.created")
    ]
    assert [(m["type"], m["ticket"]["id"]) for m in b.messages()] == [("ticket.created", tb["id"])]
    assert ta["id"] not in "".join(b.received) and "secret" not in "".join(b.received)


def test_given_20_connections_when_each_post_takes_200_ms_then_they_are_sent_in_parallel(
    tenant, realtime, pushes, monkeypatch
):
    conns = [connect(realtime, tenant.key) for _ in range(20)]
    threads: set[str] = set()
    lock = threading.Lock()
    in_flight = {"now": 0, "most": 0}  # posts under way at once (one after another would never pass 1)
    original = Connection.send

    def slow_send(self: Connection, text: str) -> None:
        with lock:
            threads.add(threading.current_thread().name)
            in_flight["now"] += 1
            in_flight["most"] = max(in_flight["most"], in_flight["now"])
        try:
            time.sleep(0.2)
            original(self, text)
        finally:
            with lock:
                in_flight["now"] -= 1

    monkeypatch.setattr(Connection, "send", slow_send)
    call("POST", "/v1/tickets", key=tenant.key, body={"subject": "Everyone"})
    pushes()

    assert all([m["ticket"]["subject"] for m in c.messages()] == ["Everyone"] for c in conns)
    assert in_flight["most"] >= 10, f"at most {in_flight['most']} posts at once: not in parallel"
    assert len(threads) >= 10, threads


def test_given_a_batch_of_one_tenants_events_then_its_connections_are_read_once(aws, tenant, realtime, monkeypatch):
    from tickets.dal import realtime as dal

    conn = connect(realtime, tenant.key)
    reads: list[str] = []
    original = dal.tenant_connections
    monkeypatch.setattr(dal, "tenant_connections", lambda t: reads.append(t) or original(t))
    records = []
    queues = template.create_queues(boto3.client("sqs", region_name="us-east-1"))
    refs = template.build_refs(table=template.table_refs(aws, TABLE), queues=queues)
    runner = EventSources(
        [FUNCTIONS["PushRealtimeFunction"]],
        lambda fn, event: records.append(len(event["Records"])) or realtime.invoke(fn.name, event),
        refs=refs,
    )
    for n in range(5):
        call("POST", "/v1/tickets", key=tenant.key, body={"subject": f"T{n}"})
    runner.run_until_idle(timeout=30, quiet=0.1)

    assert sum(records) == 5 and len(conn.messages()) == 5
    assert len(reads) == len(records) < 5  # one Query per tenant per batch, not one per record


def test_given_pushes_then_they_are_counted_by_outcome_as_emf_metrics(tenant, realtime, pushes, monkeypatch, capsys):
    from tests.integration.test_metrics import emitted, m
    from tickets.logic import realtime_push

    grace = make_agent(tenant, "Grace")
    alive, gone, revoked = connect(realtime, tenant.key), connect(realtime, tenant.key), connect(realtime, grace.key)
    realtime.connections.remove(gone.id)
    assert call("DELETE", f"/v1/api-keys/{grace.key_id}", key=tenant.key).status == 204
    realtime_push.clear_cache()  # as 60 s later
    capsys.readouterr()
    call("POST", "/v1/tickets", key=tenant.key, body={"subject": "Counted"})
    call("POST", "/v1/tickets", key=tenant.key, body={"subject": "Counted again"})
    pushes()

    counted = {k: v for k, v in emitted(capsys.readouterr().out).items() if k[0] == "RealtimePushes"}
    assert counted == {
        m("RealtimePushes", outcome="sent"): 2,
        m("RealtimePushes", outcome="gone"): 1,
        m("RealtimePushes", outcome="revoked"): 1,
    }
    assert len(alive.messages()) == 2 and gone.messages() == [] and revoked.messages() == []


def test_given_an_idempotency_key_when_storing_the_token_fails_then_503_no_record_and_the_retry_makes_a_token(
    aws, tenant, monkeypatch
):
    from botocore.exceptions import ClientError

    from tickets.dal import keys
    from tickets.dal import realtime as dal

    def throttled(*_: Any, **__: Any) -> None:
        error = {"Code": "ProvisionedThroughputExceededException", "Message": "slow down"}
        raise ClientError({"Error": error, "ResponseMetadata": {"HTTPStatusCode": 400}}, "PutItem")

    with monkeypatch.context() as patched:
        patched.setattr(dal, "put_token", throttled)
        failed = call("POST", "/v1/realtime/tokens", key=tenant.key, headers={"Idempotency-Key": "console-2"})
    assert failed.status == 503 and failed.json["code"] == "SERVICE_UNAVAILABLE"
    assert items(aws, keys.idempotency_partition(tenant.tenant_id)) == []  # the in-progress record is gone

    retried = call("POST", "/v1/realtime/tokens", key=tenant.key, headers={"Idempotency-Key": "console-2"})
    assert (
        retried.status == 201
        and retried.json["token"].startswith("rt_")
        and "idempotent-replayed" not in retried.headers
    )


def test_given_closing_a_revoked_keys_connection_fails_then_it_gets_nothing_and_is_closed_on_a_later_batch(
    aws, tenant, realtime, pushes, monkeypatch
):
    from botocore.exceptions import ClientError

    from tickets.logic import realtime_push

    grace = make_agent(tenant, "Grace")
    revoked = connect(realtime, grace.key)
    assert call("DELETE", f"/v1/api-keys/{grace.key_id}", key=tenant.key).status == 204
    real_client = realtime_push._client

    class Throttled:  # API Gateway's @connections throttles the DeleteConnection (after botocore's retries)
        def __getattr__(self, name: str) -> Any:
            return getattr(real_client(), name)

        def delete_connection(self, **_: Any) -> None:
            error = {"Code": "LimitExceededException", "Message": "Rate exceeded"}
            raise ClientError({"Error": error, "ResponseMetadata": {"HTTPStatusCode": 429}}, "DeleteConnection")

    with monkeypatch.context() as patched:
        patched.setattr(realtime_push, "_client", Throttled)
        call("POST", "/v1/tickets", key=tenant.key, body={"subject": "Not for a revoked key"})
        pushes()
    assert revoked.messages() == [] and not revoked.closed
    assert [i["connectionId"] for i in stored(aws, tenant, "CONN#")] == [revoked.id]  # still there, to close later

    call("POST", "/v1/tickets", key=tenant.key, body={"subject": "Later"})
    pushes()
    assert revoked.messages() == [] and revoked.closed and stored(aws, tenant, "CONN#") == []
