"""Keys bound to an agent (contract v1.1, "Agent keys"): they act as the agent, /v1/me shows it, `assigneeId=me`
means it, and deleting the agent revokes them. Real handlers against moto."""

from __future__ import annotations

import json

import pytest

from tests.conftest import call, items, make_tenant, reset_caches
from tools import admin as cli

AGENT_SCOPES = ["tickets:read", "tickets:write", "tickets:status", "keys:manage"]


def _agent(key: str, name: str = "Grace Hopper", email: str = "grace@example.com") -> dict:
    resp = call("POST", "/v1/agents", key=key, body={"name": name, "email": email, "level": "N1"})
    assert resp.status == 201, resp.body
    return resp.json


def _agent_key(admin_key: str, agent_id: str, scopes: list[str] = AGENT_SCOPES) -> dict:
    resp = call("POST", "/v1/api-keys", key=admin_key, body={"scopes": scopes, "agentId": agent_id, "name": "console"})
    assert resp.status == 201, resp.body
    return resp.json


def test_given_an_agent_when_a_key_is_bound_to_it_then_the_key_shows_and_lists_its_agent(tenant):
    grace = _agent(tenant.key)
    made = _agent_key(tenant.key, grace["id"])

    assert made["agentId"] == grace["id"] and made["key"].startswith("tk_")
    listed = {k["id"]: k for k in call("GET", "/v1/api-keys", key=tenant.key).json["data"]}
    assert listed[made["id"]]["agentId"] == grace["id"]
    me = call("GET", "/v1/me", key=made["key"]).json
    assert me["key"]["agentId"] == grace["id"]
    assert me["agent"] == {**grace, "openTickets": 0}
    assert call("GET", "/v1/me", key=tenant.key).json["agent"] is None


@pytest.mark.parametrize("agent_id", ["01JSQ4ZK8X3N5W7Y9B2C4D6F8H", "not-an-id", "TENANT#x#AGENT#y"])
def test_given_an_unknown_agent_id_then_400_naming_agent_id_and_no_key_is_made(tenant, agent_id):
    resp = call("POST", "/v1/api-keys", key=tenant.key, body={"scopes": ["tickets:read"], "agentId": agent_id})
    assert resp.status == 400 and resp.json["code"] == "VALIDATION_ERROR", resp.body
    assert [e["field"] for e in resp.json["errors"]] == ["agentId"]
    assert call("GET", "/v1/api-keys", key=tenant.key).json["total"] == 1


def test_given_another_tenants_agent_then_it_cannot_be_bound(tenant, other_tenant):
    theirs = _agent(other_tenant.key)
    resp = call("POST", "/v1/api-keys", key=tenant.key, body={"scopes": ["tickets:read"], "agentId": theirs["id"]})
    assert resp.status == 400 and resp.json["errors"][0]["field"] == "agentId"
    assert call("GET", "/v1/api-keys", key=tenant.key).json["total"] == 1  # no key was made


def test_given_an_agent_key_when_it_writes_then_the_write_is_attributed_to_the_agent(aws, tenant):
    grace = _agent(tenant.key)
    agent_key = _agent_key(tenant.key, grace["id"])["key"]

    ticket = call("POST", "/v1/tickets", key=agent_key, body={"subject": "x"}).json
    stored = next(i for i in items(aws, f"TENANT#{tenant.tenant_id}") if i["SK"] == f"TICKET#{ticket['id']}")
    assert stored["updatedBy"] == grace["id"]
    call("PATCH", f"/v1/tickets/{ticket['id']}", key=tenant.key, body={"priority": "low"})
    stored = next(i for i in items(aws, f"TENANT#{tenant.tenant_id}") if i["SK"] == f"TICKET#{ticket['id']}")
    assert stored["updatedBy"].startswith("key_")  # a key without an agent acts as itself


def test_given_assignee_me_then_an_agent_key_lists_its_agents_tickets_and_a_plain_key_gets_400(tenant):
    grace, ada = _agent(tenant.key), _agent(tenant.key, "Ada", "ada@example.com")
    mine = call("POST", "/v1/tickets", key=tenant.key, body={"subject": "mine", "assigneeId": grace["id"]}).json
    call("POST", "/v1/tickets", key=tenant.key, body={"subject": "ada's", "assigneeId": ada["id"]})
    call("POST", "/v1/tickets", key=tenant.key, body={"subject": "nobody's"})
    agent_key = _agent_key(tenant.key, grace["id"])["key"]

    page = call("GET", "/v1/tickets", key=agent_key, query={"assigneeId": "me"}).json
    assert [t["id"] for t in page["data"]] == [mine["id"]] and page["total"] == 1

    plain = call("GET", "/v1/tickets", key=tenant.key, query={"assigneeId": "me"})
    assert plain.status == 400 and [e["field"] for e in plain.json["errors"]] == ["assigneeId"]


def test_given_an_agent_with_keys_when_it_is_deleted_then_its_keys_are_revoked_and_others_are_not(tenant):
    grace = _agent(tenant.key)
    first, second = _agent_key(tenant.key, grace["id"]), _agent_key(tenant.key, grace["id"])
    unbound = call("POST", "/v1/api-keys", key=tenant.key, body={"scopes": ["tickets:read"]}).json
    assert call("GET", "/v1/tickets", key=first["key"]).status == 200

    assert call("DELETE", f"/v1/agents/{grace['id']}", key=tenant.key).status == 204

    assert call("GET", "/v1/api-keys", key=first["key"]).status == 401  # key routes: at once
    reset_caches()  # other routes: once the 60 s auth cache has passed
    assert call("GET", "/v1/tickets", key=first["key"]).status == 401
    assert call("GET", "/v1/tickets", key=second["key"]).status == 401
    assert call("GET", "/v1/tickets", key=unbound["key"]).status == 200
    listed = {k["id"]: k for k in call("GET", "/v1/api-keys", key=tenant.key).json["data"]}
    assert listed[first["id"]]["revokedAt"] and listed[second["id"]]["revokedAt"]
    assert listed[unbound["id"]]["revokedAt"] is None


def test_given_an_agent_with_open_tickets_when_deleted_then_409_and_its_keys_still_work(tenant):
    grace = _agent(tenant.key)
    made = _agent_key(tenant.key, grace["id"])
    call("POST", "/v1/tickets", key=tenant.key, body={"subject": "x", "assigneeId": grace["id"]})

    resp = call("DELETE", f"/v1/agents/{grace['id']}", key=tenant.key)

    assert resp.status == 409 and resp.json["code"] == "CONFLICT"
    assert call("GET", "/v1/api-keys", key=made["key"]).status == 200


def test_given_the_admin_cli_when_a_key_is_made_for_an_agent_then_it_acts_as_that_agent(aws, capsys):
    t = make_tenant("CLI")
    grace = _agent(t.key)
    code = cli.main(["key", "create", "--tenant", t.tenant_id, "--scopes", "tickets:read", "--agent", grace["id"]])
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and out["agentId"] == grace["id"]
    assert call("GET", "/v1/me", key=out["key"]).json["agent"]["id"] == grace["id"]
    code = cli.main(["key", "create", "--tenant", t.tenant_id, "--scopes", "tickets:read", "--agent", "nobody"])
    err = json.loads(capsys.readouterr().err)
    assert code == 1 and err["error"]["code"] == "VALIDATION_ERROR" and err["error"]["errors"][0]["field"] == "agentId"
