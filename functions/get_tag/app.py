"""GET /v1/tags/{id}: one tag."""

from tickets.api.http import build_app, json_response, make_handler, ok, tenant_id
from tickets.logic.tags import get_tag as get_logic
from tickets.models.tags import Tag

app = build_app()


@app.get("/v1/tags/<tag_id>", summary="Get a tag", tags=["tags"], responses=ok(Tag))
def get_tag(tag_id: str):
    return json_response(Tag, get_logic(tenant_id(app), tag_id))


handler = make_handler(app, scope="tickets:read")
