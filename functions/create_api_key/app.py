"""POST /v1/api-keys: create an API key; the response shows the key once."""

from tickets.api.http import build_app, json_response, make_handler, ok, principal, require_scopes
from tickets.logic.api_keys import create_api_key as create_logic
from tickets.models.tenants import ApiKeyCreate, ApiKeyCreated

app = build_app()


@app.post(
    "/v1/api-keys",
    summary="Create an API key",
    tags=["api-keys"],
    responses=ok(ApiKeyCreated, 201, "Created", headers=("Location",)),
)
def create_api_key(body: ApiKeyCreate):
    require_scopes(app, body.scopes, "a key can only grant scopes its creator holds: granting these")
    created = create_logic(principal(app), body)
    headers = {"Location": f"/v1/api-keys/{created['id']}", "Cache-Control": "no-store"}  # the key is in the body
    return json_response(ApiKeyCreated, created, 201, headers)


handler = make_handler(app, scope="keys:manage", secret_fields=("key",), fresh_auth=True)  # shown once, never stored
