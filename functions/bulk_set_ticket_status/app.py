"""POST /v1/tickets/bulk/status: one status for up to 100 tickets, each item on its own."""

from tickets.api.http import build_app, json_response, make_handler, ok, principal, tenant_id
from tickets.logic.bulk import set_status
from tickets.models.bulk import BulkResult, BulkStatus

app = build_app()


@app.post("/v1/tickets/bulk/status", summary="Set the status of many tickets", tags=["bulk"], responses=ok(BulkResult))
def bulk_set_ticket_status(body: BulkStatus):
    return json_response(
        BulkResult, set_status(tenant_id(app), body.ids, body.status, principal(app).actor), omit_nulls=True
    )


handler = make_handler(app, scope="tickets:status")
