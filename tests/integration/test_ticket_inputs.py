"""Inputs added in contract v1.1 ("Small additions"): the tickets:status scope, status synonyms,
customerExternalId and tagIds on POST/PATCH, and the case-insensitive tag filter. Real handlers, moto."""

from __future__ import annotations

import pytest

from tests.conftest import call, items, make_tenant

WRITE_ONLY = ["tickets:read", "tickets:write", "tickets:bulk", "customers:write", "customers:read"]


def _ticket(key: str, **fields) -> dict:
    resp = call("POST", "/v1/tickets", key=key, body={"subject": "Card declined", **fields})
    assert resp.status == 201, resp.body
    return resp.json


def _stored(aws, tenant_id: str, ticket_id: str) -> dict:
    return next(i for i in items(aws, f"TENANT#{tenant_id}") if i["SK"] == f"TICKET#{ticket_id}")


def _customer_item(aws, tenant_id: str, customer_id: str) -> dict:
    return next(i for i in items(aws, f"TENANT#{tenant_id}") if i["SK"] == f"CUSTOMER#{customer_id}")


def _problem(resp, status: int, code: str, field: str | None = None) -> dict:
    assert resp.status == status and resp.json["code"] == code, resp.body
    if field is not None:
        assert [e["field"] for e in resp.json["errors"]] == [field], resp.json["errors"]
    return resp.json


# ---- tickets:status (seed 003: SET_STATUS is a permission of its own)


def test_given_a_key_without_tickets_status_when_patching_status_then_403_and_the_ticket_is_unchanged(aws):
    t = make_tenant("NST", scopes=WRITE_ONLY)
    ticket = _ticket(t.key)
    before = _stored(aws, t.tenant_id, ticket["id"])

    resp = call("PATCH", f"/v1/tickets/{ticket['id']}", key=t.key, body={"status": "resolved", "priority": "high"})

    assert "tickets:status" in _problem(resp, 403, "INSUFFICIENT_SCOPE")["detail"]
    assert _stored(aws, t.tenant_id, ticket["id"]) == before


def test_given_a_key_without_tickets_status_then_other_fields_still_patch(aws):
    t = make_tenant("NSP", scopes=WRITE_ONLY)
    ticket = _ticket(t.key)
    resp = call("PATCH", f"/v1/tickets/{ticket['id']}", key=t.key, body={"priority": "high"})
    assert resp.status == 200 and resp.json["priority"] == "high" and resp.json["status"] == "new"


def test_given_a_key_without_tickets_status_when_a_batch_sets_status_then_403_and_nothing_changes(aws):
    t = make_tenant("NSB", scopes=WRITE_ONLY)
    ticket = _ticket(t.key)
    body = {"ids": [ticket["id"]], "actions": [{"type": "set_priority", "value": "low"}, {"type": "SET_STATUS",
            "value": "open"}]}  # fmt: skip
    _problem(call("POST", "/v1/tickets/batch", key=t.key, body=body), 403, "INSUFFICIENT_SCOPE")
    assert _stored(aws, t.tenant_id, ticket["id"])["version"] == 1
    ok = call("POST", "/v1/tickets/batch", key=t.key, body={**body, "actions": body["actions"][:1]})
    assert ok.status == 200 and ok.json["succeeded"] == 1


def test_given_tickets_status_and_write_then_a_status_patch_works(tenant):
    ticket = _ticket(tenant.key)
    resp = call("PATCH", f"/v1/tickets/{ticket['id']}", key=tenant.key, body={"status": "pending"})
    assert resp.status == 200 and resp.json["status"] == "pending"


# ---- status synonyms on input (seed 003, Zendesk): output keeps the canonical names


@pytest.mark.parametrize(("given", "stored"), [("solved", "resolved"), ("Solved", "resolved"), ("holding", "on_hold"),
                                               ("HOLD", "on_hold"), ("hold", "on_hold")])  # fmt: skip
def test_given_a_status_synonym_when_patched_then_the_canonical_status_is_stored_and_shown(aws, tenant, given, stored):
    ticket = _ticket(tenant.key)
    resp = call("PATCH", f"/v1/tickets/{ticket['id']}", key=tenant.key, body={"status": given})
    assert resp.status == 200 and resp.json["status"] == stored
    assert _stored(aws, tenant.tenant_id, ticket["id"])["status"] == stored


def test_given_synonyms_on_create_bulk_and_list_then_each_means_its_canonical_status(tenant):
    solved = _ticket(tenant.key, status="solved")
    held = _ticket(tenant.key)
    assert solved["status"] == "resolved" and solved["resolvedAt"]
    bulk = call("POST", "/v1/tickets/bulk/status", key=tenant.key, body={"ids": [held["id"]], "status": "holding"})
    assert bulk.json["succeeded"] == 1
    listed = call("GET", "/v1/tickets", key=tenant.key, query={"status": "solved,hold"}).json
    assert {(t["id"], t["status"]) for t in listed["data"]} == {(solved["id"], "resolved"), (held["id"], "on_hold")}
    assert listed["total"] == 2


def test_given_a_word_that_is_no_status_or_synonym_then_400_naming_status(tenant):
    _problem(call("POST", "/v1/tickets", key=tenant.key, body={"subject": "x", "status": "done"}), 400,
             "VALIDATION_ERROR", "status")  # fmt: skip


# ---- customerExternalId and tagIds on POST and PATCH /v1/tickets


@pytest.fixture
def world(aws, tenant):
    customer = call("POST", "/v1/customers", key=tenant.key, body={"externalId": "cus_1042", "name": "Ann Lee",
                    "email": "ann@example.com"}).json  # fmt: skip
    bug = call("POST", "/v1/tags", key=tenant.key, body={"name": "Bug"}).json
    vip = call("POST", "/v1/tags", key=tenant.key, body={"name": "vip"}).json
    return tenant, customer, bug, vip


def test_given_a_customer_external_id_on_create_then_the_ticket_links_that_customer(aws, world):
    tenant, customer, _, _ = world
    ticket = _ticket(tenant.key, customerExternalId="cus_1042")
    assert ticket["customerId"] == customer["id"]
    assert ticket["customer"] == {"id": customer["id"], "externalId": "cus_1042", "name": "Ann Lee",
                                  "email": "ann@example.com"}  # fmt: skip
    assert "customerExternalId" not in ticket
    stored_customer = next(
        i for i in items(aws, f"TENANT#{tenant.tenant_id}") if i["SK"] == f"CUSTOMER#{customer['id']}"
    )
    assert stored_customer["ticketCount"] == 1


def test_given_an_unknown_customer_external_id_then_404_customer_not_found_and_no_number_used(aws, world):
    tenant, _, _, _ = world
    before = items(aws, f"TENANT#{tenant.tenant_id}")
    resp = call("POST", "/v1/tickets", key=tenant.key, body={"subject": "x", "customerExternalId": "nobody"})
    _problem(resp, 404, "CUSTOMER_NOT_FOUND", "customerExternalId")
    assert items(aws, f"TENANT#{tenant.tenant_id}") == before
    assert _ticket(tenant.key)["number"] == 1


@pytest.mark.parametrize("method", ["POST", "PATCH"])
def test_given_both_customer_references_then_400_naming_customer_external_id(world, method):
    tenant, customer, _, _ = world
    body = {"customerId": customer["id"], "customerExternalId": "cus_1042"}
    if method == "POST":
        resp = call("POST", "/v1/tickets", key=tenant.key, body={"subject": "x", **body})
    else:
        resp = call(
            "PATCH", f"/v1/tickets/{_ticket(tenant.key)['id']}", key=tenant.key, body={**body, "customerId": None}
        )
    _problem(resp, 400, "VALIDATION_ERROR", "customerExternalId")


def test_given_a_customer_external_id_on_patch_then_linked_and_the_customers_count_moves(aws, world):
    tenant, customer, _, _ = world
    ticket = _ticket(tenant.key)
    resp = call("PATCH", f"/v1/tickets/{ticket['id']}", key=tenant.key, body={"customerExternalId": "cus_1042"})
    assert (
        resp.status == 200 and resp.json["customerId"] == customer["id"] and resp.json["customer"]["name"] == "Ann Lee"
    )
    stored_customer = next(
        i for i in items(aws, f"TENANT#{tenant.tenant_id}") if i["SK"] == f"CUSTOMER#{customer['id']}"
    )
    assert stored_customer["ticketCount"] == 1
    missing = call("PATCH", f"/v1/tickets/{ticket['id']}", key=tenant.key, body={"customerExternalId": "gone"})
    _problem(missing, 404, "CUSTOMER_NOT_FOUND", "customerExternalId")
    nulled = call("PATCH", f"/v1/tickets/{ticket['id']}", key=tenant.key, body={"customerExternalId": None})
    _problem(nulled, 400, "VALIDATION_ERROR", "customerExternalId")


def test_given_tag_ids_on_create_then_their_names_join_the_tags_once(world):
    tenant, _, bug, vip = world
    ticket = _ticket(tenant.key, tags=["billing", "BUG"], tagIds=[bug["id"], vip["id"], vip["id"]])
    assert ticket["tags"] == ["billing", "BUG", "vip"]  # "Bug" is the tag given as "BUG" already


def test_given_an_unknown_tag_id_then_400_invalid_tag_naming_tag_ids_and_nothing_written(aws, world):
    tenant, _, bug, _ = world
    before = items(aws, f"TENANT#{tenant.tenant_id}")
    resp = call(
        "POST",
        "/v1/tickets",
        key=tenant.key,
        body={"subject": "x", "tagIds": [bug["id"], "01JSQ4ZK8X3N5W7Y9B2C4D6F8H"]},
    )
    _problem(resp, 400, "INVALID_TAG", "tagIds")
    assert items(aws, f"TENANT#{tenant.tenant_id}") == before


def test_given_tag_ids_on_patch_then_the_tags_become_the_given_tags_and_the_ids_names(world):
    tenant, _, bug, vip = world
    ticket = _ticket(tenant.key, tags=["old"])
    with_tags = call(
        "PATCH", f"/v1/tickets/{ticket['id']}", key=tenant.key, body={"tags": ["new"], "tagIds": [vip["id"]]}
    )
    assert with_tags.json["tags"] == ["new", "vip"]
    only_ids = call("PATCH", f"/v1/tickets/{ticket['id']}", key=tenant.key, body={"tagIds": [bug["id"]]})
    assert only_ids.status == 200 and only_ids.json["tags"] == ["Bug"]


# ---- the tag filter matches case-insensitively, as tag names are unique case-insensitively


def test_given_a_tag_in_any_letter_case_when_filtering_then_the_ticket_is_found_and_counted(tenant):
    tagged = _ticket(tenant.key, tags=["Bug", "billing"])
    _ticket(tenant.key, tags=["bugfix"])  # a longer tag that contains the word is not a match
    for spelled in ("bug", "BUG", "Bug", "bUg"):
        page = call("GET", "/v1/tickets", key=tenant.key, query={"tag": spelled}).json
        assert [t["id"] for t in page["data"]] == [tagged["id"]] and page["total"] == 1, spelled
