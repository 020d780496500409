"""GET /v1/sla-policies/{id}: one of the tenant's SLA policies."""

from tickets.api.http import build_app, json_response, make_handler, ok, tenant_id
from tickets.logic.sla_policies import get_policy as get_logic
from tickets.models.sla_policies import SlaPolicy

app = build_app()


@app.get("/v1/sla-policies/<policy_id>", summary="Get an SLA policy", tags=["sla-policies"], responses=ok(SlaPolicy))
def get_sla_policy(policy_id: str):
    return json_response(SlaPolicy, get_logic(tenant_id(app), policy_id))


handler = make_handler(app, scope="settings:manage")
