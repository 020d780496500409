"""Contract fuzzing: schemathesis runs the committed docs/openapi.json against a local stack.

    python -m tools.fuzz                                   (make fuzz: the long run, 200 examples per operation)
    python -m tools.fuzz --max-examples 20 --seed 1        (a shorter, reproducible run)
    python -m tools.fuzz --base-url http://127.0.0.1:3000 --api-key tk_...   (against a running `make dev`)

Without --base-url/--api-key it starts its own stack (tools.devproc.running_stack) and stops it afterwards.
Every operation of the document runs through schemathesis' phases (coverage, fuzzing, stateful), with the key
supplied through the document's own security schemes, so `ignored_auth` can remove or spoil it. The checks:

- no 5xx (`not_a_server_error`); every 4xx/5xx is problem+json with a `code` and the right `status`
  (`problem_details`, below, which also covers statuses the document does not list);
- responses conform to the document: status code, content type, headers and body schema;
- schema-invalid input is rejected (`negative_data_rejection`) and auth is enforced (`ignored_auth`);
- a resource just created can be read, and one just deleted is gone (`ensure_resource_availability`,
  `use_after_free`).

Before the run it seeds one tenant-owned resource of each kind (customer, agent, tag, ticket, webhook with a
delivery, spare API key); the operations that take ids draw them from those seeds some of the time, so they
reach real resources and not only 404s. The summary lists operations, test cases, requests and failures by
check; the exit status is non-zero on any failure or error.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tools.devproc import ROOT, StackInfo, running_stack

SPEC = ROOT / "docs" / "openapi.json"
KEY_ENV = "TICKETS_FUZZ_API_KEY"
DEFAULT_MAX_EXAMPLES = 200

# Built-in checks, and why the disabled ones are off for every operation.
CHECKS = {
    "not_a_server_error": True,
    "status_code_conformance": True,
    "content_type_conformance": True,
    "response_headers_conformance": True,
    "response_schema_conformance": True,
    "negative_data_rejection": True,
    "ignored_auth": True,
    "missing_required_header": True,
    "use_after_free": True,
    "ensure_resource_availability": True,
    # Schema-valid is not always acceptable: cursors are opaque signed tokens (any other string is a 400), and
    # ids in bodies must name resources of the tenant (400 INVALID_CUSTOMER, ...). The document cannot say so.
    "positive_data_acceptance": False,
    # Routing is API Gateway's: a method that no route declares is its 404, not a 405 from our code, and an
    # HTTP API has no way to list a path's methods in an Allow header.
    "unsupported_method": False,
    "allow_header_conformance": False,
    # One tenant, one key: another identity would need a second key the document cannot describe. Tenant
    # isolation is covered by the integration and e2e tests.
    "object_level_authorization": False,
}
# Methods the coverage phase tries on every path that does not declare them (the check above is off, but the
# answers still go through `problem_details` and `not_a_server_error`). TRACE is left out: make dev's HTTP
# server (http.server) answers it itself with a 501 HTML page before any route or function is involved.
UNEXPECTED_METHODS = ("get", "put", "post", "delete", "patch", "options")
SEED_PROBABILITY = 0.5
# examples: the document has none; coverage: boundary and invalid values of every parameter and body field,
# missing headers, undeclared methods (about 2,300 requests, however many examples); fuzzing: max_examples
# generated cases per operation, valid and invalid; stateful: sequences that follow the document's links.
PHASES = ("examples", "coverage", "fuzzing", "stateful")
# For the stack this tool starts: a failed webhook delivery is retried an hour later, i.e. not during the run.
# Every webhook the run creates subscribes to every ticket change; with make dev's retry schedule of seconds
# their failing deliveries would multiply into more background work than the API requests themselves.
STACK_ENV = {"DEV_WEBHOOK_RETRY_SCHEDULE": "3600", "WEBHOOK_TIMEOUT_SECONDS": "2"}


@dataclass
class Seeds:
    """Ids of real resources in the fuzzed tenant, by dictionary name."""

    values: dict[str, list[str]] = field(default_factory=dict)
    own_key_ids: set[str] = field(default_factory=set)  # never revoked by the run (it would lock itself out)
    spare_key_id: str | None = None


@dataclass
class Summary:
    exit_code: int
    operations: dict[str, Any]
    test_cases: dict[str, Any]
    requests: int
    failures: list[dict[str, Any]]
    errors: list[Any]
    seconds: float
    output: str = ""

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and not self.failures and not self.errors

    def failure_report(self) -> str:
        """Schemathesis' own account of each failure (with a curl command that reproduces it), if captured."""
        text = self.output
        start = text.find(" FAILURES ")
        if start < 0:
            start = text.find(" ERRORS ")
        end = text.find(" SUMMARY ")
        return text[text.rfind("\n", 0, start) + 1 : end if end > start else None].strip() if start >= 0 else text

    def render(self) -> str:
        ops = self.operations
        lines = [
            "Contract fuzzing summary",
            f"  operations: {ops.get('tested', 0)} tested / {ops.get('selected', 0)} selected / "
            f"{ops.get('total', 0)} in the document",
            f"  test cases: {self.test_cases.get('generated', 0)} generated, "
            f"{self.test_cases.get('with_failures', 0)} with failures",
            f"  requests:   {self.requests} in {self.seconds:.0f} s",
        ]
        if self.failures:
            lines.append("  failures by check:")
            for failure in self.failures:
                lines.append(
                    f"    {failure.get('code', '')} {failure['title']}: {failure['count']} "
                    f"({', '.join(failure.get('operations', []))})"
                )
        else:
            lines.append("  failures:   none")
        if self.errors:
            lines.append(f"  errors:     {len(self.errors)}")
        return "\n".join(lines)


# ---------------------------------------------------------------- seed data


def _ok(resp: Any, what: str) -> dict[str, Any]:
    if resp.status not in (200, 201, 202):
        raise RuntimeError(f"seeding {what}: {resp.status} {resp.body[:500]!r}")
    return resp.json


def seed(api: StackInfo) -> Seeds:
    """One resource of each kind, made through the API with the run's key."""
    key = api.api_key
    tag_name = f"fuzz-{int(time.time() * 1000)}"  # unique: a second run against the same stack needs new names
    customer = _ok(
        api.request("POST", "/v1/customers", key=key, body={"externalId": tag_name, "name": "Fuzz Seed"}),
        "customer",
    )
    agent = _ok(
        api.request(
            "POST", "/v1/agents", key=key, body={"name": "Fuzz Agent", "email": "fuzz@example.com", "level": "N1"}
        ),
        "agent",
    )
    tag = _ok(api.request("POST", "/v1/tags", key=key, body={"name": tag_name}), "tag")
    webhook = _ok(
        # A closed port: deliveries fail at once and are logged, which gives the retry route a delivery id.
        api.request("POST", "/v1/webhooks", key=key, body={"url": "http://127.0.0.1:9/fuzz", "events": ["*"]}),
        "webhook",
    )
    tickets = [
        _ok(
            api.request(
                "POST",
                "/v1/tickets",
                key=key,
                body={"subject": f"Fuzz seed {i}", "customerId": customer["id"], "tags": [tag_name]},
            ),
            "ticket",
        )
        for i in range(3)
    ]
    spare = _ok(
        api.request("POST", "/v1/api-keys", key=key, body={"scopes": ["tickets:read"], "name": "fuzz spare"}),
        "api key",
    )
    keys = _ok(api.request("GET", "/v1/api-keys", key=key, query={"limit": 100}), "api key list")["data"]
    own = {k["id"] for k in keys if k["hint"] == key[:7] and k["id"] != spare["id"]}
    _ok(api.request("POST", f"/v1/webhooks/{webhook['id']}/test", key=key), "webhook test")
    deliveries: list[dict[str, Any]] = []
    deadline = time.monotonic() + 10
    while not deliveries and time.monotonic() < deadline:
        time.sleep(0.2)
        deliveries = _ok(api.request("GET", f"/v1/webhooks/{webhook['id']}/deliveries", key=key), "deliveries")["data"]
    values = {
        "customer-ids": [customer["id"]],
        "customer-external-ids": [customer["externalId"]],
        "agent-ids": [agent["id"]],
        "tag-ids": [tag["id"]],
        "tag-names": [tag["name"]],
        "ticket-ids": [t["id"] for t in tickets] + [tickets[0]["reference"]],
        "webhook-ids": [webhook["id"]],
        "api-key-ids": [spare["id"]],
    }
    if deliveries:
        values["delivery-ids"] = [d["id"] for d in deliveries]
    return Seeds(values, own, spare["id"])


# ---------------------------------------------------------------- schemathesis configuration


def _toml(value: Any) -> str:
    """A TOML value: JSON's strings, numbers, booleans and arrays are valid TOML."""
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{json.dumps(k)} = {_toml(v)}" for k, v in value.items()) + " }"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return json.dumps(value)


# (method or None for all, path, {parameter: dictionary}): where seeded ids are offered.
_BINDINGS: list[tuple[str | None, str, dict[str, str]]] = [
    (None, "/v1/tickets/{id}", {"path.id": "ticket-ids"}),
    (None, "/v1/tickets/{id}/history", {"path.id": "ticket-ids"}),
    (None, "/v1/tickets/{id}/unlink-customer", {"path.id": "ticket-ids"}),
    (None, "/v1/customers/{id}", {"path.id": "customer-ids"}),
    (None, "/v1/agents/{id}", {"path.id": "agent-ids"}),
    (None, "/v1/tags/{id}", {"path.id": "tag-ids"}),
    (None, "/v1/api-keys/{id}", {"path.id": "api-key-ids"}),
    (None, "/v1/webhooks/{id}", {"path.id": "webhook-ids"}),
    (None, "/v1/webhooks/{id}/deliveries", {"path.id": "webhook-ids"}),
    (None, "/v1/webhooks/{id}/test", {"path.id": "webhook-ids"}),
    (None, "/v1/webhooks/{id}/rotate-secret", {"path.id": "webhook-ids"}),
    (
        None,
        "/v1/webhooks/{id}/deliveries/{deliveryId}/retry",
        {"path.id": "webhook-ids", "path.deliveryId": "delivery-ids"},
    ),
    (
        "GET",
        "/v1/tickets",
        {"query.customerId": "customer-ids", "query.assigneeId": "agent-ids", "query.tag": "tag-names"},
    ),
    ("GET", "/v1/customers", {"query.externalId": "customer-external-ids"}),
    (
        "POST",
        "/v1/tickets",
        {"body.customerId": "customer-ids", "body.assigneeId": "agent-ids", "body.parentId": "ticket-ids"},
    ),
    (
        "PATCH",
        "/v1/tickets/{id}",
        {
            "path.id": "ticket-ids",
            "body.customerId": "customer-ids",
            "body.assigneeId": "agent-ids",
            "body.parentId": "ticket-ids",
        },
    ),
    (
        "POST",
        "/v1/tickets/api-create",
        {"body.customerExternalId": "customer-external-ids", "body.tagIds[*]": "tag-ids"},
    ),
    ("POST", "/v1/tickets/bulk/status", {"body.ids[*]": "ticket-ids"}),
    ("POST", "/v1/tickets/bulk/priority", {"body.ids[*]": "ticket-ids"}),
    ("POST", "/v1/tickets/bulk/delete", {"body.ids[*]": "ticket-ids"}),
    ("POST", "/v1/tickets/batch", {"body.ids[*]": "ticket-ids", "body.actions[*].value": "agent-ids"}),
    ("POST", "/v1/tickets/solve-unfinished", {"body.customerId": "customer-ids"}),
]


def config_toml(seeds: Seeds) -> str:
    lines = [
        "[generation]",
        'database = "none"',  # no .hypothesis directory; a run is reproduced by its seed
        "",
        "[checks]",
        *(f"{name}.enabled = {_toml(enabled)}" for name, enabled in CHECKS.items()),
        "problem_details.enabled = true",
        "",
        "[phases.coverage]",
        f"unexpected-methods = {_toml(UNEXPECTED_METHODS)}",
        "",
        # The document's own security schemes, so `ignored_auth` knows the key and can take it away.
        "[auth.openapi.apiKey]",
        f'api_key = "${{{KEY_ENV}}}"',
        "[auth.openapi.bearer]",
        f'bearer = "${{{KEY_ENV}}}"',
        "",
    ]
    for name, values in seeds.values.items():
        lines += [f"[dictionaries.{name}]", f"values = {_toml(values)}", ""]
    for method, path, params in _BINDINGS:
        bound = {p: d for p, d in params.items() if d in seeds.values}
        if not bound:
            continue
        lines += ["[[operations]]", f"include-path = {_toml(path)}"]
        if method:
            lines.append(f"include-method = {_toml(method)}")
        binding = {p: {"dictionary": d, "probability": SEED_PROBABILITY} for p, d in bound.items()}
        lines += [f"parameters = {_toml(binding)}", ""]
    return "\n".join(lines)


# ---------------------------------------------------------------- hooks and the problem+json check


class _State:
    seeds = Seeds()
    requests: Counter[str] = Counter()
    lock = threading.Lock()


_registered = False


def _register() -> None:
    """Register the hooks and the custom check once per process (schemathesis keeps them globally)."""
    global _registered
    if _registered:
        return
    _registered = True
    import schemathesis

    @schemathesis.check
    def problem_details(ctx: Any, response: Any, case: Any) -> bool | None:
        """Every 4xx and 5xx is RFC 9457 problem+json with a `code` and the response's own `status`."""
        if response.status_code < 400:
            return None
        media = response.headers.get("content-type", [""])
        media = (media[0] if isinstance(media, list) else media).split(";")[0].strip().lower()
        if media != "application/problem+json":
            raise AssertionError(f"{response.status_code} answered with Content-Type {media!r}, not problem+json")
        try:
            body = json.loads(response.content)
        except ValueError:
            raise AssertionError(f"{response.status_code} problem body is not JSON") from None
        if not isinstance(body, dict) or not isinstance(body.get("code"), str) or not body["code"]:
            raise AssertionError(f"{response.status_code} problem body has no `code`: {response.content[:300]!r}")
        if body.get("status") != response.status_code:
            raise AssertionError(f"problem `status` {body.get('status')!r} differs from HTTP {response.status_code}")
        return True

    @schemathesis.hook
    def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
        # Revoking the run's own key would turn every later request into a 401 (after the 60 s key cache):
        # aim such a DELETE at the spare key instead. Any other id goes through unchanged.
        seeds = _State.seeds
        if (
            case.method.upper() == "DELETE"
            and case.path == "/v1/api-keys/{id}"
            and isinstance(case.path_parameters, dict)
            and case.path_parameters.get("id") in seeds.own_key_ids
        ):
            case.path_parameters["id"] = seeds.spare_key_id or "key_00000000000000000000000000"

    @schemathesis.hook
    def after_call(context: Any, case: Any, response: Any) -> None:
        with _State.lock:
            _State.requests[f"{case.method.upper()} {case.path}"] += 1


# ---------------------------------------------------------------- running schemathesis


@contextlib.contextmanager
def _env(name: str, value: str) -> Iterator[None]:
    saved = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = saved


def run(
    base_url: str,
    api_key: str,
    *,
    max_examples: int = DEFAULT_MAX_EXAMPLES,
    phases: tuple[str, ...] = PHASES,
    seed_value: int | None = None,
    deterministic: bool = False,
    workers: int = 1,
    max_steps: int | None = None,
    capture: bool = False,
    extra_args: list[str] | None = None,
) -> Summary:
    """One schemathesis run (in this process) against base_url; returns its summary.

    With capture=True schemathesis' own report (every failure, with a curl command to reproduce it) is
    returned in Summary.output instead of being printed.
    """
    from schemathesis.cli import schemathesis as cli

    api = StackInfo(base_url, "", "", api_key, 0.0, Path())
    seeds = seed(api)
    _register()
    _State.seeds = seeds
    _State.requests = Counter()
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="fuzz-") as tmp:
        config = Path(tmp) / "schemathesis.toml"
        config.write_text(config_toml(seeds) + (f"\n[phases.stateful]\nmax-steps = {max_steps}\n" if max_steps else ""))
        report = Path(tmp) / "report.json"
        args = [
            "--config-file",
            str(config),
            "run",
            str(SPEC),
            "--url",
            base_url,
            "--max-examples",
            str(max_examples),
            "--phases",
            ",".join(phases),
            "--workers",
            str(workers),
            "--no-color",
            "--report",
            "json",
            "--report-json-path",
            str(report),
            "--warnings",
            "off",
        ]
        if seed_value is not None:
            args += ["--seed", str(seed_value)]
        if deterministic:
            args.append("--generation-deterministic")
        args += extra_args or []
        out = io.StringIO()
        redirect = contextlib.redirect_stdout(out) if capture else contextlib.nullcontext()
        with _env(KEY_ENV, api_key), redirect, contextlib.chdir(tmp):  # schemathesis caches under ./.schemathesis
            try:
                cli.main(args=args, prog_name="schemathesis", standalone_mode=False)
                code = 0
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else 1
        data = json.loads(report.read_text()) if report.exists() else {}
    return Summary(
        exit_code=code,
        operations=data.get("operations", {}),
        test_cases=data.get("test_cases", {}),
        requests=sum(_State.requests.values()),
        failures=data.get("failures", []),
        errors=data.get("errors", []),
        seconds=time.monotonic() - started,
        output=out.getvalue(),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.fuzz", description=__doc__.split("\n\n")[0])
    parser.add_argument("--max-examples", type=int, default=DEFAULT_MAX_EXAMPLES, help="test cases per operation")
    parser.add_argument("--seed", type=int, default=None, help="reproduce a run (schemathesis prints its seed)")
    parser.add_argument("--deterministic", action="store_true", help="derandomise generation (same cases each run)")
    parser.add_argument("--phases", default=",".join(PHASES), help="comma list, default: %(default)s")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--max-steps", type=int, default=None, help="longest stateful scenario")
    parser.add_argument("--base-url", help="an already running stack, e.g. http://127.0.0.1:3000 (with --api-key)")
    parser.add_argument("--api-key", help="a key of that stack with every scope")
    parser.add_argument("schemathesis_args", nargs="*", help="extra `schemathesis run` options, after --")
    args = parser.parse_args(argv)
    if bool(args.base_url) != bool(args.api_key):
        parser.error("--base-url and --api-key go together")
    options: dict[str, Any] = {
        "max_examples": args.max_examples,
        "phases": tuple(args.phases.split(",")),
        "seed_value": args.seed,
        "deterministic": args.deterministic,
        "workers": args.workers,
        "max_steps": args.max_steps,
        "extra_args": args.schemathesis_args,
    }
    if args.base_url:
        summary = run(args.base_url, args.api_key, **options)
    else:
        with running_stack(STACK_ENV) as stack:
            print(f"local stack on {stack.base_url} (started in {stack.startup_seconds:.1f} s)", flush=True)
            summary = run(stack.base_url, stack.api_key, **options)
    print(summary.render())
    return 0 if summary.ok else 1


if __name__ == "__main__":
    sys.exit(main())
