"""GET /v1/webhooks/{id}/deliveries: the endpoint's delivery log, one line per attempt, newest first."""

from typing import Annotated

from tickets.api.http import Query, build_app, json_response, make_handler, ok, tenant_id
from tickets.logic.webhooks import list_deliveries
from tickets.models.webhooks import DeliveryListQuery, DeliveryPage

app = build_app()


@app.get(
    "/v1/webhooks/<webhook_id>/deliveries",
    summary="List delivery attempts",
    tags=["webhooks"],
    responses=ok(DeliveryPage),
)
def list_webhook_deliveries(webhook_id: str, query: Annotated[DeliveryListQuery, Query()]):
    return json_response(DeliveryPage, list_deliveries(tenant_id(app), webhook_id, query))


handler = make_handler(app, scope="webhooks:manage", query=DeliveryListQuery)
