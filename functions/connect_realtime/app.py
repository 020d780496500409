"""WebSocket $connect: the single-use token in `?token=` opens the connection (401/403 refuse the upgrade)."""

from typing import Any

from tickets.api.websocket import connection_id, websocket_handler
from tickets.logic.realtime import open_connection


def connect(event: dict[str, Any]) -> dict[str, Any]:
    open_connection(connection_id(event), (event.get("queryStringParameters") or {}).get("token"))
    return {"statusCode": 200}


handler = websocket_handler(connect)
