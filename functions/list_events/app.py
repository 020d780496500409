"""GET /v1/events: the change feed, oldest first, from a cursor (`after`), a time (`since`) or its start."""

from typing import Annotated

from tickets.api.http import Query, build_app, json_response, make_handler, ok, tenant_id
from tickets.logic.feed import read
from tickets.models.feed import EventFeedPage, EventFeedQuery

app = build_app()


@app.get("/v1/events", summary="The change feed", tags=["events"], responses=ok(EventFeedPage))
def list_events(query: Annotated[EventFeedQuery, Query()]):
    return json_response(EventFeedPage, read(tenant_id(app), query))


handler = make_handler(app, scope="tickets:read", query=EventFeedQuery)
