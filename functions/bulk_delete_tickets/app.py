"""POST /v1/tickets/bulk/delete: delete up to 100 tickets (closed ones too), each item on its own."""

from tickets.api.http import build_app, json_response, make_handler, ok, tenant_id
from tickets.logic.bulk import delete
from tickets.models.bulk import BulkDelete, BulkResult

app = build_app()


@app.post("/v1/tickets/bulk/delete", summary="Delete many tickets", tags=["bulk"], responses=ok(BulkResult))
def bulk_delete_tickets(body: BulkDelete):
    return json_response(BulkResult, delete(tenant_id(app), body.ids), omit_nulls=True)


handler = make_handler(app, scope="tickets:delete")
