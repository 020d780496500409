"""DELETE /v1/webhooks/{id}: unsubscribe; pending deliveries to it are dropped."""

from tickets.api.http import build_app, make_handler, no_content, tenant_id
from tickets.logic.webhooks import delete_webhook as delete_logic

app = build_app()


@app.delete(
    "/v1/webhooks/<webhook_id>",
    summary="Delete a webhook",
    tags=["webhooks"],
    responses={204: {"description": "Deleted"}},
)
def delete_webhook(webhook_id: str):
    delete_logic(tenant_id(app), webhook_id)
    return no_content()


handler = make_handler(app, scope="webhooks:manage")
