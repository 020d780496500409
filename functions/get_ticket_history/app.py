"""GET /v1/tickets/{id}/history: the ticket's audit trail, oldest first."""

from typing import Annotated

from tickets.api.http import Query, build_app, json_response, make_handler, ok, tenant_id
from tickets.logic.history import list_history
from tickets.models.webhooks import HistoryPage, HistoryQuery

app = build_app()


@app.get("/v1/tickets/<ticket_id>/history", summary="A ticket's history", tags=["tickets"], responses=ok(HistoryPage))
def get_ticket_history(ticket_id: str, query: Annotated[HistoryQuery, Query()]):
    return json_response(HistoryPage, list_history(tenant_id(app), ticket_id, query))


handler = make_handler(app, scope="tickets:read", query=HistoryQuery)
