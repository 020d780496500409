"""The README's commands, run as written against `python -m tools.devstack`: when the README and the code drift
apart, this fails.

The README speaks of `make dev`'s default ports and a key placeholder (`tk_...`); each run swaps in this stack's
own address and key, and nothing else. `curl` runs with `--fail-with-body`, so any answer that is not a 2xx
stops the script.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import ROOT, Stack

README = (ROOT / "README.md").read_text()
# Anything that names AWS credentials or a region: the admin CLI must do without them against a local endpoint.
AWS_SETTINGS = re.compile(r"^AWS_(ACCESS_KEY_ID|SECRET_ACCESS_KEY|SESSION_TOKEN|PROFILE|REGION|DEFAULT_REGION)$")


def sh_blocks(heading: str) -> list[str]:
    """The ```sh blocks of the README section `## <heading>`."""
    parts = README.split(f"\n## {heading}\n", 1)
    assert len(parts) == 2, f"README.md has no section '## {heading}'"
    return re.findall(r"```sh\n(.*?)```", parts[1].split("\n## ", 1)[0], re.S)


def commands(block: str) -> list[str]:
    """A block's commands: continuation lines joined, comment-only lines dropped."""
    joined = block.replace("\\\n", " ")
    return [line for line in joined.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def here(text: str, stack: Stack, **more: str) -> str:
    """`text` with make dev's default address and key replaced by this stack's (each must be there)."""
    swaps = {
        "tk_...": stack.api_key,
        "http://127.0.0.1:3000": stack.base_url,
        "http://127.0.0.1:4566": stack.aws_endpoint_url,
        **more,
    }
    for written, actual in swaps.items():
        text = text.replace(written, actual)
    return text


def json_values(text: str) -> list[Any]:
    """Every JSON object printed in `text`, in order (curl -s prints bodies back to back)."""
    decoder, found, at = json.JSONDecoder(), [], 0
    while (at := text.find("{", at)) != -1:
        try:
            value, at = decoder.raw_decode(text, at)
            found.append(value)
        except ValueError:
            at += 1
    return found


@pytest.fixture(scope="module")
def shell_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The environment a user's shell has: no AWS settings, and a `curl` that fails on any non-2xx answer."""
    real_curl = shutil.which("curl")
    assert real_curl, "curl is missing: `make test` installs it"
    shim = tmp_path_factory.mktemp("bin") / "curl"
    shim.write_text(f'#!/bin/sh\nexec {real_curl} --fail-with-body "$@"\n')
    shim.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if not AWS_SETTINGS.match(k) and k not in ("TABLE_NAME",)}
    env.pop("AWS_ENDPOINT_URL", None)
    env["PATH"] = f"{shim.parent}{os.pathsep}{env['PATH']}"
    env["AWS_CONFIG_FILE"] = env["AWS_SHARED_CREDENTIALS_FILE"] = str(shim.parent / "absent")
    return env


def bash(script: str, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        ["bash", "-c", "set -euo pipefail\n" + script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert done.returncode == 0, f"exit {done.returncode}\n--- stdout\n{done.stdout}\n--- stderr\n{done.stderr}"
    return done


def test_given_make_dev_when_the_curl_session_and_the_intake_example_run_as_written_then_every_step_succeeds(
    stack: Stack, shell_env: dict[str, str]
) -> None:
    # Enough tickets before the session's own that its cursor walk (5 a page) takes two pages.
    before = [stack.create_ticket(stack.api_key, subject=f"earlier {i}")["id"] for i in range(6)]
    (session,) = sh_blocks("A curl session")
    (intake,) = sh_blocks("Business events, agents and auto-assignment")
    assert "tk_..." in session and "http://127.0.0.1:3000" in session

    done = bash(here(session, stack) + "\n" + intake, shell_env)

    printed = json_values(done.stdout)
    # The ticket create prints its headers (to stderr) and keeps the id.
    headers = done.stderr.lower()
    assert "201 created" in headers and 'etag: "1"' in headers, done.stderr
    ticket_id = re.search(r"^location: /v1/tickets/(\w+)\r?$", done.stderr, re.M | re.I)
    assert ticket_id, done.stderr
    (created,) = [v for v in printed if v.get("id") == ticket_id.group(1) and v["version"] == 1]  # the GET by id
    assert created["subject"] == "Payment failed" and created["priority"] == "high" and created["tags"] == ["billing"]
    assert created["customer"]["externalId"] == "cus_1042" and created["reference"].startswith("DEMO-")
    # The cursor walk: 5 a page, each ticket once, until nextCursor is null.
    pages = [v for v in printed if set(v) == {"data", "total", "totalExact", "limit", "offset", "nextCursor"}]
    walk = [page for page in pages if page["limit"] == 5]
    assert len(walk) >= 2 and walk[0]["nextCursor"] and walk[-1]["nextCursor"] is None
    walked = [t["id"] for page in walk for t in page["data"]]
    assert len(walked) == len(set(walked)) == walk[0]["total"]
    assert set(before) | {created["id"]} <= set(walked)
    (resolved,) = [v for v in printed if v.get("id") == created["id"] and v["version"] == 2]
    assert resolved["status"] == "resolved" and resolved["resolvedAt"]
    assert "}204\n" in done.stdout, done.stdout  # the PATCH's body, then the DELETE's -w '%{http_code}\n'
    assert stack.request("GET", f"/v1/tickets/{created['id']}", key=stack.api_key).status == 404
    (me,) = [v for v in printed if set(v) == {"tenant", "key", "agent"}]
    assert me["tenant"]["ticketPrefix"] == "DEMO" and me["agent"] is None and "keys:manage" in me["key"]["scopes"]
    (usage,) = [v for v in printed if "ticketsCreated" in v]
    assert usage["ticketsCreated"] >= len(before) + 1 and usage["remaining"] is None  # the demo has no quota
    (from_event,) = [v for v in printed if v.get("dedupeKey") == "payment-failed:ord_98431"]
    assert from_event["status"] == "open" and from_event["channel"] == "api"
    assert from_event["assignee"]["name"] == "Grace Hopper" and from_event["customer"]["externalId"] == "cus_1042"


def test_given_no_aws_credentials_when_the_admin_cli_commands_run_as_written_then_each_prints_its_object(
    stack: Stack, shell_env: dict[str, str]
) -> None:
    (block,) = sh_blocks("Admin CLI")
    export, *steps = commands(here(block, stack))
    assert export.startswith("export AWS_ENDPOINT_URL=") and f"TABLE_NAME={stack.table_name}" in export
    verbs = [step.split("ARGS='")[1].split(" --")[0] for step in steps]
    assert verbs == ["tenant create", "key create", "key revoke", "tenant show"], steps

    answers: list[dict[str, Any]] = []
    for step in steps:
        filled = step
        if answers:  # the ids the README asks the reader to copy from what was printed before
            filled = filled.replace("<tenant id>", answers[0]["id"])
        if len(answers) > 1:
            filled = filled.replace("<key id>", answers[1]["id"])
        assert "<" not in filled, filled
        (answer,) = json_values(bash(f"{export}\n{filled}", shell_env).stdout)
        answers.append(answer)

    tenant, key, revoked, shown = answers
    assert (tenant["name"], tenant["ticketPrefix"], tenant["monthlyTicketQuota"]) == ("Acme", "INV", 1000)
    assert key["tenantId"] == tenant["id"] and key["scopes"] == ["tickets:read", "tickets:write"]
    assert key["key"].startswith("tk_")
    assert revoked == {"id": key["id"], "tenantId": tenant["id"], "revoked": True}
    assert shown == tenant


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def started() -> Iterator[list[subprocess.Popen[str]]]:
    """Processes a test starts (in their own process group), stopped with their children afterwards."""
    procs: list[subprocess.Popen[str]] = []
    yield procs
    for proc in procs:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def _wait_for_line(out: Path, pattern: str, timeout: float = 60) -> re.Match[str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if found := re.search(pattern, out.read_text(), re.M):
            return found
        time.sleep(0.1)
    raise AssertionError(f"no line matching {pattern!r} within {timeout} s:\n{out.read_text()}")


def test_given_a_webhook_to_this_machine_when_make_receiver_runs_as_written_then_it_prints_a_verified_delivery(
    stack: Stack, shell_env: dict[str, str], started: list[subprocess.Popen[str]], tmp_path: Path
) -> None:
    (block,) = sh_blocks("Events and webhooks")
    port = str(_free_port())
    subscribe, receive = commands(here(block, stack, **{"9000": port}))
    assert receive.startswith("make receiver ARGS=") and "whsec_..." in receive
    session_start = "\n".join(commands(here(sh_blocks("A curl session")[0], stack))[:2])  # KEY=..., API=...

    (webhook,) = json_values(bash(f"{session_start}\n{subscribe}", shell_env).stdout)
    assert webhook["url"] == f"http://127.0.0.1:{port}/hook" and webhook["secret"].startswith("whsec_")
    out = tmp_path / "receiver.out"
    with out.open("w") as sink:
        started.append(
            subprocess.Popen(
                ["bash", "-c", receive.replace("whsec_...", webhook["secret"])],
                cwd=ROOT,
                env=shell_env,
                stdout=sink,
                stderr=subprocess.STDOUT,
                text=True,
                start_new_session=True,  # make and its python child are stopped together
            )
        )
    _wait_for_line(out, rf"^Receiving webhooks on http://127\.0\.0\.1:{port}/hook")
    ticket = stack.create_ticket(stack.api_key, subject="Delivered to the README's receiver")

    line = _wait_for_line(out, r"^POST /hook ticket\.created evt_\S+ -> 200; (.*)$")
    assert line.group(1).startswith("signature OK"), out.read_text()
    assert ticket["id"] in out.read_text()


def test_given_make_dev_when_the_attachment_session_runs_as_written_then_the_file_comes_back_attached(
    stack: Stack, shell_env: dict[str, str], tmp_path: Path
) -> None:
    (block,) = sh_blocks("Attachments")
    session_start = "\n".join(commands(here(sh_blocks("A curl session")[0], stack))[:3])  # KEY, API, field()

    done = bash(f"cd {tmp_path}\n{session_start}\n{here(block, stack)}", shell_env)

    assert "204\n" in done.stdout and done.stdout.rstrip().endswith("downloaded the same bytes"), done.stdout
    (comment,) = [v for v in json_values(done.stdout) if "attachments" in v]
    ((attachment,),) = [comment["attachments"]]
    assert (attachment["filename"], attachment["contentType"]) == ("invoice.pdf", "application/pdf")
    assert (tmp_path / "downloaded.pdf").read_bytes() == (tmp_path / "invoice.pdf").read_bytes() == b"%PDF-1.7\n%%EOF\n"
    got = stack.request("GET", f"/v1/attachments/{attachment['id']}", key=stack.api_key).json
    assert (got["state"], got["commentId"]) == ("ready", comment["id"])


def test_given_make_dev_when_the_views_session_runs_as_written_then_the_view_lists_counts_and_goes(
    stack: Stack, shell_env: dict[str, str], tmp_path: Path
) -> None:
    (block,) = sh_blocks("Lists at any size, and views")
    session_start = "\n".join(commands(here(sh_blocks("A curl session")[0], stack))[:3])  # KEY, API, field()

    done = bash(f"cd {tmp_path}\n{session_start}\n{here(block, stack)}", shell_env)

    assert done.stdout.rstrip().endswith("204"), done.stdout
    page, count, patched, listed = json_values(done.stdout)[:4]
    assert {"data", "total", "totalExact", "nextCursor"} <= set(page) and count["total"] >= len(page["data"])
    assert (count["viewId"], patched["sort"]) == (patched["id"], "-updatedAt")
    assert patched["id"] in {v["id"] for v in listed["data"]}
    assert stack.request("GET", f"/v1/views/{patched['id']}", key=stack.api_key).status == 404


def test_given_make_dev_when_the_routing_example_runs_as_written_then_the_waiting_ticket_goes_to_whoever_frees_a_slot(
    stack: Stack, shell_env: dict[str, str]
) -> None:
    (block,) = sh_blocks("Groups and routing")
    session_start = "\n".join(commands(here(sh_blocks("A curl session")[0], stack))[:3])  # KEY, API, field()
    customer = {"externalId": "cus_1042", "name": "Ann Lee"}  # the curl session's customer, if it has not run
    assert stack.request("POST", "/v1/customers", key=stack.api_key, body=customer).status in (201, 409)

    done = bash(f"{session_start}\n{here(block, stack)}", shell_env)

    printed = json_values(done.stdout)
    events = [v for v in printed if str(v.get("subject", "")).startswith("Refund ")]
    first, second, third, resolved = events
    assert (first["status"], second["status"], third["status"]) == ("open", "open", "new")
    assert first["assigneeId"] != second["assigneeId"] and third["assigneeId"] is None  # round robin, then full
    waiting, adas = [v for v in printed if "data" in v]
    assert [t["id"] for t in waiting["data"]] == [third["id"]]
    assert (resolved["id"], resolved["status"]) == (first["id"], "resolved")
    ((now_hers,),) = [adas["data"]]
    assert (now_hers["id"], now_hers["assigneeId"], now_hers["status"]) == (third["id"], first["assigneeId"], "open")


def test_given_make_dev_when_the_change_feed_walk_runs_as_written_then_it_ends_with_the_new_ticket_once(
    stack: Stack, shell_env: dict[str, str]
) -> None:
    (block,) = sh_blocks("Change feed")
    assert "tk_..." in block and "/events?" in block

    done = bash(here(block, stack), shell_env)

    printed = json_values(done.stdout)
    (created,) = [v for v in printed if v.get("subject") == "Feed me"]
    pages = [v for v in printed if set(v) == {"data", "nextCursor", "endOfFeed"}]
    walk, filtered = pages[:-1], pages[-1]
    assert walk and walk[-1]["endOfFeed"] is True and all(p["nextCursor"] for p in walk)
    assert all(p["endOfFeed"] is False for p in walk[:-1])
    ids = [e["id"] for p in walk for e in p["data"]]
    assert len(ids) == len(set(ids))
    mine = [e for p in walk for e in p["data"] if (e["data"].get("ticket") or {}).get("id") == created["id"]]
    assert [e["type"] for e in mine] == ["ticket.created"]
    assert {e["type"] for e in filtered["data"]} <= {"ticket.status_changed", "ticket.deleted"}
