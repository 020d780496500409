"""DELETE /v1/business-hours/{id}: delete business hours (409 while an SLA policy or a group uses them)."""

from tickets.api.http import build_app, make_handler, no_content, tenant_id
from tickets.logic.business_hours import delete_business_hours as delete_logic

app = build_app()


@app.delete(
    "/v1/business-hours/<business_hours_id>",
    summary="Delete business hours",
    tags=["business-hours"],
    responses={204: {"description": "Deleted"}},
)
def delete_business_hours(business_hours_id: str):
    delete_logic(tenant_id(app), business_hours_id)
    return no_content()


handler = make_handler(app, scope="settings:manage")
