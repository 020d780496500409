"""POST /v1/attachments: a pending attachment and the presigned POST that uploads its file."""

from tickets.api.http import build_app, json_response, make_handler, ok, tenant_id
from tickets.logic.attachments import create_attachment as create_logic
from tickets.models.attachments import AttachmentCreate, AttachmentCreated

app = build_app()


@app.post("/v1/attachments", summary="Start an upload", tags=["attachments"],
          responses=ok(AttachmentCreated, 201, "Created", headers=("Location",)))  # fmt: skip
def create_attachment(body: AttachmentCreate):
    created = create_logic(tenant_id(app), body)
    return json_response(AttachmentCreated, created, 201, {"Location": f"/v1/attachments/{created['id']}"})


handler = make_handler(app, scope="tickets:write")
