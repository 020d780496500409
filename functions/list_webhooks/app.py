"""GET /v1/webhooks: the tenant's subscriptions (secrets are never listed)."""

from typing import Annotated

from tickets.api.http import Query, build_app, json_response, make_handler, ok, tenant_id
from tickets.logic.webhooks import list_webhooks as list_logic
from tickets.models.webhooks import WebhookListQuery, WebhookPage

app = build_app()


@app.get("/v1/webhooks", summary="List webhooks", tags=["webhooks"], responses=ok(WebhookPage))
def list_webhooks(query: Annotated[WebhookListQuery, Query()]):
    return json_response(WebhookPage, list_logic(tenant_id(app), query))


handler = make_handler(app, scope="webhooks:manage", query=WebhookListQuery)
