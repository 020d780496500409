"""PATCH /v1/views/{id}: change a view (a shared one, or another agent's, with settings:manage)."""

from tickets.api.http import build_app, json_response, make_handler, ok, principal
from tickets.logic.views import update_view as update_logic
from tickets.models.views import View, ViewPatch

app = build_app()


@app.patch("/v1/views/<view_id>", summary="Update a view", tags=["views"], responses=ok(View))
def update_view(view_id: str, body: ViewPatch):
    return json_response(View, update_logic(principal(app), view_id, body))


handler = make_handler(app, scope="tickets:read")
