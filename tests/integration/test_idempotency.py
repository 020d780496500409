"""Idempotency-Key on POST routes, through the real handlers against moto (Powertools idempotency)."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.conftest import TABLE, call, items
from tools.ddbcalls import count_calls

REPLAYED = "idempotent-replayed"


def _post(tenant, path, body, key=None, **kwargs):
    headers = {"Idempotency-Key": key} if key is not None else None
    return call("POST", path, key=tenant.key, body=body, headers=headers, **kwargs)


def _tickets(aws, tenant_id):
    from tickets.dal import keys

    return [i for i in items(aws, keys.tenant_pk(tenant_id)) if i["SK"].startswith(keys.TICKET_PREFIX)]


def _records(aws, tenant_id):
    from tickets.dal import keys

    return items(aws, keys.idempotency_partition(tenant_id))


@pytest.fixture
def warm(aws, tenant):
    """A tenant whose key is already in the container's auth cache, as on a warm Lambda."""
    assert call("GET", "/v1/tickets", key=tenant.key).status == 200
    return tenant


class TestReplay:
    def test_given_the_same_key_and_body_then_the_first_answer_is_replayed(self, aws, tenant):
        first = _post(tenant, "/v1/tickets", {"subject": "Payment failed"}, key="k-1")
        again = _post(tenant, "/v1/tickets", {"subject": "Payment failed"}, key="k-1")
        assert first.status == again.status == 201
        assert again.body == first.body  # byte for byte
        assert again.headers[REPLAYED] == "true" and REPLAYED not in first.headers
        assert again.headers["location"] == first.headers["location"]
        assert again.headers["etag"] == first.headers["etag"]
        assert len(_tickets(aws, tenant.tenant_id)) == 1

    def test_given_the_same_body_spelled_differently_then_it_is_still_a_replay(self, aws, tenant):
        first = _post(tenant, "/v1/tickets", {"subject": "x", "priority": "high"}, key="k")
        again = _post(tenant, "/v1/tickets", '{ "priority": "high",  "subject": "x" }', key="k")
        assert again.status == 201 and again.headers[REPLAYED] == "true" and again.body == first.body

    def test_given_the_record_then_it_sits_in_the_tenants_partition_and_expires_in_24_hours(self, aws, tenant):
        import time

        _post(tenant, "/v1/tickets", {"subject": "x"}, key="k")
        (record,) = _records(aws, tenant.tenant_id)
        assert record["status"] == "COMPLETED"
        assert abs(int(record["expiresAt"]) - (time.time() + 24 * 3600)) < 60

    def test_given_no_key_then_nothing_is_recorded_and_each_post_creates(self, aws, tenant):
        _post(tenant, "/v1/tickets", {"subject": "x"})
        r = _post(tenant, "/v1/tickets", {"subject": "x"})
        assert r.status == 201 and REPLAYED not in r.headers
        assert len(_tickets(aws, tenant.tenant_id)) == 2 and _records(aws, tenant.tenant_id) == []


class TestMismatch:
    def test_given_the_same_key_with_another_body_then_422_key_reused(self, aws, tenant):
        assert _post(tenant, "/v1/tickets", {"subject": "a"}, key="k").status == 201
        r = _post(tenant, "/v1/tickets", {"subject": "b"}, key="k")
        assert r.status == 422 and r.json["code"] == "IDEMPOTENCY_KEY_REUSED"
        assert r.headers["content-type"] == "application/problem+json"
        assert len(_tickets(aws, tenant.tenant_id)) == 1

    def test_given_the_same_key_on_another_resource_of_the_route_then_422(self, aws, tenant):
        # The route is the same (POST /v1/webhooks/{id}/rotate-secret); the path parameter is validated.
        hook = {"url": "https://93.184.215.14/hook", "events": ["*"]}  # a public address: no DNS needed
        a, b = (_post(tenant, "/v1/webhooks", hook).json for _ in range(2))
        assert _post(tenant, f"/v1/webhooks/{a['id']}/rotate-secret", None, key="k").status == 200
        r = _post(tenant, f"/v1/webhooks/{b['id']}/rotate-secret", None, key="k")
        assert r.status == 422 and r.json["code"] == "IDEMPOTENCY_KEY_REUSED"


class TestScope:
    def test_given_another_tenant_uses_the_same_key_then_it_gets_its_own_ticket(self, aws, tenant, other_tenant):
        mine = _post(tenant, "/v1/tickets", {"subject": "x"}, key="shared")
        theirs = _post(other_tenant, "/v1/tickets", {"subject": "x"}, key="shared")
        assert mine.status == theirs.status == 201 and REPLAYED not in theirs.headers
        assert theirs.json["id"] != mine.json["id"] and theirs.json["reference"] == "OTH-1"
        assert len(_tickets(aws, tenant.tenant_id)) == len(_tickets(aws, other_tenant.tenant_id)) == 1
        # ...and a different body from tenant B is not a "reused" key either: B never sees A's record.
        assert _post(other_tenant, "/v1/tickets", {"subject": "y"}, key="shared2").status == 201
        assert _post(tenant, "/v1/tickets", {"subject": "z"}, key="shared2").status == 201

    def test_given_the_same_key_on_two_routes_then_they_do_not_collide(self, aws, tenant):
        t = _post(tenant, "/v1/tickets", {"subject": "x"}, key="k")
        c = _post(tenant, "/v1/customers", {"externalId": "c1"}, key="k")
        assert t.status == c.status == 201 and REPLAYED not in c.headers
        assert c.json["externalId"] == "c1"
        again = _post(tenant, "/v1/customers", {"externalId": "c1"}, key="k")
        assert again.status == 201 and again.headers[REPLAYED] == "true" and again.body == c.body
        assert len(_records(aws, tenant.tenant_id)) == 2


class TestErrorsAreNotStored:
    def test_given_a_validation_error_then_the_corrected_retry_with_the_same_key_succeeds(self, aws, tenant):
        bad = _post(tenant, "/v1/tickets", {"subject": "x", "priority": "urgentissimo"}, key="k")
        assert bad.status == 400 and bad.json["code"] == "VALIDATION_ERROR"
        assert _records(aws, tenant.tenant_id) == []  # Powertools deleted the in-progress record
        good = _post(tenant, "/v1/tickets", {"subject": "x", "priority": "high"}, key="k")
        assert good.status == 201 and REPLAYED not in good.headers

    def test_given_the_same_bad_request_again_then_it_is_answered_again_not_replayed(self, aws, tenant):
        first = _post(tenant, "/v1/tickets", "{not json", key="k")
        again = _post(tenant, "/v1/tickets", "{not json", key="k")
        assert first.status == again.status == 400 and again.json["code"] == "INVALID_JSON"
        assert REPLAYED not in again.headers

    def test_given_a_409_conflict_then_it_is_not_stored(self, aws, tenant):
        assert _post(tenant, "/v1/customers", {"externalId": "dup"}).status == 201
        conflict = _post(tenant, "/v1/customers", {"externalId": "dup"}, key="k")
        assert conflict.status == 409 and conflict.json["code"] == "CONFLICT"
        assert _records(aws, tenant.tenant_id) == []
        retry = _post(tenant, "/v1/customers", {"externalId": "dup"}, key="k")
        assert retry.status == 409 and REPLAYED not in retry.headers
        fixed_elsewhere = _post(tenant, "/v1/customers", {"externalId": "other"}, key="k")
        assert fixed_elsewhere.status == 201  # a different body is fine: nothing was stored under "k"


class TestKeyFormat:
    def test_given_a_key_of_255_characters_then_accepted(self, aws, tenant):
        assert _post(tenant, "/v1/tickets", {"subject": "x"}, key="k" * 255).status == 201

    def test_given_a_key_longer_than_255_characters_then_400_naming_the_header(self, aws, tenant):
        r = _post(tenant, "/v1/tickets", {"subject": "x"}, key="k" * 256)
        assert r.status == 400 and r.json["code"] == "VALIDATION_ERROR"
        assert r.json["errors"][0]["field"] == "Idempotency-Key"
        assert _tickets(aws, tenant.tenant_id) == []

    def test_given_an_empty_key_then_400(self, aws, tenant):
        r = _post(tenant, "/v1/tickets", {"subject": "x"}, key="")
        assert r.status == 400 and r.json["errors"][0]["field"] == "Idempotency-Key"

    def test_given_no_api_key_then_401_comes_before_the_key_check(self, aws):
        r = call("POST", "/v1/tickets", body={"subject": "x"}, headers={"Idempotency-Key": "k" * 300})
        assert r.status == 401

    def test_given_a_key_on_a_get_then_it_is_ignored(self, aws, tenant):
        r = call("GET", "/v1/tickets", key=tenant.key, headers={"Idempotency-Key": "k" * 300})
        assert r.status == 200 and _records(aws, tenant.tenant_id) == []


class TestConcurrency:
    def test_given_20_concurrent_creates_with_one_key_then_exactly_one_ticket(self, aws, tenant):
        with ThreadPoolExecutor(20) as pool:
            results = list(pool.map(lambda _: _post(tenant, "/v1/tickets", {"subject": "race"}, key="k"), range(20)))
        created = [r for r in results if r.status == 201 and REPLAYED not in r.headers]
        replays = [r for r in results if r.status == 201 and r.headers.get(REPLAYED) == "true"]
        in_progress = [r for r in results if r.status == 409]
        assert len(created) == 1
        assert len(created) + len(replays) + len(in_progress) == 20, [r.status for r in results]
        assert all(r.body == created[0].body for r in replays)
        assert all(r.json["code"] == "IDEMPOTENCY_IN_PROGRESS" for r in in_progress)
        assert len(_tickets(aws, tenant.tenant_id)) == 1

    def test_given_a_request_in_progress_then_a_duplicate_gets_409(self, aws, tenant):
        import threading

        from tickets.dal.client import ddb

        started, release = threading.Event(), threading.Event()

        def hold(**_):  # the first create stops before its ticket write, its record still INPROGRESS
            started.set()
            assert release.wait(10)

        events = ddb().meta.events
        events.register("before-call.dynamodb.TransactWriteItems", hold, unique_id="hold-create")
        try:
            with ThreadPoolExecutor(1) as pool:
                first = pool.submit(_post, tenant, "/v1/tickets", {"subject": "x"}, "k")
                assert started.wait(10)
                dup = _post(tenant, "/v1/tickets", {"subject": "x"}, key="k")
                release.set()
                assert first.result().status == 201
        finally:
            release.set()
            events.unregister("before-call.dynamodb.TransactWriteItems", unique_id="hold-create")
        assert dup.status == 409 and dup.json["code"] == "IDEMPOTENCY_IN_PROGRESS"
        assert _post(tenant, "/v1/tickets", {"subject": "x"}, key="k").headers[REPLAYED] == "true"


class TestPersistenceFailure:
    def test_given_the_store_fails_then_503_with_retry_after(self, aws, tenant, monkeypatch):
        from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer
        from botocore.exceptions import ClientError

        def broken(self, data_record):
            raise ClientError({"Error": {"Code": "InternalServerError", "Message": "boom"}}, "PutItem")

        monkeypatch.setattr(DynamoDBPersistenceLayer, "_put_record", broken)
        r = _post(tenant, "/v1/tickets", {"subject": "x"}, key="k")
        assert r.status == 503 and r.json["code"] == "SERVICE_UNAVAILABLE"
        assert r.headers["retry-after"] == "1"
        assert _tickets(aws, tenant.tenant_id) == []


class TestCallBudget:
    """Budget: a create with an Idempotency-Key makes 2 more DynamoDB calls; a replay makes 1."""

    def test_given_a_key_then_a_first_create_makes_two_more_calls(self, warm):
        with count_calls() as plain:
            assert _post(warm, "/v1/tickets", {"subject": "x"}).status == 201
        with count_calls() as keyed:
            assert _post(warm, "/v1/tickets", {"subject": "x"}, key="k").status == 201
        assert plain.operations == ["UpdateItem", "TransactWriteItems"]
        # The in-progress conditional PutItem first, the completing UpdateItem last.
        assert keyed.operations == ["PutItem", *plain.operations, "UpdateItem"]
        assert len(keyed) - len(plain) == 2

    def test_given_a_replay_then_one_call_the_failed_conditional_put(self, warm):
        _post(warm, "/v1/tickets", {"subject": "x"}, key="k")
        with count_calls() as calls:
            r = _post(warm, "/v1/tickets", {"subject": "x"}, key="k")
        assert r.status == 201 and r.headers[REPLAYED] == "true"
        # ReturnValuesOnConditionCheckFailure=ALL_OLD returns the stored record with the failure: no GetItem.
        assert calls.operations == ["PutItem"]

    def test_given_a_reused_key_then_one_call_too(self, warm):
        _post(warm, "/v1/tickets", {"subject": "x"}, key="k")
        with count_calls() as calls:
            assert _post(warm, "/v1/tickets", {"subject": "y"}, key="k").status == 422
        assert calls.operations == ["PutItem"]

    def test_given_a_validation_error_then_the_record_is_put_and_deleted(self, warm):
        with count_calls() as calls:
            assert _post(warm, "/v1/tickets", {"subject": ""}, key="k").status == 400
        assert calls.operations == ["PutItem", "DeleteItem"]


class TestSecretsAreNotStored:
    def test_given_a_key_creation_with_an_idempotency_key_then_the_key_is_shown_once_and_never_stored(
        self, aws, tenant
    ):
        body = {"scopes": ["tickets:read"], "name": "ci"}
        first = call("POST", "/v1/api-keys", key=tenant.key, body=body, headers={"Idempotency-Key": "k-1"})
        assert first.status == 201 and first.json["key"].startswith("tk_")
        replay = call("POST", "/v1/api-keys", key=tenant.key, body=body, headers={"Idempotency-Key": "k-1"})
        assert replay.status == 201 and replay.headers.get("idempotent-replayed") == "true"
        assert replay.json["id"] == first.json["id"] and replay.json["key"] is None
        raw = first.json["key"]
        scanned = aws.scan(TableName=TABLE)["Items"]  # test-only Scan: prove the secret is nowhere in the table
        assert raw not in json.dumps(scanned)
        assert call("GET", "/v1/api-keys", key=tenant.key).json["total"] == 2  # the tenant key + one, not two

    def test_given_a_webhook_creation_with_an_idempotency_key_then_the_stored_answer_has_no_secret(self, aws, tenant):
        body = {"url": "https://93.184.216.34/hook"}
        first = call("POST", "/v1/webhooks", key=tenant.key, body=body, headers={"Idempotency-Key": "w-1"})
        assert first.status == 201 and first.json["secret"].startswith("whsec_")
        replay = call("POST", "/v1/webhooks", key=tenant.key, body=body, headers={"Idempotency-Key": "w-1"})
        assert replay.json["id"] == first.json["id"] and replay.json["secret"] is None
        idem = [i for i in aws.scan(TableName=TABLE)["Items"] if "IDEMPOTENCY" in i["PK"]["S"]]
        assert idem and first.json["secret"] not in json.dumps(idem)
