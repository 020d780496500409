"""GET /v1/groups: list groups."""

from typing import Annotated

from tickets.api.http import Query, build_app, json_response, make_handler, ok, tenant_id
from tickets.logic.groups import list_groups as list_logic
from tickets.models.groups import GroupListQuery, GroupPage

app = build_app()


@app.get("/v1/groups", summary="List groups", tags=["groups"], responses=ok(GroupPage))
def list_groups(query: Annotated[GroupListQuery, Query()]):
    return json_response(GroupPage, list_logic(tenant_id(app), query))


handler = make_handler(app, scope="agents:read", query=GroupListQuery)
