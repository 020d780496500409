"""GET /v1/tickets: list a tenant's tickets with filters, sort, and offset or cursor paging."""

from typing import Annotated

from tickets.api.http import Query, build_app, json_response, make_handler, ok, principal, tenant_id
from tickets.logic.ticket_lists import list_tickets as list_logic
from tickets.models.tickets import TicketListQuery, TicketPage

app = build_app()


@app.get("/v1/tickets", summary="List tickets", tags=["tickets"], responses=ok(TicketPage))
def list_tickets(query: Annotated[TicketListQuery, Query()]):
    return json_response(TicketPage, list_logic(tenant_id(app), query, me=principal(app).agentId))


handler = make_handler(app, scope="tickets:read", query=TicketListQuery)
