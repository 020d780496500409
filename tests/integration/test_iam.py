"""The IAM check (tools/iam.py) is live in the suite: a real handler whose template policy lacks what its code calls
fails as it would on AWS, on the request thread, in the app's own threads and in Lambda's OnFailure hand-off."""

from __future__ import annotations

import contextvars
import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError
from botocore.exceptions import ClientError

from tests.conftest import TABLE, call, items
from tools import iam, template
from tools.events import FakeContext
from tools.eventsources import EventSources

ARN = f"arn:aws:dynamodb:us-east-1:123456789012:table/{TABLE}"
FUNCTIONS = template.functions()


def _statements(doc: dict[str, Any], function: str) -> list[dict[str, Any]]:
    policies = doc["Resources"][function]["Properties"]["Policies"]
    return [st for policy in policies for st in policy["Statement"]]


def _revoke(doc: dict[str, Any], function: str, action: str) -> None:
    """Take `action` out of every statement of the function's policy (template.yaml as tests read it)."""
    for policy in doc["Resources"][function]["Properties"]["Policies"]:
        for st in policy["Statement"]:
            st["Action"] = [a for a in st["Action"] if a != action]
        policy["Statement"] = [st for st in policy["Statement"] if st["Action"]]  # IAM refuses an empty one
    iam.reset()


def _denied(*expected: tuple[str | None, str, str]) -> None:
    """Exactly these (function, action, resource) were refused since the last look (and are taken, not reported)."""
    got = [(d.function, d.action, d.resource) for d in iam.recorder.take_denials()]
    assert got == list(expected)


def _ticket(key: str, **fields: Any) -> dict[str, Any]:
    r = call("POST", "/v1/tickets", key=key, body={"subject": "Printer on fire", **fields})
    assert r.status == 201, r.body
    return r.json


def test_given_create_ticket_without_put_item_when_a_ticket_is_created_then_denied_and_nothing_written(
    aws, tenant, edited_template
):
    _revoke(edited_template, "CreateTicketFunction", "dynamodb:PutItem")

    r = call("POST", "/v1/tickets", key=tenant.key, body={"subject": "Printer on fire"})

    assert r.status == 500 and r.json["code"] == "INTERNAL", r.body
    _denied(("CreateTicketFunction", "dynamodb:PutItem", ARN))  # the transaction's Put items, on the table
    assert [i for i in items(aws, f"TENANT#{tenant.tenant_id}") if i["SK"].startswith("TICKET")] == []


def test_given_the_denial_then_it_is_the_access_denied_error_aws_sends_naming_function_action_and_resource(
    aws, tenant, edited_template
):
    from tickets.dal import tenants as tenants_dal

    _revoke(edited_template, "GetTicketFunction", "dynamodb:GetItem")
    with iam.running("GetTicketFunction"), pytest.raises(ClientError) as raised:
        tenants_dal.get_tenant(tenant.tenant_id)

    error = raised.value.response["Error"]
    assert error["Code"] == "AccessDeniedException"
    assert error["Message"] == (
        f"IAM: GetTicketFunction is not allowed dynamodb:GetItem on {ARN}: no statement of its template policy "
        "allows dynamodb:GetItem on that resource (template.yaml, GetTicketFunction Policies)"
    )
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    _denied(("GetTicketFunction", "dynamodb:GetItem", ARN))


def test_given_list_tickets_without_the_index_grant_when_filtered_by_status_then_denied_on_the_index(
    aws, tenant, edited_template
):
    _ticket(tenant.key)
    for _ in range(3):  # status=new is then the smaller part: the planner reads GSI1 for it
        call("POST", "/v1/tickets", key=tenant.key, body={"subject": "open one", "status": "open"})
    for st in _statements(edited_template, "ListTicketsFunction"):
        st["Resource"] = [r for r in st["Resource"] if "index" not in json.dumps(r)]
    iam.reset()

    r = call("GET", "/v1/tickets", key=tenant.key, query={"status": "new"})

    assert r.status == 500, r.body
    _denied(("ListTicketsFunction", "dynamodb:Query", f"{ARN}/index/GSI1"))  # new#medium, its one ticket


def test_given_bulk_status_without_update_item_then_its_pool_threads_are_checked_as_the_bulk_function(
    aws, tenant, edited_template
):
    ids = [_ticket(tenant.key)["id"] for _ in range(3)]
    _revoke(edited_template, "BulkSetTicketStatusFunction", "dynamodb:UpdateItem")

    r = call("POST", "/v1/tickets/bulk/status", key=tenant.key, body={"ids": ids, "status": "pending"})

    assert r.status == 500, r.body
    denials = iam.recorder.take_denials()
    assert {(d.function, d.action, d.resource) for d in denials} == {
        ("BulkSetTicketStatusFunction", "dynamodb:UpdateItem", ARN)
    }
    assert len(denials) == 3  # one per ticket, each in a pool thread that carried the function
    statuses = {t["id"]: t["status"] for t in call("GET", "/v1/tickets", key=tenant.key).json["data"]}
    assert statuses == dict.fromkeys(ids, "new")


def test_given_the_webhook_consumer_without_get_item_then_its_message_threads_are_checked_and_the_message_fails(
    aws, tenant, edited_template
):
    fn = FUNCTIONS["DeliverWebhookFunction"]
    template.apply_env(fn, {"Table": TABLE})
    _revoke(edited_template, "DeliverWebhookFunction", "dynamodb:GetItem")
    body = {"tenantId": tenant.tenant_id, "webhookId": "wh_1", "deliveryId": "dlv_1", "attempt": 1}
    event = {"Records": [{"messageId": "m-1", "receiptHandle": "r", "body": json.dumps(body), "attributes": {},
                          "messageAttributes": {}, "eventSource": "aws:sqs", "awsRegion": "us-east-1",
                          "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:WebhookDeliveryQueue"}]}  # fmt: skip

    with pytest.raises(BatchProcessingError, match="All records failed"):  # Lambda retries the whole batch
        template.load_handler(fn)(event, FakeContext(fn.name))

    _denied(("DeliverWebhookFunction", "dynamodb:GetItem", ARN))


def test_given_a_thread_that_does_not_carry_the_context_when_the_app_calls_aws_during_a_handler_then_an_error(
    aws, tenant
):
    from tickets.dal import tenants as tenants_dal

    with iam.running("GetTicketFunction"), ThreadPoolExecutor(1) as pool:
        lost = pool.submit(tenants_dal.get_tenant, tenant.tenant_id)
        with pytest.raises(iam.ContextLost, match="no function is known on this thread"):
            lost.result()
        _denied((None, "dynamodb:GetItem", ARN))
        carried = pool.submit(contextvars.copy_context().run, tenants_dal.get_tenant, tenant.tenant_id)
        assert carried.result()["id"] == tenant.tenant_id
    # Outside any handler (a test's or the admin CLI's own calls) nothing is checked.
    with ThreadPoolExecutor(1) as pool:
        assert pool.submit(tenants_dal.get_tenant, tenant.tenant_id).result()["id"] == tenant.tenant_id
    _denied()


def test_given_a_stream_consumer_without_send_message_on_its_on_failure_queue_then_lambdas_hand_off_is_denied(
    aws, edited_template
):
    queues = template.create_queues(boto3.client("sqs", region_name="us-east-1"))
    refs = template.build_refs(table=template.table_refs(aws, TABLE), queues=queues)

    def invoke(fn: template.Function, event: dict[str, Any]) -> Any:
        raise RuntimeError("history is on fire")

    runner = EventSources([FUNCTIONS["RecordTicketHistoryFunction"]], invoke, refs=refs, retry_backoff=(0, 0))
    _revoke(edited_template, "RecordTicketHistoryFunction", "sqs:SendMessage")
    aws.put_item(TableName=TABLE, Item={"PK": {"S": "TENANT#t1"}, "SK": {"S": "TICKET#doomed"}})

    with pytest.raises(ClientError, match="AccessDeniedException"):
        runner.run_until_idle(timeout=10, quiet=0.2)

    _denied(("RecordTicketHistoryFunction", "sqs:SendMessage", queues["StreamFailureDLQ"].arn))


# ---------------------------------------------------------------- paths only one grant serves, which no other test took


def test_given_a_patch_that_sets_an_existing_parent_then_the_child_names_it(aws, tenant):
    """UpdateTicketFunction's dynamodb:ConditionCheckItem: the transaction checks that the new parent still exists."""
    parent, child = _ticket(tenant.key, subject="parent"), _ticket(tenant.key, subject="child")

    r = call("PATCH", f"/v1/tickets/{child['id']}", key=tenant.key, body={"parentId": parent["id"]})

    assert r.status == 200 and r.json["parentId"] == parent["id"], r.body
    assert call("GET", f"/v1/tickets/{child['id']}", key=tenant.key).json["parentId"] == parent["id"]
    gone = "01J0000000000000000000000Z"
    refused = call("PATCH", f"/v1/tickets/{child['id']}", key=tenant.key, body={"parentId": gone})
    assert refused.status == 400 and refused.json["code"] == "INVALID_PARENT", refused.body
    assert call("GET", f"/v1/tickets/{child['id']}", key=tenant.key).json["parentId"] == parent["id"]
