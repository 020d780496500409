"""/v1/api-keys through the real handlers against moto: create, list without secrets, revoke, isolation."""

from __future__ import annotations

import hashlib
import json

from tests.conftest import call, make_tenant


def _create(key: str, body: dict) -> dict:
    resp = call("POST", "/v1/api-keys", key=key, body=body)
    assert resp.status == 201, resp.body
    return resp.json


def test_given_keys_manage_when_creating_a_key_then_it_is_shown_once_and_authenticates(tenant):
    created = _create(tenant.key, {"name": "CI", "scopes": ["tickets:read", "tickets:write"]})

    assert set(created) == {"id", "name", "scopes", "agentId", "hint", "createdAt", "key"}
    assert created["key"].startswith("tk_") and len(created["key"]) >= 35
    assert created["hint"] == created["key"][:7] and created["name"] == "CI"
    assert created["scopes"] == ["tickets:read", "tickets:write"]
    assert call("GET", "/v1/tickets", key=created["key"]).status == 200
    assert call("DELETE", "/v1/tickets/01JSQ4ZK8X3N5W7Y9B2C4D6F8H", key=created["key"]).status == 403


def test_given_a_created_key_when_listing_then_metadata_only_and_no_secret_material(tenant):
    created = _create(tenant.key, {"scopes": ["tickets:read"]})

    resp = call("GET", "/v1/api-keys", key=tenant.key)

    assert resp.status == 200
    page = resp.json
    assert page["total"] == 2 and len(page["data"]) == 2  # the fixture's key and the new one
    listed = page["data"][0]  # newest first
    assert listed == {k: created.get(k) for k in ("id", "name", "scopes", "agentId", "hint", "createdAt")} | {
        "revokedAt": None
    }
    digest = hashlib.sha256(created["key"].encode()).hexdigest()
    assert created["key"] not in resp.body and digest not in resp.body
    assert all(set(k) == {"id", "name", "scopes", "agentId", "hint", "createdAt", "revokedAt"} for k in page["data"])


def test_given_many_keys_when_paging_with_the_cursor_then_every_key_once(tenant):
    made = {_create(tenant.key, {"scopes": ["tickets:read"], "name": f"k{i}"})["id"] for i in range(3)}
    first = call("GET", "/v1/api-keys", key=tenant.key, query={"limit": "2"}).json
    second = call("GET", "/v1/api-keys", key=tenant.key, query={"limit": "2", "cursor": first["nextCursor"]}).json

    ids = [k["id"] for k in first["data"] + second["data"]]
    assert len(ids) == len(set(ids)) == 4 and made <= set(ids) and second["nextCursor"] is None


def test_given_a_key_when_revoking_it_then_204_listed_revoked_and_401_once_the_cache_expires(tenant):
    from tickets.api import auth

    created = _create(tenant.key, {"scopes": ["tickets:read"]})
    assert call("GET", "/v1/tickets", key=created["key"]).status == 200  # now cached in this container

    assert call("DELETE", f"/v1/api-keys/{created['id']}", key=tenant.key).status == 204

    auth.clear_cache()  # what API_KEY_CACHE_SECONDS (60 s) does on a warm container
    resp = call("GET", "/v1/tickets", key=created["key"])
    assert resp.status == 401 and resp.json["code"] == "UNAUTHORIZED"
    listed = {k["id"]: k for k in call("GET", "/v1/api-keys", key=tenant.key).json["data"]}
    assert listed[created["id"]]["revokedAt"]
    again = call("DELETE", f"/v1/api-keys/{created['id']}", key=tenant.key)
    assert again.status == 409 and again.json["code"] == "CONFLICT"


def test_given_a_key_when_it_revokes_itself_then_204_and_it_stops_working(tenant):
    from tickets.api import auth

    own = _create(tenant.key, {"scopes": ["keys:manage"]})

    assert call("DELETE", f"/v1/api-keys/{own['id']}", key=own["key"]).status == 204
    auth.clear_cache()
    assert call("GET", "/v1/api-keys", key=own["key"]).status == 401


def test_given_two_tenants_when_b_lists_or_deletes_a_keys_then_empty_of_a_and_404(tenant, other_tenant):
    a_key = _create(tenant.key, {"scopes": ["tickets:read"]})

    listed = call("GET", "/v1/api-keys", key=other_tenant.key).json
    assert a_key["id"] not in json.dumps(listed) and listed["total"] == 1  # only B's own key
    resp = call("DELETE", f"/v1/api-keys/{a_key['id']}", key=other_tenant.key)
    assert resp.status == 404 and resp.json["code"] == "NOT_FOUND"
    assert call("GET", "/v1/tickets", key=a_key["key"]).status == 200  # still works


def test_given_unknown_or_malformed_ids_when_deleting_then_404(tenant):
    for key_id in ("key_01JSQ4ZK8X3N5W7Y9B2C4D6F8H", "01JSQ4ZK8X3N5W7Y9B2C4D6F8H", "nope"):
        resp = call("DELETE", f"/v1/api-keys/{key_id}", key=tenant.key)
        assert resp.status == 404 and resp.json["code"] == "NOT_FOUND", key_id


def test_given_a_key_without_keys_manage_when_calling_the_routes_then_403(aws):
    t = make_tenant("NOK", scopes=["tickets:read", "tickets:write"])
    for method, path, body in (
        ("GET", "/v1/api-keys", None),
        ("POST", "/v1/api-keys", {"scopes": ["tickets:read"]}),
        ("DELETE", "/v1/api-keys/key_01JSQ4ZK8X3N5W7Y9B2C4D6F8H", None),
    ):
        resp = call(method, path, key=t.key, body=body)
        assert resp.status == 403 and resp.json["code"] == "INSUFFICIENT_SCOPE", (method, resp.body)


def test_given_invalid_bodies_when_creating_then_400_naming_the_field(tenant):
    for body, field in (
        ({"scopes": ["tickets:read", "tickets:fly"]}, "scopes"),
        ({"scopes": []}, "scopes"),
        ({}, "scopes"),
        ({"scopes": ["tickets:read"], "name": "x" * 101}, "name"),
        ({"scopes": ["tickets:read"], "tenantId": "other"}, "tenantId"),
    ):
        resp = call("POST", "/v1/api-keys", key=tenant.key, body=body)
        assert resp.status == 400 and resp.json["code"] == "VALIDATION_ERROR", (body, resp.body)
        assert any(e["field"].startswith(field) for e in resp.json["errors"]), (body, resp.json["errors"])
    assert call("GET", "/v1/api-keys", key=tenant.key).json["total"] == 1  # nothing was created


def test_given_a_narrow_key_when_it_asks_for_wider_scopes_then_403_and_subsets_are_allowed(aws):
    t = make_tenant("NAR", scopes=["keys:manage", "tickets:read"])

    wider = call("POST", "/v1/api-keys", key=t.key, body={"scopes": ["tickets:read", "tickets:delete"]})
    assert wider.status == 403 and wider.json["code"] == "INSUFFICIENT_SCOPE"
    assert "tickets:delete" in wider.json["detail"]
    assert _create(t.key, {"scopes": ["tickets:read"]})["scopes"] == ["tickets:read"]


# ---- key management is never answered from the auth cache (contract v1.1, "Small additions")


def _revoked_but_cached(tenant) -> dict:
    """A keys:manage key that this container has cached as valid, then revoked by another key."""
    victim = _create(tenant.key, {"scopes": ["keys:manage", "tickets:read"]})
    assert call("GET", "/v1/tickets", key=victim["key"]).status == 200  # cached as valid for 60 s
    assert call("GET", "/v1/api-keys", key=victim["key"]).status == 200
    assert call("DELETE", f"/v1/api-keys/{victim['id']}", key=tenant.key).status == 204
    return victim


def test_given_a_revoked_key_still_in_the_cache_when_it_tries_to_mint_a_key_then_401_at_once(tenant):
    victim = _revoked_but_cached(tenant)

    resp = call("POST", "/v1/api-keys", key=victim["key"], body={"scopes": ["tickets:read"]})

    assert resp.status == 401 and resp.json["code"] == "UNAUTHORIZED", resp.body
    assert call("GET", "/v1/api-keys", key=tenant.key).json["total"] == 2  # the fixture's and the victim: no third


def test_given_a_revoked_key_still_in_the_cache_then_every_key_route_refuses_it_while_others_may_not_yet(tenant):
    victim = _revoked_but_cached(tenant)
    other = _create(tenant.key, {"scopes": ["tickets:read"]})
    # Other routes keep the documented cache window (up to 60 s), which is what makes the fresh check matter.
    assert call("GET", "/v1/tickets", key=victim["key"]).status == 200

    assert call("GET", "/v1/api-keys", key=victim["key"]).status == 401
    assert call("DELETE", f"/v1/api-keys/{other['id']}", key=victim["key"]).status == 401
    assert call("GET", "/v1/tickets", key=other["key"]).status == 200  # the delete did not happen
    # A fresh check that finds the key revoked also corrects this container's cache.
    assert call("GET", "/v1/tickets", key=victim["key"]).status == 401


def test_given_a_key_created_a_moment_ago_then_key_routes_accept_it_without_waiting(tenant):
    fresh = _create(tenant.key, {"scopes": ["keys:manage", "tickets:read"]})
    assert call("GET", "/v1/api-keys", key=fresh["key"]).status == 200


# ---- an Idempotency-Key replay is served only to a caller allowed to make the original request


def _post_with_key(key: str, path: str, body: dict, idem: str):
    return call("POST", path, key=key, body=body, headers={"Idempotency-Key": idem})


def test_given_a_key_created_with_an_idempotency_key_when_a_narrower_key_replays_it_then_403_and_nothing_leaks(aws):
    wide = make_tenant("RPL", scopes=["keys:manage", "tickets:read", "webhooks:manage"])
    first = _post_with_key(wide.key, "/v1/api-keys", {"scopes": ["webhooks:manage"]}, "rotate-1")
    assert first.status == 201 and first.json["key"]
    narrow = _create(wide.key, {"scopes": ["keys:manage", "tickets:read"]})

    replay = _post_with_key(narrow["key"], "/v1/api-keys", {"scopes": ["webhooks:manage"]}, "rotate-1")

    assert replay.status == 403 and replay.json["code"] == "INSUFFICIENT_SCOPE", replay.body
    assert "webhooks:manage" in replay.json["detail"] and first.json["id"] not in replay.body
    assert "x-tickets-needed-scopes" not in replay.headers
    again = _post_with_key(wide.key, "/v1/api-keys", {"scopes": ["webhooks:manage"]}, "rotate-1")
    assert again.status == 201 and again.headers["idempotent-replayed"] == "true"
    assert again.json["id"] == first.json["id"] and again.json["key"] is None
    assert "x-tickets-needed-scopes" not in again.headers and "x-tickets-needed-scopes" not in first.headers
    assert call("GET", "/v1/api-keys", key=wide.key).json["total"] == 3  # wide, the one made once, narrow


def test_given_a_batch_that_set_a_status_when_a_key_without_tickets_status_replays_it_then_403(aws):
    full = make_tenant("RPB")
    ticket = call("POST", "/v1/tickets", key=full.key, body={"subject": "x"}).json
    body = {"ids": [ticket["id"]], "actions": [{"type": "set_status", "value": "open"}]}
    assert _post_with_key(full.key, "/v1/tickets/batch", body, "batch-1").status == 200
    bulk_only = _create(full.key, {"scopes": ["tickets:bulk", "tickets:read"]})

    replay = _post_with_key(bulk_only["key"], "/v1/tickets/batch", body, "batch-1")

    assert replay.status == 403 and replay.json["code"] == "INSUFFICIENT_SCOPE", replay.body
    assert "tickets:status" in replay.json["detail"]
    assert _post_with_key(full.key, "/v1/tickets/batch", body, "batch-1").headers["idempotent-replayed"] == "true"


def test_given_a_replay_by_a_key_without_the_routes_scope_then_403_before_the_store_is_read(aws):
    full = make_tenant("RPS")
    assert _post_with_key(full.key, "/v1/tickets", {"subject": "x"}, "t-1").status == 201
    reader = _create(full.key, {"scopes": ["tickets:read"]})
    replay = _post_with_key(reader["key"], "/v1/tickets", {"subject": "x"}, "t-1")
    assert replay.status == 403 and replay.json["code"] == "INSUFFICIENT_SCOPE"
