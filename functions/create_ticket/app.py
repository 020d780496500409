"""POST /v1/tickets: create a ticket (numbered from the tenant's sequence, counted against its quota)."""

from tickets.api.http import build_app, json_response, make_handler, ok, principal, tenant_id, ticket_headers
from tickets.logic.tickets import create_ticket as create_logic
from tickets.models.tickets import Ticket, TicketCreate

app = build_app()


@app.post(
    "/v1/tickets",
    summary="Create a ticket",
    tags=["tickets"],
    responses=ok(Ticket, 201, "Created", headers=("ETag", "Location")),
)
def create_ticket(body: TicketCreate):
    ticket = create_logic(tenant_id(app), body, actor=principal(app).actor)
    return json_response(Ticket, ticket, 201, ticket_headers(ticket, location=True))


handler = make_handler(app, scope="tickets:write")
