"""Cold start: the real first request of every API function, against the floor of any Python Lambda that reads
DynamoDB (`import boto3`, a DynamoDB client, one GetItem).

Each sample is a whole fresh interpreter, timed from the parent (start to exit), as issue 16 defines it:
- **the function**: `import app` from the function's folder (the shared layer and the folder on sys.path, the
  template's environment, as in Lambda), then one real request through `app.handler`, against a moto server;
- **the floor**: `import boto3`, `boto3.client("dynamodb")` and one GetItem of a ticket, against the same server.

Samples come in pairs (floor, then function), the functions in a shuffled order each round, so drift on a noisy
machine hits both sides of a pair alike; a function's figure is the median of its pairs' ratios. get_ticket, the
issue's reference request, gets PAIRS pairs; every other API function PAIRS_OTHERS (fewer, so `make bench` stays
within minutes). Every function is run once unmeasured first, which also checks that its request answers 2xx.

The requests are the sample events (tools/sample_events.py: events/<function>.json) on the demo data, with fresh
targets where a sample would change what it names (a delete gets a new item to delete each time, a create a new
unique name). Each child also reports its own split (import, first request), for the README and for profiling.
"""

from __future__ import annotations

import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tools import template

PAIRS = int(os.environ.get("BENCH_COLD_PAIRS", "11"))
PAIRS_OTHERS = int(os.environ.get("BENCH_COLD_PAIRS_OTHERS", "5"))
ONLY = [name for name in os.environ.get("BENCH_COLD_ONLY", "").split(",") if name]  # function folders (a dev aid)
HEADLINE = "GetTicketFunction"
BUDGET = 1.25
TABLE = "tickets-cold"
_MARK = "@@cold"

# The child reads its event first (not timed in-process: API Gateway's work), then times import and request.
_FN_CODE = f"""\
import json, sys, time
event = json.loads(sys.stdin.read())
class Context:
    function_name = "cold"
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:us-east-1:000000000000:function:cold"
    memory_limit_in_mb = 256
    aws_request_id = "c0ffee00-0000-4000-8000-00000000c01d"
    log_group_name = "/aws/lambda/cold"
    log_stream_name = "cold"
    def get_remaining_time_in_millis(self):
        return 10_000
t0 = time.perf_counter()
import app
t1 = time.perf_counter()
response = app.handler(event, Context())
t2 = time.perf_counter()
print({_MARK!r}, t1 - t0, t2 - t1, response["statusCode"], time.process_time(), flush=True)
"""
_FLOOR_CODE = f"""\
import json, sys, time
key = json.loads(sys.stdin.read())
t0 = time.perf_counter()
import boto3
client = boto3.client("dynamodb")
t1 = time.perf_counter()
item = client.get_item(TableName={TABLE!r}, Key=key, ConsistentRead=True)["Item"]
t2 = time.perf_counter()
print({_MARK!r}, t1 - t0, t2 - t1, 200, time.process_time(), flush=True)
"""
# What stands in the way of the budget, measured the same way: the floor plus the least any handler that validates
# with pydantic pays (the import, one small model validated and dumped). PYDANTIC_DISABLE_PLUGINS as in the template.
_PYDANTIC_CODE = _FLOOR_CODE.replace(
    "t1 = time.perf_counter()\n",
    "from pydantic import BaseModel\n"
    "class Item(BaseModel):\n    id: str\n    subject: str | None = None\n"
    "Item.model_validate({'id': 'x'}).model_dump_json()\nt1 = time.perf_counter()\n",
)
PYDANTIC_FLOOR = "floor + pydantic"


@dataclass
class Sample:
    wall: float  # the whole process, from its start until it has printed the answer
    setup: float  # in-process: the import (function) / import boto3 + client (floor)
    request: float  # in-process: the first request / the GetItem
    status: int
    cpu: float  # the process's own CPU time until the answer: without the (moto) server's share, and load-proof


@dataclass
class Stack:
    """A moto server with the template's resources and the demo data, and what the children need to reach it."""

    endpoint: str
    refs: dict[str, str]
    base_env: dict[str, str] = field(default_factory=dict)

    def function_env(self, fn: template.Function) -> dict[str, str]:
        refs = {**template.parameter_defaults(), **self.refs}
        env = {**self.base_env, **_lambda_env(fn.name), **template.resolve_env(fn.environment, refs)}
        env["PYTHONPATH"] = os.pathsep.join([str(template.SHARED_LAYER), str(fn.code_uri)])
        return env

    @property
    def floor_env(self) -> dict[str, str]:
        return {**self.base_env, **_lambda_env("FloorFunction")}


def _child_base_env(endpoint: str) -> dict[str, str]:
    """Nothing from the bench's own process but PATH and the locale; AWS through the moto server."""
    from tools.devstack import FAKE_AWS_ENV

    keep = {k: os.environ[k] for k in ("PATH", "HOME", "LANG", "TMPDIR") if k in os.environ}
    return {**keep, **FAKE_AWS_ENV, "AWS_ENDPOINT_URL": endpoint, "NO_PROXY": "127.0.0.1,localhost"}


def _lambda_env(name: str) -> dict[str, str]:
    """What the Lambda runtime sets for every function (the same on both sides of a pair)."""
    return {
        "AWS_LAMBDA_FUNCTION_NAME": name,
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "TZ": ":UTC",
    }


def _reset_caches() -> None:
    from tickets.api import auth
    from tickets.aws import client
    from tickets.config import settings

    settings.cache_clear()
    client.cache_clear()
    auth.clear_cache()


@contextmanager
def stack() -> Iterator[Stack]:
    """A moto server on a free port with the table, queues, buckets and the demo tenant (tools.sample_events.seed).

    This process talks to it for the seeding and the preparations; its environment is restored afterwards."""
    import logging

    from moto.server import ThreadedMotoServer

    from tools import devstack, motolock, sample_events

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's access log
    motolock.install()  # as make dev: moto's writes cost what they cost whatever the table's size
    template.ensure_shared_layer_on_path()
    saved = dict(os.environ)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        endpoint = f"http://127.0.0.1:{server.get_host_and_port()[1]}"
        devstack.use_local_aws_env()
        os.environ.update({"AWS_ENDPOINT_URL": endpoint, "TABLE_NAME": TABLE})
        _reset_caches()
        _, refs = devstack.create_resources(TABLE, {})
        sample_events.seed()
        yield Stack(endpoint, refs, _child_base_env(endpoint))
    finally:
        os.environ.clear()
        os.environ.update(saved)
        _reset_caches()
        server.stop()


# ------------------------------------------------------------------------------------------------ requests


def _unique() -> str:
    return uuid.uuid4().hex[:12]


def _ticket() -> str:
    from tickets.logic import tickets
    from tickets.models.tickets import TicketCreate
    from tools.sample_events import DEMO_TENANT_ID

    return str(tickets.create_ticket(DEMO_TENANT_ID, TicketCreate(subject="Cold start bench"))["id"])


def _made(kind: str) -> str:
    """A new customer, tag, agent, webhook (disabled), API key or comment on DEMO-1 of the demo tenant: its id."""
    from tools.sample_events import DEMO_TENANT_ID, SAMPLE_TICKET_ID

    tenant, name = DEMO_TENANT_ID, _unique()
    if kind == "customer":
        from tickets.logic import customers
        from tickets.models.customers import CustomerCreate

        return str(customers.create_customer(tenant, CustomerCreate(externalId=f"cold-{name}", name="Cold"))["id"])
    if kind == "tag":
        from tickets.logic import tags
        from tickets.models.tags import TagCreate

        return str(tags.create_tag(tenant, TagCreate(name=f"cold-{name}"))["id"])
    if kind == "agent":
        from tickets.logic import agents
        from tickets.models.agents import AgentCreate

        return str(agents.create_agent(tenant, AgentCreate(name="Cold", email=f"cold-{name}@example.com"))["id"])
    if kind == "webhook":
        from tickets.logic import webhooks
        from tickets.models.webhooks import WebhookCreate

        hook = WebhookCreate(url="https://93.184.216.34/hooks/cold", enabled=False)
        return str(webhooks.create_webhook(tenant, hook)["id"])
    if kind == "key":
        from tickets.logic import admin

        return str(admin.create_api_key(tenant, ["tickets:read"], name=f"cold {name}")["id"])
    if kind == "comment":
        from tickets.logic import comments
        from tickets.models.comments import CommentCreate
        from tickets.models.tenants import Principal

        caller = Principal(tenantId=tenant, keyId="key_cold", scopes=frozenset({"tickets:write"}))
        note = CommentCreate.model_validate({"body": "Cold start bench", "visibility": "internal"})
        return str(comments.create_comment(tenant, SAMPLE_TICKET_ID, note, caller)["id"])
    if kind == "attachment":
        from tickets.logic import attachments
        from tickets.models.attachments import AttachmentCreate

        body = AttachmentCreate(filename="cold.pdf", contentType="application/pdf", size=1024)
        return str(attachments.create_attachment(tenant, body)["id"])
    if kind == "delivery":
        from tickets.logic import webhooks
        from tools.sample_events import SAMPLE_WEBHOOK_ID

        return str(webhooks.send_test(tenant, SAMPLE_WEBHOOK_ID)["id"])
    return _made_setting(kind, tenant, name)


def _made_setting(kind: str, tenant: str, name: str) -> str:
    """A new group (no tickets), business hours (no policy or group uses them), SLA policy or shared view."""
    if kind == "group":
        from tickets.logic import groups
        from tickets.models.groups import GroupCreate

        return str(groups.create_group(tenant, GroupCreate(name=f"cold-{name}"))["id"])
    if kind == "business_hours":
        from tickets.logic import business_hours
        from tickets.models.business_hours import BusinessHoursCreate

        weekly = [{"day": "mon", "start": "09:00", "end": "17:00"}]
        body = BusinessHoursCreate.model_validate({"name": f"cold-{name}", "timeZone": "UTC", "weekly": weekly})
        return str(business_hours.create_business_hours(tenant, body)["id"])
    if kind == "sla_policy":
        from tickets.logic import sla_policies
        from tickets.models.sla_policies import SlaPolicyCreate

        targets = {"low": {"firstReplyMinutes": 600, "resolutionMinutes": 2400}}
        body = SlaPolicyCreate.model_validate({"name": f"cold-{name}", "position": 99, "targets": targets})
        return str(sla_policies.create_policy(tenant, body)["id"])
    if kind == "view":
        from tickets.logic import views
        from tickets.models.tenants import Principal
        from tickets.models.views import ViewCreate

        caller = Principal(tenantId=tenant, keyId="key_cold", scopes=frozenset({"settings:manage"}))
        conditions = {"all": [{"field": "status", "operator": "is", "value": "open"}]}
        return str(
            views.create_view(caller, ViewCreate.model_validate({"name": f"cold-{name}", "conditions": conditions}))[
                "id"
            ]
        )
    raise ValueError(kind)


def _params(**params: str) -> dict[str, Any]:
    return {"params": params}


# Per function folder: what its sample needs changed so that it answers 2xx every time (made before each run).
FRESH: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "update_ticket": lambda s: {**s, **_params(id=_ticket())},
    "delete_ticket": lambda s: _params(id=_ticket()),
    "bulk_delete_tickets": lambda s: {"body": {"ids": [_ticket()]}},
    "create_customer": lambda s: {"body": {**s["body"], "externalId": f"crm-{_unique()}"}},
    "delete_customer": lambda s: _params(id=_made("customer")),  # the sample's customer still has DEMO-1: 409
    "create_tag": lambda s: {"body": {"name": f"billing-{_unique()}"}},
    "update_tag": lambda s: {**s, "body": {"name": f"payments-{_unique()}"}},
    "delete_tag": lambda s: _params(id=_made("tag")),
    "create_agent": lambda s: {"body": {**s["body"], "email": f"katherine-{_unique()}@example.com"}},
    "delete_agent": lambda s: _params(id=_made("agent")),
    "delete_webhook": lambda s: _params(id=_made("webhook")),
    "delete_api_key": lambda s: _params(id=_made("key")),
    "delete_group": lambda s: _params(id=_made("group")),  # the sample's group has DEMO-1: 409
    "delete_business_hours": lambda s: _params(id=_made("business_hours")),  # the sample's policy uses them: 409
    "delete_sla_policy": lambda s: _params(id=_made("sla_policy")),
    "delete_view": lambda s: _params(id=_made("view")),
    "redact_comment": lambda s: _params(id=s["params"]["id"], commentId=_made("comment")),
    "get_attachment": lambda s: _params(id=_made("attachment")),
    "retry_webhook_delivery": lambda s: _params(id=s["params"]["id"], deliveryId=_made("delivery")),
    "api_create_ticket": lambda s: {
        "headers": {"idempotency-key": f"evt-{_unique()}"},
        "body": {**s["body"], "dedupeKey": f"cold:{_unique()}"},
    },
}


def request(st: Stack, fn: template.Function) -> dict[str, Any]:
    """The function's representative request for one run: its sample event, with fresh targets (see FRESH)."""
    from tools import sample_events

    folder = fn.code_uri.name
    spec = sample_events.SAMPLES[folder]
    if folder in FRESH:
        template.apply_env(fn, st.refs)  # this process makes the targets, with the function's settings
        from tickets.config import settings

        settings.cache_clear()
        spec = FRESH[folder](spec)
    return sample_events.http_sample(fn, spec)


def floor_key() -> dict[str, Any]:
    from tickets.dal import keys
    from tickets.dal.client import serialize
    from tools.sample_events import DEMO_TENANT_ID, SAMPLE_TICKET_ID

    return serialize(keys.ticket(DEMO_TENANT_ID, SAMPLE_TICKET_ID))


# ------------------------------------------------------------------------------------------------ sampling


def _run(code: str, stdin: str, env: dict[str, str]) -> Sample:
    """One fresh interpreter, timed from its start to the moment it prints its answer (its exit is no part of a
    cold start: Lambda answers before any teardown, and freezing the heap makes ours shorter, which would flatter)."""
    with tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        child = subprocess.Popen(
            [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err, text=True, env=env
        )
        assert child.stdin is not None and child.stdout is not None
        child.stdin.write(stdin)
        child.stdin.close()
        seen: list[str] = []
        wall = line = None
        for text in child.stdout:
            if text.startswith(_MARK):
                wall, line = time.perf_counter() - started, text
                break
            seen.append(text)
        seen.append(child.stdout.read())
        code_ = child.wait()
        if code_ != 0 or line is None or wall is None:
            err.seek(0)
            stderr = err.read().decode(errors="replace")
            raise RuntimeError(f"cold sample failed ({code_}):\n{''.join(seen)[-2000:]}\n{stderr[-4000:]}")
    setup, req, status, cpu = line.split()[1:]
    return Sample(wall, float(setup), float(req), int(status), float(cpu))


def sample_function(st: Stack, fn: template.Function) -> Sample:
    s = _run(_FN_CODE, json.dumps(request(st, fn)), st.function_env(fn))
    if not 200 <= s.status < 300:
        raise RuntimeError(f"{fn.name}: its cold request answered {s.status}, not 2xx")
    return s


def sample_floor(st: Stack) -> Sample:
    return _run(_FLOOR_CODE, json.dumps(floor_key()), st.floor_env)


# The DepsLayer's packages (layers/deps/requirements.txt, as installed here): what Lambda would compile at every cold
# start without the bytecode `make build` adds (tools/bytecode.py).
DEPS_PACKAGES = ("aws_lambda_powertools", "pydantic", "pydantic_core", "annotated_types", "typing_inspection",
                 "typing_extensions", "jmespath", "standardwebhooks")  # fmt: skip


@contextmanager
def without_bytecode() -> Iterator[tuple[Path, Path]]:
    """Copies of the shared layer and of the DepsLayer's packages without any bytecode: (layer dir, deps dir)."""
    import importlib.util
    import shutil

    with tempfile.TemporaryDirectory(prefix="cold-nopyc-") as tmp:
        layer, deps = Path(tmp, "layer"), Path(tmp, "deps")
        ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
        shutil.copytree(template.SHARED_LAYER, layer, ignore=ignore)
        deps.mkdir()
        for name in DEPS_PACKAGES:
            spec = importlib.util.find_spec(name)
            if spec is None or spec.origin is None:
                continue
            origin = Path(spec.origin)
            if origin.name == "__init__.py":
                shutil.copytree(origin.parent, deps / name, ignore=ignore)
            else:
                shutil.copy2(origin, deps / origin.name)
        yield layer, deps


def sample_without_bytecode(st: Stack, fn: template.Function, dirs: tuple[Path, Path]) -> Sample:
    env = {**st.function_env(fn), "PYTHONDONTWRITEBYTECODE": "1"}
    env["PYTHONPATH"] = os.pathsep.join([str(dirs[0]), str(fn.code_uri), str(dirs[1])])
    s = _run(_FN_CODE, json.dumps(request(st, fn)), env)
    if not 200 <= s.status < 300:
        raise RuntimeError(f"{fn.name}: its cold request answered {s.status}, not 2xx")
    return s


def sample_pydantic_floor(st: Stack) -> Sample:
    return _run(_PYDANTIC_CODE, json.dumps(floor_key()), {**st.floor_env, "PYDANTIC_DISABLE_PLUGINS": "__all__"})


def api_functions() -> list[template.Function]:
    fns = (f for f in template.functions().values() if f.routes and (not ONLY or f.code_uri.name in ONLY))
    return sorted(fns, key=lambda f: f.name)


def run(context: dict[str, Any] | None = None) -> dict[str, Any]:
    fns = api_functions()
    wanted = {f.name: PAIRS if f.name == HEADLINE else PAIRS_OTHERS for f in fns}
    pairs: dict[str, list[tuple[Sample, Sample]]] = {f.name: [] for f in fns}
    rng = random.Random(16)
    reference: list[tuple[Sample, Sample]] = []
    uncompiled: list[tuple[Sample, Sample]] = []
    headline = next((f for f in fns if f.name == HEADLINE), None)
    with stack() as st, without_bytecode() as sources:
        sample_floor(st)
        for fn in fns:  # unmeasured: moto loads each service's backend on its first call; every request is 2xx
            sample_function(st, fn)
        for r in range(max(wanted.values())):
            for fn in rng.sample(fns, len(fns)):
                if r < wanted[fn.name]:
                    base = sample_floor(st)
                    pairs[fn.name].append((base, sample_function(st, fn)))
            if r < PAIRS_OTHERS:
                base = sample_floor(st)
                reference.append((base, sample_pydantic_floor(st)))
                if headline is not None:
                    base = sample_floor(st)
                    uncompiled.append((base, sample_without_bytecode(st, headline, sources)))
    return summarise(pairs, reference, uncompiled)


def _ms(values: list[float]) -> float:
    return round(statistics.median(values) * 1000, 1)


def summarise(
    pairs: dict[str, list[tuple[Sample, Sample]]],
    reference: list[tuple[Sample, Sample]] | None = None,
    uncompiled: list[tuple[Sample, Sample]] | None = None,
) -> dict[str, Any]:
    floors = [base for runs in pairs.values() for base, _ in runs]
    ratios = {name: statistics.median(s.wall / b.wall for b, s in runs) for name, runs in pairs.items()}
    cpu = {name: statistics.median(s.cpu / b.cpu for b, s in runs) for name, runs in pairs.items()}
    per_function = {
        name: {
            "pairs": len(runs),
            "ratio": round(ratios[name], 3),
            "cpu_ratio": round(cpu[name], 3),
            "wall_ms": _ms([s.wall for _, s in runs]),
            "cpu_ms": _ms([s.cpu for _, s in runs]),
            "import_ms": _ms([s.setup for _, s in runs]),
            "first_request_ms": _ms([s.request for _, s in runs]),
            "floor_wall_ms": _ms([b.wall for b, _ in runs]),
        }
        for name, runs in pairs.items()
    }
    floor = {
        "samples": len(floors),
        "wall_ms": _ms([b.wall for b in floors]),
        "cpu_ms": _ms([b.cpu for b in floors]),
        "import_and_client_ms": _ms([b.setup for b in floors]),
        "get_item_ms": _ms([b.request for b in floors]),
    }
    worst = max(ratios, key=ratios.__getitem__)
    worst_cpu = max(cpu, key=cpu.__getitem__)
    n = len(ratios)
    rows = [
        _row(f"floor: python + import boto3 + dynamodb client + GetItem ({floor['samples']} runs, {floor['cpu_ms']} ms "
             "CPU)", floor["wall_ms"], "ms"),
    ]  # fmt: skip
    if head := per_function.get(HEADLINE):
        metric = f"get_ticket: python + import app + first GET ({head['wall_ms']} ms, {head['pairs']} pairs)"
        rows.append(_row(metric, head["ratio"], "x floor", BUDGET))
        rows.append(
            _row("get_ticket, CPU time of the process alone (no moto server time)", head["cpu_ratio"], "x floor")
        )
    rows += [
        _row(f"median of {n} API functions' first requests", round(statistics.median(ratios.values()), 3), "x floor"),
        _row(f"worst: {worst} ({per_function[worst]['pairs']} pairs)", per_function[worst]["ratio"], "x floor", BUDGET),
        _row(f"CPU time alone: median of {n} / worst ({worst_cpu})",
             f"{statistics.median(cpu.values()):.3f} / {cpu[worst_cpu]:.3f}", "x floor"),
    ]  # fmt: skip
    pydantic = None
    if reference:
        pydantic = {
            "pairs": len(reference),
            "ratio": round(statistics.median(s.wall / b.wall for b, s in reference), 3),
            "cpu_ratio": round(statistics.median(s.cpu / b.cpu for b, s in reference), 3),
        }
        rows.append(_row(f"what stands in the way: {PYDANTIC_FLOOR} (import, one model; {len(reference)} pairs, CPU "
                         f"{pydantic['cpu_ratio']}x)", pydantic["ratio"], "x floor"))  # fmt: skip
    without = None
    if uncompiled:
        without = {
            "pairs": len(uncompiled),
            "ratio": round(statistics.median(s.wall / b.wall for b, s in uncompiled), 3),
            "wall_ms": _ms([s.wall for _, s in uncompiled]),
            "cpu_ratio": round(statistics.median(s.cpu / b.cpu for b, s in uncompiled), 3),
        }
        rows.append(_row(f"get_ticket, layers without bytecode (Lambda without make build's; {without['wall_ms']} ms, "
                         f"{len(uncompiled)} pairs)", without["ratio"], "x floor"))  # fmt: skip
    over = sorted((n for n, r in ratios.items() if r > BUDGET), key=ratios.__getitem__, reverse=True)
    rows.append(
        _row(f"API functions over {BUDGET}x (each function's figures: data.cold.functions)", len(over), f"of {n}")
    )
    return {
        "rows": rows,
        "data": {
            "pairs": {"headline": PAIRS, "others": PAIRS_OTHERS},
            "budget": BUDGET,
            "floor": floor,
            "pydantic_floor": pydantic,
            "get_ticket_without_bytecode": without,
            "functions": per_function,
            "worst": worst,
            "over_budget": over,
        },
    }


def _row(metric: str, value: float | str, unit: str, budget: float | str | None = None) -> dict[str, Any]:
    ok = None if budget is None else (float(value) <= float(budget))
    return {
        "section": "cold",
        "metric": metric,
        "value": value,
        "unit": unit,
        "budget": None if budget is None else f"<= {budget}",
        "ok": ok,
    }


if __name__ == "__main__":
    from bench.report import print_rows

    print_rows(run()["rows"])
