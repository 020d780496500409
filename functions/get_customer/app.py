"""GET /v1/customers/{id}: one customer."""

from tickets.api.http import build_app, json_response, make_handler, ok, tenant_id
from tickets.logic.customers import get_customer as get_logic
from tickets.models.customers import Customer

app = build_app()


@app.get("/v1/customers/<customer_id>", summary="Get a customer", tags=["customers"], responses=ok(Customer))
def get_customer(customer_id: str):
    return json_response(Customer, get_logic(tenant_id(app), customer_id))


handler = make_handler(app, scope="customers:read")
