"""DELETE /v1/tickets/{id}: hard delete."""

from tickets.api.http import build_app, make_handler, no_content, tenant_id
from tickets.logic.tickets import delete_ticket as delete_logic

app = build_app()


@app.delete(
    "/v1/tickets/<ticket_id>", summary="Delete a ticket", tags=["tickets"], responses={204: {"description": "Deleted"}}
)
def delete_ticket(ticket_id: str):
    delete_logic(tenant_id(app), ticket_id)
    return no_content()


handler = make_handler(app, scope="tickets:delete")
