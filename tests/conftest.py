"""Shared fixtures: moto with the table built from template.yaml, and helpers that invoke real handlers."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from moto import mock_aws

os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "TABLE_NAME": "tickets-test",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_DEV": "false",
        "POWERTOOLS_LOG_LEVEL": "WARNING",
    }
)
os.environ.pop("AWS_ENDPOINT_URL", None)

from tools import iam, localmail, motolock, template
from tools.events import FakeContext, http_event

TABLE = os.environ["TABLE_NAME"]
ATTACHMENTS_BUCKET = "tickets-local-attachmentsbucket"  # AttachmentsBucket as template.create_buckets names it
# The cursor signing key as apply_env sets it, from the start: make_tenant may build the cached settings first.
os.environ["CURSOR_SIGNING_KEY"] = template.resolve_env(template.functions()["ListTicketsFunction"].environment, {})[
    "CURSOR_SIGNING_KEY"
]
motolock.install()
localmail.install()
iam.install()  # every handler's AWS calls are checked against its function's template policy (tools/iam.py)


def reset_caches() -> None:
    from tickets.api import auth
    from tickets.aws import client
    from tickets.config import settings
    from tickets.logic import sla_setup

    settings.cache_clear()
    client.cache_clear()
    auth.clear_cache()
    sla_setup.clear()


@pytest.fixture
def aws() -> Iterator[Any]:
    """A fresh moto account with the table created from the template."""
    with mock_aws():
        reset_caches()
        client = boto3.client("dynamodb", region_name="us-east-1")
        template.create_table(client, TABLE)
        # moto, like SES, sends only from a verified identity: the template's sender of assignment emails.
        localmail.verify_sender(
            boto3.client("sesv2", region_name="us-east-1"), template.parameter_defaults()["SenderEmail"]
        )
        yield client
    reset_caches()


@pytest.fixture
def realtime(aws: Any) -> Iterator[Any]:
    """The WebSocket API in-process: tools.realtime's local @connections endpoint, named in every function's
    REALTIME_CONNECTIONS_URL as the stage's URL is on AWS, and its routes ($connect, $disconnect, $default) run by
    the template's functions. Connections are recorded (`conn.messages()`) instead of being sockets."""
    from tickets.logic import realtime_push
    from tools.realtime import Connections, Routes

    connections = Connections().start()
    template.local_endpoints["REALTIME_CONNECTIONS_URL"] = connections.url

    def invoke(name: str, event: dict[str, Any]) -> Any:
        fn = _FUNCTIONS[name]
        before = dict(os.environ)
        template.apply_env(fn, {"Table": TABLE})
        if os.environ != before:
            from tickets.config import settings

            settings.cache_clear()
        return template.load_handler(fn)(event, FakeContext(fn.name))

    realtime_push.clear_cache()
    try:
        yield Routes(invoke, connections)
    finally:
        template.local_endpoints.pop("REALTIME_CONNECTIONS_URL", None)
        connections.stop()
        realtime_push.clear_cache()


@pytest.fixture(autouse=True)
def iam_denials() -> Iterator[None]:
    """Fail the test when a function made an AWS call its template policy does not allow, even if the app turned
    the AccessDeniedException into a 500 or a failed record. A test that expects denials takes them itself."""
    iam.recorder.take_denials()
    yield
    if denied := iam.recorder.take_denials():
        pytest.fail("\n".join(d.message() for d in denied), pytrace=False)


@pytest.fixture
def edited_template(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """A copy of template.yaml for this test to change: tools.template, and so the IAM check, read it instead."""
    import copy

    doc = copy.deepcopy(template.load())
    monkeypatch.setattr(template, "load", lambda: doc)
    iam.reset()
    yield doc
    monkeypatch.undo()
    iam.reset()


def pytest_sessionfinish(session: pytest.Session) -> None:
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:  # an xdist worker: its usage goes to the controller
        workeroutput["iam"] = iam.recorder.snapshot()


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    iam.recorder.merge((getattr(node, "workeroutput", None) or {}).get("iam") or {})


def pytest_terminal_summary(terminalreporter: Any) -> None:
    snapshot = iam.recorder.snapshot()
    if snapshot["used"]:
        terminalreporter.write_sep("-", "IAM: template policies checked on every AWS call (tools/iam.py)")
        for line in iam.summary(snapshot):
            terminalreporter.write_line(line)


@dataclass
class Resources:
    queues: dict[str, template.CreatedQueue]
    buckets: dict[str, str]  # logical id -> bucket name
    refs: dict[str, str]  # what every function's environment resolves against


@pytest.fixture
def resources(aws: Any) -> Resources:
    """The template's queues and buckets (with the buckets' S3 -> SQS notifications) in this test's moto."""
    queues = template.create_queues(boto3.client("sqs", region_name="us-east-1"))
    buckets = template.create_buckets(boto3.client("s3", region_name="us-east-1"), queues)
    assert buckets["AttachmentsBucket"] == ATTACHMENTS_BUCKET
    refs = template.build_refs(table=template.table_refs(aws, TABLE), queues=queues, buckets=buckets)
    return Resources(queues, buckets, refs)


@dataclass
class ApiResponse:
    status: int
    headers: dict[str, str]
    body: str

    @property
    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


_FUNCTIONS = template.functions()


def _route_for(method: str, path: str) -> tuple[template.Function, template.Route, dict[str, str]]:
    for fn in _FUNCTIONS.values():
        for route in fn.routes:
            params = route.match(method, path)
            if params is not None:
                return fn, route, params
    raise LookupError(f"no function serves {method} {path}")


def call(
    method: str,
    path: str,
    *,
    key: str | None = None,
    body: Any = None,
    query: dict[str, str] | str | None = None,
    headers: dict[str, str] | None = None,
    apply_env: bool = True,
    parameters: dict[str, str] | None = None,
) -> ApiResponse:
    """Invoke the function that template.yaml routes (method, path) to, with a real HTTP API event.

    `apply_env=False` keeps the process environment as it is (tests that wired queues and parameters).
    `parameters` override template parameters (e.g. {"InboundEmailDomain": "mail.example.com"}).
    """
    fn, route, params = _route_for(method, path)
    if apply_env:
        before = dict(os.environ)
        template.apply_env(fn, {"Table": TABLE, "AttachmentsBucket": ATTACHMENTS_BUCKET, **(parameters or {})})
        if os.environ != before:  # as in Lambda, the function's settings come from its own environment
            from tickets.config import settings

            settings.cache_clear()
    handler = template.load_handler(fn)
    hdrs = dict(headers or {})
    if key:
        hdrs.setdefault("x-api-key", key)
    event = http_event(method, path, route_path=route.path, path_params=params, headers=hdrs, query=query, body=body)
    result = handler(event, FakeContext(fn.name))
    out_headers = {k.lower(): v for k, v in (result.get("headers") or {}).items()}
    return ApiResponse(result["statusCode"], out_headers, result.get("body") or "")


@dataclass
class TenantKey:
    tenant_id: str
    key: str
    prefix: str


def make_tenant(prefix: str = "INV", scopes: list[str] | None = None, quota: int | None = None) -> TenantKey:
    from tickets.logic import admin
    from tickets.models.tenants import SCOPES, TenantCreate

    tenant = admin.create_tenant(TenantCreate(name=f"{prefix} Corp", ticketPrefix=prefix, monthlyTicketQuota=quota))
    key = admin.create_api_key(tenant["id"], scopes or list(SCOPES))["key"]
    return TenantKey(tenant["id"], key, prefix)


@pytest.fixture
def tenant(aws: Any) -> TenantKey:
    return make_tenant("INV")


@pytest.fixture
def other_tenant(aws: Any) -> TenantKey:
    return make_tenant("OTH")


def items(client: Any, pk: str) -> list[dict[str, Any]]:
    """Every stored item under a partition key, read straight from the table."""
    from boto3.dynamodb.types import TypeDeserializer

    de = TypeDeserializer()
    resp = client.query(
        TableName=TABLE, KeyConditionExpression="PK = :pk", ExpressionAttributeValues={":pk": {"S": pk}}
    )
    return [{k: de.deserialize(v) for k, v in i.items()} for i in resp["Items"]]
