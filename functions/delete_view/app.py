"""DELETE /v1/views/{id}: delete a view (a shared one, or another agent's, with settings:manage)."""

from tickets.api.http import build_app, make_handler, no_content, principal
from tickets.logic.views import delete_view as delete_logic

app = build_app()


@app.delete("/v1/views/<view_id>", summary="Delete a view", tags=["views"], responses={204: {"description": "Deleted"}})
def delete_view(view_id: str):
    delete_logic(principal(app), view_id)
    return no_content()


handler = make_handler(app, scope="tickets:read")
