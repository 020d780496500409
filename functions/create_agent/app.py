"""POST /v1/agents: create an agent (level N1, N2 or N3)."""

from tickets.api.http import build_app, json_response, make_handler, ok, tenant_id
from tickets.logic.agents import create_agent as create_logic
from tickets.models.agents import Agent, AgentCreate

app = build_app()


@app.post(
    "/v1/agents", summary="Create an agent", tags=["agents"], responses=ok(Agent, 201, "Created", headers=("Location",))
)
def create_agent(body: AgentCreate):
    created = create_logic(tenant_id(app), body)
    return json_response(Agent, created, 201, {"Location": f"/v1/agents/{created['id']}"})


handler = make_handler(app, scope="agents:write")
