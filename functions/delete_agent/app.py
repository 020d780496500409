"""DELETE /v1/agents/{id}: delete an agent without open tickets (409 otherwise)."""

from tickets.api.http import build_app, make_handler, no_content, tenant_id
from tickets.logic.agents import delete_agent as delete_logic

app = build_app()


@app.delete(
    "/v1/agents/<agent_id>", summary="Delete an agent", tags=["agents"], responses={204: {"description": "Deleted"}}
)
def delete_agent(agent_id: str):
    delete_logic(tenant_id(app), agent_id)
    return no_content()


handler = make_handler(app, scope="agents:write")
