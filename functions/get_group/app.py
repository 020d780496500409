"""GET /v1/groups/{id}: one group, its members and routing."""

from tickets.api.http import build_app, json_response, make_handler, ok, tenant_id
from tickets.logic.groups import get_group as get_logic
from tickets.models.groups import Group

app = build_app()


@app.get("/v1/groups/<group_id>", summary="Get a group", tags=["groups"], responses=ok(Group))
def get_group(group_id: str):
    return json_response(Group, get_logic(tenant_id(app), group_id))


handler = make_handler(app, scope="agents:read")
