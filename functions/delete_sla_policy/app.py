"""DELETE /v1/sla-policies/{id}: delete an SLA policy."""

from tickets.api.http import build_app, make_handler, no_content, tenant_id
from tickets.logic.sla_policies import delete_policy as delete_logic

app = build_app()


@app.delete(
    "/v1/sla-policies/<policy_id>",
    summary="Delete an SLA policy",
    tags=["sla-policies"],
    responses={204: {"description": "Deleted"}},
)
def delete_sla_policy(policy_id: str):
    delete_logic(tenant_id(app), policy_id)
    return no_content()


handler = make_handler(app, scope="settings:manage")
