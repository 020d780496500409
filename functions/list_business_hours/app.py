"""GET /v1/business-hours: list business hours."""

from typing import Annotated

from tickets.api.http import Query, build_app, json_response, make_handler, ok, tenant_id
from tickets.logic.business_hours import list_business_hours as list_logic
from tickets.models.business_hours import BusinessHoursListQuery, BusinessHoursPage

app = build_app()


@app.get("/v1/business-hours", summary="List business hours", tags=["business-hours"], responses=ok(BusinessHoursPage))
def list_business_hours(query: Annotated[BusinessHoursListQuery, Query()]):
    return json_response(BusinessHoursPage, list_logic(tenant_id(app), query))


handler = make_handler(app, scope="settings:manage", query=BusinessHoursListQuery)
