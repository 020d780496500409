"""Cost model: dollars per million API requests for a stated mix, from measured calls and item sizes.

Every figure that is measured is measured here, in-process against moto with the real handlers
(DynamoDB operations per request with tools.ddbcalls, item sizes of a realistic ticket read back from the
table); every figure that is assumed is in ASSUMPTIONS and printed. Warm duration ratios and call counts
from earlier sections are used when `context` carries them (context["warm"], context["calls"]); standalone,
the ratio is 1.0 and the calls are this module's own measurement.

    python -m bench.cost
"""

from __future__ import annotations

import math
from typing import Any

from bench._harness import TenantKey, call, make_tenant, moto_env, seed_tickets
from tools import template
from tools.ddbcalls import count_calls

GOAL = 1.55  # $ per million requests

PRICES = {
    "api_gateway_http_per_million": 1.00,
    "lambda_requests_per_million": 0.20,
    "lambda_arm64_per_gb_second": 0.0000133334,
    "dynamodb_on_demand_per_million_wru": 0.625,
    "dynamodb_on_demand_per_million_rru": 0.125,
}

# Request mix (fractions of all requests).
MIX = {"get": 0.60, "create": 0.15, "patch": 0.10, "list": 0.10, "intake": 0.05}

DDB_LATENCY_MS = 5.0  # in-region DynamoDB round trip per call, as Lambda waits for it
FLOOR_COMPUTE_MS = 1.0  # a hand-written handler's own work per request (event, codec, json)

ASSUMPTIONS: dict[str, Any] = {
    "mix": "60% reads = GET /v1/tickets/{id}; 25% writes = 15% POST /v1/tickets + 10% plain PATCH (category); "
    "10% lists = GET /v1/tickets?limit=50 (one page, counter total); 5% intake",
    "intake": "modelled as a create plus one consistent GetItem (customer lookup by externalId, the CUSTOMEREXT "
    "pointer) until api-create exists; the ticket is not linked to the customer (linking would add a "
    "BatchGetItem and a customer counter update in the transaction, plus a GSI2 write)",
    "ddb_latency_ms_per_call": DDB_LATENCY_MS,
    "floor_compute_ms": FLOOR_COMPUTE_MS,
    "duration": "billed ms per request = ceil(ratio x (DynamoDB calls x 5 ms + 1 ms floor compute)); ratio is the "
    "warm section's real/floor handler ratio for that request kind (create's for intake), 1.0 when absent",
    "memory": "MemorySize from template.yaml Globals",
    "auth": "warm containers: the API key GetItem is cached 60 s per container, so it is not counted "
    "(a miss costs 0.5 RRU once per container per minute)",
    "item_size": "DynamoDB item size rules: attribute names + values; S/B = bytes, N ~ 1 byte per 2 significant "
    "digits + 1, BOOL/NULL = 1, L/M = 3 bytes + 1 byte per element + elements (map keys included)",
    "reads": "strongly consistent = 1 RRU per 4 KB, eventually consistent = 0.5 per 4 KB; a Query rounds the "
    "sum of the sizes of the items it reads up to 4 KB",
    "writes": "1 WRU per 1 KB of the larger of old/new item; TransactWriteItems items cost 2x (ConditionCheck too); "
    "each GSI whose keys the item carries costs 1 WRU per KB of the projected item (ALL), an index key change "
    "costs a delete plus a put, and a changed non-key attribute rewrites the index entry; GSI writes are not "
    "doubled by the transaction",
    "not_counted": "storage, PITR, streams (free to Lambda triggers), CloudWatch logs/metrics/X-Ray, data transfer",
}

_KINDS = ("get", "create", "patch", "list", "intake")


def av_size(av: dict[str, Any]) -> int:
    """Size of one AttributeValue, per the DynamoDB item size rules."""
    ((kind, v),) = av.items()
    if kind == "S":
        return len(v.encode())
    if kind == "N":
        digits = v.lstrip("-").replace(".", "").split("e")[0].split("E")[0].strip("0") or "0"
        return math.ceil(len(digits) / 2) + 1
    if kind == "B":
        return len(v)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "L":
        return 3 + sum(1 + av_size(x) for x in v)
    if kind == "M":
        return 3 + sum(1 + len(k.encode()) + av_size(x) for k, x in v.items())
    if kind == "SS":
        return sum(len(x.encode()) for x in v)
    if kind == "NS":
        return sum(av_size({"N": x}) for x in v)
    if kind == "BS":
        return sum(len(x) for x in v)
    raise ValueError(kind)


def item_size(item: dict[str, Any]) -> int:
    return sum(len(name.encode()) + av_size(v) for name, v in item.items())


def wru(size: int) -> int:
    return max(1, math.ceil(size / 1024))


def rru(size: int, *, consistent: bool) -> float:
    units = max(1, math.ceil(size / 4096))
    return float(units) if consistent else units / 2


def _raw(client: Any, key: dict[str, str]) -> dict[str, Any]:
    from bench._harness import TABLE

    resp = client.get_item(TableName=TABLE, Key={k: {"S": v} for k, v in key.items()}, ConsistentRead=True)
    return resp.get("Item") or {}


TICKET_BODY = {
    "subject": "Payment failed on invoice #104217",
    "description": (
        "Customer reports that the card payment for the monthly invoice failed twice with error 402 "
        "although the card is valid and has funds. They tried again from the billing page and from the "
        "mobile app; both attempts show 'payment declined'. Please check the gateway logs and retry."
    ),
    "priority": "high",
    "category": "billing",
    "channel": "email",
    "requester": {"name": "Ann Lee", "email": "ann.lee@example.com"},
    "tags": ["billing", "card"],
    "customFields": {"plan": "pro", "seats": 12},
    "metadata": {"source": "email", "mailbox": "support@example.com"},
}


def _ops(method: str, path: str, tenant: TenantKey, **kwargs: Any) -> tuple[Any, list[str], int]:
    with count_calls() as calls:
        r = call(method, path, key=tenant.key, **kwargs)
    assert r.status < 400, r.body
    return r, list(calls.operations), calls.items_read


def measure() -> dict[str, Any]:
    """Operations per request kind and the sizes of the items they touch, against moto."""
    from tickets.dal import keys

    with moto_env() as client:
        tenant = make_tenant("INV")
        seed_tickets(tenant, 100)  # a list page has 50 realistic tickets to read
        call("GET", "/v1/tickets", key=tenant.key, query={"limit": "1"})  # warm auth cache
        tenant_before = item_size(_raw(client, keys.tenant(tenant.tenant_id)))
        r, create_ops, _ = _ops("POST", "/v1/tickets", tenant, body=TICKET_BODY)
        ticket = r.json
        raw_ticket = _raw(client, keys.ticket(tenant.tenant_id, ticket["id"]))
        sizes = {
            "ticket": item_size(raw_ticket),
            "ticketref": item_size(_raw(client, keys.ticket_ref(tenant.tenant_id, ticket["number"]))),
            "counts": item_size(_raw(client, keys.ticket_counts(tenant.tenant_id))),  # what a create moves
            "tenant_before": tenant_before,
            "tenant": item_size(_raw(client, keys.tenant(tenant.tenant_id))),
        }
        index_keys = sorted(k for k in raw_ticket if k.startswith("GSI") and k.endswith("PK"))
        _, get_ops, _ = _ops("GET", f"/v1/tickets/{ticket['id']}", tenant)
        _, patch_ops, _ = _ops("PATCH", f"/v1/tickets/{ticket['id']}", tenant, body={"category": "payments"})
        sizes["ticket_after_patch"] = item_size(_raw(client, keys.ticket(tenant.tenant_id, ticket["id"])))
        r, list_ops, list_items = _ops("GET", "/v1/tickets", tenant, query={"limit": "50"})
        assert len(r.json["data"]) == 50
        sizes["list_rows"] = sum(
            item_size(_raw(client, keys.ticket(tenant.tenant_id, t["id"]))) for t in r.json["data"][:list_items]
        )
        # the Query read limit + 1 items; the 51st is sized like the others
        sizes["list_read"] = round(sizes["list_rows"] * list_items / max(1, len(r.json["data"])))
        c = call("POST", "/v1/customers", key=tenant.key, body={"externalId": "cus_1042", "name": "Ann Lee"})
        assert c.status == 201, c.body
        sizes["customer_pointer"] = item_size(_raw(client, keys.customer_external(tenant.tenant_id, "cus_1042")))
    return {
        "operations": {
            "get": get_ops,
            "create": create_ops,
            "patch": patch_ops,
            "list": list_ops,
            "intake": ["GetItem", *create_ops],
        },
        "list_items_read": list_items,
        "ticket_indexes": [k.removesuffix("PK") for k in index_keys],
        "sizes": sizes,
    }


def capacity(m: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Read and write units per request kind, with the arithmetic spelled out."""
    s = m["sizes"]
    n_idx = len(m["ticket_indexes"])
    t, t2 = s["ticket"], s["ticket_after_patch"]
    txn = 2 * (wru(t) + wru(s["ticketref"]) + wru(s["counts"]))
    create_w = wru(max(s["tenant_before"], s["tenant"])) + txn + n_idx * wru(t)
    # plain PATCH: base UpdateItem + GSI4 key change (delete + put) + the other indexes' entries rewritten
    patch_w = wru(max(t, t2)) + (wru(t) + wru(t2)) + (n_idx - 1) * wru(t2)
    list_r = rru(s["list_read"], consistent=False) + rru(s["counts"], consistent=True)
    out = {
        "get": {"rru": rru(t, consistent=True), "wru": 0, "how": f"GetItem consistent of a {t} B ticket"},
        "create": {
            "rru": 0.0,
            "wru": create_w,
            "how": f"UpdateItem TENANT {wru(s['tenant'])} + transaction 2x(ticket {wru(t)} + ref "
            f"{wru(s['ticketref'])} + counts {wru(s['counts'])}) + {n_idx} GSI puts x {wru(t)}",
        },
        "patch": {
            "rru": 0.0,
            "wru": patch_w,
            "how": f"UpdateItem {wru(max(t, t2))} + GSI4 key change delete {wru(t)} + put {wru(t2)} + "
            f"{n_idx - 1} other GSI entry rewrite(s) x {wru(t2)}",
        },
        "list": {
            "rru": list_r,
            "wru": 0,
            "how": f"Query eventually consistent of {m['list_items_read']} items ({s['list_read']} B) + "
            "GetItem COUNTS consistent",
        },
    }
    intake_r = rru(s["customer_pointer"], consistent=True)
    out["intake"] = {
        "rru": intake_r,
        "wru": create_w,
        "how": f"create + GetItem consistent of the {s['customer_pointer']} B customer pointer",
    }
    return out


def _ratio(warm: dict[str, Any] | None, kind: str) -> float:
    if not warm:
        return 1.0
    v = warm.get("create" if kind == "intake" else kind)
    if isinstance(v, dict):
        v = v.get("ratio")
    return float(v) if isinstance(v, int | float) else 1.0


def _context_calls(calls: Any, kind: str) -> int | None:
    """A call count for `kind` from an earlier section, if it gave one (an int, or a list of operations)."""
    if not isinstance(calls, dict) or kind == "intake":
        return None
    # bench/calls.py names its requests "patch (plain fields)" and "list page + total"
    aliases = {"patch": ("patch", "patch (plain fields)"), "list": ("list", "list page + total")}
    v = next((calls[k] for k in aliases.get(kind, (kind,)) if k in calls), None)
    if isinstance(v, dict):
        v = v.get("operations", v.get("calls"))
    if isinstance(v, list | tuple):
        return len(v)
    return v if isinstance(v, int) else None


def model(m: dict[str, Any], context: dict[str, Any]) -> dict[str, Any]:
    memory_mb = int((template.load().get("Globals") or {}).get("Function", {}).get("MemorySize", 128))
    gb = memory_mb / 1024
    latency, floor = DDB_LATENCY_MS, FLOOR_COMPUTE_MS
    cap = capacity(m)
    warm, ctx_calls = context.get("warm"), context.get("calls")
    per_kind: dict[str, dict[str, Any]] = {}
    for kind in _KINDS:
        n_calls = _context_calls(ctx_calls, kind)
        source = "context" if n_calls is not None else "measured"
        if n_calls is None:
            n_calls = len(m["operations"][kind])
        ratio = _ratio(warm, kind)
        ms = math.ceil(ratio * (n_calls * latency + floor))
        per_kind[kind] = {
            "operations": m["operations"][kind],
            "calls": n_calls,
            "calls_source": source,
            "ratio": ratio,
            "billed_ms": ms,
            **cap[kind],
            "usd_per_million": {
                "lambda_duration": gb * ms / 1000 * PRICES["lambda_arm64_per_gb_second"] * 1e6,
                "dynamodb_reads": cap[kind]["rru"] * PRICES["dynamodb_on_demand_per_million_rru"],
                "dynamodb_writes": cap[kind]["wru"] * PRICES["dynamodb_on_demand_per_million_wru"],
            },
        }
    breakdown = {
        "api_gateway": PRICES["api_gateway_http_per_million"],
        "lambda_requests": PRICES["lambda_requests_per_million"],
        **{
            term: sum(MIX[k] * per_kind[k]["usd_per_million"][term] for k in _KINDS)
            for term in ("lambda_duration", "dynamodb_reads", "dynamodb_writes")
        },
    }
    total = sum(breakdown.values())
    return {"memory_mb": memory_mb, "per_kind": per_kind, "breakdown": breakdown, "total": total}


def run(context: dict[str, Any] | None = None) -> dict[str, Any]:
    context = context or {}
    m = measure()
    result = model(m, context)
    total, breakdown, per_kind = result["total"], result["breakdown"], result["per_kind"]
    rows: list[dict[str, Any]] = [
        {
            "section": "cost",
            "metric": f"{k}: {' '.join(v['operations'])} = {v['rru']:g} RRU + {v['wru']:g} WRU, {v['billed_ms']} ms",
            "value": round(sum(v["usd_per_million"].values()), 4),
            "unit": "$/M of this kind (excl. API GW, Lambda requests)",
            "budget": None,
            "ok": None,
        }
        for k, v in per_kind.items()
    ]
    for term, usd in breakdown.items():
        rows.append(
            {
                "section": "cost",
                "metric": f"mix: {term}",
                "value": round(usd, 4),
                "unit": "$/M",
                "budget": None,
                "ok": None,
            }
        )
    missed = total - GOAL
    dominant = max(("lambda_duration", "dynamodb_reads", "dynamodb_writes"), key=lambda k: breakdown[k])
    rows.append(
        {
            "section": "cost",
            "metric": "total per million requests"
            + ("" if missed <= 0 else f" (over by ${missed:.2f}; largest variable term: {dominant})"),
            "value": round(total, 4),
            "unit": "$/M",
            "budget": f"<= {GOAL}",
            "ok": total <= GOAL,
        }
    )
    data = {
        "prices": PRICES,
        "mix": MIX,
        "assumptions": ASSUMPTIONS,
        "warm_from_context": bool(context.get("warm")),
        "calls_from_context": bool(context.get("calls")),
        "measured": m,
        **result,
        "goal": GOAL,
        "over_goal_by": max(0.0, missed),
        "dominant_variable_term": dominant,
    }
    return {"rows": rows, "data": data}


if __name__ == "__main__":
    import json

    from bench.report import print_rows

    out = run()
    print_rows(out["rows"])
    print("\nassumptions:")
    for k, v in ASSUMPTIONS.items():
        print(f"  {k}: {v}")
    print("\nsizes (bytes):", json.dumps(out["data"]["measured"]["sizes"]))
    print("capacity:", json.dumps({k: v["how"] for k, v in out["data"]["per_kind"].items()}, indent=1))
