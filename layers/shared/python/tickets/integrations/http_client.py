"""A stdlib-only JSON POST for webhook delivery: pinned address, one overall deadline, no redirects, never raises.

The host is resolved once (`ssrf.resolve_pinned`) and the TCP connection goes to one of those checked addresses;
TLS still verifies the certificate against the host name (SNI + hostname check), and the request carries the
original `Host` header. Every read and write is bounded by the time left before the deadline, so a receiver that
accepts the connection and never answers, or trickles bytes, ends as `error="timeout"` after `timeout` seconds.
"""

from __future__ import annotations

import http.client
import io
import ipaddress
import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import urlsplit

from tickets.integrations.ssrf import BlockedAddress, IPAddress, UnresolvableHost, resolve_pinned

MAX_BODY_BYTES = 64 * 1024
USER_AGENT = "tickets-webhooks/1.0"
_SKIP_HEADERS = frozenset({"host", "content-length", "connection", "transfer-encoding"})


@dataclass(frozen=True)
class PostResult:
    status: int | None
    duration_ms: int
    error: str | None
    blocked: bool = False

    @property
    def ok(self) -> bool:
        return self.error is None and self.status is not None and 200 <= self.status < 300


class _Deadline:
    def __init__(self, seconds: float) -> None:
        self.start = time.monotonic()
        self.end = self.start + seconds

    def remaining(self) -> float:
        left = self.end - time.monotonic()
        if left <= 0:
            raise TimeoutError("timeout")
        return left

    def elapsed_ms(self) -> int:
        return int((time.monotonic() - self.start) * 1000)


class _DeadlineReader(io.RawIOBase):
    """Raw reader over a socket that re-arms the socket timeout to the time left before every recv."""

    def __init__(self, sock: socket.socket, deadline: _Deadline) -> None:
        self._sock = sock
        self._deadline = deadline

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        self._sock.settimeout(self._deadline.remaining())
        return self._sock.recv_into(buffer)


class _DeadlineSocket:
    """What http.client needs of a socket (sendall, makefile, close), every operation bounded by the deadline."""

    def __init__(self, sock: socket.socket, deadline: _Deadline) -> None:
        self._sock = sock
        self._deadline = deadline

    def sendall(self, data: bytes) -> None:
        self._sock.settimeout(self._deadline.remaining())  # since 3.5 the timeout bounds the whole sendall
        self._sock.sendall(data)

    def makefile(self, mode: str = "rb", *args: Any, **kwargs: Any) -> io.BufferedReader:
        return io.BufferedReader(_DeadlineReader(self._sock, self._deadline))

    def close(self) -> None:
        # http.client "closes" the connection as soon as it sees `Connection: close`, before the body is read;
        # post_json owns the real socket and closes it when it is done.
        pass


def _ssl_context() -> ssl.SSLContext:
    """Default verification (system CAs, hostname check). A function so tests can trust a local CA."""
    return ssl.create_default_context()


def _open_socket(ip: IPAddress, port: int, timeout: float) -> socket.socket:
    """TCP connect to exactly `ip` (no name resolution here)."""
    family = socket.AF_INET6 if isinstance(ip, ipaddress.IPv6Address) else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.settimeout(timeout)
        sock.connect((str(ip), port))
    except BaseException:
        sock.close()
        raise
    return sock


def _with_deadline[T](fn: Callable[[], T], deadline: _Deadline) -> T:
    """Run a call that has no timeout of its own (getaddrinfo) in a daemon thread, waiting only until the deadline."""
    box: list[tuple[bool, Any]] = []

    def run() -> None:
        try:
            box.append((True, fn()))
        except BaseException as exc:
            box.append((False, exc))

    worker = threading.Thread(target=run, name="webhook-dns", daemon=True)
    worker.start()
    worker.join(deadline.remaining())
    if not box:
        raise TimeoutError("timeout")
    ok, value = box[0]
    if not ok:
        raise value
    return cast(T, value)


def _describe(exc: BaseException) -> str:
    match exc:
        case TimeoutError():
            return "timeout"
        case ConnectionRefusedError():
            return "connection refused"
        case ConnectionResetError() | BrokenPipeError():
            return "connection reset"
        case ssl.SSLCertVerificationError():
            return f"tls: certificate verify failed: {exc.verify_message or exc.reason}"
        case ssl.SSLError():
            return f"tls: {exc.reason or exc}"
        case http.client.RemoteDisconnected():
            return "connection closed without a response"
        case http.client.HTTPException():
            return f"bad response: {type(exc).__name__}: {exc}"
        case OSError():
            return f"network error: {exc.strerror or exc}"
        case _:
            return f"error: {type(exc).__name__}: {exc}"


def _connect(ips: list[IPAddress], port: int, deadline: _Deadline) -> socket.socket:
    """Connect to the first pinned address that accepts; a refused or unreachable one falls through to the next."""
    last: OSError | None = None
    for n, ip in enumerate(ips):
        left = deadline.remaining()
        share = left / (len(ips) - n)  # a black-holed first address must not eat the whole budget
        try:
            return _open_socket(ip, port, share)
        except OSError as exc:  # refused, unreachable, or this address's share of the time ran out
            last = exc
    assert last is not None
    deadline.remaining()  # out of time -> "timeout" rather than the last address's error
    raise last


def _host_header(host: str, port: int, default_port: int) -> str:
    name = f"[{host}]" if ":" in host else host
    return name if port == default_port else f"{name}:{port}"


def post_json(
    url: str, body: bytes, headers: dict[str, str], *, timeout: float = 15.0, allow_private: bool
) -> PostResult:
    """POST `body` to `url`. Never raises: network failures come back as status None with `error` set."""
    deadline = _Deadline(timeout)
    try:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        host = parts.hostname
        port = parts.port
    except ValueError as exc:
        return PostResult(None, deadline.elapsed_ms(), f"invalid url: {exc}", blocked=True)
    if scheme not in ("http", "https") or not host:
        return PostResult(None, deadline.elapsed_ms(), "invalid url", blocked=True)
    if scheme == "http" and not allow_private:
        return PostResult(None, deadline.elapsed_ms(), "blocked: plain http is not allowed", blocked=True)
    if parts.username is not None or parts.password is not None:
        return PostResult(None, deadline.elapsed_ms(), "blocked: credentials in url", blocked=True)
    default_port = 443 if scheme == "https" else 80
    port = port or default_port
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")

    sock: socket.socket | None = None
    conn: http.client.HTTPConnection | None = None
    try:
        ips = _with_deadline(lambda: resolve_pinned(host, port, allow_private=allow_private), deadline)
        sock = _connect(ips, port, deadline)
        if scheme == "https":
            sock.settimeout(deadline.remaining())
            sock = _ssl_context().wrap_socket(sock, server_hostname=host)  # SNI + cert check use the name
        conn = http.client.HTTPConnection(host, port)
        conn.sock = cast(socket.socket, _DeadlineSocket(sock, deadline))
        conn.putrequest("POST", target, skip_host=True, skip_accept_encoding=True)
        conn.putheader("Host", _host_header(host, port, default_port))
        sent = {k.lower() for k in headers}
        if "content-type" not in sent:
            conn.putheader("Content-Type", "application/json")
        if "user-agent" not in sent:
            conn.putheader("User-Agent", USER_AGENT)
        for name, value in headers.items():
            if name.lower() not in _SKIP_HEADERS:
                conn.putheader(name, value)
        conn.putheader("Content-Length", str(len(body)))
        conn.putheader("Connection", "close")
        conn.endheaders(body)
        response = conn.getresponse()  # redirects are not followed: a 3xx is just a status
        response.read(MAX_BODY_BYTES)  # drained and discarded, bounded in size and by the deadline
        return PostResult(response.status, deadline.elapsed_ms(), None)
    except UnresolvableHost as exc:
        return PostResult(None, deadline.elapsed_ms(), f"dns: {exc.reason}")
    except BlockedAddress as exc:
        return PostResult(None, deadline.elapsed_ms(), f"blocked: {exc.reason}", blocked=True)
    except Exception as exc:
        return PostResult(None, deadline.elapsed_ms(), _describe(exc))
    finally:
        if conn is not None:
            conn.close()
        if sock is not None:
            sock.close()
