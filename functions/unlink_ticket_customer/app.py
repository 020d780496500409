"""POST /v1/tickets/{id}/unlink-customer: detach the ticket from its customer (customerId becomes null)."""

from tickets.api.http import build_app, json_response, make_handler, ok, principal, tenant_id, ticket_headers
from tickets.logic.bulk import unlink_customer
from tickets.models.tickets import Ticket

app = build_app()


@app.post(
    "/v1/tickets/<ticket_id>/unlink-customer",
    summary="Unlink a ticket's customer",
    tags=["tickets"],
    responses=ok(Ticket, headers=("ETag",)),
)
def unlink_ticket_customer(ticket_id: str):
    ticket = unlink_customer(tenant_id(app), ticket_id, principal(app).actor)
    return json_response(Ticket, ticket, headers=ticket_headers(ticket))


handler = make_handler(app, scope="tickets:write")
