"""GET /v1/tags: list tags."""

from typing import Annotated

from tickets.api.http import Query, build_app, json_response, make_handler, ok, tenant_id
from tickets.logic.tags import list_tags as list_logic
from tickets.models.tags import TagListQuery, TagPage

app = build_app()


@app.get("/v1/tags", summary="List tags", tags=["tags"], responses=ok(TagPage))
def list_tags(query: Annotated[TagListQuery, Query()]):
    return json_response(TagPage, list_logic(tenant_id(app), query))


handler = make_handler(app, scope="tickets:read", query=TagListQuery)
