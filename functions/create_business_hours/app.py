"""POST /v1/business-hours: create business hours."""

from tickets.api.http import build_app, json_response, make_handler, ok, tenant_id
from tickets.logic.business_hours import create_business_hours as create_logic
from tickets.models.business_hours import BusinessHours, BusinessHoursCreate

app = build_app()


@app.post(
    "/v1/business-hours",
    summary="Create business hours",
    tags=["business-hours"],
    responses=ok(BusinessHours, 201, "Created", headers=("Location",)),
)
def create_business_hours(body: BusinessHoursCreate):
    created = create_logic(tenant_id(app), body)
    return json_response(BusinessHours, created, 201, {"Location": f"/v1/business-hours/{created['id']}"})


handler = make_handler(app, scope="settings:manage")
