"""The real-time WebSocket API, locally: what API Gateway does for template.yaml's WebSocketApi, without AWS.

    connections = Connections().start()          # the @connections endpoint: POST / GET / DELETE /@connections/{id}
    routes = Routes(invoke, connections)         # the API's routes ($connect, $disconnect, $default...) as events
    gateway = WebSocketGateway(routes, port=3001).start()    # make dev: ws://127.0.0.1:3001 with real sockets
    routes.connect(token=...) / routes.message(...) / ...    # tests: the same routes, the sockets recorded instead

Everything comes from the template (tools.template.websocket_routes): which function each route key invokes and
whether the route is two-way (a RouteResponse: the function's answer goes back to the client). Each client event
becomes an API Gateway WebSocket event (tools.events.websocket_event: routeKey, eventType, connectionId,
queryStringParameters on $connect, domainName, stage, apiId) for that function, as on AWS:
- $connect runs before the upgrade is answered; a status other than 2xx refuses it with that status;
- a message is routed by the API's RouteSelectionExpression (`$request.body.action`) to the route of that key,
  else to $default; a two-way route's answer (its `body`) is sent back as one text message;
- a closed socket (by the client, or by DELETE @connections) runs $disconnect.

The @connections endpoint is what boto3's `apigatewaymanagementapi` client talks to: the functions' environment
names it in REALTIME_CONNECTIONS_URL (tools.template.local_endpoints), `http://127.0.0.1:<port>/<api id>/<stage>`,
so the push consumer's code is the same on AWS and here. Its answers are API Gateway's: 200 for a post, 204 for a
delete, the connection's info for a get, 410 GoneException for a connection that is not open, 413 for more than
128 KB, 403 for another API or stage.

Local differences: no 2-hour lifetime and no 10-minute idle timeout (close a socket with DELETE @connections or
stop the stack to exercise a reconnect); messages from one client are answered one at a time.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from tools import template
from tools.events import websocket_event

HOST = "127.0.0.1"
MAX_MESSAGE_BYTES = 128 * 1024  # API Gateway's WebSocket message limit (frames are at most 32 KB)
SEND_TIMEOUT = 5.0

Invoke = Callable[[str, dict[str, Any]], Any]  # (function logical id, event) -> the handler's result


def new_connection_id() -> str:
    """An id shaped like API Gateway's (16 characters of base64, ending in '='): it needs encoding in a URL path."""
    return base64.urlsafe_b64encode(os.urandom(10)).decode()


def _iso(seconds: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{int(seconds * 1000) % 1000:03d}Z"


# ------------------------------------------------------------------------------------------------ connections


@dataclass
class Connection:
    """One open connection. `send`/`close` reach its client: a real socket (WebSocketGateway) or, in tests, this
    base class, which records what was sent and whether it was closed."""

    id: str
    source_ip: str = HOST
    user_agent: str = ""
    connected_at: float = field(default_factory=time.time)
    last_active_at: float = field(default_factory=time.time)
    received: list[str] = field(default_factory=list)  # what the server sent, in order (recorded connections)
    closed: bool = False
    ready: threading.Event = field(default_factory=threading.Event)  # set once the upgrade is answered

    def send(self, text: str) -> None:
        self.received.append(text)

    def close(self) -> None:
        self.closed = True

    def messages(self) -> list[Any]:
        return [json.loads(text) for text in self.received]

    def info(self) -> dict[str, Any]:
        return {
            "connectedAt": _iso(self.connected_at),
            "identity": {"sourceIp": self.source_ip, "userAgent": self.user_agent},
            "lastActiveAt": _iso(self.last_active_at),
        }


class Gone(Exception):
    """The connection is not (or no longer) open: API Gateway's 410."""


class Connections:
    """The open connections by id, and the local @connections endpoint that reaches them (see the module doc)."""

    def __init__(self, *, host: str = HOST, port: int = 0) -> None:
        self.host, self.port = host, port
        self.api_id = template.websocket_refs().get((template.websocket_api() or ("", {}))[0], "local")
        self.stage = template.websocket_stage() if template.websocket_api() else "local"
        self._open: dict[str, Connection] = {}
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        """What REALTIME_CONNECTIONS_URL says locally: this endpoint, with the API id and stage in its path."""
        return f"http://{self.host}:{self.port}/{self.api_id}/{self.stage}"

    def start(self) -> Connections:
        registry = self

        class Handler(_EndpointHandler):
            connections = registry

        self._server = _Server((self.host, self.port), Handler)
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True,
                         name="connections").start()  # fmt: skip
        return self

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def add(self, conn: Connection) -> None:
        with self._lock:
            self._open[conn.id] = conn

    def remove(self, connection_id: str) -> Connection | None:
        with self._lock:
            return self._open.pop(connection_id, None)

    def get(self, connection_id: str) -> Connection:
        with self._lock:
            conn = self._open.get(connection_id)
        if conn is None or conn.closed:
            raise Gone(connection_id)
        return conn

    def open_ids(self) -> list[str]:
        with self._lock:
            return [cid for cid, conn in self._open.items() if not conn.closed]

    # What the endpoint does; also callable directly.

    def post(self, connection_id: str, data: bytes) -> None:
        conn = self.get(connection_id)
        if not conn.ready.wait(SEND_TIMEOUT):  # a post right after $connect waits for the upgrade to finish
            raise Gone(connection_id)
        conn.send(data.decode("utf-8", "replace"))

    def delete(self, connection_id: str) -> None:
        conn = self.get(connection_id)
        conn.close()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128


class _EndpointHandler(BaseHTTPRequestHandler):
    """POST / GET / DELETE /<api id>/<stage>/@connections/<id>, answered as API Gateway answers them."""

    connections: Connections
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        self._handle()

    def do_GET(self) -> None:
        self._handle()

    def do_DELETE(self) -> None:
        self._handle()

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        prefix, sep, raw_id = urlsplit(self.path).path.partition("/@connections/")
        registry = self.connections
        if not sep or prefix != f"/{registry.api_id}/{registry.stage}" or not raw_id or "/" in raw_id:
            return self._error(403, "ForbiddenException", "Forbidden")
        connection_id = unquote(raw_id)
        try:
            if self.command == "POST":
                if len(body) > MAX_MESSAGE_BYTES:
                    return self._error(413, "PayloadTooLargeException", "Message too long")
                registry.post(connection_id, body)
                return self._answer(200, b"")
            if self.command == "DELETE":
                registry.delete(connection_id)
                return self._answer(204, b"")
            return self._answer(200, json.dumps(registry.get(connection_id).info()).encode())
        except Gone:
            return self._error(410, "GoneException", f"Connection {connection_id} is gone")

    def _error(self, status: int, kind: str, message: str) -> None:
        self._answer(status, json.dumps({"message": message}).encode(), {"x-amzn-ErrorType": kind})

    def _answer(self, status: int, payload: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if payload:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        pass


# ------------------------------------------------------------------------------------------------ routes


class Refused(Exception):
    """$connect said no: the upgrade is answered with this status."""

    def __init__(self, status: int, body: str = "") -> None:
        super().__init__(f"$connect refused: {status}")
        self.status, self.body = status, body


class Routes:
    """The template's WebSocket routes as API Gateway runs them: client events in, function invocations out.

    Used by WebSocketGateway with real sockets, and directly by tests, whose connections are recorded.
    """

    def __init__(self, invoke: Invoke, connections: Connections, *, domain: str = HOST) -> None:
        self.invoke, self.connections, self.domain = invoke, connections, domain
        self.routes = template.websocket_routes()
        self._connected_at: dict[str, int] = {}

    def _event(self, route_key: str, connection_id: str, **kwargs: Any) -> dict[str, Any]:
        return websocket_event(
            route_key, connection_id, api_id=self.connections.api_id, stage=self.connections.stage,
            domain=self.domain, connected_at_ms=self._connected_at.get(connection_id), **kwargs,
        )  # fmt: skip

    def _run(self, route_key: str, event: dict[str, Any]) -> Any:
        route = self.routes.get(route_key)
        return None if route is None else self.invoke(route.function, event)

    def connect(
        self,
        query: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        *,
        connection: Connection | None = None,
        source_ip: str = HOST,
    ) -> Connection:
        """Run $connect; on 2xx register the connection (a recorded one unless given) and return it. Refused else."""
        conn = connection or Connection(new_connection_id(), source_ip, (headers or {}).get("user-agent", ""))
        self._connected_at[conn.id] = int(conn.connected_at * 1000)
        event = self._event("$connect", conn.id, query=query, headers=headers, source_ip=source_ip)
        try:
            result = self._run("$connect", event)
        except Exception as exc:  # an integration failure: API Gateway answers 500
            self._connected_at.pop(conn.id, None)
            raise Refused(500, "Internal server error") from exc
        status = int(result.get("statusCode", 200)) if isinstance(result, dict) else 200
        if not 200 <= status < 300:
            self._connected_at.pop(conn.id, None)
            raise Refused(status, str(result.get("body") or "") if isinstance(result, dict) else "")
        self.connections.add(conn)
        if connection is None:
            conn.ready.set()
        return conn

    def route_key(self, text: str | None) -> str:
        """RouteSelectionExpression `$request.body.action`: the route of that key if there is one, else $default."""
        try:
            action = json.loads(text).get("action") if text is not None else None
        except (ValueError, AttributeError, RecursionError):
            action = None
        if isinstance(action, str) and action in self.routes and not action.startswith("$"):
            return action
        return "$default"

    def message(self, connection_id: str, data: str | bytes) -> str | None:
        """Run the route a message selects; a two-way route's answer is sent back (and returned)."""
        text = data if isinstance(data, str) else None
        key = self.route_key(text)
        conn = self.connections.get(connection_id)
        conn.last_active_at = time.time()
        result = self._run(key, self._event(key, connection_id, body=data))
        route = self.routes.get(key)
        if not (route and route.two_way and isinstance(result, dict) and result.get("body") is not None):
            return None
        answer = result["body"]
        answer = base64.b64decode(answer).decode() if result.get("isBase64Encoded") else str(answer)
        conn.send(answer)
        return answer

    def disconnect(self, connection_id: str, status: int = 1000) -> None:
        """The client (or DELETE @connections) closed the socket: forget it and run $disconnect."""
        conn = self.connections.remove(connection_id)
        if conn is not None:
            conn.closed = True
        self._run("$disconnect", self._event("$disconnect", connection_id, disconnect_status=status))
        self._connected_at.pop(connection_id, None)


# ------------------------------------------------------------------------------------------------ real sockets


class _SocketConnection(Connection):
    """A connection whose client is a real WebSocket, served by the gateway's event loop."""

    def __init__(self, connection_id: str, socket: Any, loop: asyncio.AbstractEventLoop, **kw: Any) -> None:
        super().__init__(connection_id, **kw)
        self.socket, self.loop = socket, loop

    def send(self, text: str) -> None:
        from websockets.exceptions import ConnectionClosed

        try:
            asyncio.run_coroutine_threadsafe(self.socket.send(text), self.loop).result(SEND_TIMEOUT)
        except (ConnectionClosed, RuntimeError) as exc:
            raise Gone(self.id) from exc

    def close(self) -> None:
        self.closed = True
        asyncio.run_coroutine_threadsafe(self.socket.close(1000, "closed by the server"), self.loop)


class WebSocketGateway:
    """ws://host:port, served by the `websockets` library on an asyncio loop of its own thread; every client event
    goes through `routes` (each function call on a worker thread, so the loop never blocks)."""

    def __init__(self, routes: Routes, *, host: str = HOST, port: int = 3001, log: Callable[[str], None] | None = None):
        self.routes, self.host, self.port, self.log = routes, host, port, log
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stop: asyncio.Event | None = None
        self._by_socket: dict[Any, _SocketConnection] = {}

    @property
    def url(self) -> str:
        return f"ws://{self.host}:{self.port}"

    def start(self) -> WebSocketGateway:
        started = threading.Event()
        failed: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            try:
                loop.run_until_complete(self._serve(started))
            except BaseException as exc:  # e.g. the port is taken: start() raises it
                failed.append(exc)
                started.set()
            finally:
                loop.close()

        self._thread = threading.Thread(target=run, name="websocket", daemon=True)
        self._thread.start()
        started.wait(10)
        if failed:
            raise failed[0]
        return self

    def stop(self) -> None:
        if self._loop and self._stop and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread:
            self._thread.join(5)

    async def _serve(self, started: threading.Event) -> None:
        from websockets.asyncio.server import serve

        self._stop = asyncio.Event()
        async with serve(
            self._handle, self.host, self.port, process_request=self._connect, max_size=MAX_MESSAGE_BYTES,
            ping_interval=None,  # API Gateway sends no pings of its own; clients keep connections alive with theirs
        ) as server:  # fmt: skip
            self.port = next(iter(server.sockets)).getsockname()[1]
            started.set()
            await self._stop.wait()

    async def _connect(self, socket: Any, request: Any) -> Any:
        """$connect, before the upgrade is answered: a refusal answers the handshake with its status."""
        url = urlsplit(request.path)
        query = dict(parse_qsl(url.query, keep_blank_values=True))
        headers = {name.lower(): value for name, value in request.headers.raw_items()}
        peer = socket.remote_address[0] if socket.remote_address else HOST
        conn = _SocketConnection(new_connection_id(), socket, asyncio.get_running_loop(), source_ip=peer,
                                 user_agent=headers.get("user-agent", ""))  # fmt: skip
        try:
            await asyncio.to_thread(self.routes.connect, query or None, headers, connection=conn, source_ip=peer)
        except Refused as refused:
            self._say(f"WebSocket $connect refused: {refused.status}")
            return socket.respond(refused.status, refused.body or "Forbidden\n")
        self._by_socket[socket] = conn
        return None

    async def _handle(self, socket: Any) -> None:
        from websockets.exceptions import ConnectionClosed

        conn = self._by_socket.pop(socket)
        conn.ready.set()
        try:
            async for data in socket:
                try:
                    await asyncio.to_thread(self.routes.message, conn.id, data)
                except Gone:
                    break
                except Exception as exc:  # a function that raised: API Gateway answers an internal error message
                    self._say(f"WebSocket message failed: {exc!r}")
                    await socket.send(json.dumps({"message": "Internal server error"}))
        except ConnectionClosed:
            pass
        finally:
            code = socket.close_code or 1006
            await asyncio.to_thread(self.routes.disconnect, conn.id, code)

    def _say(self, line: str) -> None:
        if self.log:
            self.log(line)


def print_log(line: str) -> None:
    print(line, file=sys.stderr, flush=True)
