"""POST /v1/tickets/batch: several actions (status, priority, assign, tags, category) on up to 100 tickets."""

from tickets.api.http import build_app, json_response, make_handler, ok, principal, require_scopes, tenant_id
from tickets.logic.bulk import batch
from tickets.models.bulk import Batch, BulkResult

app = build_app()


@app.post("/v1/tickets/batch", summary="Apply actions to many tickets", tags=["bulk"], responses=ok(BulkResult))
def batch_update_tickets(body: Batch):
    if any(action.type == "set_status" for action in body.actions):
        require_scopes(app, ["tickets:status"], "a set_status action")
    return json_response(BulkResult, batch(tenant_id(app), body, principal(app).actor), omit_nulls=True)


handler = make_handler(app, scope="tickets:bulk")
