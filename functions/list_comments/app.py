"""GET /v1/tickets/{id}/comments: a ticket's conversation, oldest first, cursor paged."""

from typing import Annotated

from tickets.api.http import Query, build_app, json_response, make_handler, ok, tenant_id
from tickets.logic.comments import list_comments as list_logic
from tickets.models.comments import CommentListQuery, CommentPage

app = build_app()


@app.get("/v1/tickets/<ticket_id>/comments", summary="List a ticket's comments", tags=["comments"],
         responses=ok(CommentPage))  # fmt: skip
def list_comments(ticket_id: str, query: Annotated[CommentListQuery, Query()]):
    return json_response(CommentPage, list_logic(tenant_id(app), ticket_id, query))


handler = make_handler(app, scope="tickets:read", query=CommentListQuery)
