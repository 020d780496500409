"""PATCH /v1/tickets/{id}: partial update, optionally guarded by If-Match."""

from typing import Annotated

from tickets.api.http import (
    Header,
    build_app,
    json_response,
    make_handler,
    ok,
    principal,
    require_scopes,
    tenant_id,
    ticket_headers,
)
from tickets.logic.tickets import update_ticket as update_logic
from tickets.models.tickets import Ticket, TicketPatch

app = build_app()


@app.patch(
    "/v1/tickets/<ticket_id>", summary="Update a ticket", tags=["tickets"], responses=ok(Ticket, headers=("ETag",))
)
def update_ticket(ticket_id: str, body: TicketPatch, if_match: Annotated[str | None, Header(alias="if-match")] = None):
    if "status" in body.model_fields_set:
        require_scopes(app, ["tickets:status"], "changing status")
    ticket = update_logic(tenant_id(app), ticket_id, body, if_match, actor=principal(app).actor)
    return json_response(Ticket, ticket, headers=ticket_headers(ticket))


handler = make_handler(app, scope="tickets:write")
