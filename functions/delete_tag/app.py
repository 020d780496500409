"""DELETE /v1/tags/{id}: delete a tag."""

from tickets.api.http import build_app, make_handler, no_content, tenant_id
from tickets.logic.tags import delete_tag as delete_logic

app = build_app()


@app.delete("/v1/tags/<tag_id>", summary="Delete a tag", tags=["tags"], responses={204: {"description": "Deleted"}})
def delete_tag(tag_id: str):
    delete_logic(tenant_id(app), tag_id)
    return no_content()


handler = make_handler(app, scope="tickets:write")
