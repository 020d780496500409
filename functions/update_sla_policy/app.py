"""PATCH /v1/sla-policies/{id}: partial update of an SLA policy."""

from tickets.api.http import build_app, json_response, make_handler, ok, tenant_id
from tickets.logic.sla_policies import update_policy as update_logic
from tickets.models.sla_policies import SlaPolicy, SlaPolicyPatch

app = build_app()


@app.patch(
    "/v1/sla-policies/<policy_id>", summary="Update an SLA policy", tags=["sla-policies"], responses=ok(SlaPolicy)
)
def update_sla_policy(policy_id: str, body: SlaPolicyPatch):
    return json_response(SlaPolicy, update_logic(tenant_id(app), policy_id, body))


handler = make_handler(app, scope="settings:manage")
