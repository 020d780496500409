"""tools/realtime.py answers as API Gateway does: its @connections endpoint through boto3's own
apigatewaymanagementapi client (the push consumer's), and its ws:// server through a real `websockets` client,
with the template's $connect / $default / $disconnect functions behind it (moto)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from tests.conftest import call, items
from tools.realtime import Routes, WebSocketGateway


def _client(url: str) -> Any:
    return boto3.client("apigatewaymanagementapi", endpoint_url=url, region_name="us-east-1")


@pytest.fixture
def gateway(realtime: Routes) -> Iterator[WebSocketGateway]:
    ws = WebSocketGateway(realtime, port=0).start()
    yield ws
    ws.stop()


def _token_url(gateway: WebSocketGateway, key: str) -> str:
    resp = call("POST", "/v1/realtime/tokens", key=key)
    assert resp.status == 201, resp.body
    return f"{gateway.url}?token={resp.json['token']}"


def test_given_the_connections_endpoint_then_post_get_and_delete_answer_as_api_gateway_and_unknown_ids_are_410(
    tenant, realtime
):
    conn = realtime.connect({"token": call("POST", "/v1/realtime/tokens", key=tenant.key).json["token"]})
    client = _client(realtime.connections.url)

    client.post_to_connection(ConnectionId=conn.id, Data=b'{"hello": "world"}')
    info = client.get_connection(ConnectionId=conn.id)
    client.delete_connection(ConnectionId=conn.id)

    assert conn.received == ['{"hello": "world"}'] and conn.closed
    assert info["Identity"]["SourceIp"] == "127.0.0.1" and info["ConnectedAt"] <= info["LastActiveAt"]
    for call_it in (
        lambda: client.post_to_connection(ConnectionId=conn.id, Data=b"{}"),
        lambda: client.get_connection(ConnectionId="neverOpened0000="),
        lambda: client.delete_connection(ConnectionId="neverOpened0000="),
    ):
        with pytest.raises(client.exceptions.GoneException):
            call_it()


def test_given_another_api_or_a_message_over_128_kb_then_403_and_413_as_on_aws(tenant, realtime):
    conn = realtime.connect({"token": call("POST", "/v1/realtime/tokens", key=tenant.key).json["token"]})
    other = realtime.connections.url.replace(realtime.connections.api_id, "otherapi00")
    with pytest.raises(ClientError) as forbidden:
        _client(other).post_to_connection(ConnectionId=conn.id, Data=b"{}")
    assert forbidden.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    with pytest.raises(_client(realtime.connections.url).exceptions.PayloadTooLargeException):
        _client(realtime.connections.url).post_to_connection(ConnectionId=conn.id, Data=b"x" * (128 * 1024 + 1))
    assert conn.received == []


def test_given_a_real_client_then_connect_ping_a_post_and_a_server_close_run_the_template_functions(
    aws, tenant, gateway, realtime
):
    ws = connect(_token_url(gateway, tenant.key), open_timeout=5)
    (conn_id,) = realtime.connections.open_ids()
    assert [i["connectionId"] for i in items(aws, f"TENANT#{tenant.tenant_id}") if i["SK"].startswith("CONN#")] == [
        conn_id
    ]
    ws.send('{"action": "ping"}')
    assert json.loads(ws.recv(timeout=2)) == {"type": "pong"}  # $default is two-way: its answer comes back

    _client(realtime.connections.url).post_to_connection(ConnectionId=conn_id, Data=b'{"type": "ticket.created"}')
    assert json.loads(ws.recv(timeout=2)) == {"type": "ticket.created"}

    _client(realtime.connections.url).delete_connection(ConnectionId=conn_id)
    with pytest.raises(ConnectionClosed):
        ws.recv(timeout=2)
    deadline = time.monotonic() + 2
    while any(i["SK"].startswith("CONN#") for i in items(aws, f"TENANT#{tenant.tenant_id}")):
        assert time.monotonic() < deadline, "$disconnect did not run"
        time.sleep(0.02)
    assert realtime.connections.open_ids() == []


def test_given_a_refused_token_then_the_handshake_is_answered_with_its_status_and_nothing_is_registered(
    aws, tenant, gateway, realtime
):
    with pytest.raises(InvalidStatus) as refused:
        connect(f"{gateway.url}?token=rt_unknown0123456789abcdefghijklmnopqr", open_timeout=5)
    assert refused.value.response.status_code == 401
    assert realtime.connections.open_ids() == []


def test_given_a_client_that_closes_then_disconnect_forgets_it(aws, tenant, gateway, realtime):
    with connect(_token_url(gateway, tenant.key), open_timeout=5):
        assert len(realtime.connections.open_ids()) == 1
    deadline = time.monotonic() + 2
    while realtime.connections.open_ids() or any(
        i["SK"].startswith("CONN#") for i in items(aws, f"TENANT#{tenant.tenant_id}")
    ):
        assert time.monotonic() < deadline, "$disconnect did not run"
        time.sleep(0.02)
