"""DELETE /v1/api-keys/{id}: revoke an API key (it stops working within API_KEY_CACHE_SECONDS)."""

from tickets.api.http import build_app, make_handler, no_content, tenant_id
from tickets.logic.api_keys import revoke_api_key

app = build_app()


@app.delete(
    "/v1/api-keys/<key_id>", summary="Revoke an API key", tags=["api-keys"], responses={204: {"description": "Revoked"}}
)
def delete_api_key(key_id: str):
    revoke_api_key(tenant_id(app), key_id)
    return no_content()


handler = make_handler(app, scope="keys:manage", fresh_auth=True)
