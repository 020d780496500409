"""POST /v1/groups: create a group (its agents, routing method and business hours)."""

from tickets.api.http import build_app, json_response, make_handler, ok, tenant_id
from tickets.logic.groups import create_group as create_logic
from tickets.models.groups import Group, GroupCreate

app = build_app()


@app.post(
    "/v1/groups", summary="Create a group", tags=["groups"], responses=ok(Group, 201, "Created", headers=("Location",))
)
def create_group(body: GroupCreate):
    created = create_logic(tenant_id(app), body)
    return json_response(Group, created, 201, {"Location": f"/v1/groups/{created['id']}"})


handler = make_handler(app, scope="settings:manage")
