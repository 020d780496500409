"""GET /v1/sla-policies: list SLA policies."""

from typing import Annotated

from tickets.api.http import Query, build_app, json_response, make_handler, ok, tenant_id
from tickets.logic.sla_policies import list_policies as list_logic
from tickets.models.sla_policies import SlaPolicyListQuery, SlaPolicyPage

app = build_app()


@app.get("/v1/sla-policies", summary="List SLA policies", tags=["sla-policies"], responses=ok(SlaPolicyPage))
def list_sla_policies(query: Annotated[SlaPolicyListQuery, Query()]):
    return json_response(SlaPolicyPage, list_logic(tenant_id(app), query))


handler = make_handler(app, scope="settings:manage", query=SlaPolicyListQuery)
