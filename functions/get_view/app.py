"""GET /v1/views/{id}: one view."""

from tickets.api.http import build_app, json_response, make_handler, ok, principal
from tickets.logic.views import get_view as get_logic
from tickets.models.views import View

app = build_app()


@app.get("/v1/views/<view_id>", summary="Get a view", tags=["views"], responses=ok(View))
def get_view(view_id: str):
    return json_response(View, get_logic(principal(app), view_id))


handler = make_handler(app, scope="tickets:read")
