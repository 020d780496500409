"""Webhook subscriptions: URL checks, secrets, test events, the delivery log and replays."""

from __future__ import annotations

import base64
import secrets
from typing import Any

from tickets import ids
from tickets.config import settings
from tickets.dal import keys
from tickets.dal import webhooks as dal
from tickets.dal.query import QueryPlan
from tickets.errors import FieldError, NotFound, ValidationFailed
from tickets.integrations import ssrf
from tickets.logic import deliveries, paging
from tickets.models.common import PageQuery
from tickets.models.webhooks import WebhookCreate, WebhookPatch
from tickets.timeutil import from_ms, iso, now_iso

MAX_WEBHOOKS_PER_TENANT = 50
_PUBLIC = ("id", "url", "events", "description", "enabled", "disabledReason", "createdAt", "updatedAt")


def _public(w: dict[str, Any], *, with_secret: bool = False) -> dict[str, Any]:
    out = {k: w.get(k) for k in _PUBLIC}
    if with_secret:
        out["secret"] = w["secret"]
    return out


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def _check_url(url: str) -> str:
    return ssrf.check_webhook_url(url, allow_private=settings().allow_private_webhook_targets)


def _load(tenant_id: str, webhook_id: str) -> dict[str, Any]:
    found = dal.get(tenant_id, webhook_id) if ids.is_ulid(webhook_id) else None
    if not found:
        raise NotFound(f"no webhook {webhook_id}")
    return found


def create_webhook(tenant_id: str, body: WebhookCreate) -> dict[str, Any]:
    url = _check_url(body.url)
    if len(dal.list_all(tenant_id)) >= MAX_WEBHOOKS_PER_TENANT:
        raise ValidationFailed(
            f"a tenant can have at most {MAX_WEBHOOKS_PER_TENANT} webhooks", [FieldError("url", "limit reached")]
        )
    webhook_id = ids.new_id()
    at = iso(from_ms(ids.timestamp_ms(webhook_id)))
    w = {
        "id": webhook_id,
        "url": url,
        "events": body.events,
        "description": body.description,
        "enabled": body.enabled,
        "secret": new_secret(),
        "createdAt": at,
        "updatedAt": at,
    }
    dal.create(tenant_id, w)
    return _public(w, with_secret=True)


def get_webhook(tenant_id: str, webhook_id: str) -> dict[str, Any]:
    return _public(_load(tenant_id, webhook_id))


def list_webhooks(tenant_id: str, q: PageQuery) -> dict[str, Any]:
    plan = QueryPlan(None, keys.tenant_pk(tenant_id), keys.WEBHOOK_PREFIX, keys.WEBHOOK_PREFIX + "~")
    result = paging.page(tenant_id, plan, q, count_rest=True)
    result["data"] = [_public(w) for w in result["data"]]
    return result


def update_webhook(tenant_id: str, webhook_id: str, patch: WebhookPatch) -> dict[str, Any]:
    changes = patch.changes()
    _load(tenant_id, webhook_id)
    if "url" in changes:
        changes["url"] = _check_url(changes["url"])
    remove: tuple[str, ...] = ()
    if changes.get("enabled") is True:
        remove = ("disabledReason", "failingSince")  # re-enabling starts a fresh record
    if "description" in changes and changes["description"] is None:
        del changes["description"]
        remove = (*remove, "description")
    return _public(dal.update(tenant_id, webhook_id, {**changes, "updatedAt": now_iso()}, remove))


def delete_webhook(tenant_id: str, webhook_id: str) -> None:
    _load(tenant_id, webhook_id)
    dal.delete(tenant_id, webhook_id)


def rotate_secret(tenant_id: str, webhook_id: str) -> dict[str, Any]:
    _load(tenant_id, webhook_id)
    updated = dal.update(tenant_id, webhook_id, {"secret": new_secret(), "updatedAt": now_iso()})
    return _public(updated, with_secret=True)


def send_test(tenant_id: str, webhook_id: str) -> dict[str, Any]:
    w = _load(tenant_id, webhook_id)
    event_id = "evt_" + ids.new_id()
    event = {
        "id": event_id,
        "type": "webhook.test",
        "createdAt": iso(from_ms(ids.timestamp_ms(event_id[4:]))),
        "data": {"webhookId": w["id"], "message": "This is a test event from the tickets API."},
    }
    delivery = deliveries.enqueue(tenant_id, w, event)
    return deliveries.public_delivery(delivery)


def list_deliveries(tenant_id: str, webhook_id: str, q: PageQuery) -> dict[str, Any]:
    _load(tenant_id, webhook_id)
    prefix = keys.attempts_prefix(webhook_id)
    plan = QueryPlan(None, keys.tenant_pk(tenant_id), prefix, prefix + "~")
    return paging.page(tenant_id, plan, q, count_rest=True)


def retry_delivery(tenant_id: str, webhook_id: str, delivery_id: str) -> dict[str, Any]:
    _load(tenant_id, webhook_id)
    if not delivery_id.startswith("dlv_"):
        raise NotFound(f"no delivery {delivery_id}")
    return deliveries.public_delivery(deliveries.replay(tenant_id, webhook_id, delivery_id))
