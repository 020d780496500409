"""GET /v1/business-hours/{id}: one of the tenant's business hours."""

from tickets.api.http import build_app, json_response, make_handler, ok, tenant_id
from tickets.logic.business_hours import get_business_hours as get_logic
from tickets.models.business_hours import BusinessHours

app = build_app()


@app.get(
    "/v1/business-hours/<business_hours_id>",
    summary="Get business hours",
    tags=["business-hours"],
    responses=ok(BusinessHours),
)
def get_business_hours(business_hours_id: str):
    return json_response(BusinessHours, get_logic(tenant_id(app), business_hours_id))


handler = make_handler(app, scope="settings:manage")
