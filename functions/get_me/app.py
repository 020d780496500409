"""GET /v1/me: the calling key's tenant, the key itself (never its value) and the agent it acts as."""

from tickets.api.http import build_app, json_response, make_handler, ok, principal
from tickets.logic.account import me
from tickets.models.tenants import Me

app = build_app()


@app.get("/v1/me", summary="Who this API key is", tags=["account"], responses=ok(Me))
def get_me():
    return json_response(Me, me(principal(app)))


handler = make_handler(app, scope=None)  # any valid key
