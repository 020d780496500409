"""The lookups inbound email reads, through the real handlers and the admin CLI against moto: a tenant's address
(unique ticket prefixes, /v1/me, `tenant reindex` for tenants made before) and customers by email."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import TABLE, call, items, make_tenant
from tickets.dal import customers as customers_dal
from tickets.dal.client import serialize
from tools import admin as cli

DOMAIN = {"InboundEmailDomain": "mail.example.com"}


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, Any, Any]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, (json.loads(out) if out.strip() else None), (json.loads(err) if err.strip() else None)


def _email_items(aws: Any, tenant_id: str) -> list[tuple[str, str]]:
    return [(i["SK"], i["customer"]["id"]) for i in items(aws, f"TENANT#{tenant_id}") if i["type"] == "customeremail"]


# ---------------------------------------------------------------- the tenant's address


def test_given_an_inbound_domain_then_me_shows_the_tenant_address_and_without_one_null(tenant):
    assert call("GET", "/v1/me", key=tenant.key, parameters=DOMAIN).json["tenant"]["inboundEmail"] == (
        "inv@mail.example.com"
    )
    assert call("GET", "/v1/me", key=tenant.key).json["tenant"]["inboundEmail"] is None


def _make_legacy(aws: Any, tenant_id: str, prefix: str) -> None:
    """What a tenant made before inbound email looks like: no address lookup, no address on the tenant item."""
    aws.delete_item(TableName=TABLE, Key=serialize({"PK": f"INBOUNDADDR#{prefix.lower()}", "SK": "INBOUNDADDR"}))
    aws.update_item(TableName=TABLE, Key=serialize({"PK": f"TENANT#{tenant_id}", "SK": "TENANT"}),
                    UpdateExpression="REMOVE inboundAddress")  # fmt: skip


def test_given_a_tenant_made_before_inbound_email_when_reindexed_then_it_gets_its_address_once(
    aws, tenant, capsys, monkeypatch
):
    monkeypatch.setenv("INBOUND_EMAIL_DOMAIN", "mail.example.com")
    customer = call("POST", "/v1/customers", key=tenant.key, body={"externalId": "c1", "email": "Ann@Example.com"}).json
    call("POST", "/v1/customers", key=tenant.key, body={"externalId": "c2"})  # no email: no lookup
    _make_legacy(aws, tenant.tenant_id, "INV")
    lookup = {"PK": f"TENANT#{tenant.tenant_id}", "SK": f"CUSTOMEREMAIL#ann@example.com#{customer['id']}"}
    aws.delete_item(TableName=TABLE, Key=serialize(lookup))
    assert call("GET", "/v1/me", key=tenant.key, parameters=DOMAIN).json["tenant"]["inboundEmail"] is None

    code, out, err = run(capsys, "tenant", "reindex", "--tenant", tenant.tenant_id)

    assert code == 0 and err is None
    assert out == {"tenantId": tenant.tenant_id, "ticketPrefix": "INV", "inboundEmail": "inv@mail.example.com",
                   "addressIndexed": "created", "customerEmailsIndexed": 1,
                   "tickets": 0, "ticketsReindexed": 0, "counterItemsWritten": 0}  # fmt: skip
    assert call("GET", "/v1/me", key=tenant.key, parameters=DOMAIN).json["tenant"]["inboundEmail"] == (
        "inv@mail.example.com"
    )
    assert _email_items(aws, tenant.tenant_id) == [(f"CUSTOMEREMAIL#ann@example.com#{customer['id']}", customer["id"])]
    before = items(aws, f"TENANT#{tenant.tenant_id}")
    code, again, _ = run(capsys, "tenant", "reindex", tenant.tenant_id)  # idempotent
    assert code == 0 and again["addressIndexed"] == "already" and again["customerEmailsIndexed"] == 1
    assert items(aws, f"TENANT#{tenant.tenant_id}") == before


def test_given_a_legacy_tenant_whose_prefix_another_tenant_took_when_reindexed_then_conflict(aws, capsys):
    old = make_tenant("DUP")
    _make_legacy(aws, old.tenant_id, "DUP")
    new = make_tenant("DUP")  # possible now: the old tenant holds no address

    code, out, err = run(capsys, "tenant", "reindex", "--tenant", old.tenant_id)

    assert code != 0 and out is None and err["error"]["code"] == "CONFLICT" and new.tenant_id in err["error"]["detail"]
    lookup = items(aws, "INBOUNDADDR#dup")[0]
    assert lookup["tenantId"] == new.tenant_id
    assert "inboundAddress" not in next(i for i in items(aws, f"TENANT#{old.tenant_id}") if i["SK"] == "TENANT")


def test_given_an_unknown_tenant_when_reindexed_then_not_found(aws, capsys):
    code, _, err = run(capsys, "tenant", "reindex", "--tenant", "01JSQ4ZK8X3N5W7Y9B2C4D6F8H")
    assert code != 0 and err["error"]["code"] == "NOT_FOUND"


# ---------------------------------------------------------------- customers by email


def test_given_customer_writes_then_the_email_lookup_follows_create_update_and_delete(aws, tenant):
    k = tenant.key
    ann = call("POST", "/v1/customers", key=k, body={"externalId": "c1", "name": "Ann", "email": "ANN@X.com"}).json
    tid = tenant.tenant_id
    assert customers_dal.find_by_email(tid, "ann@X.com") == {"id": ann["id"], "externalId": "c1", "name": "Ann",
                                                             "email": "ANN@X.com"}  # fmt: skip

    call("PATCH", f"/v1/customers/{ann['id']}", key=k, body={"name": "Ann Lee"})
    assert customers_dal.find_by_email(tid, "ann@x.com")["name"] == "Ann Lee"  # the snapshot follows

    call("PATCH", f"/v1/customers/{ann['id']}", key=k, body={"email": "ann@new.example"})
    assert customers_dal.find_by_email(tid, "ann@x.com") is None
    assert customers_dal.find_by_email(tid, "ann@new.example")["id"] == ann["id"]
    assert _email_items(aws, tid) == [(f"CUSTOMEREMAIL#ann@new.example#{ann['id']}", ann["id"])]

    call("PATCH", f"/v1/customers/{ann['id']}", key=k, body={"email": None})
    assert _email_items(aws, tid) == []

    call("PATCH", f"/v1/customers/{ann['id']}", key=k, body={"email": "ann@x.com"})
    assert call("DELETE", f"/v1/customers/{ann['id']}", key=k).status == 204
    assert _email_items(aws, tid) == [] and customers_dal.find_by_email(tid, "ann@x.com") is None


def test_given_customers_sharing_an_email_then_the_oldest_is_found_until_it_is_deleted(aws, tenant):
    k = tenant.key
    first = call("POST", "/v1/customers", key=k, body={"externalId": "c1", "email": "team@x.com"}).json
    second = call("POST", "/v1/customers", key=k, body={"externalId": "c2", "email": "TEAM@x.com"}).json

    assert customers_dal.find_by_email(tenant.tenant_id, "team@x.com")["id"] == first["id"]
    call("DELETE", f"/v1/customers/{first['id']}", key=k)
    assert customers_dal.find_by_email(tenant.tenant_id, "team@x.com")["id"] == second["id"]


def test_given_another_tenants_customer_with_the_email_then_it_is_not_found_here(tenant, other_tenant):
    call("POST", "/v1/customers", key=other_tenant.key, body={"externalId": "c1", "email": "ann@x.com"})
    assert customers_dal.find_by_email(tenant.tenant_id, "ann@x.com") is None


def test_given_an_externalid_conflict_on_update_then_the_email_lookup_is_unchanged(aws, tenant):
    k = tenant.key
    call("POST", "/v1/customers", key=k, body={"externalId": "taken"})
    ann = call("POST", "/v1/customers", key=k, body={"externalId": "c1", "email": "ann@x.com"}).json
    before = _email_items(aws, tenant.tenant_id)

    resp = call("PATCH", f"/v1/customers/{ann['id']}", key=k, body={"externalId": "taken", "email": "b@x.com"})

    assert resp.status == 409 and resp.json["code"] == "CONFLICT"
    assert _email_items(aws, tenant.tenant_id) == before
