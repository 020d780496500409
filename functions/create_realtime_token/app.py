"""POST /v1/realtime/tokens: a single-use, 60-second token that opens the real-time WebSocket for this key."""

from tickets.api.http import build_app, json_response, make_handler, ok, principal
from tickets.logic.realtime import create_token
from tickets.models.realtime import RealtimeToken

app = build_app()


@app.post(
    "/v1/realtime/tokens",
    summary="Get a token for the real-time WebSocket",
    description="Open `url` within 60 s (the token works once): the tenant's ticket and comment events arrive on "
    'it, `forYou` when the ticket is assigned to this key\'s agent. Send `{"action": "ping"}` for a '
    '`{"type": "pong"}`.',
    tags=["realtime"],
    responses=ok(RealtimeToken, 201, "Created"),
)
def create_realtime_token():
    return json_response(RealtimeToken, create_token(principal(app)), 201, {"Cache-Control": "no-store"})


handler = make_handler(app, scope="tickets:read", secret_fields=("token", "url"))  # the token is shown once
