"""POST /v1/webhooks: subscribe a URL (SSRF-checked); the signing secret is returned this once."""

from tickets.api.http import build_app, json_response, make_handler, ok, tenant_id
from tickets.logic.webhooks import create_webhook as create_logic
from tickets.models.webhooks import WebhookCreate, WebhookWithSecret

app = build_app()


@app.post(
    "/v1/webhooks",
    summary="Create a webhook",
    tags=["webhooks"],
    responses=ok(WebhookWithSecret, 201, "Created", headers=("Location",)),
)
def create_webhook(body: WebhookCreate):
    created = create_logic(tenant_id(app), body)
    return json_response(WebhookWithSecret, created, 201, {"Location": f"/v1/webhooks/{created['id']}"})


handler = make_handler(app, scope="webhooks:manage", secret_fields=("secret",))  # shown once, never stored
