"""POST /v1/sla-policies: create an SLA policy."""

from tickets.api.http import build_app, json_response, make_handler, ok, tenant_id
from tickets.logic.sla_policies import create_policy as create_logic
from tickets.models.sla_policies import SlaPolicy, SlaPolicyCreate

app = build_app()


@app.post(
    "/v1/sla-policies",
    summary="Create an SLA policy",
    tags=["sla-policies"],
    responses=ok(SlaPolicy, 201, "Created", headers=("Location",)),
)
def create_sla_policy(body: SlaPolicyCreate):
    created = create_logic(tenant_id(app), body)
    return json_response(SlaPolicy, created, 201, {"Location": f"/v1/sla-policies/{created['id']}"})


handler = make_handler(app, scope="settings:manage")
