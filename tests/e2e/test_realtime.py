"""End to end: the real-time channel of `python -m tools.devstack`, with a real WebSocket client (`websockets`).

Seed 001's sentence, live: a business event (POST /v1/tickets/api-create) auto-assigned to an agent reaches that
agent's open WebSocket, `forYou`, within 2 s. Each test makes its own tenant, so tests share the stack only.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import ClientConnection, connect

from tests.e2e import test_readme
from tests.e2e.conftest import Stack, Tenant
from tests.e2e.test_readme import bash, commands, here, sh_blocks

PUSH_WITHIN_SECONDS = 2.0
shell_env = test_readme.shell_env  # its fixture, under its own name: the README's commands run in a user's shell


def _ok(resp: Any, status: int = 201) -> Any:
    assert resp.status == status, resp.body
    return resp.json


def _agent_key(stack: Stack, tenant: Tenant) -> tuple[str, str]:
    """An available N1 agent (auto-assignment's pick) and a console key bound to it: (agent id, key)."""
    agent = _ok(stack.request("POST", "/v1/agents", key=tenant.key,
                              body={"name": "Grace Hopper", "email": "grace@example.com", "level": "N1"}))  # fmt: skip
    scopes = ["tickets:read", "tickets:write", "tickets:status"]
    key = _ok(stack.request("POST", "/v1/api-keys", key=tenant.key, body={"scopes": scopes, "agentId": agent["id"]}))
    return agent["id"], key["key"]


def _open(stack: Stack, key: str) -> tuple[ClientConnection, str]:
    token = _ok(stack.request("POST", "/v1/realtime/tokens", key=key))
    assert token["url"].startswith(stack.ws_url + "?token=rt_"), (token, stack.ws_url)
    return connect(token["url"], open_timeout=5), token["url"]


def _receive(ws: ClientConnection, until: float) -> dict[str, Any]:
    return json.loads(ws.recv(timeout=max(0.0, until - time.monotonic())))


def test_given_an_agents_console_when_a_business_event_is_assigned_to_the_agent_then_it_arrives_for_you_within_2_s(
    stack: Stack, make_tenant: Any
) -> None:
    tenant = make_tenant("RT")
    agent_id, key = _agent_key(stack, tenant)
    _ok(stack.request("POST", "/v1/customers", key=tenant.key, body={"externalId": "cus_1042", "name": "Ann Lee"}))
    ws, _ = _open(stack, key)
    with ws:
        started = time.monotonic()
        body = {"customerExternalId": "cus_1042", "subject": "Payment failed", "priority": "high"}
        created = _ok(stack.request("POST", "/v1/tickets/api-create", key=tenant.key, body=body))
        assert created["assigneeId"] == agent_id and created["status"] == "open"

        first = _receive(ws, started + PUSH_WITHIN_SECONDS)
        elapsed = time.monotonic() - started
        second = _receive(ws, started + PUSH_WITHIN_SECONDS)

    assert elapsed < PUSH_WITHIN_SECONDS, elapsed
    assert [first["type"], second["type"]] == ["ticket.created", "ticket.assigned"]
    assert first["forYou"] is True and second["forYou"] is True
    assert first["ticket"] == {
        "id": created["id"], "reference": created["reference"], "subject": "Payment failed", "status": "open",
        "priority": "high", "assigneeId": agent_id, "groupId": None, "version": 1, "updatedAt": created["updatedAt"],
    }  # fmt: skip
    print(f"\napi-create -> push on the agent's WebSocket: {elapsed * 1000:.0f} ms")


def test_given_a_token_that_opened_a_websocket_when_it_is_used_again_then_the_upgrade_is_refused_with_401(
    stack: Stack, make_tenant: Any
) -> None:
    tenant = make_tenant("RU")
    ws, url = _open(stack, tenant.key)
    with ws:
        with pytest.raises(InvalidStatus) as refused:
            connect(url, open_timeout=5)
        assert refused.value.response.status_code == 401
        ws.send(json.dumps({"action": "ping"}))  # the first connection is unaffected
        assert json.loads(ws.recv(timeout=2)) == {"type": "pong"}
    with pytest.raises(InvalidStatus) as forged:
        connect(f"{stack.ws_url}?token=rt_forged0123456789abcdefghijklmnopqrstu", open_timeout=5)
    assert forged.value.response.status_code == 401


def test_given_an_open_websocket_when_the_client_pings_or_talks_nonsense_then_pong_or_an_error_message(
    stack: Stack, make_tenant: Any
) -> None:
    tenant = make_tenant("RP")
    ws, _ = _open(stack, tenant.key)
    with ws:
        ws.send('{"action": "ping"}')
        assert json.loads(ws.recv(timeout=2)) == {"type": "pong"}
        ws.send("hello")
        error = json.loads(ws.recv(timeout=2))
        assert (error["type"], error["code"]) == ("error", "INVALID_MESSAGE") and error["message"]
        ws.send('{"action": "subscribe"}')
        assert json.loads(ws.recv(timeout=2))["code"] == "UNKNOWN_ACTION"
        ws.send('{"action": "ping"}')
        assert json.loads(ws.recv(timeout=2)) == {"type": "pong"}


def test_given_two_tenants_connected_when_one_writes_then_the_other_hears_nothing(stack: Stack, make_tenant: Any):
    a, b = make_tenant("RA"), make_tenant("RB")
    wa, _ = _open(stack, a.key)
    wb, _ = _open(stack, b.key)
    with wa, wb:
        created = stack.create_ticket(a.key, subject="A only")
        started = time.monotonic()
        assert _receive(wa, started + PUSH_WITHIN_SECONDS)["ticket"]["id"] == created["id"]
        wb.send('{"action": "ping"}')  # B's next message is its own pong: nothing of A's came before it
        assert json.loads(wb.recv(timeout=2)) == {"type": "pong"}


def test_given_the_readme_when_its_real_time_commands_run_as_written_then_the_client_connects_and_gets_a_pong(
    stack: Stack, shell_env: dict[str, str]
) -> None:
    (block,) = sh_blocks("Real-time channel")
    token, client = commands(here(block, stack))
    assert token.startswith("URL=$(curl -s -X POST $API/realtime/tokens") and client.startswith(".venv/bin/python -m")
    session_start = "\n".join(commands(here(sh_blocks("A curl session")[0], stack))[:3])  # KEY, API, field()

    typed = """{ echo '{"action": "ping"}'; sleep 5; } | """  # what a user types, then Ctrl+D (5 s: a loaded machine)
    done = bash(f'{session_start}\n{token}\necho "$URL"\n{typed}{client}', shell_env, timeout=30)

    url = done.stdout.splitlines()[0]
    assert url.startswith(f"{stack.ws_url}?token=rt_"), done.stdout
    assert f"Connected to {url}" in done.stdout and '< {"type":"pong"}' in done.stdout, done.stdout
