"""End to end: API keys, webhook secrets and Authorization headers never reach the logs, even at DEBUG.

The stack runs with LOG_LEVEL=DEBUG (template parameter, through DEV_LOG_LEVEL) and with Powertools told to
log every event (POWERTOOLS_LOGGER_LOG_EVENT=true): the handlers must pin event logging off themselves. A full
session issues and uses every kind of secret (keys by X-API-Key and by Bearer, bad keys, a key made through
the API, a webhook secret and its rotation, a signed delivery to a local receiver, idempotent replays), then
the stack's own stdout and stderr are searched for each secret in every form it travels in.
"""

from __future__ import annotations

import base64
import secrets
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest

from tests.e2e.conftest import Stack, assert_problem
from tools.receiver import post_server, read_request, respond, verify

DEVSTACK_ENV = {
    "DEV_LOG_LEVEL": "DEBUG",
    "POWERTOOLS_LOGGER_LOG_EVENT": "true",
    "DEV_WEBHOOK_RETRY_SCHEDULE": "1,1,1,1,1,1,1",
}


class Receiver:
    """A webhook endpoint on 127.0.0.1 that keeps what it got and checks signatures with the current secret."""

    def __init__(self) -> None:
        self.secret: str | None = None
        self.got: list[tuple[dict[str, str], bytes, bool]] = []
        self._cond = threading.Condition()

        def on_post(h: BaseHTTPRequestHandler) -> None:
            body, headers = read_request(h)
            with self._cond:
                ok = self.secret is not None and verify(self.secret, headers, body)
                self.got.append((headers, body, ok))
                self._cond.notify_all()
            respond(h, 204)

        self.server = post_server(on_post)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def wait_for(self, n: int, timeout: float = 15.0) -> list[tuple[dict[str, str], bytes, bool]]:
        with self._cond:
            assert self._cond.wait_for(lambda: len(self.got) >= n, timeout), f"{len(self.got)} of {n} deliveries"
            return list(self.got)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.server.shutdown()
    r.server.server_close()


def _forms(secret: str) -> set[str]:
    """Every form a secret could be logged in: whole, without its prefix, as a Bearer header, and decoded."""
    forms = {secret, f"Bearer {secret}"}
    for prefix in ("tk_", "whsec_"):
        if secret.startswith(prefix):
            body = secret.removeprefix(prefix)
            forms.add(body)
            if prefix == "whsec_":
                raw = base64.b64decode(body)
                forms |= {raw.hex(), base64.urlsafe_b64encode(raw).decode().rstrip("=")}
    return {f for f in forms if len(f) >= 16}  # nothing short enough to match by chance


def _logs(stack: Stack) -> str:
    """What the stack logged after its banner (which prints the demo key on purpose: it is how make dev hands it
    to the developer, and how tools.devproc reads it)."""
    out = (stack.log_dir / "stdout").read_text(errors="replace")
    banner_end = out.index("Ctrl+C to stop.\n") + len("Ctrl+C to stop.\n")
    return out[banner_end:] + (stack.log_dir / "stderr").read_text(errors="replace")


def test_given_a_debug_stack_when_every_kind_of_secret_is_issued_and_used_then_none_is_logged(
    stack: Stack, make_tenant: Any, receiver: Receiver
) -> None:
    tenant = make_tenant("SEC")
    issued: dict[str, str] = {"tenant key": tenant.key, "demo key": stack.api_key}
    request_ids: list[str] = []

    # Authentication both ways, and keys that are wrong (a mistyped real key is still a secret).
    assert stack.request("GET", "/v1/tickets", headers={"X-API-Key": tenant.key}).status == 200
    assert stack.request("GET", "/v1/tickets", headers={"Authorization": f"bearer {stack.api_key}"}).status == 200
    assert stack.request("GET", "/v1/tickets", headers={"Authorization": f"Bearer {tenant.key}"}).status == 200
    for name, headers in (
        ("bad key", {"X-API-Key": "tk_" + secrets.token_urlsafe(32)}),
        ("bad bearer", {"Authorization": "Bearer tk_" + secrets.token_urlsafe(32)}),
        ("mistyped key", {"X-API-Key": tenant.key[:-1] + ("A" if tenant.key[-1] != "A" else "B")}),
    ):
        issued[name] = next(iter(headers.values())).removeprefix("Bearer ")
        request_ids.append(
            assert_problem(stack.request("GET", "/v1/tickets", headers=headers), 401, "UNAUTHORIZED")["requestId"]
        )

    # An API key made through the API (shown once), used, and replayed under an Idempotency-Key.
    idem = {"Idempotency-Key": "key-1"}
    made = stack.request(
        "POST", "/v1/api-keys", key=tenant.key, body={"scopes": ["tickets:read"], "name": "ci"}, headers=idem
    )
    assert made.status == 201, made.body
    issued["api-made key"] = made.json["key"]
    replay = stack.request(
        "POST", "/v1/api-keys", key=tenant.key, body={"scopes": ["tickets:read"], "name": "ci"}, headers=idem
    )
    assert replay.headers.get("idempotent-replayed") == "true" and replay.json["key"] is None, replay.body
    assert (
        stack.request("GET", "/v1/tickets", headers={"Authorization": f"Bearer {issued['api-made key']}"}).status == 200
    )
    scope_problem = stack.request("POST", "/v1/tickets", key=issued["api-made key"], body={"subject": "no scope"})
    request_ids.append(assert_problem(scope_problem, 403, "INSUFFICIENT_SCOPE")["requestId"])

    # A webhook: its secret, rotated (with a replay of the rotation), then deliveries signed with the new one.
    hook = stack.request(
        "POST", "/v1/webhooks", key=tenant.key, body={"url": receiver.url}, headers={"Idempotency-Key": "wh-1"}
    )
    assert hook.status == 201, hook.body
    issued["webhook secret"] = hook.json["secret"]
    rotate = f"/v1/webhooks/{hook.json['id']}/rotate-secret"
    rotated = stack.request("POST", rotate, key=tenant.key, headers={"Idempotency-Key": "rot-1"})
    assert rotated.status == 200, rotated.body
    issued["rotated secret"] = receiver.secret = rotated.json["secret"]
    assert issued["rotated secret"] != issued["webhook secret"]
    again = stack.request("POST", rotate, key=tenant.key, headers={"Idempotency-Key": "rot-1"})
    assert again.headers.get("idempotent-replayed") == "true" and again.json["secret"] is None, again.body

    ticket = stack.request(
        "POST", "/v1/tickets", key=tenant.key, body={"subject": "Printer on fire"}, headers={"Idempotency-Key": "t-1"}
    )
    assert ticket.status == 201, ticket.body
    replayed = stack.request(
        "POST", "/v1/tickets", key=tenant.key, body={"subject": "Printer on fire"}, headers={"Idempotency-Key": "t-1"}
    )
    assert replayed.headers.get("idempotent-replayed") == "true" and replayed.json["id"] == ticket.json["id"]
    assert stack.request("POST", f"/v1/webhooks/{hook.json['id']}/test", key=tenant.key).status in (200, 202)
    got = receiver.wait_for(2)
    assert all(ok for _, _, ok in got), "every delivery is signed with the rotated secret"
    time.sleep(1.5)  # the consumers' log lines of those deliveries

    logs = _logs(stack)
    # The search must be able to find things: the log is not empty, and it has the ids of this session.
    assert len(logs) > 1000, logs
    assert tenant.id in logs, "app log lines carry tenant_id"
    assert '"route":"POST /v1/webhooks/{id}/rotate-secret"' in logs, "every answer is logged at DEBUG"
    assert all(rid in logs for rid in request_ids), "refused requests are logged with their request id"
    leaks = sorted({name for name, value in issued.items() for form in _forms(value) if form in logs})
    assert leaks == [], f"secrets found in the stack's logs: {leaks}"
    assert "bearer tk_" not in logs.lower() and "whsec_" not in logs
