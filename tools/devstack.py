"""A Docker-free local stack: moto in-process, and template.yaml's functions run in-process behind an HTTP gateway.

    python -m tools.devstack        (what `make dev` runs)

Everything comes from template.yaml: the table (tools.template.create_table), the routes (each function's
HttpApi events), and each function's environment (Globals + its own Environment). State is in memory and is
gone when the process stops.

Lambda semantics that matter for correctness are kept:
- a function "container" (its own import of functions/<name>/app.py) handles one event at a time; concurrent
  requests to the same function get more containers, as Lambda scales out;
- environment variables are process-global here, so a handler only runs while the environment it was
  configured with is in place (see EnvGate);
- DynamoDB operations are atomic per request, as in AWS (moto itself is not thread-safe, see tools/motolock.py);
- a function's AWS calls are checked against its template policy (tools/iam.py): a call its role would not
  allow fails with AccessDeniedException, as on AWS, and is printed on stderr.

The template's SQS queues are created too (tools.template.create_queues), every function's environment is
resolved against the created resources and the parameters (template defaults, then DEV_PARAMETERS, then
DEV_<PARAMETER_NAME> environment variables, e.g. DEV_WEBHOOK_RETRY_SCHEDULE=2,2,2), and the other event sources
(DynamoDB streams, SQS queues) are polled by tools.eventsources, with Lambda's batching, filtering and retry rules.
A function whose code folder does not exist yet is skipped (logged; its routes answer 404).

The template's WebSocket API is served on ws://127.0.0.1:${WS_PORT:-3001} (tools/realtime.py): its $connect,
$disconnect and $default functions get API Gateway WebSocket events, and a local @connections endpoint (named in
REALTIME_CONNECTIONS_URL, as the stage's URL is on AWS) reaches the sockets, so the push consumer runs unchanged.

Besides the template's routes, the gateway serves /openapi.json (with this stack as its server), Swagger UI at /docs
(its assets from the installed Powertools package under /docs/static/: no CDN, works offline), the emails sent
at /_local/emails, and POST /_local/inbound-email, which stores a raw message where SES would (see inbound_email).
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import secrets
import signal
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from tools import iam, localmail, motolock, realtime, sample_events, template
from tools.events import FakeContext, http_event
from tools.eventsources import EventSources, print_log

HOST = "127.0.0.1"
TABLE_NAME = "tickets-local"
OPENAPI_FILE = template.ROOT / "docs" / "openapi.json"
PROBLEM_JSON = "application/problem+json"

# Schedules (the SLA breach sweep's rate(1 minute)) run every few seconds here; DEV_SCHEDULE_SECONDS changes it.
SCHEDULE_SECONDS = 5.0
# Template parameters for local use (override one with DEV_<NAME>, e.g. DEV_WEBHOOK_RETRY_SCHEDULE=2,2,2).
DEV_PARAMETERS = {
    "AllowPrivateWebhookTargets": "true",  # webhooks to a receiver on 127.0.0.1
    "WebhookRetrySchedule": "1,1,1,1,1,1,1",  # retries a second apart instead of minutes to hours
    "WebhookDisableAfterSeconds": "432000",
    # Replies carry Reply-To: reply+<token>@inbound.localhost (a reserved name: nothing is ever delivered there), and
    # the demo tenant receives at demo@inbound.localhost (POST /_local/inbound-email).
    "InboundEmailDomain": "inbound.localhost",
}


def _env_name(parameter: str) -> str:
    """WebhookRetrySchedule -> DEV_WEBHOOK_RETRY_SCHEDULE."""
    import re

    return "DEV_" + re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", parameter).upper()


def dev_parameters(environ: dict[str, str] | None = None) -> dict[str, str]:
    """DEV_PARAMETERS, overridden by DEV_<NAME> environment variables for any template parameter."""
    env = os.environ if environ is None else environ
    known = template.parameter_defaults()
    values = {k: v for k, v in DEV_PARAMETERS.items() if k in known}
    for name in known:
        if (val := env.get(_env_name(name))) is not None:
            values[name] = val
    return values


# Handlers talk to moto through boto3's standard configuration, exactly as they would talk to AWS.
FAKE_AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
}


def _package_dir(name: str) -> Path:
    spec = importlib.util.find_spec(name)  # finds, does not import
    if spec is None or spec.origin is None:
        raise RuntimeError(f"{name} is not installed")
    return Path(spec.origin).parent


# Static files the gateway serves: URL prefix -> directory (see static_file). Swagger UI's assets are the copy
# Powertools ships for its own enable_swagger (Swagger UI 5, which renders OpenAPI 3.1; Swagger UI 4, as in the
# swagger-ui-bundle wheel, refuses a 3.1 document), so /docs needs no CDN and works offline.
SWAGGER_UI_DIR = _package_dir("aws_lambda_powertools") / "event_handler" / "openapi" / "swagger_ui"
STATIC_MOUNTS: dict[str, Path] = {"/docs/static/": SWAGGER_UI_DIR}
STATIC_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".map": "application/json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".woff2": "font/woff2",
}

SWAGGER_HTML = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Tickets API (local)</title>
  <link rel="icon" href="data:,">
  <link rel="stylesheet" href="/docs/static/swagger-ui.min.css">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/docs/static/swagger-ui-bundle.min.js"></script>
  <script>
    // validatorUrl null: otherwise Swagger UI sends the document's URL to validator.swagger.io.
    window.ui = SwaggerUIBundle({
      url: "/openapi.json", dom_id: "#swagger-ui", deepLinking: true, persistAuthorization: true, validatorUrl: null,
    });
  </script>
</body>
</html>
"""


def static_file(root: Path, relative: str) -> dict[str, Any]:
    """The file `relative` (a URL path below a mount) under `root`, as a Lambda-style response; 404 for anything
    else: a name with `..`, `.`, hidden, empty, encoded (`%`) or backslashed parts, a path that leaves `root`
    (symlinks included), a directory, or a file type not in STATIC_TYPES."""
    parts = relative.split("/")
    refused = any(not p or p.startswith(".") or any(c in p for c in "%\\\0") for p in parts)
    path = (root / relative).resolve()
    kind = STATIC_TYPES.get(path.suffix)
    if refused or kind is None or not path.is_relative_to(root.resolve()) or not path.is_file():
        return problem(404, "NOT_FOUND", "Not found", f"no file {relative!r}")
    headers = {"Content-Type": kind, "X-Content-Type-Options": "nosniff", "Cache-Control": "no-cache"}
    return {"statusCode": 200, "headers": headers, "body": path.read_bytes()}


def problem(status: int, code: str, title: str, detail: str, request_id: str | None = None) -> dict[str, Any]:
    """A problem+json Lambda-style response for errors raised by the gateway itself (not by a function)."""
    body = {
        "type": f"urn:tickets:problem:{code.lower().replace('_', '-')}",
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
        "errors": [],
        "requestId": request_id,
    }
    return {"statusCode": status, "headers": {"Content-Type": PROBLEM_JSON}, "body": json.dumps(body)}


def use_local_aws_env() -> None:
    """Fake credentials, no X-Ray, and no proxy between the handlers and a moto on this machine."""
    os.environ.update(FAKE_AWS_ENV)
    os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
    no_proxy = ",".join(filter(None, [os.environ.get("NO_PROXY"), "127.0.0.1", "localhost"]))
    os.environ["NO_PROXY"] = os.environ["no_proxy"] = no_proxy


def has_code(fn: template.Function) -> bool:
    return (fn.code_uri / f"{fn.handler.rsplit('.', 1)[0]}.py").is_file()


def create_resources(
    table_name: str, parameters: dict[str, str], secret_values: dict[str, str] | None = None
) -> tuple[dict[str, template.CreatedQueue], dict[str, str]]:
    """The template's table, queues and buckets in the AWS at hand (moto), and the refs that resolve every
    function's environment. Also verifies the emails' sender, since SES (and moto) only sends from one."""
    import boto3

    ddb = boto3.client("dynamodb")
    template.create_table(ddb, table_name)
    queues = template.create_queues(boto3.client("sqs"))
    buckets = template.create_buckets(boto3.client("s3"), queues)
    refs = template.build_refs(
        table=template.table_refs(ddb, table_name),
        queues=queues,
        parameters=parameters,
        secrets=secret_values,
        buckets=buckets,
    )
    sender = {**template.parameter_defaults(), **parameters}.get("SenderEmail")
    if sender:
        localmail.verify_sender(boto3.client("sesv2"), sender)
    return queues, refs


ADDITIVE_VARIABLES = frozenset({"ATTACHMENTS_BUCKET"})  # see EnvGate: the same value wherever it is given


class EnvGate:
    """Lets a handler run only while its function's environment is the process environment.

    Functions that share an environment (today: all of them, via Globals) run fully concurrently; a function
    with a different environment waits until running handlers are done, then switches it. Switching also
    drops the cached settings and DynamoDB client, which are built from the environment.
    """

    def __init__(self, refs: dict[str, str]) -> None:
        self.refs = refs
        self._cond = threading.Condition()
        self._current: frozenset[tuple[str, str]] | None = None
        self._active = 0
        # Variables only some functions get, and that change nothing for the others (the cursor signing key,
        # given only to the functions that page; the attachments bucket, given only to the functions that use it):
        # every function sees them here, so that they share one environment and run concurrently.
        self._additive = {
            name: value
            for fn in template.functions().values()
            for name, value in fn.environment.items()
            if "{{resolve:" in json.dumps(value) or name in ADDITIVE_VARIABLES
        }

    def _env(self, fn: template.Function) -> dict[str, str]:
        refs = {**template.parameter_defaults(), **self.refs}
        return template.resolve_env({**self._additive, **fn.environment}, refs)

    def _profile(self, fn: template.Function) -> frozenset[tuple[str, str]]:
        return frozenset(self._env(fn).items())

    def acquire(self, fn: template.Function) -> None:
        wanted = self._profile(fn)
        with self._cond:
            while self._active and self._current != wanted:
                self._cond.wait()
            if self._current != wanted:
                os.environ.update(dict(wanted))
                _reset_env_caches()
                self._current = wanted
            self._active += 1

    def release(self) -> None:
        with self._cond:
            self._active -= 1
            self._cond.notify_all()


def _reset_env_caches() -> None:
    from tickets.aws import client
    from tickets.config import settings

    settings.cache_clear()
    client.cache_clear()
    for service in ("dynamodb", "sqs", "events", "sesv2", "s3"):
        client(service)  # client creation is not thread-safe: build them now, while no handler runs
    if url := os.environ.get("REALTIME_CONNECTIONS_URL"):
        from tickets.aws import connections_client

        connections_client(url)  # the push consumer's @connections client, likewise


class LocalStack:
    """moto + the template's functions + an HTTP gateway, in one process."""

    def __init__(
        self,
        *,
        port: int = 3000,
        aws_port: int = 4566,
        host: str = HOST,
        table_name: str = TABLE_NAME,
        api_key: str | None = None,
        access_log: bool = True,
        ws_port: int = 3001,
    ) -> None:
        self.host = host
        self.port = port
        self.aws_port = aws_port
        self.ws_port = ws_port
        self.table_name = table_name
        self.api_key = api_key
        self.access_log = access_log
        self.demo_tenant_id: str | None = None
        self.functions: dict[str, template.Function] = {}
        self.skipped: list[str] = []  # functions whose code does not exist (yet)
        for name, fn in template.functions().items():
            if has_code(fn):
                self.functions[name] = fn
            else:
                self.skipped.append(name)
        self.parameters = dev_parameters()
        # The template's secrets (the cursor signing key): random per process, so cursors die with the stack.
        self.secrets = {name: secrets.token_urlsafe(48) for name in template.resources("AWS::SecretsManager::Secret")}
        self.refs: dict[str, str] = template.build_refs(
            table={"Table": table_name}, parameters=self.parameters, secrets=self.secrets
        )
        self.queues: dict[str, template.CreatedQueue] = {}
        self.event_sources: EventSources | None = None
        self._env = EnvGate(self.refs)
        self._idle: dict[str, list[Callable[..., Any]]] = {name: [] for name in self.functions}
        self._containers: dict[str, int] = dict.fromkeys(self.functions, 0)
        self._pool_lock = threading.Lock()
        self._resolver_lock = threading.Lock()
        self._import_lock = threading.Lock()
        self._moto: Any = None
        self._gateway: ThreadingHTTPServer | None = None
        self._gateway_thread: threading.Thread | None = None
        self.connections: realtime.Connections | None = None
        self.websocket: realtime.WebSocketGateway | None = None

    # ------------------------------------------------------------------ lifecycle

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def aws_endpoint_url(self) -> str:
        return f"http://{self.host}:{self.aws_port}"

    @property
    def ws_url(self) -> str:
        return self.websocket.url if self.websocket else ""

    def start(self) -> LocalStack:
        self._start_moto()
        self._start_websocket()  # before any function's environment is resolved: it names these endpoints
        self._create_resources()
        self._warm_up()
        self._create_demo_tenant()
        self._start_event_sources()
        self._start_gateway()
        return self

    def stop(self) -> None:
        if self.event_sources:
            self.event_sources.stop()
        if self.websocket:
            self.websocket.stop()
        if self.connections:
            self.connections.stop()
            for name in ("REALTIME_URL", "REALTIME_CONNECTIONS_URL"):
                template.local_endpoints.pop(name, None)
        if self._gateway:
            self._gateway.shutdown()
            self._gateway.server_close()
        if self._moto:
            self._moto.stop()

    def _start_moto(self) -> None:
        from moto.server import ThreadedMotoServer

        if str(template.SHARED_LAYER) not in sys.path:  # the shared layer, as Lambda mounts it under /opt/python
            sys.path.insert(0, str(template.SHARED_LAYER))

        use_local_aws_env()
        self._moto = ThreadedMotoServer(ip_address=self.host, port=self.aws_port, verbose=False)
        self._moto.start()
        motolock.install()
        localmail.install()  # keep both parts of every email for GET /_local/emails
        iam.install(on_denial=lambda denial: print(denial.message(), file=sys.stderr, flush=True))
        self.aws_port = self._moto.get_host_and_port()[1]
        os.environ["AWS_ENDPOINT_URL"] = self.aws_endpoint_url
        # What tools.admin (and anything else run from this process) uses.
        os.environ["TABLE_NAME"] = self.table_name
        _reset_env_caches()  # settings and the DynamoDB client are cached: build them from this environment
        # Many handler threads share one boto3 client; its pool is sized for one request per container.
        logging.getLogger("urllib3.connectionpool").setLevel(logging.ERROR)
        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's per-request access log

    def _start_websocket(self) -> None:
        """The WebSocket API's local @connections endpoint and ws:// server, named in the functions' environment."""
        self.connections = realtime.Connections(host=self.host).start()
        routes = realtime.Routes(self.invoke, self.connections, domain=self.host)
        log = print_log if self.access_log else None
        self.websocket = realtime.WebSocketGateway(routes, host=self.host, port=self.ws_port, log=log).start()
        self.ws_port = self.websocket.port
        template.local_endpoints.update(
            {"REALTIME_URL": self.websocket.url, "REALTIME_CONNECTIONS_URL": self.connections.url}
        )

    def _create_resources(self) -> None:
        self.queues, self.refs = create_resources(self.table_name, self.parameters, self.secrets)
        self._env.refs = self.refs
        for name in self.skipped:
            print(f"devstack: {name} skipped: no code at {template.functions()[name].code_uri}", file=sys.stderr)

    def _warm_up(self) -> None:
        """Cold-start one container per function now, so that import errors show up at once."""
        for fn in self.functions.values():
            self._env.acquire(fn)
            try:
                self._idle[fn.name].append(self._new_container(fn))
            except Exception:
                print(f"warning: {fn.name} failed to load:\n{traceback.format_exc()}", file=sys.stderr, flush=True)
            finally:
                self._env.release()

    def _create_demo_tenant(self) -> None:
        """The demo tenant, with the data and key that the sample events in events/ name (make invoke uses them)."""
        demo = sample_events.seed(self.api_key)
        self.demo_tenant_id, self.api_key = demo.tenant_id, demo.api_key

    def _start_gateway(self) -> None:
        stack = self

        class Handler(_GatewayHandler):
            pass

        Handler.stack = stack
        self._gateway = _Server((self.host, self.port), Handler)
        self.port = self._gateway.server_address[1]
        self._gateway_thread = threading.Thread(
            target=self._gateway.serve_forever, kwargs={"poll_interval": 0.1}, name="gateway", daemon=True
        )
        self._gateway_thread.start()

    def _start_event_sources(self) -> None:
        """Poll the streams and queues from now on (StartingPosition LATEST: from the stack's start)."""
        self.event_sources = EventSources(
            self.functions,
            self.invoke,
            refs=self.refs,
            log=print_log,
            log_invocations=self.access_log,
            schedule_interval=float(os.environ.get("DEV_SCHEDULE_SECONDS", SCHEDULE_SECONDS)),
        ).start()

    # ------------------------------------------------------------------ invoking functions

    def _new_container(self, fn: template.Function) -> Callable[..., Any]:
        """A fresh import of the function's module: its own resolver app and module state, like a new container."""
        with self._import_lock:
            if self._containers[fn.name] == 0:
                handler = template.load_handler(fn)
            else:
                saved = sys.modules.pop(fn.module_name, None)
                try:
                    handler = template.load_handler(fn)
                finally:
                    module = sys.modules.pop(fn.module_name, None)
                    if saved is not None:
                        sys.modules[fn.module_name] = saved
                    if module is not None:
                        sys.modules[f"{fn.module_name}__{self._containers[fn.name]}"] = module
            self._containers[fn.name] += 1
            return handler

    def invoke(self, fn: template.Function | str, event: dict[str, Any]) -> Any:
        """Run one event through a function, as Lambda would: one event per container at a time."""
        if isinstance(fn, str):
            fn = self.functions[fn]
        self._env.acquire(fn)
        try:
            with self._pool_lock:
                handler = self._idle[fn.name].pop() if self._idle[fn.name] else None
            if handler is None:
                handler = self._new_container(fn)
            try:
                if fn.routes:
                    # Powertools keeps the current event on the resolver *class* (BaseRouter.current_event),
                    # which is process-wide: harmless in Lambda (one request per process), but concurrent
                    # API requests here would read each other's bodies. API handlers run one at a time;
                    # consumers (no resolver) stay concurrent, so a slow webhook receiver blocks nothing.
                    with self._resolver_lock:
                        return handler(event, FakeContext(fn.name))
                return handler(event, FakeContext(fn.name))
            finally:
                with self._pool_lock:
                    self._idle[fn.name].append(handler)
        finally:
            self._env.release()

    def inbound_email(self, raw: bytes) -> dict[str, Any]:
        """POST /_local/inbound-email: store a raw RFC 5322 message as SES's receipt rule would (the template's
        inbound bucket, under its prefix, a key shaped like SES's message id), so that S3 notifies the queue and
        the consumer threads it, as on AWS. 202 with where it was stored; the message is not checked here."""
        if not raw.strip():
            return problem(400, "VALIDATION_ERROR", "Validation failed", "the body is the raw message: it is empty")
        bucket, prefix = inbound_mail_location(self.refs)
        key = f"{prefix}{ses_message_id()}"
        import boto3

        boto3.client("s3").put_object(Bucket=bucket, Key=key, Body=raw)
        body = json.dumps({"bucket": bucket, "key": key, "size": len(raw)})
        return {"statusCode": 202, "headers": {"Content-Type": "application/json"}, "body": body}

    def route(self, method: str, path: str) -> tuple[template.Function, template.Route, dict[str, str]] | None:
        for fn in self.functions.values():
            for route in fn.routes:
                params = route.match(method, path)
                if params is not None:
                    return fn, route, params
        return None

    def handle_http(self, method: str, path: str, query: str, headers: dict[str, str], body: bytes) -> dict[str, Any]:
        """One HTTP request through API Gateway (HTTP API, payload v2.0) semantics; returns a Lambda-style response."""
        found = self.route(method, path)
        if found is None:
            return problem(404, "NOT_FOUND", "Not found", f"no route for {method} {path}")
        fn, route, params = found
        event = http_event(
            method, path, route_path=route.path, path_params=params, headers=headers, query=query, body=body
        )
        request_id = event["requestContext"]["requestId"]
        try:
            result = self.invoke(fn, event)
        except Exception:
            print(f"{fn.name} raised:\n{traceback.format_exc()}", file=sys.stderr, flush=True)
            return problem(500, "INTERNAL", "Internal error", "the function failed", request_id)
        if not (isinstance(result, dict) and "statusCode" in result):
            # HTTP API v2 treats any other return value as a 200 JSON body.
            return {"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": json.dumps(result)}
        return result


INBOUND_BUCKET = "InboundMailBucket"


def inbound_mail_location(refs: dict[str, str]) -> tuple[str, str]:
    """The inbound bucket's local name and the key prefix its notification (and SES's S3 action) uses."""
    (note,) = template.buckets()[INBOUND_BUCKET].notifications
    return refs[INBOUND_BUCKET], note.prefix or ""


def ses_message_id() -> str:
    """A key like the ones SES gives the messages it stores: its message id, 40 lowercase letters and digits."""
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    return "".join(secrets.choice(alphabet) for _ in range(40))


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128


class _GatewayHandler(BaseHTTPRequestHandler):
    stack: LocalStack
    protocol_version = "HTTP/1.1"
    server_version = "tickets-devstack"

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def do_PUT(self) -> None:
        self._handle()

    def do_PATCH(self) -> None:
        self._handle()

    def do_DELETE(self) -> None:
        self._handle()

    def do_HEAD(self) -> None:
        self._handle()

    def do_OPTIONS(self) -> None:
        self._handle()

    def _handle(self) -> None:
        started = time.monotonic()
        path, _, query = self.path.partition("?")
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        mount = next((m for m in STATIC_MOUNTS if path.startswith(m)), None)
        if self.command in ("GET", "HEAD") and mount is not None:
            result = static_file(STATIC_MOUNTS[mount], path.removeprefix(mount))
        elif self.command == "GET" and path in ("/openapi.json", "/docs", "/"):
            result = self._static(path)
        elif self.command == "POST" and path == "/_local/inbound-email":
            result = self.stack.inbound_email(body)
        elif self.command == "GET" and path == "/_local/emails":
            # What moto's SES has sent (assignment emails, replies with all their headers), newest first.
            emails = json.dumps(localmail.sent_emails())
            result = {"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": emails}
        else:
            headers: dict[str, str] = {}
            for key, val in self.headers.items():
                k = key.lower()
                headers[k] = f"{headers[k]},{val}" if k in headers else val  # as API Gateway joins repeats
            result = self.stack.handle_http(self.command, path, query, headers, body)
        self._respond(result)
        if self.stack.access_log:
            ms = (time.monotonic() - started) * 1000
            print(f"{self.command} {self.path} -> {result['statusCode']} ({ms:.0f} ms)", file=sys.stderr, flush=True)

    def _static(self, path: str) -> dict[str, Any]:
        if path == "/":
            return {"statusCode": 302, "headers": {"Location": "/docs"}, "body": ""}
        if path == "/docs":
            return {"statusCode": 200, "headers": {"Content-Type": "text/html; charset=utf-8"}, "body": SWAGGER_HTML}
        if not OPENAPI_FILE.exists():
            return problem(404, "NOT_FOUND", "Not found", "docs/openapi.json has not been generated (make openapi)")
        # The committed document names the default http://127.0.0.1:3000; this stack may listen elsewhere, and
        # /docs' "Try it out" must reach this stack, not whichever one has port 3000.
        doc = json.loads(OPENAPI_FILE.read_text())
        doc["servers"] = [{"url": self.stack.base_url, "description": "this local stack (make dev)"}]
        return {"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": json.dumps(doc)}

    def _respond(self, result: dict[str, Any]) -> None:
        import base64

        raw = result.get("body") or ""
        if isinstance(raw, bytes):  # a static file
            payload = raw
        else:
            payload = base64.b64decode(raw) if result.get("isBase64Encoded") else str(raw).encode()
        self.send_response(int(result["statusCode"]))
        sent = set()
        for key, val in (result.get("headers") or {}).items():
            if key.lower() in ("content-length", "connection", "transfer-encoding"):
                continue
            self.send_header(key, str(val))
            sent.add(key.lower())
        for key, values in (result.get("multiValueHeaders") or {}).items():
            for val in values:
                self.send_header(key, str(val))
        for cookie in result.get("cookies") or ():
            self.send_header("Set-Cookie", cookie)
        if payload and "content-type" not in sent:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # _handle prints one line per request instead


def start_stack(
    port: int = 0, aws_port: int = 0, *, api_key: str | None = None, access_log: bool = False, ws_port: int = 0
) -> LocalStack:
    """Start a stack (port 0: any free port) and return it; `stack.port`, `stack.aws_port`, `stack.api_key`."""
    return LocalStack(port=port, aws_port=aws_port, api_key=api_key, access_log=access_log, ws_port=ws_port).start()


def _banner(stack: LocalStack, seconds: float) -> str:
    fn_count = len(stack.functions)
    lines = [
        f"Local stack ready in {seconds:.1f} s: moto + {fn_count} functions from template.yaml (in-memory state)",
        f"Base URL: {stack.base_url}/v1",
        f"Docs: {stack.base_url}/docs  (OpenAPI: {stack.base_url}/openapi.json)",
        f"Agent console: {stack.base_url}/console/  (sign in with an agent's API key: README, Agent console)",
        f"Emails sent (newest first): {stack.base_url}/_local/emails",
        f'WebSocket: {stack.ws_url}  (open it with the url of POST /v1/realtime/tokens; send {{"action": "ping"}})',
        f"Demo tenant: {stack.demo_tenant_id} (Demo, prefix DEMO)",
        *_inbound_lines(stack),
        f"API key: {stack.api_key}",
        f"AWS_ENDPOINT_URL={stack.aws_endpoint_url}",
        f"TABLE_NAME={stack.table_name}",
        f"Admin: AWS_ENDPOINT_URL={stack.aws_endpoint_url} TABLE_NAME={stack.table_name} "
        "make admin ARGS='tenant create --name Acme --prefix ACME'",
        f"Try: curl -s -H 'X-API-Key: {stack.api_key}' {stack.base_url}/v1/tickets",
        f"     curl -s -H 'X-API-Key: {stack.api_key}' -H 'Content-Type: application/json' "
        f"""-d '{{"subject": "Printer on fire"}}' {stack.base_url}/v1/tickets""",
    ]
    if stack.event_sources:
        sources = [f"{c.label} <- {c.source.table} stream" for c in stack.event_sources.streams]
        sources += [f"{q.label} <- {q.source.queue}" for q in stack.event_sources.queues]
        every = stack.event_sources.schedule_interval
        sources += [
            f"{fn.name} <- {src.expression} (here every {every:g} s)" for fn, src in stack.event_sources.schedules
        ]
        if sources:
            lines.append("Event sources: " + "; ".join(sources))
    if stack.skipped:
        lines.append("Skipped (no code yet): " + ", ".join(stack.skipped))
    if "CreateWebhookFunction" in stack.functions:
        lines += [
            f"Webhooks: curl -s -H 'X-API-Key: {stack.api_key}' -H 'Content-Type: application/json' "
            f"""-d '{{"url": "http://127.0.0.1:9000/hook"}}' {stack.base_url}/v1/webhooks""",
            "     then, with the secret it shows once: make receiver ARGS='--port 9000 --secret whsec_...'",
        ]
    lines.append("Ctrl+C to stop.")
    return "\n".join(lines)


def _inbound_lines(stack: LocalStack) -> list[str]:
    domain = stack.refs.get("InboundEmailDomain")
    if not domain or INBOUND_BUCKET not in stack.refs:
        return []
    return [
        f"Inbound email: the demo tenant receives at demo@{domain}; POST a raw message to "
        f"{stack.base_url}/_local/inbound-email",
        f"     curl -s --data-binary @mail.eml -H 'Content-Type: message/rfc822' {stack.base_url}/_local/inbound-email",
    ]


# Where a running `make dev` says where it is, for `make invoke` (DEV_STATE_FILE overrides; gitignored).
STATE_FILE = template.ROOT / ".devstack.json"


def state_file() -> Path:
    return Path(os.environ.get("DEV_STATE_FILE") or STATE_FILE)


def write_state(stack: LocalStack, path: Path) -> None:
    """Write where the stack is: its moto, its table, and the refs that resolve the functions' environment.

    The refs include this process's cursor signing key (so that cursors work across make dev and make invoke):
    the file is readable by its owner only.
    """
    state = {
        "pid": os.getpid(),
        "baseUrl": stack.base_url,
        "awsEndpointUrl": stack.aws_endpoint_url,
        "tableName": stack.table_name,
        "wsUrl": stack.ws_url,
        "demoTenantId": stack.demo_tenant_id,
        "refs": stack.refs,
        "localEndpoints": dict(template.local_endpoints),
    }
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")  # mode 0600
    with os.fdopen(fd, "w") as fh:
        json.dump(state, fh, indent=2)
    os.replace(tmp, path)


def read_state(path: Path) -> dict[str, Any] | None:
    try:
        state = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return state if isinstance(state, dict) else None


def remove_state(path: Path) -> None:
    """Remove the state file if it is still this process's (another make dev may have started since)."""
    if (read_state(path) or {}).get("pid") == os.getpid():
        path.unlink(missing_ok=True)


def main() -> int:
    started = time.monotonic()
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    stack = LocalStack(
        port=int(os.environ.get("PORT", "3000")),
        aws_port=int(os.environ.get("LOCAL_AWS_PORT", "4566")),
        api_key=os.environ.get("DEV_API_KEY") or None,
        ws_port=int(os.environ.get("WS_PORT", "3001")),
    )
    try:
        stack.start()
    except OSError as exc:
        print(f"devstack: cannot start: {exc} (set PORT / LOCAL_AWS_PORT / WS_PORT to free ports)", file=sys.stderr)
        stack.stop()
        return 1
    except Exception as exc:
        print(f"devstack: cannot start: {exc}", file=sys.stderr)
        stack.stop()
        return 1
    state = state_file()
    write_state(stack, state)
    try:
        print(_banner(stack, time.monotonic() - started), flush=True)
        stop.wait()  # signal handlers run in the main thread and interrupt the wait
        print("Stopping...", flush=True)
        stack.stop()
    finally:
        remove_state(state)
    if usage := os.environ.get(iam.USAGE_FILE_ENV):  # tools.devproc: what was checked, for the test run's report
        with open(usage, "w") as fh:
            json.dump(iam.recorder.snapshot(), fh)
    return 0


if __name__ == "__main__":
    sys.exit(main())
