"""`python -m tools.invoke` (what `make invoke` runs), as a subprocess, with no make dev running: a throwaway moto
seeded with the sample data. tests/e2e/test_invoke.py runs it against a running stack."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

from tests.utils import invoked_http_response, load_event
from tools import template
from tools.sample_events import SAMPLE_TICKET_ID


def invoke(*args: str, state_file: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DEV_STATE_FILE": str(state_file)}
    env.pop("AWS_ENDPOINT_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "tools.invoke", *args],
        cwd=template.ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_given_no_make_dev_when_invoking_get_ticket_then_its_sample_finds_demo_1_in_a_seeded_throwaway_moto(
    tmp_path: Path,
) -> None:
    run = invoke("GetTicketFunction", state_file=tmp_path / "none.json")

    assert run.returncode == 0, run.stderr
    status, headers, body = invoked_http_response(run.stdout)
    assert status == "HTTP 200 OK"
    assert headers["etag"] == '"1"' and headers["content-type"] == "application/json"
    assert (body["id"], body["reference"], body["version"]) == (SAMPLE_TICKET_ID, "DEMO-1", 1)
    assert "against a throwaway moto" in run.stderr


def test_given_no_make_dev_when_invoking_create_ticket_then_201_with_the_samples_body_and_the_next_number(
    tmp_path: Path,
) -> None:
    run = invoke("CreateTicketFunction", state_file=tmp_path / "none.json")

    assert run.returncode == 0, run.stderr
    status, headers, body = invoked_http_response(run.stdout)
    sent = json.loads(load_event("create_ticket")["body"])
    assert status == "HTTP 201 Created"
    assert headers["location"] == f"/v1/tickets/{body['id']}"
    assert (body["reference"], body["subject"], body["tags"]) == ("DEMO-2", sent["subject"], sent["tags"])


def test_given_no_make_dev_when_invoking_a_stream_consumer_then_its_batch_response_has_no_failures(
    tmp_path: Path,
) -> None:
    run = invoke("RecordTicketHistoryFunction", state_file=tmp_path / "none.json")

    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout) == {"batchItemFailures": []}


def test_given_a_stale_state_file_and_another_event_when_invoking_then_it_runs_that_event_on_a_throwaway_moto(
    tmp_path: Path,
) -> None:
    with socket.socket() as sock:  # a port that nothing listens on once closed
        sock.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{sock.getsockname()[1]}"
    state = tmp_path / "devstack.json"
    state.write_text(json.dumps({"pid": 1, "awsEndpointUrl": dead, "tableName": "tickets-local", "refs": {}}))
    event = load_event("get_ticket")
    event["rawPath"] = event["requestContext"]["http"]["path"] = "/v1/tickets/DEMO-2"
    event["pathParameters"]["id"] = "DEMO-2"
    event_file = tmp_path / "demo-2.json"
    event_file.write_text(json.dumps(event))

    run = invoke("GetTicketFunction", "--event", str(event_file), state_file=state)

    assert run.returncode == 0, run.stderr
    status, _, body = invoked_http_response(run.stdout)
    assert status == "HTTP 404 Not Found" and body["code"] == "NOT_FOUND"  # the seed makes DEMO-1 only
    assert f"names {dead}, which does not answer" in run.stderr
    assert "against a throwaway moto" in run.stderr


def test_given_an_unknown_function_when_invoking_then_exit_2_and_every_function_is_listed(tmp_path: Path) -> None:
    run = invoke("GetTicketsFunction", state_file=tmp_path / "none.json")

    assert run.returncode == 2
    assert run.stdout == ""
    assert "unknown function 'GetTicketsFunction'" in run.stderr
    listed = {line.split()[0] for line in run.stderr.splitlines() if line.startswith("  ")}
    assert listed == set(template.functions())
