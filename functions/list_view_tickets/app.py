"""GET /v1/views/{id}/tickets: run a view, a bounded page at a time (cursor paging)."""

from typing import Annotated

from tickets.api.http import Query, build_app, json_response, make_handler, ok, principal
from tickets.logic.views import list_view_tickets as list_logic
from tickets.models.tickets import TicketPage
from tickets.models.views import ViewTicketsQuery

app = build_app()


@app.get("/v1/views/<view_id>/tickets", summary="List a view's tickets", tags=["views"], responses=ok(TicketPage))
def list_view_tickets(view_id: str, query: Annotated[ViewTicketsQuery, Query()]):
    return json_response(TicketPage, list_logic(principal(app), view_id, query))


handler = make_handler(app, scope="tickets:read", query=ViewTicketsQuery)
