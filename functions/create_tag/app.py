"""POST /v1/tags: create a tag."""

from tickets.api.http import build_app, json_response, make_handler, ok, tenant_id
from tickets.logic.tags import create_tag as create_logic
from tickets.models.tags import Tag, TagCreate

app = build_app()


@app.post("/v1/tags", summary="Create a tag", tags=["tags"], responses=ok(Tag, 201, "Created", headers=("Location",)))
def create_tag(body: TagCreate):
    created = create_logic(tenant_id(app), body)
    return json_response(Tag, created, 201, {"Location": f"/v1/tags/{created['id']}"})


handler = make_handler(app, scope="tickets:write")
