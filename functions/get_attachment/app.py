"""GET /v1/attachments/{id}: an attachment, with a 5-minute download URL once its file is checked."""

from tickets.api.http import build_app, json_response, make_handler, ok, tenant_id
from tickets.logic.attachments import get_attachment as get_logic
from tickets.models.attachments import Attachment

app = build_app()


@app.get("/v1/attachments/<attachment_id>", summary="Get an attachment", tags=["attachments"],
         responses=ok(Attachment))  # fmt: skip
def get_attachment(attachment_id: str):
    return json_response(Attachment, get_logic(tenant_id(app), attachment_id))


handler = make_handler(app, scope="tickets:read")
