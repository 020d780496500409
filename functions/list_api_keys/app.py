"""GET /v1/api-keys: the tenant's API keys (metadata only: never the key or its hash)."""

from typing import Annotated

from tickets.api.http import Query, build_app, json_response, make_handler, ok, tenant_id
from tickets.logic.api_keys import list_api_keys as list_logic
from tickets.models.tenants import ApiKeyListQuery, ApiKeyPage

app = build_app()


@app.get("/v1/api-keys", summary="List API keys", tags=["api-keys"], responses=ok(ApiKeyPage))
def list_api_keys(query: Annotated[ApiKeyListQuery, Query()]):
    return json_response(ApiKeyPage, list_logic(tenant_id(app), query))


handler = make_handler(app, scope="keys:manage", query=ApiKeyListQuery, fresh_auth=True)
