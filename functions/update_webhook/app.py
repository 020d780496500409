"""PATCH /v1/webhooks/{id}: change URL, events, description, or enable/disable."""

from tickets.api.http import build_app, json_response, make_handler, ok, tenant_id
from tickets.logic.webhooks import update_webhook as update_logic
from tickets.models.webhooks import Webhook, WebhookPatch

app = build_app()


@app.patch("/v1/webhooks/<webhook_id>", summary="Update a webhook", tags=["webhooks"], responses=ok(Webhook))
def update_webhook(webhook_id: str, body: WebhookPatch):
    return json_response(Webhook, update_logic(tenant_id(app), webhook_id, body))


handler = make_handler(app, scope="webhooks:manage")
