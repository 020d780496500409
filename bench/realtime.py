"""Write -> push latency of the real-time channel over the local stack: `make dev` in a subprocess, 20 WebSocket
clients (`websockets`) of one tenant, one ticket created at a time through the HTTP API.

    python -m bench.realtime [--connections 20 --events 60]    (alone: merges its rows into bench/results.json)
    make bench                                                 (with every other section)

Each event's latency is taken from the moment the client starts its POST /v1/tickets to the moment a connection
receives the ticket's `ticket.created` push: for the first connection to receive it and for the last of the 20.
The path is the whole local one: the API function's write, moto's stream, the push consumer's poll (every 50 ms;
its MaximumBatchingWindowInSeconds is 0), its Query of the tenant's connections, 20 posts in parallel through
boto3's apigatewaymanagementapi to the local @connections endpoint, and the socket. Five events warm the stack up
first and are not counted. On AWS the stream's own delivery adds ~100-300 ms (Lambda polls a shard 4 times a second).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

CONNECTIONS = 20
EVENTS = 60
WARM_UP = 5
BUDGET_P50_MS = 300.0
TIMEOUT = 5.0


def _percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile (the value at or below which `pct` % of the samples lie)."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(pct / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


async def _measure(stack: Any, key: str, connections: int, events: int) -> dict[str, Any]:
    from websockets.asyncio.client import connect

    urls = []
    for _ in range(connections):
        resp = await asyncio.to_thread(stack.request, "POST", "/v1/realtime/tokens", key=key)
        assert resp.status == 201, resp.body
        urls.append(resp.json["url"])
    sockets = [await connect(url) for url in urls]
    arrivals: dict[str, list[float]] = {}
    complete: dict[str, asyncio.Event] = {}

    def done(ticket_id: str) -> asyncio.Event:
        return complete.setdefault(ticket_id, asyncio.Event())

    async def read(ws: Any) -> None:
        async for text in ws:
            now = time.perf_counter()
            message = json.loads(text)
            if message.get("type") == "ticket.created":
                got = arrivals.setdefault(message["ticket"]["id"], [])
                got.append(now)
                if len(got) == connections:
                    done(message["ticket"]["id"]).set()

    readers = [asyncio.create_task(read(ws)) for ws in sockets]
    first, last, writes = [], [], []
    try:
        for i in range(WARM_UP + events):
            started = time.perf_counter()
            ticket = await asyncio.to_thread(stack.create_ticket, key, subject=f"Bench {i}")
            written = time.perf_counter()
            await asyncio.wait_for(done(ticket["id"]).wait(), TIMEOUT)
            if i >= WARM_UP:
                got = arrivals[ticket["id"]]
                first.append((min(got) - started) * 1000)
                last.append((max(got) - started) * 1000)
                writes.append((written - started) * 1000)
            await asyncio.sleep(0.05)
    finally:
        for task in readers:
            task.cancel()
        for ws in sockets:
            await ws.close()
    return {"first": first, "last": last, "writes": writes}


def run(
    context: dict[str, Any] | None = None, *, connections: int = CONNECTIONS, events: int = EVENTS
) -> dict[str, Any]:
    """The bench section (bench.run calls it with the earlier sections' results, unused here)."""
    from tools import template
    from tools.devproc import TenantFactory, running_stack

    template.ensure_shared_layer_on_path()  # TenantFactory makes the tenant with the layer's admin logic
    with running_stack({"POWERTOOLS_LOG_LEVEL": "WARNING"}) as stack:
        tenant = TenantFactory(stack)("RT")
        measured = asyncio.run(_measure(stack, tenant.key, connections, events))
        # The stack logs each consumer invocation with its duration: the push consumer's own share of the latency.
        log = (stack.log_dir / "stderr").read_text()
    consumer = [
        float(ms) for ms in re.findall(r"^PushRealtimeFunction\.Stream <- stream: 1 record \((\d+) ms\)", log, re.M)
    ]
    first, last, writes = measured["first"], measured["last"], measured["writes"]
    figures = {
        "connections": connections,
        "events": events,
        "firstP50Ms": round(statistics.median(first), 1),
        "firstP95Ms": round(_percentile(first, 95), 1),
        "allP50Ms": round(statistics.median(last), 1),
        "allP95Ms": round(_percentile(last, 95), 1),
        "allMaxMs": round(max(last), 1),
        "writeP50Ms": round(statistics.median(writes), 1),
        "consumerP50Ms": round(statistics.median(consumer[WARM_UP:]), 1) if consumer[WARM_UP:] else None,
    }
    what = f"{events} events, {connections} connections"
    rows = [
        {"section": "realtime", "metric": f"write -> push to all {connections} connections, p50 ({what})",
         "value": figures["allP50Ms"], "unit": "ms", "budget": f"<= {BUDGET_P50_MS:.0f}",
         "ok": figures["allP50Ms"] <= BUDGET_P50_MS},
        {"section": "realtime", "metric": f"write -> push to all {connections} connections, p95",
         "value": figures["allP95Ms"], "unit": "ms", "budget": None, "ok": None},
        {"section": "realtime", "metric": "write -> push to the first connection, p50 / p95",
         "value": f"{figures['firstP50Ms']} / {figures['firstP95Ms']}", "unit": "ms", "budget": None, "ok": None},
        {"section": "realtime", "metric": "of which the write (POST /v1/tickets answered), p50",
         "value": figures["writeP50Ms"], "unit": "ms", "budget": None, "ok": None},
        {"section": "realtime", "metric": "of which the push consumer's invocation (Query + 20 posts), p50",
         "value": figures["consumerP50Ms"], "unit": "ms", "budget": None, "ok": None},
    ]  # fmt: skip
    return {"data": figures, "rows": rows}


def main(argv: list[str] | None = None) -> int:
    from bench.report import merge_section, print_rows
    from bench.run import RESULTS

    parser = argparse.ArgumentParser(prog="python -m bench.realtime", description=__doc__.splitlines()[0])
    parser.add_argument("--connections", type=int, default=CONNECTIONS)
    parser.add_argument("--events", type=int, default=EVENTS)
    args = parser.parse_args(argv)
    result = run(connections=args.connections, events=args.events)
    print_rows(result["rows"])
    merge_section(RESULTS, "realtime", result)
    missed = [r for r in result["rows"] if r.get("ok") is False]
    return 1 if missed else 0


if __name__ == "__main__":
    raise SystemExit(main())
