"""WebSocket $default (two-way): `{"action": "ping"}` -> `{"type": "pong"}`; anything else -> an error message."""

from typing import Any

from tickets.api.websocket import connection_id, message, websocket_handler
from tickets.logic.realtime import answer


def answer_message(event: dict[str, Any]) -> dict[str, Any]:
    return message(answer(connection_id(event), event.get("body"), binary=bool(event.get("isBase64Encoded"))))


handler = websocket_handler(answer_message)
