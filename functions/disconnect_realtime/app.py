"""WebSocket $disconnect: forget the connection (best effort on AWS: the items' TTL covers a missed one)."""

from typing import Any

from tickets.api.websocket import connection_id, websocket_handler
from tickets.logic.realtime import close_connection


def disconnect(event: dict[str, Any]) -> dict[str, Any]:
    close_connection(connection_id(event))
    return {"statusCode": 200}


handler = websocket_handler(disconnect)
