"""Write events/<function folder>.json: one realistic HTTP API v2.0 event per function in template.yaml.

    python -m tools.sample_events

`sam local invoke <Function> -e events/<folder>.json` and tests/integration/test_sample_events.py both use
them. Ids in paths are well-formed ULIDs that no table holds; the key is a fixed sample key that the test
registers. Request id and time are fixed so that regenerating changes nothing.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from tools import template
from tools.events import http_event

EVENTS_DIR = template.ROOT / "events"
SAMPLE_KEY = "tk_sample_key_0123456789abcdefghijklmnopqrstuv"
SAMPLE_ID = "01JSQ4ZK8X3N5W7Y9B2C4D6F8H"
_REQUEST_ID = "c0ffee00-0000-4000-8000-000000000001"
_TIME, _EPOCH_MS = "25/Apr/2026:10:00:00 +0000", 1777111200000

# Per function folder: the concrete path values, query string and body of its sample request.
SAMPLES: dict[str, dict[str, Any]] = {
    "list_tickets": {"query": {"status": "new,open", "priority": "high", "limit": "20", "sort": "-createdAt"}},
    "get_ticket": {"params": {"id": "INV-1042"}},
    "create_ticket": {
        "body": {
            "subject": "Checkout fails with error 502",
            "description": "Customer reports the **pay** button returns a 502 since this morning.",
            "priority": "high",
            "category": "billing",
            "channel": "email",
            "requester": {"name": "Ada Lovelace", "email": "ada@example.com"},
            "tags": ["checkout", "payments"],
            "metadata": {"orderId": "ord_98431", "errorCode": "PAY-502"},
        }
    },
    "update_ticket": {
        "params": {"id": SAMPLE_ID},
        "headers": {"if-match": '"1"'},
        "body": {"status": "in_progress", "priority": "urgent"},
    },
    "delete_ticket": {"params": {"id": SAMPLE_ID}},
    "list_customers": {"query": {"limit": "50"}},
    "get_customer": {"params": {"id": SAMPLE_ID}},
    "create_customer": {
        "body": {
            "externalId": "crm-4711",
            "name": "Ada Lovelace",
            "email": "ada@example.com",
            "phone": "+44 20 7946 0958",
            "metadata": {"plan": "enterprise"},
        }
    },
    "update_customer": {"params": {"id": SAMPLE_ID}, "body": {"name": "Ada King", "phone": None}},
    "delete_customer": {"params": {"id": SAMPLE_ID}},
    "list_tags": {"query": {"limit": "100"}},
    "get_tag": {"params": {"id": SAMPLE_ID}},
    "create_tag": {"body": {"name": "billing"}},
    "update_tag": {"params": {"id": SAMPLE_ID}, "body": {"name": "payments"}},
    "delete_tag": {"params": {"id": SAMPLE_ID}},
}


def build(fn: template.Function) -> dict[str, Any]:
    spec = SAMPLES[fn.code_uri.name]
    route = fn.routes[0]
    params: dict[str, str] = spec.get("params", {})
    path = route.path
    for name, val in params.items():
        path = path.replace(f"{{{name}}}", val)
    headers = {"x-api-key": SAMPLE_KEY, "user-agent": "curl/8.7.1", "accept": "application/json"}
    headers |= spec.get("headers", {})
    event = http_event(
        route.method,
        path,
        route_path=route.path,
        path_params=params or None,
        headers=headers,
        query=spec.get("query"),
        body=spec.get("body"),
        source_ip="203.0.113.10",
    )
    ctx = event["requestContext"]
    ctx.update(requestId=_REQUEST_ID, time=_TIME, timeEpoch=_EPOCH_MS)
    return event


def main() -> int:
    EVENTS_DIR.mkdir(exist_ok=True)
    for fn in template.functions().values():
        if fn.routes:
            out = EVENTS_DIR / f"{fn.code_uri.name}.json"
            out.write_text(json.dumps(build(fn), indent=2) + "\n")
            print(out.relative_to(template.ROOT))
    return 0


if __name__ == "__main__":
    sys.exit(main())
