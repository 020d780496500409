"""PATCH /v1/tags/{id}: partial update of a tag."""

from tickets.api.http import build_app, json_response, make_handler, ok, tenant_id
from tickets.logic.tags import update_tag as update_logic
from tickets.models.tags import Tag, TagPatch

app = build_app()


@app.patch("/v1/tags/<tag_id>", summary="Update a tag", tags=["tags"], responses=ok(Tag))
def update_tag(tag_id: str, body: TagPatch):
    return json_response(Tag, update_logic(tenant_id(app), tag_id, body))


handler = make_handler(app, scope="tickets:write")
