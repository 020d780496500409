"""POST /v1/webhooks/{id}/deliveries/{deliveryId}/retry: deliver again now (also a failed one)."""

from tickets.api.http import build_app, json_response, make_handler, ok, tenant_id
from tickets.logic.webhooks import retry_delivery
from tickets.models.webhooks import RetryAccepted

app = build_app()


@app.post(
    "/v1/webhooks/<webhook_id>/deliveries/<delivery_id>/retry", summary="Retry a delivery", tags=["webhooks"],
    responses=ok(RetryAccepted, 202, "Queued"),
)  # fmt: skip
def retry_webhook_delivery(webhook_id: str, delivery_id: str):
    return json_response(RetryAccepted, retry_delivery(tenant_id(app), webhook_id, delivery_id), 202)


handler = make_handler(app, scope="webhooks:manage")
