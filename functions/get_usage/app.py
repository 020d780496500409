"""GET /v1/usage: tickets created this month (UTC) against the tenant's monthly quota."""

from tickets.api.http import build_app, json_response, make_handler, ok, tenant_id
from tickets.logic.account import usage
from tickets.models.tenants import Usage

app = build_app()


@app.get("/v1/usage", summary="This month's ticket usage and quota", tags=["account"], responses=ok(Usage))
def get_usage():
    return json_response(Usage, usage(tenant_id(app)))


handler = make_handler(app, scope=None)  # any valid key
