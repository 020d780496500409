"""POST /v1/tickets/api-create: a business event opens (or re-counts) a ticket for a customer by externalId."""

from tickets.api.http import build_app, json_response, make_handler, ok, principal, tenant_id, ticket_headers
from tickets.logic.intake import api_create
from tickets.models.tickets import Ticket, TicketIntake

app = build_app()


@app.post(
    "/v1/tickets/api-create",
    summary="Open a ticket from a business event",
    tags=["tickets"],
    responses={
        **ok(Ticket, 201, "Created", headers=("ETag", "Location")),
        **ok(Ticket, 200, "An unfinished ticket with this dedupeKey: counted", headers=("ETag",)),
    },
)
def api_create_ticket(body: TicketIntake):
    ticket, status = api_create(tenant_id(app), body, actor=principal(app).actor)
    return json_response(Ticket, ticket, status, ticket_headers(ticket, location=status == 201))


handler = make_handler(app, scope="tickets:write")
