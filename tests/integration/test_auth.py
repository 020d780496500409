"""Authentication and scopes, enforced in the shared layer before routing."""

from __future__ import annotations

import pytest

from tests.conftest import call, make_tenant


class TestAuthentication:
    @pytest.mark.parametrize(
        "headers",
        [
            {},
            {"x-api-key": "tk_unknown_key_000000000000000000000000"},
            {"x-api-key": "not-a-key"},
            {"authorization": "Basic dXNlcjpwYXNz"},
            {"authorization": "Bearer "},
        ],
    )
    def test_given_no_or_a_bad_key_then_401_problem_json(self, aws, tenant, headers):
        r = call("GET", "/v1/tickets", headers=headers)
        assert r.status == 401 and r.headers["content-type"] == "application/problem+json"
        assert r.json["code"] == "UNAUTHORIZED" and r.json["status"] == 401

    def test_given_a_bearer_token_or_x_api_key_then_both_work(self, aws, tenant):
        assert call("GET", "/v1/tickets", headers={"authorization": f"Bearer {tenant.key}"}).status == 200
        assert call("GET", "/v1/tickets", headers={"X-API-Key": tenant.key}).status == 200

    def test_given_an_unauthenticated_request_with_a_bad_body_then_401_not_400(self, aws, tenant):
        assert call("POST", "/v1/tickets", body="{not json").status == 401

    def test_given_a_revoked_key_then_401_once_the_container_cache_expires(self, aws):
        from tickets.api import auth
        from tickets.logic import admin

        t = make_tenant("REV")
        extra = admin.create_api_key(t.tenant_id, ["tickets:read"])
        assert call("GET", "/v1/tickets", key=extra["key"]).status == 200
        admin.revoke_api_key(t.tenant_id, extra["id"])
        auth.clear_cache()  # a new container, or 60 s later
        assert call("GET", "/v1/tickets", key=extra["key"]).status == 401
        assert call("GET", "/v1/tickets", key=t.key).status == 200

    def test_given_a_body_over_256_kb_then_413(self, aws, tenant):
        r = call("POST", "/v1/tickets", key=tenant.key, body={"subject": "x", "description": "y" * (257 * 1024)})
        assert r.status == 413 and r.json["code"] == "PAYLOAD_TOO_LARGE"


class TestScopes:
    @pytest.mark.parametrize(
        ("method", "path", "scope"),
        [
            ("GET", "/v1/tickets", "tickets:read"),
            ("POST", "/v1/tickets", "tickets:write"),
            ("DELETE", "/v1/tickets/01JZZZZZZZZZZZZZZZZZZZZZZZ", "tickets:delete"),
            ("PATCH", "/v1/tickets/01JZZZZZZZZZZZZZZZZZZZZZZZ", "tickets:write"),
            ("GET", "/v1/customers", "customers:read"),
            ("POST", "/v1/customers", "customers:write"),
        ],
    )
    def test_given_a_key_without_the_route_scope_then_403_and_with_it_not_403(self, aws, method, path, scope):
        without = make_tenant("NO", scopes=["agents:read"])
        r = call(method, path, key=without.key, body={} if method in ("POST", "PATCH") else None)
        assert r.status == 403 and r.json["code"] == "INSUFFICIENT_SCOPE"
        with_scope = make_tenant("YES", scopes=[scope])
        r = call(method, path, key=with_scope.key, body={} if method in ("POST", "PATCH") else None)
        assert r.status != 403


class TestMediaType:
    @pytest.mark.parametrize(
        "content_type",
        ["application/x-www-form-urlencoded", "text/plain", "multipart/form-data", "application/merge-patch+json"],
    )
    def test_given_a_non_json_content_type_then_415_and_nothing_written(self, aws, tenant, content_type):
        r = call("POST", "/v1/tickets", key=tenant.key, body='{"subject": "x"}', headers={"content-type": content_type})
        assert r.status == 415 and r.json["code"] == "UNSUPPORTED_MEDIA_TYPE"
        assert call("GET", "/v1/tickets", key=tenant.key).json["total"] == 0

    @pytest.mark.parametrize("content_type", [None, "application/json; charset=utf-8", "Application/JSON"])
    def test_given_json_or_no_content_type_then_the_body_is_read_as_json(self, aws, tenant, content_type):
        headers = {"content-type": content_type} if content_type else {}
        r = call("POST", "/v1/tickets", key=tenant.key, body='{"subject": "x"}', headers=headers)
        assert r.status == 201, r.body
