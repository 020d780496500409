"""POST /v1/tickets/solve-unfinished: resolve up to 1000 unfinished tickets (optionally one customer's)."""

from tickets.api.http import build_app, json_response, make_handler, ok, principal, tenant_id
from tickets.logic.bulk import solve_unfinished
from tickets.models.bulk import SolveResult, SolveUnfinished

app = build_app()


@app.post(
    "/v1/tickets/solve-unfinished", summary="Resolve unfinished tickets", tags=["bulk"], responses=ok(SolveResult)
)
def solve_unfinished_tickets(body: SolveUnfinished):
    return json_response(SolveResult, solve_unfinished(tenant_id(app), body.customerId, principal(app).actor))


handler = make_handler(app, scope="tickets:status")
