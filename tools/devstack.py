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
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tools import iam, localmail, motolock, template
from tools.events import FakeContext, http_event
from tools.eventsources import EventSources, print_log

HOST = "127.0.0.1"
TABLE_NAME = "tickets-local"
OPENAPI_FILE = template.ROOT / "docs" / "openapi.json"
PROBLEM_JSON = "application/problem+json"

# Template parameters for local use (override one with DEV_<NAME>, e.g. DEV_WEBHOOK_RETRY_SCHEDULE=2,2,2).
DEV_PARAMETERS = {
    "AllowPrivateWebhookTargets": "true",  # webhooks to a receiver on 127.0.0.1
    "WebhookRetrySchedule": "1,1,1,1,1,1,1",  # retries a second apart instead of minutes to hours
    "WebhookDisableAfterSeconds": "432000",
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

SWAGGER_HTML = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Tickets API (local)</title>
  <link rel="stylesheet" href="https://unpkg.com/swagger-ui-dist@5/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="https://unpkg.com/swagger-ui-dist@5/swagger-ui-bundle.js" crossorigin></script>
  <script>
    window.ui = SwaggerUIBundle({url: "/openapi.json", dom_id: "#swagger-ui", persistAuthorization: true});
  </script>
</body>
</html>
"""


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
        # given only to the functions that page): every function sees them here, so that they share one
        # environment and run concurrently.
        self._additive = {
            name: value
            for fn in template.functions().values()
            for name, value in fn.environment.items()
            if "{{resolve:" in json.dumps(value)
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
    for service in ("dynamodb", "sqs", "events", "sesv2"):
        client(service)  # client creation is not thread-safe: build them now, while no handler runs


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
    ) -> None:
        self.host = host
        self.port = port
        self.aws_port = aws_port
        self.table_name = table_name
        self.api_key = api_key
        self.access_log = access_log
        self.demo_tenant_id: str | None = None
        self.functions: dict[str, template.Function] = {}
        self.skipped: list[str] = []  # functions whose code does not exist (yet)
        for name, fn in template.functions().items():
            if (fn.code_uri / f"{fn.handler.rsplit('.', 1)[0]}.py").is_file():
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

    # ------------------------------------------------------------------ lifecycle

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def aws_endpoint_url(self) -> str:
        return f"http://{self.host}:{self.aws_port}"

    def start(self) -> LocalStack:
        self._start_moto()
        self._create_resources()
        self._warm_up()
        self._create_demo_tenant()
        self._start_event_sources()
        self._start_gateway()
        return self

    def stop(self) -> None:
        if self.event_sources:
            self.event_sources.stop()
        if self._gateway:
            self._gateway.shutdown()
            self._gateway.server_close()
        if self._moto:
            self._moto.stop()

    def _start_moto(self) -> None:
        from moto.server import ThreadedMotoServer

        if str(template.SHARED_LAYER) not in sys.path:  # the shared layer, as Lambda mounts it under /opt/python
            sys.path.insert(0, str(template.SHARED_LAYER))

        for key, val in FAKE_AWS_ENV.items():
            os.environ[key] = val
        os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
        no_proxy = ",".join(filter(None, [os.environ.get("NO_PROXY"), "127.0.0.1", "localhost"]))
        os.environ["NO_PROXY"] = os.environ["no_proxy"] = no_proxy
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

    def _create_resources(self) -> None:
        """The table and the queues, and the refs that every function's environment is resolved with."""
        import boto3

        ddb = boto3.client("dynamodb")
        template.create_table(ddb, self.table_name)
        self.queues = template.create_queues(boto3.client("sqs"))
        self.refs = template.build_refs(
            table=template.table_refs(ddb, self.table_name),
            queues=self.queues,
            parameters=self.parameters,
            secrets=self.secrets,
        )
        self._env.refs = self.refs
        # SES (and moto) only send from a verified identity: the assignment emails' sender.
        sender = {**template.parameter_defaults(), **self.parameters}.get("SenderEmail")
        if sender:
            localmail.verify_sender(boto3.client("sesv2"), sender)
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
        from tickets.logic import admin
        from tickets.models.tenants import SCOPES, TenantCreate

        tenant = admin.create_tenant(TenantCreate(name="Demo", ticketPrefix="DEMO"))
        self.demo_tenant_id = tenant["id"]
        self.api_key = admin.create_api_key(tenant["id"], list(SCOPES), raw_key=self.api_key)["key"]

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
        if self.command == "GET" and path in ("/openapi.json", "/docs", "/"):
            result = self._static(path)
        elif self.command == "GET" and path == "/_local/emails":
            # What moto's SES has sent (assignment emails), newest first.
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
        return {"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": OPENAPI_FILE.read_text()}

    def _respond(self, result: dict[str, Any]) -> None:
        import base64

        raw = result.get("body") or ""
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
    port: int = 0, aws_port: int = 0, *, api_key: str | None = None, access_log: bool = False
) -> LocalStack:
    """Start a stack (port 0: any free port) and return it; `stack.port`, `stack.aws_port`, `stack.api_key`."""
    return LocalStack(port=port, aws_port=aws_port, api_key=api_key, access_log=access_log).start()


def _banner(stack: LocalStack, seconds: float) -> str:
    fn_count = len(stack.functions)
    lines = [
        f"Local stack ready in {seconds:.1f} s: moto + {fn_count} functions from template.yaml (in-memory state)",
        f"Base URL: {stack.base_url}/v1",
        f"Docs: {stack.base_url}/docs  (OpenAPI: {stack.base_url}/openapi.json)",
        f"Emails sent (newest first): {stack.base_url}/_local/emails",
        f"Demo tenant: {stack.demo_tenant_id} (Demo, prefix DEMO)",
        f"API key: {stack.api_key}",
        f"AWS_ENDPOINT_URL={stack.aws_endpoint_url}",
        f"TABLE_NAME={stack.table_name}",
        f"Admin: AWS_ENDPOINT_URL={stack.aws_endpoint_url} TABLE_NAME={stack.table_name} "
        "AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_DEFAULT_REGION=us-east-1 "
        "make admin ARGS='tenant create --name Acme --prefix ACME'",
        f"Try: curl -s -H 'X-API-Key: {stack.api_key}' {stack.base_url}/v1/tickets",
        f"     curl -s -H 'X-API-Key: {stack.api_key}' -H 'Content-Type: application/json' "
        f"""-d '{{"subject": "Printer on fire"}}' {stack.base_url}/v1/tickets""",
    ]
    if stack.event_sources:
        sources = [f"{c.label} <- {c.source.table} stream" for c in stack.event_sources.streams]
        sources += [f"{q.label} <- {q.source.queue}" for q in stack.event_sources.queues]
        if sources:
            lines.append("Event sources: " + "; ".join(sources))
    if stack.skipped:
        lines.append("Skipped (no code yet): " + ", ".join(stack.skipped))
    if "CreateWebhookFunction" in stack.functions:
        lines += [
            "Webhooks: python -m tools.receiver --port 9000 --secret <the webhook's secret>, then",
            f"     curl -s -H 'X-API-Key: {stack.api_key}' -H 'Content-Type: application/json' "
            f"""-d '{{"url": "http://127.0.0.1:9000/hook"}}' {stack.base_url}/v1/webhooks""",
            "     (the response shows the secret once; restart the receiver with it to verify signatures)",
        ]
    lines.append("Ctrl+C to stop.")
    return "\n".join(lines)


def main() -> int:
    started = time.monotonic()
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    stack = LocalStack(
        port=int(os.environ.get("PORT", "3000")),
        aws_port=int(os.environ.get("LOCAL_AWS_PORT", "4566")),
        api_key=os.environ.get("DEV_API_KEY") or None,
    )
    try:
        stack.start()
    except OSError as exc:
        print(f"devstack: cannot start: {exc} (set PORT / LOCAL_AWS_PORT to free ports)", file=sys.stderr)
        stack.stop()
        return 1
    except Exception as exc:
        print(f"devstack: cannot start: {exc}", file=sys.stderr)
        stack.stop()
        return 1
    print(_banner(stack, time.monotonic() - started), flush=True)
    stop.wait()  # signal handlers run in the main thread and interrupt the wait
    print("Stopping...", flush=True)
    stack.stop()
    if usage := os.environ.get(iam.USAGE_FILE_ENV):  # tools.devproc: what was checked, for the test run's report
        with open(usage, "w") as fh:
            json.dump(iam.recorder.snapshot(), fh)
    return 0


if __name__ == "__main__":
    sys.exit(main())
