"""POST /v1/webhooks/{id}/rotate-secret: a new signing secret, returned this once."""

from tickets.api.http import build_app, json_response, make_handler, ok, tenant_id
from tickets.logic.webhooks import rotate_secret
from tickets.models.webhooks import WebhookWithSecret

app = build_app()


@app.post(
    "/v1/webhooks/<webhook_id>/rotate-secret", summary="Rotate a webhook's secret", tags=["webhooks"],
    responses=ok(WebhookWithSecret),
)  # fmt: skip
def rotate_webhook_secret(webhook_id: str):
    return json_response(WebhookWithSecret, rotate_secret(tenant_id(app), webhook_id))


handler = make_handler(app, scope="webhooks:manage", secret_fields=("secret",))  # shown once, never stored
