"""POST /v1/tickets/{id}/comments/{commentId}/redact: the body becomes [redacted], its attachments are deleted."""

from tickets.api.http import build_app, json_response, make_handler, ok, tenant_id
from tickets.logic.comments import redact_comment as redact_logic
from tickets.models.comments import Comment

app = build_app()


@app.post("/v1/tickets/<ticket_id>/comments/<comment_id>/redact", summary="Redact a comment", tags=["comments"],
          responses=ok(Comment))  # fmt: skip
def redact_comment(ticket_id: str, comment_id: str):
    return json_response(Comment, redact_logic(tenant_id(app), ticket_id, comment_id))


handler = make_handler(app, scope="tickets:write")
