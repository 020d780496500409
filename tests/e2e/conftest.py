"""End-to-end fixtures: the real `python -m tools.devstack` in a subprocess, spoken to over HTTP.

The stack binds free ports (PORT=0, LOCAL_AWS_PORT=0) and reports them in its banner, so every xdist worker
gets its own stack without port races. Extra tenants and keys are made with the admin logic, pointed at the
stack's moto through AWS_ENDPOINT_URL for the duration of the call only.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 30.0


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body) if self.body else None

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")


@dataclass
class Stack:
    base_url: str
    aws_endpoint_url: str
    table_name: str
    api_key: str
    startup_seconds: float

    def request(
        self,
        method: str,
        path: str,
        *,
        key: str | None = None,
        body: Any = None,
        raw_body: bytes | None = None,
        query: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Response:
        """One HTTP request on a fresh connection (safe to call from many threads)."""
        url = urlsplit(self.base_url)
        hdrs = dict(headers or {})
        if key:
            hdrs.setdefault("X-API-Key", key)
        data = raw_body
        if body is not None:
            data = json.dumps(body).encode()
            hdrs.setdefault("Content-Type", "application/json")
        if query:
            path = f"{path}?{urlencode(query)}"
        conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
        try:
            conn.request(method, path, body=data, headers=hdrs)
            resp = conn.getresponse()
            return Response(resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read())
        finally:
            conn.close()

    def create_ticket(self, key: str, **fields: Any) -> dict[str, Any]:
        resp = self.request("POST", "/v1/tickets", key=key, body={"subject": "Printer on fire", **fields})
        assert resp.status == 201, resp.body
        return resp.json


def assert_problem(resp: Response, status: int, code: str) -> dict[str, Any]:
    """The response is an RFC 9457 problem with this status and code; returns its body."""
    assert resp.status == status, resp.body
    assert resp.content_type.startswith("application/problem+json"), resp.headers
    body = resp.json
    assert body["status"] == status and body["code"] == code, body
    return body


def _read_banner(out: Path, proc: subprocess.Popen[bytes]) -> str:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        text = out.read_text()
        if "API key:" in text and text.endswith("\n"):
            return text
        if proc.poll() is not None:
            raise RuntimeError(f"devstack exited with {proc.returncode}:\n{text}")
        time.sleep(0.05)
    raise RuntimeError(f"devstack did not print its API key within {START_TIMEOUT} s:\n{out.read_text()}")


@pytest.fixture(scope="module")
def stack(request: pytest.FixtureRequest) -> Iterator[Stack]:
    """`python -m tools.devstack` exactly as `make dev` runs it, once per test module.

    A stack starts in about a second; one per module keeps each module's table small (moto's transactions
    get slower as a table grows) and lets xdist spread the modules over workers. A module can set
    `DEVSTACK_ENV = {...}` to add environment variables (e.g. DEV_WEBHOOK_RETRY_SCHEDULE, which devstack maps
    to a template parameter, or WEBHOOK_TIMEOUT_SECONDS, which the in-process handlers read).
    """
    key = "tk_" + secrets.token_urlsafe(32)
    env = {**os.environ, "PORT": "0", "LOCAL_AWS_PORT": "0", "DEV_API_KEY": key}
    env.update(getattr(request.module, "DEVSTACK_ENV", {}))
    env.pop("AWS_ENDPOINT_URL", None)
    with tempfile.TemporaryDirectory() as tmp:
        out, err = Path(tmp) / "stdout", Path(tmp) / "stderr"
        with out.open("wb") as fout, err.open("wb") as ferr:
            started = time.monotonic()
            proc = subprocess.Popen(
                [sys.executable, "-m", "tools.devstack"], cwd=ROOT, env=env, stdout=fout, stderr=ferr
            )
            try:
                banner = _read_banner(out, proc)
                elapsed = time.monotonic() - started
                api_key = re.search(r"^API key: (\S+)$", banner, re.M)
                base = re.search(r"^Base URL: (http://\S+)/v1$", banner, re.M)
                aws = re.search(r"^AWS_ENDPOINT_URL=(\S+)$", banner, re.M)
                table = re.search(r"^TABLE_NAME=(\S+)$", banner, re.M)
                assert api_key and base and aws and table, banner
                yield Stack(base.group(1), aws.group(1), table.group(1), api_key.group(1), elapsed)
            finally:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()


@contextmanager
def _aimed_at(stack: Stack) -> Iterator[None]:
    """Point this process's boto3 (through the admin logic's cached client) at the stack's moto, then back."""
    from tests.conftest import reset_caches

    names = ("AWS_ENDPOINT_URL", "TABLE_NAME", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION")
    saved = {name: os.environ.get(name) for name in names}
    os.environ.update(
        {
            "AWS_ENDPOINT_URL": stack.aws_endpoint_url,
            "TABLE_NAME": stack.table_name,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
        }
    )
    reset_caches()
    try:
        yield
    finally:
        for name, val in saved.items():
            if val is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = val
        reset_caches()


@dataclass
class Tenant:
    id: str
    prefix: str
    key: str
    key_id: str | None = None  # the API key's id (what history entries name as their actor)


@pytest.fixture(scope="module")
def make_tenant(stack: Stack) -> Any:
    """Create a tenant (and a key) in the running stack, as the admin CLI would."""
    counter = iter(range(1, 10_000))

    def make(prefix: str = "E", scopes: tuple[str, ...] | None = None) -> Tenant:
        from tickets.logic import admin
        from tickets.models.tenants import SCOPES, TenantCreate

        unique = f"{prefix}{next(counter)}"
        with _aimed_at(stack):
            tenant = admin.create_tenant(TenantCreate(name=f"{unique} Corp", ticketPrefix=unique))
            created = admin.create_api_key(tenant["id"], list(scopes or SCOPES))
        return Tenant(tenant["id"], unique, created["key"], created["id"])

    return make
