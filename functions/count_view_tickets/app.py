"""GET /v1/views/{id}/count: how many tickets a view has (exact where counters keep it)."""

from tickets.api.http import build_app, json_response, make_handler, ok, principal
from tickets.logic.views import count_view_tickets as count_logic
from tickets.models.views import ViewCount

app = build_app()


@app.get("/v1/views/<view_id>/count", summary="Count a view's tickets", tags=["views"], responses=ok(ViewCount))
def count_view_tickets(view_id: str):
    return json_response(ViewCount, count_logic(principal(app), view_id))


handler = make_handler(app, scope="tickets:read")
