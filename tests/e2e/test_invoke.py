"""End-to-end: `make invoke` against a running `make dev`, which it finds through the stack's state file; what it
writes is then seen through that stack's HTTP API and by its stream consumers."""

from __future__ import annotations

import json
import os
import subprocess
import time

from tests.e2e.conftest import ROOT, Stack
from tests.utils import invoked_http_response, load_event
from tools.sample_events import DEMO_TENANT_ID, SAMPLE_AGENT_ID, SAMPLE_GROUP_ID, SAMPLE_TICKET_ID


def make_invoke(stack: Stack, fn: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DEV_STATE_FILE": str(stack.state_file)}
    env.pop("AWS_ENDPOINT_URL", None)
    return subprocess.run(
        ["make", "--no-print-directory", "invoke", f"FN={fn}"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_given_make_dev_when_started_then_its_state_file_says_where_it_is(stack: Stack) -> None:
    assert stack.state_file is not None
    state = json.loads(stack.state_file.read_text())

    assert (state["baseUrl"], state["awsEndpointUrl"], state["tableName"]) == (
        stack.base_url, stack.aws_endpoint_url, stack.table_name)  # fmt: skip
    assert state["demoTenantId"] == DEMO_TENANT_ID
    assert state["refs"]["Table"] == stack.table_name and state["refs"]["WebhookDeliveryQueue"].startswith("http")
    assert stack.state_file.stat().st_mode & 0o077 == 0  # it holds the stack's cursor signing key


def test_given_make_dev_when_make_invoke_runs_get_ticket_then_it_prints_200_for_the_demo_ticket(stack: Stack) -> None:
    run = make_invoke(stack, "GetTicketFunction")

    assert run.returncode == 0, run.stderr
    status, headers, body = invoked_http_response(run.stdout)
    assert status == "HTTP 200 OK" and headers["etag"] == f'"{body["version"]}"'
    assert (body["id"], body["reference"]) == (SAMPLE_TICKET_ID, "DEMO-1")
    assert f"against make dev (AWS {stack.aws_endpoint_url}" in run.stderr
    # The sample key and the printed demo key open the same tenant: the stack's demo ticket.
    over_http = stack.request("GET", "/v1/tickets/DEMO-1", key=stack.api_key)
    assert over_http.status == 200 and over_http.json["id"] == body["id"]


def test_given_make_dev_when_make_invoke_creates_a_ticket_then_the_stack_serves_it_and_its_consumers_record_it(
    stack: Stack,
) -> None:
    run = make_invoke(stack, "CreateTicketFunction")

    assert run.returncode == 0, run.stderr
    status, headers, created = invoked_http_response(run.stdout)
    assert status == "HTTP 201 Created"
    over_http = stack.request("GET", headers["location"], key=stack.api_key)
    assert over_http.status == 200
    assert over_http.json["subject"] == json.loads(load_event("create_ticket")["body"])["subject"]
    assert (over_http.json["id"], over_http.json["reference"]) == (created["id"], created["reference"])
    # The sample names the demo tenant's group, whose round robin gave it to the demo agent in the same write.
    assert (created["groupId"], created["assigneeId"]) == (SAMPLE_GROUP_ID, SAMPLE_AGENT_ID)
    # The stack's stream consumer saw the write as well (one record: both entries).
    deadline, history = time.monotonic() + 15, []
    while time.monotonic() < deadline and len(history) < 2:
        history = stack.request("GET", f"/v1/tickets/{created['id']}/history", key=stack.api_key).json["data"]
        time.sleep(0.2)
    assert sorted(entry["type"] for entry in history) == ["assigned", "created"]
