"""PATCH /v1/customers/{id}: partial update of a customer."""

from tickets.api.http import build_app, json_response, make_handler, ok, tenant_id
from tickets.logic.customers import update_customer as update_logic
from tickets.models.customers import Customer, CustomerPatch

app = build_app()


@app.patch("/v1/customers/<customer_id>", summary="Update a customer", tags=["customers"], responses=ok(Customer))
def update_customer(customer_id: str, body: CustomerPatch):
    return json_response(Customer, update_logic(tenant_id(app), customer_id, body))


handler = make_handler(app, scope="customers:write")
