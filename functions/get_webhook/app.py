"""GET /v1/webhooks/{id}: one subscription (without its secret)."""

from tickets.api.http import build_app, json_response, make_handler, ok, tenant_id
from tickets.logic.webhooks import get_webhook as get_logic
from tickets.models.webhooks import Webhook

app = build_app()


@app.get("/v1/webhooks/<webhook_id>", summary="Get a webhook", tags=["webhooks"], responses=ok(Webhook))
def get_webhook(webhook_id: str):
    return json_response(Webhook, get_logic(tenant_id(app), webhook_id))


handler = make_handler(app, scope="webhooks:manage")
