"""Build API Gateway HTTP API (payload v2.0) events, as API Gateway would send them to a function."""

from __future__ import annotations

import base64
import json
import time
import uuid
from typing import Any
from urllib.parse import parse_qsl, quote


def http_event(
    method: str,
    path: str,
    *,
    route_path: str,
    path_params: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
    query: str | dict[str, str] | None = None,
    body: bytes | str | dict[str, Any] | list[Any] | None = None,
    source_ip: str = "127.0.0.1",
) -> dict[str, Any]:
    if isinstance(query, dict):
        raw_query = "&".join(f"{quote(k)}={quote(str(v))}" for k, v in query.items())
    else:
        raw_query = query or ""
    params: dict[str, str] = {}
    for k, v in parse_qsl(raw_query, keep_blank_values=True):
        # HTTP API joins repeated parameters with commas.
        params[k] = f"{params[k]},{v}" if k in params else v
    hdrs = {k.lower(): v for k, v in (headers or {}).items()}
    is_b64 = False
    if isinstance(body, dict | list):
        body = json.dumps(body)
        hdrs.setdefault("content-type", "application/json")
    if isinstance(body, bytes):
        raw = body
        try:
            body = raw.decode("utf-8")
        except UnicodeDecodeError:
            body, is_b64 = base64.b64encode(raw).decode(), True
    now = time.time()
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": f"{method.upper()} {route_path}",
        "rawPath": path,
        "rawQueryString": raw_query,
        "headers": hdrs,
        "requestContext": {
            "accountId": "000000000000",
            "apiId": "local",
            "domainName": "127.0.0.1",
            "domainPrefix": "127",
            "http": {
                "method": method.upper(),
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": hdrs.get("user-agent", ""),
            },
            "requestId": str(uuid.uuid4()),
            "routeKey": f"{method.upper()} {route_path}",
            "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "timeEpoch": int(now * 1000),
        },
        "isBase64Encoded": is_b64,
    }
    if params:
        event["queryStringParameters"] = params
    if path_params:
        event["pathParameters"] = path_params
    if body is not None and body != "":
        event["body"] = body
    return event


_WS_EVENT_TYPES = {"$connect": "CONNECT", "$disconnect": "DISCONNECT"}


def websocket_event(
    route_key: str,
    connection_id: str,
    *,
    api_id: str,
    stage: str,
    domain: str,
    body: str | bytes | None = None,
    query: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
    source_ip: str = "127.0.0.1",
    connected_at_ms: int | None = None,
    disconnect_status: int = 1000,
) -> dict[str, Any]:
    """An API Gateway WebSocket event (Lambda proxy integration) for one route: `$connect` (headers and the query
    string, nothing else), `$disconnect`, or a message (`body`; binary frames arrive base64-encoded)."""
    now = time.time()
    event_type = _WS_EVENT_TYPES.get(route_key, "MESSAGE")
    request_id = str(uuid.uuid4())
    context: dict[str, Any] = {
        "routeKey": route_key,
        "eventType": event_type,
        "extendedRequestId": request_id,
        "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
        "messageDirection": "IN",
        "stage": stage,
        "connectedAt": connected_at_ms if connected_at_ms is not None else int(now * 1000),
        "requestTimeEpoch": int(now * 1000),
        "identity": {
            "sourceIp": source_ip,
            "userAgent": next((v for k, v in (headers or {}).items() if k.lower() == "user-agent"), ""),
        },
        "requestId": request_id,
        "domainName": domain,
        "connectionId": connection_id,
        "apiId": api_id,
    }
    event: dict[str, Any] = {"requestContext": context, "isBase64Encoded": False}
    if event_type == "CONNECT":
        hdrs = dict(headers or {})
        event["headers"] = hdrs
        event["multiValueHeaders"] = {k: [v] for k, v in hdrs.items()}
        if query:
            event["queryStringParameters"] = dict(query)
            event["multiValueQueryStringParameters"] = {k: [v] for k, v in query.items()}
    elif event_type == "DISCONNECT":
        event["headers"] = dict(headers or {})
        context |= {"disconnectStatusCode": disconnect_status, "disconnectReason": ""}
    else:
        context["messageId"] = uuid.uuid4().hex[:16]
        if isinstance(body, bytes):
            event["body"], event["isBase64Encoded"] = base64.b64encode(body).decode(), True
        else:
            event["body"] = body
    return event


class FakeContext:
    """The parts of the Lambda context object that Powertools reads."""

    def __init__(self, function_name: str = "local", memory_mb: int = 256) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = f"arn:aws:lambda:us-east-1:000000000000:function:{function_name}"
        self.memory_limit_in_mb = memory_mb
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = "local"

    def get_remaining_time_in_millis(self) -> int:
        return 10_000
