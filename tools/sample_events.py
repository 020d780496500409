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
    "list_webhooks": {"query": {"limit": "20"}},
    "get_webhook": {"params": {"id": SAMPLE_ID}},
    "create_webhook": {
        "body": {
            "url": "https://93.184.216.34/hooks/tickets",
            "events": ["ticket.created", "ticket.status_changed"],
            "description": "CRM sync",
        }
    },
    "update_webhook": {"params": {"id": SAMPLE_ID}, "body": {"enabled": False}},
    "delete_webhook": {"params": {"id": SAMPLE_ID}},
    "rotate_webhook_secret": {"params": {"id": SAMPLE_ID}},
    "test_webhook": {"params": {"id": SAMPLE_ID}},
    "list_webhook_deliveries": {"params": {"id": SAMPLE_ID}, "query": {"limit": "20"}},
    "retry_webhook_delivery": {"params": {"id": SAMPLE_ID, "deliveryId": "dlv_" + SAMPLE_ID}},
    "get_ticket_history": {"params": {"id": SAMPLE_ID}},
    "list_api_keys": {"query": {"limit": "20"}},
    "create_api_key": {"body": {"name": "CI pipeline", "scopes": ["tickets:read", "tickets:write"]}},
    "delete_api_key": {"params": {"id": "key_" + SAMPLE_ID}},
    "bulk_set_ticket_status": {"body": {"ids": [SAMPLE_ID, "01JSQ4ZK8X3N5W7Y9B2C4D6F8J"], "status": "resolved"}},
    "bulk_set_ticket_priority": {"body": {"ids": [SAMPLE_ID], "priority": "urgent"}},
    "bulk_delete_tickets": {"body": {"ids": [SAMPLE_ID]}},
    "batch_update_tickets": {
        "body": {
            "ids": [SAMPLE_ID],
            "actions": [{"type": "set_status", "value": "in_progress"}, {"type": "add_tags", "value": ["vip"]}],
        }
    },
    "solve_unfinished_tickets": {"body": {}},
    "unlink_ticket_customer": {"params": {"id": SAMPLE_ID}},
    "list_agents": {"query": {"limit": "50"}},
    "get_agent": {"params": {"id": SAMPLE_ID}},
    "create_agent": {"body": {"name": "Grace Hopper", "email": "grace@example.com", "level": "N1"}},
    "update_agent": {"params": {"id": SAMPLE_ID}, "body": {"available": False}},
    "delete_agent": {"params": {"id": SAMPLE_ID}},
    "api_create_ticket": {
        "headers": {"idempotency-key": "evt-payment-failed-98431"},
        "body": {
            "customerExternalId": "crm-4711",
            "subject": "Payment failed for order ord_98431",
            "description": "Card declined by the issuer (code 05).",
            "priority": "high",
            "category": "billing",
            "metadata": {"orderId": "ord_98431", "errorCode": "card_declined"},
            "dedupeKey": "payment-failed:ord_98431",
        },
    },
}

_SAMPLE_TICKET = {
    "PK": "TENANT#01JSQ4ZK8X3N5W7Y9B2C4D6F8T", "SK": f"TICKET#{SAMPLE_ID}", "type": "ticket",
    "tenantId": "01JSQ4ZK8X3N5W7Y9B2C4D6F8T", "id": SAMPLE_ID, "number": 1042, "reference": "INV-1042",
    "subject": "Checkout fails with error 502", "status": "new", "priority": "high", "channel": "email",
    "tags": ["checkout"], "customFields": {}, "metadata": {}, "occurrences": 1,
    "createdAt": "2026-04-25T10:00:00.000Z", "updatedAt": "2026-04-25T10:00:00.000Z", "version": 1,
}  # fmt: skip


def _stream_record(name: str, new: dict[str, Any] | None, old: dict[str, Any] | None, seq: str) -> dict[str, Any]:
    template.ensure_shared_layer_on_path()
    from tickets.dal.client import serialize

    change: dict[str, Any] = {
        "ApproximateCreationDateTime": _EPOCH_MS / 1000,
        "Keys": serialize({"PK": _SAMPLE_TICKET["PK"], "SK": _SAMPLE_TICKET["SK"]}),
        "SequenceNumber": seq,
        "SizeBytes": 512,
        "StreamViewType": "NEW_AND_OLD_IMAGES",
    }
    if new:
        change["NewImage"] = serialize(new)
    if old:
        change["OldImage"] = serialize(old)
    return {
        "eventID": f"c0ffee{seq}",
        "eventName": name,
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "us-east-1",
        "dynamodb": change,
        "eventSourceARN": "arn:aws:dynamodb:us-east-1:000000000000:table/tickets/stream/2026-04-25T10:00:00.000",
    }


def _consumer_event(folder: str) -> dict[str, Any]:
    """Lambda-shaped batches for the stream and queue consumers."""
    resolved = {
        **_SAMPLE_TICKET,
        "status": "resolved",
        "resolvedAt": "2026-04-25T11:00:00.000Z",
        "updatedAt": "2026-04-25T11:00:00.000Z",
        "version": 2,
        "statusChanged": True,
    }
    if folder == "deliver_webhook":
        body = {"tenantId": _SAMPLE_TICKET["tenantId"], "webhookId": SAMPLE_ID, "deliveryId": f"dlv_{SAMPLE_ID}",
                "attempt": 1}  # fmt: skip
        return {
            "Records": [
                {
                    "messageId": "c0ffee00-0000-4000-8000-000000000002",
                    "receiptHandle": "sample-receipt-handle",
                    "body": json.dumps(body),
                    "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": str(_EPOCH_MS)},
                    "messageAttributes": {},
                    "md5OfBody": "",
                    "eventSource": "aws:sqs",
                    "eventSourceARN": "arn:aws:sqs:us-east-1:000000000000:WebhookDeliveryQueue",
                    "awsRegion": "us-east-1",
                }
            ]
        }
    if folder == "send_assignment_email":
        # Assigned to an agent (a snapshot only: the consumer reads no agent item).
        assignee = {"id": "01JSQ4ZK8X3N5W7Y9B2C4D6F8A", "name": "Grace Hopper", "email": "grace@example.com"}
        assigned = {**_SAMPLE_TICKET, "assigneeId": assignee["id"], "assignee": assignee, "status": "open",
                    "updatedAt": "2026-04-25T10:05:00.000Z", "version": 2}  # fmt: skip
        return {"Records": [_stream_record("MODIFY", assigned, _SAMPLE_TICKET, "300")]}
    if folder == "publish_status_events":
        return {"Records": [_stream_record("MODIFY", resolved, _SAMPLE_TICKET, "200")]}
    return {
        "Records": [
            _stream_record("INSERT", _SAMPLE_TICKET, None, "100"),
            _stream_record("MODIFY", resolved, _SAMPLE_TICKET, "200"),
        ]
    }


def build(fn: template.Function) -> dict[str, Any]:
    if not fn.routes:
        return _consumer_event(fn.code_uri.name)
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
        out = EVENTS_DIR / f"{fn.code_uri.name}.json"
        out.write_text(json.dumps(build(fn), indent=2) + "\n")
        print(out.relative_to(template.ROOT))
    return 0


if __name__ == "__main__":
    sys.exit(main())
