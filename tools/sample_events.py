"""The sample events (events/<function folder>.json) and the sample data they name.

    python -m tools.sample_events        (rewrites events/: run it after adding a function or changing a sample)

One realistic event per function in template.yaml: an HTTP API v2.0 request for an API function, a Lambda
batch (DynamoDB stream records or SQS messages) for a consumer. `make invoke`, `sam local invoke -e` and
tests/integration/test_sample_events.py use them as they are.

The events name the demo tenant's data, which `seed()` creates under fixed ids: the demo tenant (prefix DEMO),
a dev-only key that the events carry (SAMPLE_KEY, never a real credential), and one customer, agent, group (of
that agent), tag, webhook and ticket (DEMO-1). `make dev` seeds its demo tenant with it, `make invoke` seeds its
throwaway moto with it, and the sample-event test seeds each test's moto with it, so every sample finds what it
names.
Request id and time are fixed so that regenerating changes nothing.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from unittest import mock

from tools import template
from tools.events import http_event, websocket_event

EVENTS_DIR = template.ROOT / "events"
SAMPLE_KEY = "tk_sample_key_0123456789abcdefghijklmnopqrstuv"  # dev-only: seed() gives it to the demo tenant
_REQUEST_ID = "c0ffee00-0000-4000-8000-000000000001"
_TIME, _EPOCH_MS = "25/Apr/2026:10:00:00 +0000", 1777111200000
_AT = "2026-04-25T10:00:00.000Z"  # the sample data's createdAt: its ids' millisecond, _EPOCH_MS

# The seeded items' ids: ULIDs of _EPOCH_MS ("01KQ219W80"), readable after that.
DEMO_TENANT_ID = "01KQ219W80DEM0TENANT000000"
SAMPLE_TICKET_ID = "01KQ219W80DEM0T1CKET000000"  # reference DEMO-1
SAMPLE_CUSTOMER_ID = "01KQ219W80DEM0CVSTMER00000"  # externalId crm-4711
SAMPLE_AGENT_ID = "01KQ219W80DEM0AGENT0000000"
SAMPLE_GROUP_ID = "01KQ219W80DEM0GR0VP0000000"  # "Billing", round robin, the demo agent its one member
SAMPLE_TAG_ID = "01KQ219W80DEM0TAG000000000"
SAMPLE_WEBHOOK_ID = "01KQ219W80DEM0WEBH00K00000"
SAMPLE_VIEW_ID = "01KQ219W80DEM0V1EW00000000"  # a shared view: urgent or high, unfinished, billing or invoices
SAMPLE_COMMENT_ID = "01KQ219W80DEM0C0MMENT00000"  # a public reply on DEMO-1 (the reply consumer's sample only)
SAMPLE_OLD_KEY_ID = "key_01KQ219W80DEM0KEY000000000"  # a second key of the demo tenant, for the revoke sample
SAMPLE_BUSINESS_HOURS_ID = "01KQ219W80DEM0H0VRS0000000"  # used by the seeded SLA policy
SAMPLE_SLA_POLICY_ID = "01KQ219W80DEM0P0WCY0000000"  # phone tickets only: made after DEMO-1, which has no sla
UNKNOWN_ID = "01KQ219W80DEM0N0NE00000000"  # well-formed, and never seeded
SAMPLE_CONNECTION_ID = "c0ffeeSampleConn="  # a WebSocket connection id, shaped like API Gateway's (never opened)
SAMPLE_REALTIME_TOKEN = "rt_sample_token_0123456789abcdefghijklmnopqrst"  # never minted: $connect refuses it (401)
SAMPLE_REFERENCE = "DEMO-1"
SAMPLE_EXTERNAL_ID = "crm-4711"
SAMPLE_BUCKET = "tickets-local-attachmentsbucket"  # AttachmentsBucket as make dev and make invoke name it

# Per function folder: the concrete path values, query string and body of its sample request.
SAMPLES: dict[str, dict[str, Any]] = {
    "list_tickets": {"query": {"status": "new,open", "priority": "high", "limit": "20", "sort": "-createdAt"}},
    "get_ticket": {"params": {"id": SAMPLE_REFERENCE}},
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
            "groupId": SAMPLE_GROUP_ID,
        }
    },
    "update_ticket": {
        "params": {"id": SAMPLE_TICKET_ID},
        "headers": {"if-match": '"1"'},
        "body": {"status": "in_progress", "priority": "urgent"},
    },
    "delete_ticket": {"params": {"id": SAMPLE_TICKET_ID}},
    "list_customers": {"query": {"limit": "50"}},
    "get_customer": {"params": {"id": SAMPLE_CUSTOMER_ID}},
    "create_customer": {
        "body": {
            "externalId": "crm-4712",
            "name": "Charles Babbage",
            "email": "charles@example.com",
            "phone": "+44 20 7946 0959",
            "metadata": {"plan": "enterprise"},
        }
    },
    "update_customer": {"params": {"id": SAMPLE_CUSTOMER_ID}, "body": {"name": "Ada King", "phone": None}},
    "delete_customer": {"params": {"id": SAMPLE_CUSTOMER_ID}},
    "list_tags": {"query": {"limit": "100"}},
    "get_tag": {"params": {"id": SAMPLE_TAG_ID}},
    "create_tag": {"body": {"name": "billing"}},
    "update_tag": {"params": {"id": SAMPLE_TAG_ID}, "body": {"name": "payments"}},
    "delete_tag": {"params": {"id": SAMPLE_TAG_ID}},
    "list_business_hours": {"query": {"limit": "20"}},
    "get_business_hours": {"params": {"id": SAMPLE_BUSINESS_HOURS_ID}},
    "create_business_hours": {
        "body": {
            "name": "Lisbon support desk",
            "timeZone": "Europe/Lisbon",
            "weekly": [{"day": d, "start": "08:30", "end": "18:00"} for d in ("mon", "tue", "wed", "thu", "fri")],
            "holidays": ["2026-12-25", "2027-01-01"],
        }
    },
    "update_business_hours": {"params": {"id": SAMPLE_BUSINESS_HOURS_ID}, "body": {"holidays": ["2026-12-24"]}},
    "delete_business_hours": {"params": {"id": SAMPLE_BUSINESS_HOURS_ID}},
    "list_sla_policies": {"query": {"limit": "20"}},
    "get_sla_policy": {"params": {"id": SAMPLE_SLA_POLICY_ID}},
    "create_sla_policy": {
        "body": {
            "name": "Urgent email",
            "position": 1,
            "conditions": {"priority": ["urgent", "critical"], "channel": ["email"]},
            "targets": {
                "urgent": {"firstReplyMinutes": 30, "resolutionMinutes": 240},
                "critical": {"firstReplyMinutes": 15, "resolutionMinutes": 120},
            },
            "businessHoursId": SAMPLE_BUSINESS_HOURS_ID,
        }
    },
    "update_sla_policy": {"params": {"id": SAMPLE_SLA_POLICY_ID}, "body": {"position": 5}},
    "delete_sla_policy": {"params": {"id": SAMPLE_SLA_POLICY_ID}},
    "list_webhooks": {"query": {"limit": "20"}},
    "get_webhook": {"params": {"id": SAMPLE_WEBHOOK_ID}},
    "create_webhook": {
        "body": {
            "url": "https://93.184.216.34/hooks/tickets",
            "events": ["ticket.created", "ticket.status_changed"],
            "description": "CRM sync",
        }
    },
    "update_webhook": {"params": {"id": SAMPLE_WEBHOOK_ID}, "body": {"description": "CRM sync v2"}},
    "delete_webhook": {"params": {"id": SAMPLE_WEBHOOK_ID}},
    "rotate_webhook_secret": {"params": {"id": SAMPLE_WEBHOOK_ID}},
    "test_webhook": {"params": {"id": SAMPLE_WEBHOOK_ID}},
    "list_webhook_deliveries": {"params": {"id": SAMPLE_WEBHOOK_ID}, "query": {"limit": "20"}},
    # Deliveries come from events, so the seed has none: this one answers 404 until it names a real one.
    "retry_webhook_delivery": {"params": {"id": SAMPLE_WEBHOOK_ID, "deliveryId": "dlv_" + UNKNOWN_ID}},
    "get_ticket_history": {"params": {"id": SAMPLE_TICKET_ID}},
    "list_events": {"query": {"types": "ticket.created,ticket.status_changed", "limit": "20"}},
    "list_comments": {"params": {"id": SAMPLE_TICKET_ID}, "query": {"limit": "20"}},
    "create_comment": {
        "params": {"id": SAMPLE_TICKET_ID},
        "body": {"body": "Hi Ada, the invoice is attached to your account page now.", "status": "pending"},
    },
    # The seed has no comment (DEMO-1 stays at version 1 for the consumers' samples): 404 until it names one.
    "redact_comment": {"params": {"id": SAMPLE_TICKET_ID, "commentId": UNKNOWN_ID}},
    "create_attachment": {"body": {"filename": "invoice-2026-04.pdf", "contentType": "application/pdf", "size": 48213}},
    # The seed has no attachment (its upload would need the bucket): 404 until it names one.
    "get_attachment": {"params": {"id": UNKNOWN_ID}},
    "list_api_keys": {"query": {"limit": "20"}},
    "get_me": {},
    # The agent console's page, as a browser asks for it: no API key (the route needs none).
    "serve_console": {"anonymous": True, "headers": {"accept": "text/html"}},
    "get_usage": {},
    "create_api_key": {"body": {"name": "CI pipeline", "scopes": ["tickets:read", "tickets:write"]}},
    "delete_api_key": {"params": {"id": SAMPLE_OLD_KEY_ID}},
    "bulk_set_ticket_status": {"body": {"ids": [SAMPLE_TICKET_ID, UNKNOWN_ID], "status": "resolved"}},
    "bulk_set_ticket_priority": {"body": {"ids": [SAMPLE_TICKET_ID], "priority": "urgent"}},
    "bulk_delete_tickets": {"body": {"ids": [SAMPLE_TICKET_ID]}},
    "batch_update_tickets": {
        "body": {
            "ids": [SAMPLE_TICKET_ID],
            "actions": [{"type": "set_status", "value": "in_progress"}, {"type": "add_tags", "value": ["vip"]}],
        }
    },
    "solve_unfinished_tickets": {"body": {}},
    "unlink_ticket_customer": {"params": {"id": SAMPLE_TICKET_ID}},
    "list_agents": {"query": {"limit": "50"}},
    "get_agent": {"params": {"id": SAMPLE_AGENT_ID}},
    "create_agent": {
        "body": {
            "name": "Katherine Johnson",
            "email": "katherine@example.com",
            "level": "N2",
            "skills": ["billing", "french"],
            "capacity": 20,
        }
    },
    "update_agent": {"params": {"id": SAMPLE_AGENT_ID}, "body": {"available": False}},
    "delete_agent": {"params": {"id": SAMPLE_AGENT_ID}},
    "list_groups": {"query": {"limit": "50"}},
    "get_group": {"params": {"id": SAMPLE_GROUP_ID}},
    "create_group": {
        "body": {
            "name": "Escalations",
            "description": "Second line: outages and refunds over 500 EUR",
            "agentIds": [SAMPLE_AGENT_ID],
            "routing": "least_loaded",
        }
    },
    "update_group": {"params": {"id": SAMPLE_GROUP_ID}, "body": {"routing": "manual", "description": "By hand"}},
    "delete_group": {"params": {"id": SAMPLE_GROUP_ID}},
    "create_realtime_token": {},
    "list_views": {"query": {"limit": "20"}},
    "create_view": {
        "body": {
            "name": "Mine, waiting on us",
            "conditions": {
                "all": [
                    {"field": "assigneeId", "operator": "is", "value": "me"},
                    {"field": "status", "operator": "in", "value": ["new", "open", "in_progress"]},
                ]
            },
            "sort": "-updatedAt",
        }
    },
    "get_view": {"params": {"id": SAMPLE_VIEW_ID}},
    "update_view": {"params": {"id": SAMPLE_VIEW_ID}, "body": {"name": "Urgent billing, EMEA"}},
    "delete_view": {"params": {"id": SAMPLE_VIEW_ID}},
    "list_view_tickets": {"params": {"id": SAMPLE_VIEW_ID}, "query": {"limit": "20"}},
    "count_view_tickets": {"params": {"id": SAMPLE_VIEW_ID}},
    "api_create_ticket": {
        "headers": {"idempotency-key": "evt-payment-failed-98431"},
        "body": {
            "customerExternalId": SAMPLE_EXTERNAL_ID,
            "subject": "Payment failed for order ord_98431",
            "description": "Card declined by the issuer (code 05).",
            "priority": "high",
            "category": "billing",
            "metadata": {"orderId": "ord_98431", "errorCode": "card_declined"},
            "dedupeKey": "payment-failed:ord_98431",
        },
    },
}

# The seeded ticket DEMO-1, as the API would be asked for it.
_SEED_TICKET: dict[str, Any] = {
    "subject": "Cannot download the April invoice",
    "description": "The PDF link in the billing page returns an empty file.",
    "priority": "high",
    "category": "billing",
    "channel": "email",
    "customerId": SAMPLE_CUSTOMER_ID,
    "requester": {"name": "Ada Lovelace", "email": "ada@example.com"},
    "tags": ["invoices"],
}

# The seeded shared view: three conditions, planned on GSI1 (status x priority) with the tag/category check after.
_SEED_VIEW: dict[str, Any] = {
    "name": "Urgent billing",
    "conditions": {
        "all": [
            {"field": "status", "operator": "in", "value": ["new", "open", "in_progress", "pending"]},
            {"field": "priority", "operator": "in", "value": ["high", "urgent", "critical"]},
        ],
        "any": [
            {"field": "category", "operator": "is", "value": "billing"},
            {"field": "tag", "operator": "is", "value": "invoices"},
        ],
    },
}


@dataclass(frozen=True)
class Demo:
    tenant_id: str
    api_key: str  # the demo key that make dev prints (SAMPLE_KEY opens the same tenant)


def seed(api_key: str | None = None) -> Demo:
    """Create the demo tenant with its key (`api_key`, or a new one), SAMPLE_KEY, and the data the samples name.

    Everything goes through the logic, as the API or the admin CLI would make it; only the ids are fixed. Run it
    once, on an empty table, in the functions' environment (TABLE_NAME, ...) and before anything else runs.
    """
    template.ensure_shared_layer_on_path()
    from tickets.logic import (
        admin,
        agents,
        business_hours,
        customers,
        groups,
        sla_policies,
        tags,
        tickets,
        views,
        webhooks,
    )
    from tickets.models.agents import AgentCreate
    from tickets.models.business_hours import BusinessHoursCreate
    from tickets.models.customers import CustomerCreate
    from tickets.models.groups import GroupCreate
    from tickets.models.sla_policies import SlaPolicyCreate
    from tickets.models.tags import TagCreate
    from tickets.models.tenants import SCOPES, Principal, TenantCreate
    from tickets.models.tickets import TicketCreate
    from tickets.models.views import ViewCreate
    from tickets.models.webhooks import WebhookCreate

    with _made_with_id(DEMO_TENANT_ID):
        admin.create_tenant(TenantCreate(name="Demo", ticketPrefix="DEMO"))
    demo_key = admin.create_api_key(DEMO_TENANT_ID, list(SCOPES), raw_key=api_key)["key"]
    if demo_key != SAMPLE_KEY:
        admin.create_api_key(DEMO_TENANT_ID, list(SCOPES), raw_key=SAMPLE_KEY, name="sample events")
    with _made_with_id(SAMPLE_OLD_KEY_ID.removeprefix("key_")):
        admin.create_api_key(DEMO_TENANT_ID, ["tickets:read"], name="Old integration")
    with _made_with_id(SAMPLE_CUSTOMER_ID):
        customers.create_customer(
            DEMO_TENANT_ID,
            CustomerCreate(externalId=SAMPLE_EXTERNAL_ID, name="Ada Lovelace", email="ada@example.com"),
        )
    with _made_with_id(SAMPLE_AGENT_ID):
        agents.create_agent(DEMO_TENANT_ID, AgentCreate(name="Grace Hopper", email="grace@example.com"))
    with _made_with_id(SAMPLE_GROUP_ID):
        group = GroupCreate.model_validate({"name": "Billing", "agentIds": [SAMPLE_AGENT_ID], "routing": "round_robin"})
        groups.create_group(DEMO_TENANT_ID, group)
    with _made_with_id(SAMPLE_TAG_ID):
        tags.create_tag(DEMO_TENANT_ID, TagCreate(name="invoices"))
    with _made_with_id(SAMPLE_WEBHOOK_ID):
        # Disabled, so that nothing is ever sent to its (public) address from a developer's machine.
        webhook = WebhookCreate(url="https://93.184.216.34/hooks/crm", description="CRM sync", enabled=False)
        webhooks.create_webhook(DEMO_TENANT_ID, webhook)
    with _made_with_id(SAMPLE_TICKET_ID):
        tickets.create_ticket(DEMO_TENANT_ID, TicketCreate.model_validate(_SEED_TICKET))
    with _made_with_id(SAMPLE_VIEW_ID):
        admin_caller = Principal(tenantId=DEMO_TENANT_ID, keyId="seed", scopes=frozenset(SCOPES))
        views.create_view(admin_caller, ViewCreate.model_validate(_SEED_VIEW))
    # After DEMO-1, which therefore has no sla: the consumers' samples carry it as it was before SLAs.
    with _made_with_id(SAMPLE_BUSINESS_HOURS_ID):
        week = [{"day": d, "start": "09:00", "end": "17:00"} for d in ("mon", "tue", "wed", "thu", "fri")]
        calendar = BusinessHoursCreate(name="London office", timeZone="Europe/London", weekly=week)
        business_hours.create_business_hours(DEMO_TENANT_ID, calendar)
    with _made_with_id(SAMPLE_SLA_POLICY_ID):
        phone = SlaPolicyCreate.model_validate({
            "name": "Phone", "position": 10, "conditions": {"channel": ["phone"]},
            "targets": {p: {"firstReplyMinutes": 60, "resolutionMinutes": 480} for p in ("medium", "high", "urgent")},
            "businessHoursId": SAMPLE_BUSINESS_HOURS_ID,
        })  # fmt: skip
        sla_policies.create_policy(DEMO_TENANT_ID, phone)
    from tickets import metrics

    metrics.discard()  # demo data is not traffic: TicketsCreated must not count DEMO-1
    return Demo(DEMO_TENANT_ID, demo_key)


@contextmanager
def _made_with_id(fixed: str) -> Iterator[None]:
    """Let the one logic call inside make `fixed` as its new id (the logic makes ids itself, one per create).

    It swaps tickets.ids.new_id for the call, which is why seed() runs before anything else does.
    """
    from tickets import ids

    made: list[str] = []

    def new_id(now_ms: int | None = None) -> str:
        if made:
            raise RuntimeError(f"seed: a second new id was asked for while making {fixed}")
        made.append(fixed)
        return fixed

    with mock.patch.object(ids, "new_id", new_id):
        yield
    if not made:
        raise RuntimeError(f"seed: the logic made no new id for {fixed}")


# DEMO-1 as seed() stores it, and the changes that the consumers' samples describe.
_SAMPLE_TICKET = {
    **_SEED_TICKET,
    "requester": {**_SEED_TICKET["requester"], "phone": None},
    "customFields": {},
    "metadata": {},
    "requiredSkills": [],
    "id": SAMPLE_TICKET_ID,
    "number": 1,
    "reference": SAMPLE_REFERENCE,
    "status": "new",
    "customer": {"id": SAMPLE_CUSTOMER_ID, "externalId": SAMPLE_EXTERNAL_ID, "name": "Ada Lovelace",
                 "email": "ada@example.com"},
    "occurrences": 1,
    "createdAt": _AT,
    "updatedAt": _AT,
    "version": 1,
    "dueAtFromSla": True,  # no dueAt of its own: it follows an SLA's resolution time, should one apply
}  # fmt: skip
_RESOLVED = {"status": "resolved", "resolvedAt": "2026-04-25T11:00:00.000Z", "updatedAt": "2026-04-25T11:00:00.000Z",
             "version": 2, "statusChanged": True}  # fmt: skip
_ASSIGNED = {"assigneeId": SAMPLE_AGENT_ID, "status": "open", "updatedAt": "2026-04-25T10:05:00.000Z", "version": 2,
             "assignee": {"id": SAMPLE_AGENT_ID, "name": "Grace Hopper", "email": "grace@example.com"},
             "statusChanged": True}  # fmt: skip


def sample_ticket_item(**changes: Any) -> dict[str, Any]:
    """The demo tenant's DEMO-1 as a table item (every attribute, as in a stream image), with `changes`."""
    template.ensure_shared_layer_on_path()
    from tickets.dal import keys

    ticket = {**_SAMPLE_TICKET, **changes}
    return {
        **keys.ticket(DEMO_TENANT_ID, SAMPLE_TICKET_ID),
        **keys.ticket_index_keys(DEMO_TENANT_ID, ticket),
        "type": "ticket",
        "tenantId": DEMO_TENANT_ID,
        **ticket,
    }


def sample_reply_item() -> dict[str, Any]:
    """The first public reply to DEMO-1 (by the sample key) as a table item, with the email fields its write
    stored, as make dev (InboundEmailDomain inbound.localhost) and the default SenderEmail make them."""
    template.ensure_shared_layer_on_path()
    from tickets.dal import keys
    from tickets.models.tickets import Ticket

    after = {**_SAMPLE_TICKET, "status": "open", "version": 2, "commentCount": 1, "lastCommentAt": _AT,
             "firstRespondedAt": _AT}  # fmt: skip
    message_id = f"<{SAMPLE_COMMENT_ID.lower()}.{SAMPLE_REFERENCE.lower()}@inbound.localhost>"
    return {
        **keys.comment(DEMO_TENANT_ID, SAMPLE_TICKET_ID, SAMPLE_COMMENT_ID),
        "type": "comment",
        "tenantId": DEMO_TENANT_ID,
        "id": SAMPLE_COMMENT_ID,
        "ticketId": SAMPLE_TICKET_ID,
        "body": "Hi Ada,\n\nthe April invoice is on your account page again: <b>Billing</b> → Invoices.\n\nGrace",
        "visibility": "public",
        "channel": "api",
        "direction": "outbound",
        "author": {"type": "api", "id": "key_sample", "name": None, "email": None},
        "attachments": [],
        "createdAt": _AT,
        "from": "tickets@example.com",
        "fromName": "Demo",
        "to": ["ada@example.com"],
        "messageId": message_id,
        "replyTo": "reply+demoreplytokenaaaaaaaaaa@inbound.localhost",
        "subject": f"Re: [{SAMPLE_REFERENCE}] {_SAMPLE_TICKET['subject']}",
        "ticket": Ticket.model_validate(after).model_dump(mode="json"),
    }


def _stream_record(name: str, new: dict[str, Any] | None, old: dict[str, Any] | None, seq: str) -> dict[str, Any]:
    from tickets.dal.client import serialize

    image = new or old or {}
    change: dict[str, Any] = {
        "ApproximateCreationDateTime": _EPOCH_MS / 1000,
        "Keys": serialize({"PK": image["PK"], "SK": image["SK"]}),
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


SAMPLE_INBOUND_KEY = "inbound/c0ffee0sample0message0id00000000000000"  # shaped like SES's message ids


def _sqs_batch(body: dict[str, Any], queue: str) -> dict[str, Any]:
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
                "eventSourceARN": f"arn:aws:sqs:us-east-1:000000000000:{queue}",
                "awsRegion": "us-east-1",
            }
        ]
    }


def _s3_upload_event(key: str, size: int, bucket: str = SAMPLE_BUCKET) -> dict[str, Any]:
    """The S3 event notification an object created in `bucket` sends (one record): an upload to the attachments
    bucket, or a message SES stored in the inbound mail bucket."""
    return {
        "Records": [
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": "us-east-1",
                "eventTime": _AT,
                "eventName": "ObjectCreated:Post",
                "userIdentity": {"principalId": "AWS:AROAEXAMPLEROLEID:CreateAttachmentFunction"},
                "requestParameters": {"sourceIPAddress": "203.0.113.10"},
                "responseElements": {"x-amz-request-id": "C0FFEE0000000001", "x-amz-id-2": "c2FtcGxl"},
                "s3": {
                    "s3SchemaVersion": "1.0",
                    "configurationId": "AttachmentEvents",
                    "bucket": {
                        "name": bucket,
                        "ownerIdentity": {"principalId": "A3EXAMPLEOWNER"},
                        "arn": f"arn:aws:s3:::{bucket}",
                    },
                    "object": {
                        "key": key,
                        "size": size,
                        "eTag": "c0ffee" + "0" * 26,
                        "sequencer": "0066A1B2C3D4E5F601",
                    },
                },
            }
        ]
    }


def _consumer_event(folder: str) -> dict[str, Any]:
    """Lambda-shaped batches for the stream and queue consumers, about DEMO-1 and the demo tenant's webhook."""
    ticket, resolved = sample_ticket_item(), sample_ticket_item(**_RESOLVED)
    if folder == "deliver_webhook":
        # The seed makes no delivery (deliveries come from events): the consumer skips this message.
        body = {"tenantId": DEMO_TENANT_ID, "webhookId": SAMPLE_WEBHOOK_ID, "deliveryId": f"dlv_{UNKNOWN_ID}",
                "attempt": 1}  # fmt: skip
        return _sqs_batch(body, "WebhookDeliveryQueue")
    if folder == "sweep_sla_breaches":
        # EventBridge Scheduler's "Scheduled Event"; the seed has nothing due, so the sweep records nothing.
        return {
            "version": "0",
            "id": "c0ffee00-0000-4000-8000-000000000002",
            "detail-type": "Scheduled Event",
            "source": "aws.scheduler",
            "account": "000000000000",
            "time": "2026-04-25T10:00:00Z",
            "region": "us-east-1",
            "resources": ["arn:aws:scheduler:us-east-1:000000000000:schedule/default/SweepSlaBreaches"],
            "detail": {},
        }
    if folder == "check_attachment":
        # An upload for an attachment the seed never made: the checker deletes it (there is nothing to delete).
        return _sqs_batch(_s3_upload_event(f"u/{DEMO_TENANT_ID}/{UNKNOWN_ID}", 48213), "AttachmentEventsQueue")
    if folder == "receive_inbound_email":
        # What S3 sends when SES has stored a message; the seed stores none, so the consumer drops it as missing.
        stored = _s3_upload_event(SAMPLE_INBOUND_KEY, 2048, bucket=template.bucket_name("InboundMailBucket"))
        return _sqs_batch(stored, "InboundMailQueue")
    if folder == "send_assignment_email":
        # DEMO-1 assigned to the demo agent (a snapshot only: the consumer reads no agent item).
        return {"Records": [_stream_record("MODIFY", sample_ticket_item(**_ASSIGNED), ticket, "300")]}
    if folder == "send_reply_emails":
        return {"Records": [_stream_record("INSERT", sample_reply_item(), None, "400")]}
    if folder == "publish_status_events":
        return {"Records": [_stream_record("MODIFY", resolved, ticket, "200")]}
    if folder == "route_waiting_tickets":
        # DEMO-1, assigned to the demo agent, resolved: a slot of hers freed (her group has nothing waiting).
        assigned = sample_ticket_item(**_ASSIGNED)
        freed = sample_ticket_item(**{**_ASSIGNED, **_RESOLVED, "version": 3, "routingChanged": True})
        return {"Records": [_stream_record("MODIFY", freed, assigned, "500")]}
    return {
        "Records": [
            _stream_record("INSERT", ticket, None, "100"),
            _stream_record("MODIFY", resolved, ticket, "200"),
        ]
    }


def _websocket_event(route_key: str) -> dict[str, Any]:
    """What API Gateway sends the function of a WebSocket route: a $connect with the (sample) token, a ping."""
    api_id = template.websocket_refs()[(template.websocket_api() or ("", {}))[0]]
    domain = f"{api_id}.execute-api.us-east-1.amazonaws.com"
    headers = {
        "Host": domain,
        "Sec-WebSocket-Extensions": "permessage-deflate; client_max_window_bits",
        "Sec-WebSocket-Key": "c2FtcGxlIHdlYnNvY2tldA==",
        "Sec-WebSocket-Version": "13",
        "User-Agent": "Mozilla/5.0 (X11; Linux x86_64)",
        "X-Forwarded-For": "203.0.113.10",
    }
    event = websocket_event(
        route_key,
        SAMPLE_CONNECTION_ID,
        api_id=api_id,
        stage=template.websocket_stage(),
        domain=domain,
        body='{"action": "ping"}',
        query={"token": SAMPLE_REALTIME_TOKEN},
        headers=headers if route_key == "$connect" else {"Host": domain},
        source_ip="203.0.113.10",
        connected_at_ms=_EPOCH_MS,
    )
    ctx = event["requestContext"]
    ctx.update(requestId=_REQUEST_ID, extendedRequestId=_REQUEST_ID, requestTime=_TIME, requestTimeEpoch=_EPOCH_MS)
    if "messageId" in ctx:
        ctx["messageId"] = "c0ffee0000000001"
    return event


def build(fn: template.Function) -> dict[str, Any]:
    websocket = {route.function: key for key, route in template.websocket_routes().items()}
    if fn.name in websocket:
        return _websocket_event(websocket[fn.name])
    if not fn.routes:
        return _consumer_event(fn.code_uri.name)
    return http_sample(fn, SAMPLES[fn.code_uri.name])


def http_sample(fn: template.Function, spec: dict[str, Any]) -> dict[str, Any]:
    """An API function's request as SAMPLES describes one (`params`, `query`, `body`, `headers`), with the sample key.

    bench/cold.py builds its requests here too, from the samples with fresh ids where a sample would change what it
    names (a delete, a unique name)."""
    route = fn.routes[0]
    params: dict[str, str] = spec.get("params", {})
    path = route.path
    for name, val in params.items():
        path = path.replace(f"{{{name}}}", val)
    headers = {} if spec.get("anonymous") else {"x-api-key": SAMPLE_KEY}
    headers |= {"user-agent": "curl/8.7.1", "accept": "application/json"}
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
