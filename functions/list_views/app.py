"""GET /v1/views: the views the calling key sees (shared ones and its agent's own), newest first."""

from typing import Annotated

from tickets.api.http import Query, build_app, json_response, make_handler, ok, principal
from tickets.logic.views import list_views as list_logic
from tickets.models.views import ViewListQuery, ViewPage

app = build_app()


@app.get("/v1/views", summary="List views", tags=["views"], responses=ok(ViewPage))
def list_views(query: Annotated[ViewListQuery, Query()]):
    return json_response(ViewPage, list_logic(principal(app), query))


handler = make_handler(app, scope="tickets:read", query=ViewListQuery)
