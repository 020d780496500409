"""GET /v1/customers: list customers."""

from typing import Annotated

from tickets.api.http import Query, build_app, json_response, make_handler, ok, tenant_id
from tickets.logic.customers import list_customers as list_logic
from tickets.models.customers import CustomerListQuery, CustomerPage

app = build_app()


@app.get("/v1/customers", summary="List customers", tags=["customers"], responses=ok(CustomerPage))
def list_customers(query: Annotated[CustomerListQuery, Query()]):
    return json_response(CustomerPage, list_logic(tenant_id(app), query))


handler = make_handler(app, scope="customers:read", query=CustomerListQuery)
