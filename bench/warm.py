"""Warm overhead ratio: the real handler against a floor handler making the same DynamoDB calls.

Both run in-process against the same moto table in the same run. The floor is what a hand-written
handler with no framework would do: the same botocore calls on the same client, the same item codec,
json.dumps of the result. Timings alternate real/floor per iteration; the ratio is of the medians.
"""

from __future__ import annotations

import json
import os
import statistics
import time
from collections.abc import Callable
from typing import Any

from bench._harness import TABLE, make_tenant, moto_env
from tools import template
from tools.events import FakeContext, http_event

ITERATIONS = int(os.environ.get("BENCH_WARM_ITERATIONS", "300"))
BUDGET = 1.20


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
                handler = template.load_handler(fn)
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
    from tickets import ids
    from tickets.dal import keys
    from tickets.dal.client import ddb, serialize, value
    from tickets.timeutil import now_iso

    def handler() -> dict[str, Any]:
        # The same UpdateItem as tickets.dal.tenants.allocate_ticket_number: sequence and quota in one
        # conditional write (moto's cost of evaluating it is part of both sides, not of the framework).
        tenant = ddb().update_item(
            TableName=h.table,
            Key=serialize(keys.tenant(h.tenant_id)),
            UpdateExpression="SET seq = seq + :one, #used = if_not_exists(#used, :zero) + :one",
            ConditionExpression=(
                "attribute_exists(PK) AND (attribute_not_exists(monthlyTicketQuota) OR "
                "(monthlyTicketQuota > :zero AND (attribute_not_exists(#used) OR #used < monthlyTicketQuota)))"
            ),
            ExpressionAttributeNames={"#used": keys.month_usage_attr(now_iso()[:7])},
            ExpressionAttributeValues={":one": value(1), ":zero": value(0)},
            ReturnValues="ALL_NEW",
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )["Attributes"]
        number = int(tenant["seq"]["N"])
        at = now_iso()
        ticket = {
            "id": ids.new_id(),
            "number": number,
            "reference": f"INV-{number}",
            "subject": "Benchmark",
            "status": "new",
            "priority": "medium",
            "channel": "api",
            "occurrences": 1,
            "createdAt": at,
            "updatedAt": at,
            "version": 1,
            "tags": [],
            "customFields": {},
            "metadata": {},
        }
        item = {**keys.ticket(h.tenant_id, ticket["id"]), **keys.ticket_index_keys(h.tenant_id, ticket), **ticket}
        ddb().transact_write_items(
            TransactItems=[
                {
                    "Put": {
                        "TableName": h.table,
                        "Item": serialize(item),
                        "ConditionExpression": "attribute_not_exists(PK)",
                    }
                },
                {
                    "Put": {
                        "TableName": h.table,
                        "Item": serialize({**keys.ticket_ref(h.tenant_id, number), "ticketId": ticket["id"]}),
                    }
                },
                {
                    "Update": {
                        "TableName": h.table,
                        "Key": serialize(keys.ticket_counts(h.tenant_id)),
                        "UpdateExpression": "ADD #s :one",
                        "ExpressionAttributeNames": {"#s": keys.status_priority_attr("new", "medium")},
                        "ExpressionAttributeValues": {":one": value(1)},
                    }
                },
            ]
        )
        return {"statusCode": 201, "body": json.dumps(ticket)}

    return handler


def _floor_patch(h: Harness, ticket_id: str) -> Callable[[], dict[str, Any]]:
    """The same UpdateItem the real PATCH makes (dal.tickets.update_fields), with no framework around it."""
    from tickets.dal.tickets import update_fields
    from tickets.timeutil import now_iso

    counter = iter(range(10**9))

    def handler() -> dict[str, Any]:
        changes = {"description": f"floor {next(counter)}"}
        item = update_fields(
            h.tenant_id, ticket_id, changes, updated_at=now_iso(), versions=None, closed_status="closed"
        )
        return {"statusCode": 200, "body": json.dumps(item)}

    return handler


def _time(timed: Timed) -> float:
    prepared = timed.prepare()
    t = time.perf_counter()
    result = timed.call(prepared)
    elapsed = time.perf_counter() - t
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
            ratio = statistics.median(real_t) / statistics.median(floor_t)
            data[name] = {
                "ratio": ratio,
                "real_ms": statistics.median(real_t) * 1000,
                "floor_ms": statistics.median(floor_t) * 1000,
            }
            rows.append(
                {
                    "section": "warm",
                    "metric": f"{name} ({statistics.median(real_t) * 1000:.2f} ms vs "
                    f"{statistics.median(floor_t) * 1000:.2f} ms)",
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
