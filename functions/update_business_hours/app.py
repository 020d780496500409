"""PATCH /v1/business-hours/{id}: partial update of business hours."""

from tickets.api.http import build_app, json_response, make_handler, ok, tenant_id
from tickets.logic.business_hours import update_business_hours as update_logic
from tickets.models.business_hours import BusinessHours, BusinessHoursPatch

app = build_app()


@app.patch(
    "/v1/business-hours/<business_hours_id>",
    summary="Update business hours",
    tags=["business-hours"],
    responses=ok(BusinessHours),
)
def update_business_hours(business_hours_id: str, body: BusinessHoursPatch):
    return json_response(BusinessHours, update_logic(tenant_id(app), business_hours_id, body))


handler = make_handler(app, scope="settings:manage")
