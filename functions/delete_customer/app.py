"""DELETE /v1/customers/{id}: delete a customer."""

from tickets.api.http import build_app, make_handler, no_content, tenant_id
from tickets.logic.customers import delete_customer as delete_logic

app = build_app()


@app.delete(
    "/v1/customers/<customer_id>",
    summary="Delete a customer",
    tags=["customers"],
    responses={204: {"description": "Deleted"}},
)
def delete_customer(customer_id: str):
    delete_logic(tenant_id(app), customer_id)
    return no_content()


handler = make_handler(app, scope="customers:write")
