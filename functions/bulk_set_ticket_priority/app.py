"""POST /v1/tickets/bulk/priority: one priority for up to 100 tickets, each item on its own."""

from tickets.api.http import build_app, json_response, make_handler, ok, principal, tenant_id
from tickets.logic.bulk import set_priority
from tickets.models.bulk import BulkPriority, BulkResult

app = build_app()


@app.post(
    "/v1/tickets/bulk/priority", summary="Set the priority of many tickets", tags=["bulk"], responses=ok(BulkResult)
)
def bulk_set_ticket_priority(body: BulkPriority):
    return json_response(
        BulkResult, set_priority(tenant_id(app), body.ids, body.priority, principal(app).actor), omit_nulls=True
    )


handler = make_handler(app, scope="tickets:write")
