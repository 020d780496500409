"""POST /v1/webhooks/{id}/test: queue a signed webhook.test event to the endpoint."""

from tickets.api.http import build_app, json_response, make_handler, ok, tenant_id
from tickets.logic.webhooks import send_test
from tickets.models.webhooks import RetryAccepted

app = build_app()


@app.post(
    "/v1/webhooks/<webhook_id>/test",
    summary="Send a test event",
    tags=["webhooks"],
    responses=ok(RetryAccepted, 202, "Queued"),
)
def test_webhook(webhook_id: str):
    return json_response(RetryAccepted, send_test(tenant_id(app), webhook_id), 202)


handler = make_handler(app, scope="webhooks:manage")
