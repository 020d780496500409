"""Warm overhead ratio: the real handler against a floor handler making the same DynamoDB calls.

Both run in-process against the same moto table in the same run. The floor is what a hand-written
handler with no framework would do: the same botocore calls on the same client, the same item codec,
json.dumps of the result. Timings alternate real/floor per iteration; the ratio is of the medians of each call's
CPU time (this thread's: moto's work is in it on both sides; another process's is not, on a shared machine); the
wall-clock ratio is reported beside it.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

from bench._harness import TABLE, make_tenant, moto_env
from tools import template
from tools.events import FakeContext, http_event

ITERATIONS = int(os.environ.get("BENCH_WARM_ITERATIONS", "300"))
BUDGET = 1.10


class Timed:
    """`prepare()` is not timed (building an event is API Gateway's work); `call(prepared)` is."""

    def __init__(self, prepare: Callable[[], Any], call: Callable[[Any], dict[str, Any]]) -> None:
        self.prepare, self.call = prepare, call


def floor(fn: Callable[[], dict[str, Any]]) -> Timed:
    return Timed(lambda: None, lambda _: fn())


class Harness:
    """Real handlers with prebuilt events: only the handler call itself is timed."""

    def __init__(self) -> None:
        self.table = TABLE
        self._functions = template.functions()

    def __enter__(self) -> Harness:
        self._moto = moto_env()
        self._moto.__enter__()
        tenant = make_tenant("INV")
        self.tenant_id, self.key = tenant.tenant_id, tenant.key
        return self

    def __exit__(self, *exc: object) -> None:
        self._moto.__exit__(*exc)

    def request(self, method: str, path: str, **kwargs: Any) -> Timed:
        """The routed handler, with a builder for fresh events (built outside the timed call)."""
        for fn in self._functions.values():
            for route in fn.routes:
                params = route.match(method, path)
                if params is None:
                    continue
                template.apply_env(fn, {"Table": self.table})
                template.load_handler(fn)
                # The module's own handler: load_handler's wrapper also checks every AWS call against the function's
                # template policy (tools/iam.py), a test-time check that no Lambda runs and the floor does not pay.
                handler = sys.modules[fn.module_name].handler
                ctx = FakeContext(fn.name)
                headers = {"x-api-key": self.key}

                def make(
                    route: template.Route = route,
                    params: dict[str, str] = params,
                    kw: dict[str, Any] = kwargs,
                    headers: dict[str, str] = headers,
                ) -> dict[str, Any]:
                    return http_event(method, path, route_path=route.path, path_params=params, headers=headers, **kw)

                return Timed(make, lambda event, handler=handler, ctx=ctx: handler(event, ctx))
        raise LookupError(path)

    def invoke(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        timed = self.request(method, path, **kwargs)
        return timed.call(timed.prepare())

    def create_ticket(self, **body: Any) -> dict[str, Any]:
        result = self.invoke("POST", "/v1/tickets", body=body)
        assert result["statusCode"] == 201, result
        return json.loads(result["body"])


def _floor_get(h: Harness, ticket_id: str) -> Callable[[], dict[str, Any]]:
    from tickets.dal import keys
    from tickets.dal.client import ddb, deserialize, serialize, strip_keys

    key = serialize(keys.ticket(h.tenant_id, ticket_id))

    def handler() -> dict[str, Any]:
        item = ddb().get_item(TableName=h.table, Key=key, ConsistentRead=True)["Item"]
        return {"statusCode": 200, "body": json.dumps(strip_keys(deserialize(item)))}

    return handler


def _floor_list(h: Harness) -> Callable[[], dict[str, Any]]:
    from tickets.dal import keys
    from tickets.dal.client import ddb, deserialize, serialize, strip_keys

    counts_key = serialize(keys.ticket_counts(h.tenant_id))
    pk = keys.tenant_pk(h.tenant_id)

    def handler() -> dict[str, Any]:
        resp = ddb().query(
            TableName=h.table,
            KeyConditionExpression="PK = :pk AND SK BETWEEN :lo AND :hi",
            ExpressionAttributeValues={":pk": {"S": pk}, ":lo": {"S": "TICKET#"}, ":hi": {"S": "TICKET#~"}},
            ScanIndexForward=False,
            Limit=51,
        )
        counts = deserialize(ddb().get_item(TableName=h.table, Key=counts_key, ConsistentRead=True)["Item"])
        total = sum(v for k, v in counts.items() if k.count("#") == 1 and not k.startswith(("assigned", "grouped")))
        data = [strip_keys(deserialize(i)) for i in resp["Items"][:50]]
        return {"statusCode": 200, "body": json.dumps({"data": data, "total": total})}

    return handler


def _floor_create(h: Harness) -> Callable[[], dict[str, Any]]:
    """The real create's two calls with the same items: the sequence + quota UpdateItem
    (dal.tenants.allocate_ticket_number) and the transaction of the ticket with every field, its reference pointer
    and the counters (dal.tickets.create). An item with fewer attributes would cost moto less than the real one."""
    from tickets import ids
    from tickets.dal import tenants as tenants_dal
    from tickets.dal import tickets as tickets_dal
    from tickets.models.tickets import TicketCreate
    from tickets.timeutil import from_ms, iso, month_key

    # The body's fields as the real route has them once validated (built once: the floor validates nothing).
    data = TicketCreate(subject="Benchmark").model_dump(mode="json", exclude={"customerExternalId", "tagIds"})

    def handler() -> dict[str, Any]:
        new_id = ids.new_id()
        moment = from_ms(ids.timestamp_ms(new_id))
        at = iso(moment)
        tenant = tenants_dal.allocate_ticket_number(h.tenant_id, month_key(moment))
        number = int(tenant["seq"])
        ticket = {
            **data,
            "id": new_id,
            "number": number,
            "reference": f"{tenant['ticketPrefix']}-{number}",
            "customer": None,
            "assignee": None,
            "occurrences": 1,
            "createdAt": at,
            "updatedAt": at,
            "resolvedAt": None,
            "closedAt": None,
            "version": 1,
        }
        tickets_dal.create(h.tenant_id, ticket)
        return {"statusCode": 201, "body": json.dumps(ticket)}

    return handler


def _floor_patch(h: Harness, ticket_id: str) -> Callable[[], dict[str, Any]]:
    """The same UpdateItem the real PATCH makes (dal.tickets.update_fields, its actor the caller's key), with no
    framework around it."""
    from tickets.api import auth
    from tickets.dal.tickets import update_fields
    from tickets.timeutil import now_iso

    counter = iter(range(10**9))
    actor = auth.authenticate({"x-api-key": h.key}).actor  # who the real PATCH records as updatedBy

    def handler() -> dict[str, Any]:
        changes = {"description": f"floor {next(counter)}"}
        item = update_fields(
            h.tenant_id, ticket_id, changes, updated_at=now_iso(), versions=None, closed_status="closed", actor=actor
        )
        return {"statusCode": 200, "body": json.dumps(item)}

    return handler


def _time(timed: Timed) -> tuple[float, float]:
    """(CPU seconds of this thread, wall seconds) of one call: moto runs in this thread, so the CPU time is all of
    the call's work on both sides, and no other process's (this is a shared 2-core machine)."""
    prepared = timed.prepare()
    c, t = time.thread_time(), time.perf_counter()
    result = timed.call(prepared)
    elapsed = time.thread_time() - c, time.perf_counter() - t
    assert result["statusCode"] < 400, result
    return elapsed


def run(context: dict[str, Any] | None = None) -> dict[str, Any]:
    with Harness() as h:
        tickets = [h.create_ticket(subject=f"seed {i}", description="x" * 200) for i in range(60)]
        target = tickets[0]["id"]
        patch = h.request("PATCH", f"/v1/tickets/{target}", body={"description": "edit"})
        counter = iter(range(10**9))

        def patch_event() -> dict[str, Any]:
            event = patch.prepare()  # a new description each time, so every PATCH writes a new version
            event["body"] = json.dumps({"description": f"real {next(counter)}"})
            return event

        pairs = {
            "get": (h.request("GET", f"/v1/tickets/{target}"), floor(_floor_get(h, target))),
            "list": (h.request("GET", "/v1/tickets", query={"limit": "50"}), floor(_floor_list(h))),
            "create": (h.request("POST", "/v1/tickets", body={"subject": "Benchmark"}), floor(_floor_create(h))),
            "patch": (Timed(patch_event, patch.call), floor(_floor_patch(h, target))),
        }
        rows, data = [], {}
        for name, (real, base) in pairs.items():
            for _ in range(10):  # warm both paths (auth cache, imports, connection)
                _time(real), _time(base)
            real_t, floor_t = [], []
            for _ in range(ITERATIONS):
                real_t.append(_time(real))
                floor_t.append(_time(base))
            cpu = [statistics.median(t[0] for t in side) for side in (real_t, floor_t)]
            wall = [statistics.median(t[1] for t in side) for side in (real_t, floor_t)]
            ratio, wall_ratio = cpu[0] / cpu[1], wall[0] / wall[1]
            data[name] = {
                "ratio": ratio,
                "real_ms": cpu[0] * 1000,
                "floor_ms": cpu[1] * 1000,
                "wall_ratio": wall_ratio,
                "real_wall_ms": wall[0] * 1000,
                "floor_wall_ms": wall[1] * 1000,
            }
            rows.append(
                {
                    "section": "warm",
                    "metric": f"{name} ({cpu[0] * 1000:.2f} vs {cpu[1] * 1000:.2f} ms CPU, wall {wall_ratio:.2f}x)",
                    "value": round(ratio, 3),
                    "unit": "x floor",
                    "budget": f"<= {BUDGET}",
                    "ok": ratio <= BUDGET,
                }
            )
    return {"rows": rows, "data": {"iterations": ITERATIONS, **data}}


if __name__ == "__main__":
    from bench.report import print_rows

    print_rows(run()["rows"])
