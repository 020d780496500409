"""GET /v1/agents: list agents."""

from typing import Annotated

from tickets.api.http import Query, build_app, json_response, make_handler, ok, tenant_id
from tickets.logic.agents import list_agents as list_logic
from tickets.models.agents import AgentListQuery, AgentPage

app = build_app()


@app.get("/v1/agents", summary="List agents", tags=["agents"], responses=ok(AgentPage))
def list_agents(query: Annotated[AgentListQuery, Query()]):
    return json_response(AgentPage, list_logic(tenant_id(app), query))


handler = make_handler(app, scope="agents:read", query=AgentListQuery)
