"""The admin CLI (tools.admin.main) in-process against moto: tenants, keys shown once, hashed, revocable."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest
from boto3.dynamodb.types import TypeDeserializer

from tests.conftest import TABLE, call, reset_caches
from tickets.models.tenants import SCOPES
from tools import admin as cli


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, Any, Any]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, (json.loads(out) if out.strip() else None), (json.loads(err) if err.strip() else None)


def all_items(client: Any) -> list[dict[str, Any]]:
    """The whole table, for this test only (the product never scans)."""
    de = TypeDeserializer()
    out, start = [], None
    while True:
        resp = client.scan(TableName=TABLE, **({"ExclusiveStartKey": start} if start else {}))
        out += [{k: de.deserialize(v) for k, v in i.items()} for i in resp["Items"]]
        start = resp.get("LastEvaluatedKey")
        if not start:
            return out


def make_tenant(capsys: pytest.CaptureFixture[str], *extra: str) -> dict[str, Any]:
    code, tenant, _ = run(capsys, "tenant", "create", "--name", "Acme", "--prefix", "INV", *extra)
    assert code == 0
    return tenant


def test_given_name_and_prefix_when_tenant_create_then_prints_the_tenant_and_show_returns_it(aws, capsys):
    code, tenant, err = run(capsys, "tenant", "create", "--name", "Acme", "--prefix", "INV", "--quota", "500")

    assert code == 0 and err is None
    assert set(tenant) == {"id", "name", "ticketPrefix", "monthlyTicketQuota", "autoAssign"}
    assert (tenant["name"], tenant["ticketPrefix"], tenant["monthlyTicketQuota"], tenant["autoAssign"]) == (
        "Acme",
        "INV",
        500,
        True,
    )
    assert run(capsys, "tenant", "show", "--tenant", tenant["id"])[1] == tenant
    assert run(capsys, "tenant", "show", tenant["id"])[1] == tenant


def test_given_no_quota_and_no_auto_assign_when_tenant_create_then_quota_is_null_and_auto_assign_false(aws, capsys):
    tenant = make_tenant(capsys, "--no-auto-assign")

    assert tenant["monthlyTicketQuota"] is None and tenant["autoAssign"] is False
    assert run(capsys, "tenant", "show", tenant["id"])[1] == tenant


def test_given_a_prefix_another_tenant_has_when_tenant_create_then_conflict_and_nothing_written(aws, capsys):
    first = make_tenant(capsys)
    before = all_items(aws)

    code, out, err = run(capsys, "tenant", "create", "--name", "Other", "--prefix", "INV")

    assert code != 0 and out is None
    assert (err["error"]["code"], err["error"]["status"]) == ("CONFLICT", 409) and "INV" in err["error"]["detail"]
    assert all_items(aws) == before  # no tenant, counters or address of the refused one
    lookup = next(i for i in before if i["PK"] == "INBOUNDADDR#inv")
    assert (lookup["tenantId"], lookup["ticketPrefix"]) == (first["id"], "INV")


def test_given_a_tenant_when_key_create_then_key_is_printed_once_and_stored_only_as_its_sha256(aws, capsys):
    tenant = make_tenant(capsys)

    code, key, _ = run(capsys, "key", "create", "--tenant", tenant["id"], "--scopes", "tickets:read,tickets:write")

    assert code == 0
    assert set(key) == {"id", "tenantId", "key", "scopes", "agentId", "createdAt"} and key["agentId"] is None
    assert key["tenantId"] == tenant["id"] and key["scopes"] == ["tickets:read", "tickets:write"]
    assert key["key"].startswith("tk_") and len(key["key"]) >= 35
    stored = all_items(aws)
    assert not any(key["key"] in json.dumps(item, default=str) for item in stored)
    digest = hashlib.sha256(key["key"].encode()).hexdigest()
    assert any(digest in json.dumps(item, default=str) for item in stored)


def test_given_scopes_all_when_key_create_then_the_key_has_every_scope_and_authenticates(aws, capsys):
    tenant = make_tenant(capsys)

    key = run(capsys, "key", "create", "--tenant", tenant["id"], "--scopes", "all")[1]

    assert key["scopes"] == sorted(SCOPES)
    resp = call("GET", "/v1/tickets", key=key["key"])
    assert resp.status == 200 and resp.json["total"] == 0


def test_given_a_revoked_key_when_a_new_container_calls_then_401(aws, capsys):
    from tickets.api import auth

    tenant = make_tenant(capsys)
    key = run(capsys, "key", "create", "--tenant", tenant["id"], "--scopes", "tickets:read")[1]
    assert call("GET", "/v1/tickets", key=key["key"]).status == 200

    code, revoked, _ = run(capsys, "key", "revoke", "--tenant", tenant["id"], "--key-id", key["id"])

    assert code == 0 and revoked == {"id": key["id"], "tenantId": tenant["id"], "revoked": True}
    # A warm container keeps its cached principal for at most API_KEY_CACHE_SECONDS (documented bound).
    assert call("GET", "/v1/tickets", key=key["key"]).status == 200
    auth.clear_cache()  # a new container
    resp = call("GET", "/v1/tickets", key=key["key"])
    assert resp.status == 401 and resp.json["code"] == "UNAUTHORIZED"


def test_given_a_revoked_key_when_revoked_again_then_conflict_error_on_stderr(aws, capsys):
    tenant = make_tenant(capsys)
    key = run(capsys, "key", "create", "--tenant", tenant["id"], "--scopes", "all")[1]
    run(capsys, "key", "revoke", "--tenant", tenant["id"], "--key-id", key["id"])

    code, out, err = run(capsys, "key", "revoke", "--tenant", tenant["id"], "--key-id", key["id"])

    assert code != 0 and out is None and err["error"]["code"] == "CONFLICT"


@pytest.mark.parametrize(
    ("argv", "code"),
    [
        (["tenant", "show", "01JSQ4ZK8X3N5W7Y9B2C4D6F8H"], "NOT_FOUND"),
        (["tenant", "show"], "USAGE"),
        (["tenant", "create", "--name", "Acme", "--prefix", "inv-1"], "VALIDATION_ERROR"),
        (["tenant", "create", "--name", "Acme", "--prefix", "INV", "--quota", "-1"], "VALIDATION_ERROR"),
        (["key", "create", "--tenant", "01JSQ4ZK8X3N5W7Y9B2C4D6F8H", "--scopes", "all"], "NOT_FOUND"),
        (["key", "revoke", "--tenant", "01JSQ4ZK8X3N5W7Y9B2C4D6F8H", "--key-id", "key_x"], "NOT_FOUND"),
    ],
)
def test_given_bad_input_when_run_then_json_error_on_stderr_and_non_zero_exit(aws, capsys, argv, code):
    status, out, err = run(capsys, *argv)

    assert status != 0 and out is None
    assert err["error"]["code"] == code and err["error"]["detail"]


def test_given_an_unknown_scope_when_key_create_then_validation_error_names_scopes(aws, capsys):
    tenant = make_tenant(capsys)

    status, out, err = run(capsys, "key", "create", "--tenant", tenant["id"], "--scopes", "tickets:read,root")

    assert status != 0 and out is None
    assert err["error"]["code"] == "VALIDATION_ERROR" and "root" in err["error"]["detail"]
    assert err["error"]["errors"][0]["field"] == "scopes"


def test_given_no_table_name_when_run_then_clear_configuration_error(aws, capsys, monkeypatch):
    monkeypatch.delenv("TABLE_NAME")

    status, out, err = run(capsys, "tenant", "show", "01JSQ4ZK8X3N5W7Y9B2C4D6F8H")

    assert status != 0 and out is None
    assert err["error"]["code"] == "CONFIGURATION" and "TABLE_NAME" in err["error"]["detail"]


def test_given_an_aws_failure_when_run_then_json_error_not_traceback(aws, capsys, monkeypatch):
    monkeypatch.setenv("TABLE_NAME", "no-such-table")
    reset_caches()
    try:
        status, out, err = run(capsys, "tenant", "show", "01JSQ4ZK8X3N5W7Y9B2C4D6F8H")
    finally:
        reset_caches()

    assert status != 0 and out is None
    assert err["error"]["code"] == "ResourceNotFoundException"


# What the CLI adds for an endpoint on this machine (tests/e2e/test_readme.py runs it so against make dev).
DUMMY = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
}


@pytest.mark.parametrize(
    "endpoint", ["http://127.0.0.1:4566", "http://localhost:4566", "http://[::1]:4566", "http://127.1.2.3:9"]
)
def test_given_a_local_endpoint_and_no_aws_settings_when_run_then_make_devs_dummy_credentials_and_region(endpoint):
    assert cli.local_stack_env({"AWS_ENDPOINT_URL": endpoint, "TABLE_NAME": "tickets-local"}) == DUMMY


@pytest.mark.parametrize(
    ("chosen", "added"),
    [
        ({"AWS_ACCESS_KEY_ID": "AKIAEXAMPLE"}, ["AWS_REGION", "AWS_DEFAULT_REGION"]),
        ({"AWS_PROFILE": "localstack"}, ["AWS_REGION", "AWS_DEFAULT_REGION"]),
        ({"AWS_REGION": "eu-west-1"}, ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"]),
        ({"AWS_DEFAULT_REGION": "eu-west-1", "AWS_PROFILE": "p"}, []),
    ],
)
def test_given_a_local_endpoint_and_chosen_aws_settings_when_run_then_only_what_is_missing_is_added(chosen, added):
    env = {"AWS_ENDPOINT_URL": "http://127.0.0.1:4566", **chosen}

    assert cli.local_stack_env(env) == {name: DUMMY[name] for name in added}


@pytest.mark.parametrize(
    "endpoint",
    [None, "", "https://dynamodb.eu-west-1.amazonaws.com", "http://10.0.0.5:4566", "http://localhost.evil:1"],
)
def test_given_no_endpoint_or_a_remote_one_when_run_then_nothing_is_added(endpoint):
    env = {} if endpoint is None else {"AWS_ENDPOINT_URL": endpoint}

    assert cli.local_stack_env(env) == {}
