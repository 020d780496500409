"""PATCH /v1/groups/{id}: name, description, agents, routing method, business hours."""

from tickets.api.http import build_app, json_response, make_handler, ok, tenant_id
from tickets.logic.groups import update_group as update_logic
from tickets.models.groups import Group, GroupPatch

app = build_app()


@app.patch("/v1/groups/<group_id>", summary="Update a group", tags=["groups"], responses=ok(Group))
def update_group(group_id: str, body: GroupPatch):
    return json_response(Group, update_logic(tenant_id(app), group_id, body))


handler = make_handler(app, scope="settings:manage")
