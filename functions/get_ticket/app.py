"""GET /v1/tickets/{id}: one ticket, by id or by reference (e.g. INV-1042)."""

from tickets.api.http import build_app, json_response, make_handler, ok, tenant_id, ticket_headers
from tickets.logic.tickets import get_ticket as get_logic
from tickets.models.tickets import Ticket

app = build_app()


@app.get(
    "/v1/tickets/<id_or_reference>", summary="Get a ticket", tags=["tickets"], responses=ok(Ticket, headers=("ETag",))
)
def get_ticket(id_or_reference: str):
    ticket = get_logic(tenant_id(app), id_or_reference)
    return json_response(Ticket, ticket, headers=ticket_headers(ticket))


handler = make_handler(app, scope="tickets:read")
