"""DELETE /v1/groups/{id}: delete a group without unfinished tickets (409 otherwise)."""

from tickets.api.http import build_app, make_handler, no_content, tenant_id
from tickets.logic.groups import delete_group as delete_logic

app = build_app()


@app.delete(
    "/v1/groups/<group_id>", summary="Delete a group", tags=["groups"], responses={204: {"description": "Deleted"}}
)
def delete_group(group_id: str):
    delete_logic(tenant_id(app), group_id)
    return no_content()


handler = make_handler(app, scope="settings:manage")
