"""Regression tests for what contract fuzzing (tools.fuzz, tests/e2e/test_fuzz.py) found: each was a 500 or an
answer the OpenAPI document did not describe."""

from __future__ import annotations

import pytest

from tests.conftest import TenantKey, call


def _problem(resp, status: int, code: str) -> dict:
    assert resp.status == status, resp.body
    assert resp.headers["content-type"].startswith("application/problem+json")
    body = resp.json
    assert body["code"] == code, body
    return body


def test_given_a_year_before_1000_when_listing_created_after_it_then_200_not_500(tenant: TenantKey) -> None:
    made = call("POST", "/v1/tickets", key=tenant.key, body={"subject": "old filter"}).json

    resp = call("GET", "/v1/tickets", key=tenant.key, query={"createdAfter": "0233-01-26T09:03:54-07:17"})

    assert resp.status == 200, resp.body
    assert [t["id"] for t in resp.json["data"]] == [made["id"]]


@pytest.mark.parametrize("when", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"])
def test_given_a_timestamp_outside_years_1_to_9999_in_utc_when_listing_then_400_not_500(
    tenant: TenantKey, when: str
) -> None:
    body = _problem(call("GET", "/v1/tickets", key=tenant.key, query={"createdBefore": when}), 400, "VALIDATION_ERROR")

    assert body["errors"][0]["field"] == "createdBefore"


@pytest.mark.parametrize("when", ["0.5", "12345", "2026-01-01"])
def test_given_a_number_or_a_bare_date_as_date_time_when_listing_then_400(tenant: TenantKey, when: str) -> None:
    body = _problem(call("GET", "/v1/tickets", key=tenant.key, query={"updatedSince": when}), 400, "VALIDATION_ERROR")

    assert body["errors"][0]["field"] == "updatedSince"


def test_given_a_number_as_due_date_when_creating_then_400(tenant: TenantKey) -> None:
    resp = call("POST", "/v1/tickets", key=tenant.key, body={"subject": "due", "dueAt": 1767225600})

    assert _problem(resp, 400, "VALIDATION_ERROR")["errors"][0]["field"] == "dueAt"


@pytest.mark.parametrize("extra", [{}, {"status": "open"}, {"customerId": None}])
def test_given_null_collections_when_patching_a_ticket_then_they_are_emptied_not_a_500(
    tenant: TenantKey, extra: dict
) -> None:
    made = call(
        "POST",
        "/v1/tickets",
        key=tenant.key,
        body={"subject": "full", "tags": ["a"], "customFields": {"k": 1}, "metadata": {"m": 1}},
    ).json

    resp = call(
        "PATCH",
        f"/v1/tickets/{made['id']}",
        key=tenant.key,
        body={"tags": None, "customFields": None, "metadata": None, **extra},
    )

    assert resp.status == 200, resp.body
    assert (resp.json["tags"], resp.json["customFields"], resp.json["metadata"]) == ([], {}, {})
    again = call("GET", f"/v1/tickets/{made['id']}", key=tenant.key).json
    assert (again["tags"], again["customFields"], again["metadata"]) == ([], {}, {})


def test_given_null_metadata_when_patching_a_customer_then_it_is_emptied_not_a_500(tenant: TenantKey) -> None:
    made = call("POST", "/v1/customers", key=tenant.key, body={"externalId": "c-1", "metadata": {"m": 1}}).json

    resp = call("PATCH", f"/v1/customers/{made['id']}", key=tenant.key, body={"metadata": None})

    assert resp.status == 200, resp.body
    assert resp.json["metadata"] == {}
    assert call("GET", f"/v1/customers/{made['id']}", key=tenant.key).json["metadata"] == {}


@pytest.mark.parametrize("email", ["a\x1cb@example.com", "a\x85b@example.com", "a\ufeffb@example.com", "no-at-sign"])
def test_given_an_email_the_documented_pattern_refuses_when_creating_an_agent_then_400(
    tenant: TenantKey, email: str
) -> None:
    resp = call("POST", "/v1/agents", key=tenant.key, body={"name": "Ann", "email": email})

    assert _problem(resp, 400, "VALIDATION_ERROR")["errors"][0]["field"] == "email"


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/v1/customers", {"externalId": "c-2", "metadata": {"": 1}}),
        ("POST", "/v1/tickets", {"subject": "s", "metadata": {"a": {"b": [{"": {}}]}}}),
    ],
)
def test_given_an_empty_object_key_in_metadata_when_writing_then_400_naming_it(
    aws, tenant: TenantKey, method: str, path: str, body: dict
) -> None:
    # moto's server stored such keys but read them back as broken AttributeValues: every later read was a 500.
    from tests.conftest import TABLE

    before = aws.scan(TableName=TABLE)["Items"]

    body_ = _problem(call(method, path, key=tenant.key, body=body), 400, "VALIDATION_ERROR")

    assert [e["field"] for e in body_["errors"]] == ["metadata"]
    assert "keys must not be empty" in body_["errors"][0]["message"]
    assert aws.scan(TableName=TABLE)["Items"] == before
