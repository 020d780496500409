"""POST /v1/views: save a view; a shared one (or another agent's) needs settings:manage as well."""

from tickets.api.http import build_app, json_response, make_handler, ok, principal, require_scopes
from tickets.logic.views import MANAGE, needs_manage
from tickets.logic.views import create_view as create_logic
from tickets.models.views import View, ViewCreate

app = build_app()


@app.post(
    "/v1/views", summary="Create a view", tags=["views"], responses=ok(View, 201, "Created", headers=("Location",))
)
def create_view(body: ViewCreate):
    if needs_manage(principal(app), body.agentId):
        require_scopes(app, [MANAGE], "a shared view, or another agent's")
    created = create_logic(principal(app), body)
    return json_response(View, created, 201, {"Location": f"/v1/views/{created['id']}"})


handler = make_handler(app, scope="tickets:read")
