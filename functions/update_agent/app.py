"""PATCH /v1/agents/{id}: name, email, level, availability (openTickets is read-only)."""

from tickets.api.http import build_app, json_response, make_handler, ok, tenant_id
from tickets.logic.agents import update_agent as update_logic
from tickets.models.agents import Agent, AgentPatch

app = build_app()


@app.patch("/v1/agents/<agent_id>", summary="Update an agent", tags=["agents"], responses=ok(Agent))
def update_agent(agent_id: str, body: AgentPatch):
    return json_response(Agent, update_logic(tenant_id(app), agent_id, body))


handler = make_handler(app, scope="agents:write")
