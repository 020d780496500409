"""POST /v1/tickets/{id}/comments: a public reply (emailed to the customer) or an internal note."""

from tickets.api.http import build_app, json_response, make_handler, ok, principal, require_scopes, tenant_id
from tickets.logic.comments import create_comment as create_logic
from tickets.models.comments import Comment, CommentCreate

app = build_app()


@app.post("/v1/tickets/<ticket_id>/comments", summary="Add a comment", tags=["comments"],
          responses=ok(Comment, 201, "Created"))  # fmt: skip
def create_comment(ticket_id: str, body: CommentCreate):
    if body.status is not None:
        require_scopes(app, ["tickets:status"], "setting the status with a comment")
    return json_response(Comment, create_logic(tenant_id(app), ticket_id, body, principal(app)), 201)


handler = make_handler(app, scope="tickets:write")
