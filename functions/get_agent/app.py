"""GET /v1/agents/{id}: one agent, with its live openTickets count."""

from tickets.api.http import build_app, json_response, make_handler, ok, tenant_id
from tickets.logic.agents import get_agent as get_logic
from tickets.models.agents import Agent

app = build_app()


@app.get("/v1/agents/<agent_id>", summary="Get an agent", tags=["agents"], responses=ok(Agent))
def get_agent(agent_id: str):
    return json_response(Agent, get_logic(tenant_id(app), agent_id))


handler = make_handler(app, scope="agents:read")
