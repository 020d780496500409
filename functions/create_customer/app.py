"""POST /v1/customers: create a customer."""

from tickets.api.http import build_app, json_response, make_handler, ok, tenant_id
from tickets.logic.customers import create_customer as create_logic
from tickets.models.customers import Customer, CustomerCreate

app = build_app()


@app.post(
    "/v1/customers",
    summary="Create a customer",
    tags=["customers"],
    responses=ok(Customer, 201, "Created", headers=("Location",)),
)
def create_customer(body: CustomerCreate):
    created = create_logic(tenant_id(app), body)
    return json_response(Customer, created, 201, {"Location": f"/v1/customers/{created['id']}"})


handler = make_handler(app, scope="customers:write")
