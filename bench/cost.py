"""Cost model: dollars per million API requests for a stated mix, from measured calls and measured capacity units.

Every figure that is measured is measured here, in-process against moto with the real handlers: the DynamoDB
calls per request (tools.ddbcalls), and the read and write units they would be billed, worked out by
bench/capacity.py from the items each call really read and wrote and from the table's indexes in template.yaml.
Two tickets are measured, a small one and a realistic one (a 2 KB description, tags, custom fields): the size of
an item decides its units, 1 WRU per KB of every copy. Every figure that is assumed is in ASSUMPTIONS and printed.
Warm duration ratios and call counts from earlier sections are used when `context` carries them
(context["warm"], context["calls"]); standalone, the ratio is 1.0 and the calls are this module's own.

    python -m bench.cost
"""

from __future__ import annotations

import math
from typing import Any

from bench._harness import TABLE, TenantKey, add_counters, call, make_tenant, moto_env
from bench.capacity import indexes, item_size, meter, wru
from tools import template
from tools.ddbcalls import count_calls

GOAL = 2.00  # $ per million requests, with list totals kept exact (issue 16)

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
LIST_SEED = 60  # tickets made through the real create before measuring (a page of 50 reads 51)
INTAKE_AGENTS = 3  # available N1 agents: intake assigns the ticket to one of them (the N1 rule)

ASSUMPTIONS: dict[str, Any] = {
    "mix": "60% reads = GET /v1/tickets/{id}; 25% writes = 15% POST /v1/tickets + 10% plain PATCH (category); "
    "10% lists = GET /v1/tickets?limit=50 (one page, counter total); 5% intake = POST /v1/tickets/api-create",
    "tickets": "each ticket size is measured on its own: every request kind is made with tickets of that body "
    "(the list page reads 51 of them, made through POST /v1/tickets)",
    "intake": f"POST /v1/tickets/api-create measured through its own function: a known customerExternalId, no "
    f"dedupeKey, {INTAKE_AGENTS} available N1 agents (so the N1 rule assigns it); the intake body carries what "
    "api-create accepts of the ticket (no requester or custom fields)",
    "counters": "a mature tenant: COUNTS#TICKETS holds every status x priority, assigned# and grouped# counter "
    "(49 attributes, 4-6 digit counts), so its size is what a tenant in use has, not a fresh tenant's",
    "ddb_latency_ms_per_call": DDB_LATENCY_MS,
    "floor_compute_ms": FLOOR_COMPUTE_MS,
    "duration": "billed ms per request = ceil(ratio x (DynamoDB calls x 5 ms + 1 ms floor compute)); ratio is the "
    "warm section's real/floor handler ratio for that request kind (create's for intake), 1.0 when absent",
    "memory": "MemorySize from template.yaml Globals",
    "auth": "warm containers: the API key GetItem is cached 60 s per container, so it is not counted "
    "(a miss costs 0.5 RRU once per container per minute)",
    "units": "bench/capacity.py: every item each call read or wrote, sized by DynamoDB's item size rules, billed "
    "by the on-demand rules (1 WRU per KB of the larger of old and new item, 2x in a transaction, ConditionCheck "
    "included; every index entry put, deleted, moved or rewritten at 1 WRU per KB of its projection, not "
    "doubled; reads 1 RRU per 4 KB consistent, 0.5 eventually, a Query on the sum of what it read)",
    "not_counted": "storage, PITR, streams (free to Lambda triggers), CloudWatch logs/metrics/X-Ray, data transfer",
}

_KINDS = ("get", "create", "patch", "list", "intake")

# The projection lever the call budget rules out, billed on the same writes for comparison: the indexes that serve
# lists (GSI1-4, DUE) KEYS_ONLY. A list page would then need a BatchGetItem of its tickets (3 calls, not 2; each
# ticket rounded up to 4 KB on its own), so it is reported, not applied.
LISTS_KEYS_ONLY = {name: ("KEYS_ONLY", ()) for name in ("GSI1", "GSI2", "GSI3", "GSI4", "DUE")}

SMALL_TICKET: dict[str, Any] = {
    "subject": "Cannot log in",
    "description": "The password reset mail never arrives.",
    "priority": "high",
}

_REALISTIC_DESCRIPTION = " ".join(
    [
        "Customer reports that the card payment for the monthly invoice failed twice with error 402 although the "
        "card is valid and has funds. They tried again from the billing page and from the mobile app; both "
        "attempts show 'payment declined'. Please check the gateway logs and retry.",
        "Steps taken so far: the card was verified with the bank, the billing address matches, 3-D Secure was "
        "completed on the second attempt. The invoice is #104217 for the Pro plan, 12 seats, billed monthly.",
        "The customer attached screenshots of both errors and asks that the service is not suspended while this "
        "is investigated; their renewal date is in three days and they need an answer before then.",
    ]
    * 3
)[:2048]

REALISTIC_TICKET: dict[str, Any] = {
    "subject": "Payment failed on invoice #104217",
    "description": _REALISTIC_DESCRIPTION,  # 2 KB
    "priority": "high",
    "category": "billing",
    "channel": "email",
    "requester": {"name": "Ann Lee", "email": "ann.lee@example.com"},
    "tags": ["billing", "card", "renewal"],
    "customFields": {"plan": "pro", "seats": 12, "region": "eu-west", "renewal": "2026-12-03"},
    "metadata": {"source": "email", "mailbox": "support@example.com"},
}

TICKETS = {"small": SMALL_TICKET, "realistic": REALISTIC_TICKET}

_INTAKE_FIELDS = ("subject", "description", "priority", "category", "tags", "metadata")


def _raw(client: Any, key: dict[str, str]) -> dict[str, Any]:
    resp = client.get_item(TableName=TABLE, Key={k: {"S": v} for k, v in key.items()}, ConsistentRead=True)
    return resp.get("Item") or {}


def _mature_counters(tenant_id: str) -> None:
    """Give the tenant's COUNTS#TICKETS every counter a tenant in use has (what a create's ADD rewrites)."""
    from tickets.dal import keys
    from tickets.models.tickets import Priority, Status

    cells = {
        keys.status_priority_attr(s, p): 1000 + 37 * i
        for i, (s, p) in enumerate((s, p) for s in Status for p in Priority)
    }
    cells |= {keys.assigned_attr(s): 20000 + i for i, s in enumerate(Status)}
    cells |= {keys.grouped_attr(s): 10000 + i for i, s in enumerate(Status)}
    add_counters(tenant_id, {keys.TICKET_COUNTS: cells})


def _measured(client: Any, method: str, path: str, tenant: TenantKey, **kwargs: Any) -> tuple[Any, dict[str, Any]]:
    with count_calls() as calls, meter(client, TABLE) as m:
        r = call(method, path, key=tenant.key, **kwargs)
    assert r.status < 400, r.body
    return r, {
        "operations": list(calls.operations),
        "rru": m.rru,
        "wru": m.wru,
        "units": m.lines,
        "wru_if_list_indexes_keys_only": m.wru_with(indexes(LISTS_KEYS_ONLY)),
    }


def measure(body: dict[str, Any]) -> dict[str, Any]:
    """Calls, read and write units per request kind for tickets of `body`, and the sizes of the items, against moto."""
    from tickets.dal import keys

    with moto_env() as client:
        tenant = make_tenant("INV")
        _mature_counters(tenant.tenant_id)
        for i in range(LIST_SEED):
            made = call("POST", "/v1/tickets", key=tenant.key, body={**body, "subject": f"{body['subject']} {i}"})
            assert made.status == 201, made.body
        for i in range(INTAKE_AGENTS):
            agent = {"name": f"Agent {i}", "email": f"agent{i}@example.com", "level": "N1", "available": True}
            assert call("POST", "/v1/agents", key=tenant.key, body=agent).status == 201
        customer = {"externalId": "cus_1042", "name": "Ann Lee", "email": "ann.lee@example.com"}
        assert call("POST", "/v1/customers", key=tenant.key, body=customer).status == 201
        call("GET", "/v1/tickets", key=tenant.key, query={"limit": "1"})  # warm the auth cache

        out: dict[str, Any] = {}
        r, out["create"] = _measured(client, "POST", "/v1/tickets", tenant, body=body)
        ticket = r.json
        _, out["get"] = _measured(client, "GET", f"/v1/tickets/{ticket['id']}", tenant)
        _, out["patch"] = _measured(
            client, "PATCH", f"/v1/tickets/{ticket['id']}", tenant, body={"category": "payments"}
        )
        r, out["list"] = _measured(client, "GET", "/v1/tickets", tenant, query={"limit": "50"})
        assert len(r.json["data"]) == 50
        intake = {k: body[k] for k in _INTAKE_FIELDS if k in body} | {"customerExternalId": "cus_1042"}
        r, out["intake"] = _measured(client, "POST", "/v1/tickets/api-create", tenant, body=intake)
        assert r.json["assigneeId"], "the N1 rule assigns the intake ticket"
        sizes = {
            "ticket": item_size(_raw(client, keys.ticket(tenant.tenant_id, ticket["id"]))),
            "intake_ticket": item_size(_raw(client, keys.ticket(tenant.tenant_id, r.json["id"]))),
            "ticketref": item_size(_raw(client, keys.ticket_ref(tenant.tenant_id, ticket["number"]))),
            "ticket_counts": item_size(_raw(client, keys.ticket_counts(tenant.tenant_id))),
            "tenant": item_size(_raw(client, keys.tenant(tenant.tenant_id))),
        }
    return {"kinds": out, "sizes": sizes}


def floor(m: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The write units no design keeping exact totals can go below, from the measured item sizes.

    A create must take a number (one UpdateItem of the tenant: the number is in the ticket, so it comes before the
    ticket's write) and write the ticket and its counter item in one transaction (exact totals: each costs twice);
    a plain patch must write the ticket. That is without any index, reference pointer or customer link: every
    index the lists need adds to it.
    """
    s = m["sizes"]
    t, c, tenant = wru(s["ticket"]), wru(s["ticket_counts"]), wru(s["tenant"])
    create = tenant + 2 * t + 2 * c
    intake = tenant + 2 * wru(s["intake_ticket"]) + 2 * c
    return {
        "create": {"wru": create, "how": f"number {tenant} + transaction 2x(ticket {t} + counters {c})"},
        "intake": {"wru": intake, "how": "as create, with the intake ticket"},
        "patch": {"wru": t, "how": f"the ticket {t}"},
    }


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


def _usd(rru_: float, wru_: float, ms: int, gb: float) -> dict[str, float]:
    return {
        "lambda_duration": gb * ms / 1000 * PRICES["lambda_arm64_per_gb_second"] * 1e6,
        "dynamodb_reads": rru_ * PRICES["dynamodb_on_demand_per_million_rru"],
        "dynamodb_writes": wru_ * PRICES["dynamodb_on_demand_per_million_wru"],
    }


def _breakdown(per_kind: dict[str, dict[str, Any]], key: str = "usd_per_million") -> dict[str, float]:
    return {
        "api_gateway": PRICES["api_gateway_http_per_million"],
        "lambda_requests": PRICES["lambda_requests_per_million"],
        **{
            term: sum(MIX[k] * per_kind[k][key][term] for k in _KINDS)
            for term in ("lambda_duration", "dynamodb_reads", "dynamodb_writes")
        },
    }


def model(m: dict[str, Any], context: dict[str, Any]) -> dict[str, Any]:
    memory_mb = int((template.load().get("Globals") or {}).get("Function", {}).get("MemorySize", 128))
    gb = memory_mb / 1024
    warm, ctx_calls = context.get("warm"), context.get("calls")
    lowest = floor(m)
    per_kind: dict[str, dict[str, Any]] = {}
    for kind in _KINDS:
        measured = m["kinds"][kind]
        n_calls = _context_calls(ctx_calls, kind)
        source = "context" if n_calls is not None else "measured"
        if n_calls is None:
            n_calls = len(measured["operations"])
        ratio = _ratio(warm, kind)
        ms = math.ceil(ratio * (n_calls * DDB_LATENCY_MS + FLOOR_COMPUTE_MS))
        floor_wru = lowest[kind]["wru"] if kind in lowest else measured["wru"]
        per_kind[kind] = {
            **measured,
            "calls": n_calls,
            "calls_source": source,
            "ratio": ratio,
            "billed_ms": ms,
            "floor_wru": floor_wru,
            "usd_per_million": _usd(measured["rru"], measured["wru"], ms, gb),
            "floor_usd_per_million": _usd(measured["rru"], floor_wru, ms, gb),
            "keys_only_usd_per_million": _usd(measured["rru"], measured["wru_if_list_indexes_keys_only"], ms, gb),
        }
    breakdown = _breakdown(per_kind)
    floor_breakdown = _breakdown(per_kind, "floor_usd_per_million")
    keys_only = _breakdown(per_kind, "keys_only_usd_per_million")
    return {
        "memory_mb": memory_mb,
        "per_kind": per_kind,
        "breakdown": breakdown,
        "total": sum(breakdown.values()),
        "floor": {"per_kind": lowest, "breakdown": floor_breakdown, "total": sum(floor_breakdown.values())},
        "if_list_indexes_keys_only": {"breakdown": keys_only, "total": sum(keys_only.values())},
    }


def _row(metric: str, value: float, unit: str, budget: str | None = None, ok: bool | None = None) -> dict[str, Any]:
    return {"section": "cost", "metric": metric, "value": round(value, 4), "unit": unit, "budget": budget, "ok": ok}


def _rows(name: str, result: dict[str, Any]) -> list[dict[str, Any]]:
    per_kind, breakdown, total = result["per_kind"], result["breakdown"], result["total"]
    rows = [
        _row(
            f"{name} ticket, {k}: {' '.join(v['operations'])} = {v['rru']:g} RRU + {v['wru']:g} WRU, "
            f"{v['billed_ms']} ms",
            sum(v["usd_per_million"].values()),
            "$/M of this kind (excl. API GW, Lambda requests)",
        )
        for k, v in per_kind.items()
    ]
    rows += [_row(f"{name} ticket, mix: {term}", usd, "$/M") for term, usd in breakdown.items()]
    lowest = result["floor"]
    rows.append(
        _row(
            f"{name} ticket, floor with exact totals and no index at all (create {lowest['per_kind']['create']['wru']}"
            f" WRU, plain patch {lowest['per_kind']['patch']['wru']}, intake {lowest['per_kind']['intake']['wru']};"
            " reads, API Gateway and Lambda as measured)",
            lowest["total"],
            "$/M",
        )
    )
    w = {k: v["wru_if_list_indexes_keys_only"] for k, v in per_kind.items()}
    rows.append(
        _row(
            f"{name} ticket, not done: GSI1-4 and DUE KEYS_ONLY (create {w['create']} WRU, plain patch {w['patch']}, "
            f"intake {w['intake']}): a list page on them would need a BatchGetItem of its tickets, 3 calls where the "
            "budget is 2 (the mix's unfiltered list reads the table, so its reads would not change)",
            result["if_list_indexes_keys_only"]["total"],
            "$/M",
        )
    )
    missed = total - GOAL
    dominant = max(("lambda_duration", "dynamodb_reads", "dynamodb_writes"), key=lambda k: breakdown[k])
    why = ""
    if missed > 0:
        why = f" (over by ${missed:.2f}; largest variable term: {dominant}"
        if lowest["total"] > GOAL:
            why += f"; below ${lowest['total']:.2f} no design with exact totals can go: see the floor row"
        why += ")"
    rows.append(_row(f"{name} ticket, total per million requests{why}", total, "$/M", f"<= {GOAL}", total <= GOAL))
    return rows


def run(context: dict[str, Any] | None = None) -> dict[str, Any]:
    context = context or {}
    rows: list[dict[str, Any]] = []
    data: dict[str, Any] = {"prices": PRICES, "mix": MIX, "assumptions": ASSUMPTIONS, "goal": GOAL, "tickets": {}}
    data |= {"warm_from_context": bool(context.get("warm")), "calls_from_context": bool(context.get("calls"))}
    for name, body in TICKETS.items():
        m = measure(body)
        result = model(m, context)
        data["tickets"][name] = {"body": body, "sizes": m["sizes"], **result}
        rows += _rows(name, result)
    return {"rows": rows, "data": data}


if __name__ == "__main__":
    import json

    from bench.report import print_rows

    out = run()
    print_rows(out["rows"])
    print("\nassumptions:")
    for k, v in ASSUMPTIONS.items():
        print(f"  {k}: {v}")
    for name, t in out["data"]["tickets"].items():
        print(f"\n{name} ticket, sizes (bytes):", json.dumps(t["sizes"]))
        for kind, v in t["per_kind"].items():
            print(f"  {kind}: {v['rru']:g} RRU + {v['wru']} WRU: " + "; ".join(v["units"]))
        print("  floor:", json.dumps({k: v["how"] for k, v in t["floor"]["per_kind"].items()}))
