"""`python -m tools.devstack` in a subprocess, for the e2e tests, `make fuzz` and `make load`.

The stack binds free ports (PORT=0, LOCAL_AWS_PORT=0) and reports them in its banner, so several stacks can
run side by side without port races. Extra tenants and keys are made with the admin logic, pointed at the
stack's moto through AWS_ENDPOINT_URL for the duration of the call only.
"""

from __future__ import annotations

import http.client
import itertools
import json
import os
import re
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from tools import iam

ROOT = Path(__file__).resolve().parents[1]
START_TIMEOUT = 30.0


@dataclass
class Response:
    status: int
    headers: dict[str, str]  # lower-cased names
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body) if self.body else None

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")


@dataclass
class StackInfo:
    base_url: str  # http://127.0.0.1:<port> (routes start with /v1)
    aws_endpoint_url: str
    table_name: str
    api_key: str  # the demo tenant's key (every scope)
    startup_seconds: float
    log_dir: Path  # the stack's stdout and stderr files, while it runs
    state_file: Path | None = None  # where it tells `make invoke` about itself (DEV_STATE_FILE)
    ws_url: str = ""  # the real-time WebSocket, ws://127.0.0.1:<port>
    iam_denials: list[str] = field(default_factory=list)  # calls its policies refused (tools/iam.py), once stopped

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
        timeout: float = 30,
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
        conn = http.client.HTTPConnection(url.hostname or "127.0.0.1", url.port, timeout=timeout)
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


@dataclass
class TenantKey:
    id: str
    prefix: str
    key: str
    key_id: str | None = None  # the API key's id (what history entries name as their actor)


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


@contextmanager
def running_stack(extra_env: Mapping[str, str] | None = None) -> Iterator[StackInfo]:
    """Start `python -m tools.devstack` exactly as `make dev` runs it; stop it on exit."""
    key = "tk_" + secrets.token_urlsafe(32)
    env = {**os.environ, "PORT": "0", "LOCAL_AWS_PORT": "0", "WS_PORT": "0", "DEV_API_KEY": key}
    env.update(extra_env or {})
    env.pop("AWS_ENDPOINT_URL", None)
    with tempfile.TemporaryDirectory() as tmp:
        usage = Path(tmp) / "iam.json"
        env[iam.USAGE_FILE_ENV] = str(usage)
        out, err = Path(tmp) / "stdout", Path(tmp) / "stderr"
        # Its own state file, never the developer's .devstack.json (which would point make invoke here).
        env.setdefault("DEV_STATE_FILE", str(Path(tmp) / "devstack.json"))
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
                ws = re.search(r"^WebSocket: (ws://\S+)", banner, re.M)
                assert api_key and base and aws and table and ws, banner
                info = StackInfo(
                    base.group(1),
                    aws.group(1),
                    table.group(1),
                    api_key.group(1),
                    elapsed,
                    Path(tmp),
                    state_file=Path(env["DEV_STATE_FILE"]),
                    ws_url=ws.group(1),
                )
                yield info
            finally:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        if usage.exists():  # the stack's IAM checks join this process's (the test run's report)
            checked = json.loads(usage.read_text())
            iam.recorder.merge(checked)
            info.iam_denials[:] = checked.get("denials") or []


def _reset_caches() -> None:
    from tickets.api import auth
    from tickets.aws import client
    from tickets.config import settings
    from tickets.logic import sla_setup

    settings.cache_clear()
    client.cache_clear()
    auth.clear_cache()
    sla_setup.clear()


@contextmanager
def aimed_at(stack: StackInfo) -> Iterator[None]:
    """Point this process's boto3 (through the layer's cached clients) at the stack's moto, then back."""
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
    _reset_caches()
    try:
        yield
    finally:
        for name, val in saved.items():
            if val is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = val
        _reset_caches()


class TenantFactory:
    """Creates tenants (and a key each) in a running stack, as the admin CLI would."""

    def __init__(self, stack: StackInfo) -> None:
        self._stack = stack
        self._counter = itertools.count(1)

    def __call__(self, prefix: str = "E", scopes: tuple[str, ...] | None = None) -> TenantKey:
        from tickets.logic import admin
        from tickets.models.tenants import SCOPES, TenantCreate

        unique = f"{prefix}{next(self._counter)}"
        with aimed_at(self._stack):
            tenant = admin.create_tenant(TenantCreate(name=f"{unique} Corp", ticketPrefix=unique))
            created = admin.create_api_key(tenant["id"], list(scopes or SCOPES))
        return TenantKey(tenant["id"], unique, created["key"], created["id"])
