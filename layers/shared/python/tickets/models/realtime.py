"""The real-time channel: the token that opens a WebSocket, and the messages that travel on it.

Client -> server: `{"action": "ping"}`. Server -> client: a push per domain event (tickets.logic.realtime_push),
`{"type": "pong"}`, or `{"type": "error", "code", "message"}`.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from tickets.models.common import DateTime, OutputModel


class RealtimeToken(OutputModel):
    """POST /v1/realtime/tokens: open the WebSocket at `url` within 60 s; the token works once."""

    token: str | None = Field(
        description="rt_...: single use, valid 60 s, bound to this API key and its agent. Null when an "
        "Idempotency-Key replays the answer: the stored answer never holds a token.",
    )
    url: str | None = Field(
        description="The WebSocket URL with the token in its query string (`wss://...?token=rt_...`); "
        "null with the token.",
    )
    expiresAt: DateTime


PING = "ping"  # the one action a client sends

# A push's `ticket`, in this order: enough to place the ticket in a queue, never its description or conversation.
PUSHED_TICKET_FIELDS = (
    "id", "reference", "subject", "status", "priority", "assigneeId", "groupId", "version", "updatedAt",
)  # fmt: skip
MAX_PUSH_BYTES = 8 * 1024


def pong() -> dict[str, Any]:
    return {"type": "pong"}


def error(code: str, message: str) -> dict[str, Any]:
    return {"type": "error", "code": code, "message": message}
