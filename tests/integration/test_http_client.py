"""Webhook HTTP client against real servers on 127.0.0.1: statuses, no redirects, deadlines, pinning, TLS."""

from __future__ import annotations

import datetime
import http.server
import ipaddress
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tickets.integrations import http_client, ssrf
from tickets.integrations.http_client import PostResult, post_json
from tickets.integrations.ssrf import check_webhook_url

BODY = b'{"type":"ticket.created","data":{"id":"T-1"}}'


@dataclass
class Seen:
    requests: list[dict[str, Any]] = field(default_factory=list)
    sni: list[str | None] = field(default_factory=list)


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Any

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.server.seen.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
        status, payload, extra = 200, b'{"ok":true}', {}
        if self.path.startswith("/status/"):
            status = int(self.path.rsplit("/", 1)[-1])
        elif self.path == "/redirect":
            status, extra = 302, {"Location": self.server.redirect_to}
        elif self.path == "/big":
            payload = b"x" * (1024 * 1024)
        self.send_response(status)
        for k, v in extra.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


@dataclass
class Server:
    port: int
    seen: Seen
    httpd: http.server.ThreadingHTTPServer

    def url(self, path: str, host: str = "127.0.0.1", scheme: str = "http") -> str:
        return f"{scheme}://{host}:{self.port}{path}"


def start_server(tls: ssl.SSLContext | None = None) -> Server:
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    seen = Seen()
    httpd.seen = seen  # type: ignore[attr-defined]
    httpd.redirect_to = ""  # type: ignore[attr-defined]
    if tls is not None:
        tls.sni_callback = lambda sock, name, ctx: seen.sni.append(name)
        httpd.socket = tls.wrap_socket(httpd.socket, server_side=True)
    threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    return Server(httpd.server_address[1], seen, httpd)


@pytest.fixture
def server() -> Iterator[Server]:
    srv = start_server()
    yield srv
    srv.httpd.shutdown()
    srv.httpd.server_close()


@pytest.fixture
def second_server() -> Iterator[Server]:
    srv = start_server()
    yield srv
    srv.httpd.shutdown()
    srv.httpd.server_close()


class RawServer:
    """Accepts TCP connections and then either says nothing or trickles a response one byte at a time."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.05)
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        self.conns: list[socket.socket] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.accepted += 1
            self.conns.append(conn)
            if self.mode == "trickle":
                threading.Thread(target=self._trickle, args=(conn,), daemon=True).start()

    def _trickle(self, conn: socket.socket) -> None:
        payload = b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n" + b"x" * 100000
        for i in range(len(payload)):
            if self.stop.wait(0.05):
                return
            try:
                conn.sendall(payload[i : i + 1])
            except OSError:
                return

    def close(self) -> None:
        self.stop.set()
        self.sock.close()
        self.thread.join(1)
        for c in self.conns:
            c.close()


@pytest.fixture
def hanging() -> Iterator[RawServer]:
    srv = RawServer("hang")
    yield srv
    srv.close()


@pytest.fixture
def trickling() -> Iterator[RawServer]:
    srv = RawServer("trickle")
    yield srv
    srv.close()


class FakeDns:
    """Answers per name, one list per call (the last one repeats): a rebinding resolver."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.answers: dict[str, list[list[str]]] = {}
        self.calls: list[str] = []

    def __call__(self, host: str, port: Any, *args: Any, **kwargs: Any) -> Any:
        if ssrf.parse_host_ip(str(host)) is not None:
            return self.real(host, port, *args, **kwargs)  # numeric only: no network
        self.calls.append(host)
        rounds = self.answers.get(host)
        if not rounds:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        addrs = rounds.pop(0) if len(rounds) > 1 else rounds[0]
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port)) for a in addrs]


@pytest.fixture
def dns(monkeypatch: pytest.MonkeyPatch) -> FakeDns:
    fake = FakeDns(socket.getaddrinfo)
    monkeypatch.setattr(ssrf.socket, "getaddrinfo", fake)
    return fake


@pytest.fixture
def connects(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    """Records every address the client opens a TCP connection to."""
    seen: list[tuple[str, int]] = []
    real = http_client._open_socket

    def record(ip: Any, port: int, timeout: float) -> socket.socket:
        seen.append((str(ip), port))
        return real(ip, port, timeout)

    monkeypatch.setattr(http_client, "_open_socket", record)
    return seen


def post(
    url: str, *, timeout: float = 5.0, allow_private: bool = True, headers: dict[str, str] | None = None
) -> PostResult:
    sent = {"X-Event": "ticket.created", **(headers or {})}
    return post_json(url, BODY, sent, timeout=timeout, allow_private=allow_private)


# --- statuses --------------------------------------------------------------------------------------------------


def test_200_with_body(server: Server, connects: list[tuple[str, int]]) -> None:
    result = post(server.url("/hook?x=1"), headers={"Webhook-Id": "msg_1", "host": "evil.test"})
    assert result == PostResult(200, result.duration_ms, None, False)
    assert result.ok and 0 <= result.duration_ms < 5000
    [req] = server.seen.requests
    assert req["path"] == "/hook?x=1"
    assert req["body"] == BODY
    assert req["headers"]["Host"] == f"127.0.0.1:{server.port}"
    assert req["headers"]["Content-Type"] == "application/json"
    assert req["headers"]["Webhook-Id"] == "msg_1"
    assert req["headers"]["X-Event"] == "ticket.created"
    assert connects == [("127.0.0.1", server.port)]


@pytest.mark.parametrize("status", [500, 410, 404, 204])
def test_error_statuses_are_returned(status: int, server: Server) -> None:
    result = post(server.url(f"/status/{status}"))
    assert result.status == status and result.error is None and not result.blocked
    assert result.ok is (status == 204)


def test_large_body_is_read_only_in_part(server: Server) -> None:
    result = post(server.url("/big"))
    assert result.status == 200 and result.error is None


def test_redirect_is_not_followed(server: Server, second_server: Server) -> None:
    server.httpd.redirect_to = second_server.url("/elsewhere")  # type: ignore[attr-defined]
    result = post(server.url("/redirect"))
    assert result.status == 302 and result.error is None and not result.ok
    assert [r["path"] for r in server.seen.requests] == ["/redirect"]
    time.sleep(0.1)
    assert second_server.seen.requests == []


def test_connection_refused() -> None:
    with socket.create_server(("127.0.0.1", 0)) as s:
        port = s.getsockname()[1]
    result = post(f"http://127.0.0.1:{port}/hook")
    assert result.status is None and result.error == "connection refused" and not result.blocked


# --- deadlines -------------------------------------------------------------------------------------------------


def test_receiver_that_never_answers_times_out(hanging: RawServer) -> None:
    started = time.monotonic()
    result = post(f"http://127.0.0.1:{hanging.port}/hook", timeout=1.0)
    elapsed = time.monotonic() - started
    assert result.status is None and result.error == "timeout" and not result.blocked
    assert 0.9 <= elapsed < 2.0
    assert hanging.accepted == 1


def test_trickling_receiver_times_out(trickling: RawServer) -> None:
    started = time.monotonic()
    result = post(f"http://127.0.0.1:{trickling.port}/hook", timeout=1.0)
    elapsed = time.monotonic() - started
    assert result.status is None and result.error == "timeout"
    assert 0.9 <= elapsed < 2.0


def test_hanging_receiver_blocks_nothing_else(hanging: RawServer, server: Server) -> None:
    with ThreadPoolExecutor(2) as pool:
        slow = pool.submit(post, f"http://127.0.0.1:{hanging.port}/hook", timeout=1.0)
        time.sleep(0.05)
        started = time.monotonic()
        fast = post(server.url("/hook"), timeout=1.0)
        assert fast.status == 200 and time.monotonic() - started < 0.5
        assert slow.result().error == "timeout"


def test_slow_dns_counts_against_the_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    release = threading.Event()

    def stuck(*args: Any, **kwargs: Any) -> Any:
        release.wait(5)
        raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")

    monkeypatch.setattr(ssrf.socket, "getaddrinfo", stuck)
    started = time.monotonic()
    result = post("http://slow-dns.test/hook", timeout=0.3)
    release.set()
    assert result.error == "timeout" and time.monotonic() - started < 1.0


# --- SSRF at delivery ------------------------------------------------------------------------------------------


def test_private_target_blocked_without_connecting(server: Server, connects: list[tuple[str, int]]) -> None:
    for url in (
        server.url("/hook", scheme="https"),
        server.url("/hook", host="2130706433", scheme="https"),
        server.url("/hook", host="[::ffff:127.0.0.1]", scheme="https"),
    ):
        result = post(url, allow_private=False)
        assert result.blocked and result.status is None
        assert result.error is not None and result.error.startswith("blocked: ")
    plain = post(server.url("/hook"), allow_private=False)
    assert plain.blocked and plain.error == "blocked: plain http is not allowed"
    assert connects == []
    assert server.seen.requests == []


def test_rebinding_to_private_after_registration_is_blocked(
    dns: FakeDns, server: Server, connects: list[tuple[str, int]]
) -> None:
    dns.answers["hooks.rebind.test"] = [["93.184.216.34"], ["127.0.0.1"]]
    url = f"https://hooks.rebind.test:{server.port}/hook"
    assert check_webhook_url(url, allow_private=False) == url  # first answer: public
    result = post(url, allow_private=False)  # second answer: loopback
    assert result.blocked and result.error == "blocked: hooks.rebind.test resolves to non-public address 127.0.0.1"
    assert connects == [] and server.seen.requests == []


def test_mixed_answer_blocked(dns: FakeDns, connects: list[tuple[str, int]]) -> None:
    dns.answers["mixed.test"] = [["93.184.216.34", "10.0.0.1"]]
    result = post("https://mixed.test/hook", allow_private=False)
    assert result.blocked and "10.0.0.1" in (result.error or "")
    assert connects == []


def test_unresolvable_name_is_a_failure_not_a_block(dns: FakeDns) -> None:
    result = post("https://nothing.test/hook", allow_private=False)
    assert result.status is None and not result.blocked
    assert result.error == "dns: nothing.test does not resolve"


def test_connects_to_exactly_the_pinned_address(dns: FakeDns, server: Server, connects: list[tuple[str, int]]) -> None:
    dns.answers["hooks.pin.test"] = [["127.0.0.1"], ["10.255.255.1"]]  # a second lookup would go elsewhere
    result = post(f"http://hooks.pin.test:{server.port}/hook")
    assert result.status == 200
    assert dns.calls == ["hooks.pin.test"]  # resolved once
    assert connects == [("127.0.0.1", server.port)]
    assert server.seen.requests[0]["headers"]["Host"] == f"hooks.pin.test:{server.port}"


def test_falls_through_to_next_pinned_address(dns: FakeDns, server: Server, connects: list[tuple[str, int]]) -> None:
    dns.answers["two.test"] = [["127.0.0.2", "127.0.0.1"]]
    # 127.0.0.2 is loopback too on Linux; nothing listens there on the server's port, so it is refused.
    result = post(f"http://two.test:{server.port}/hook")
    assert result.status == 200
    assert connects == [("127.0.0.2", server.port), ("127.0.0.1", server.port)]


# --- TLS: the TCP connection goes to the pinned IP, TLS verifies the name ----------------------------------------


@dataclass
class Pki:
    ca_pem: bytes
    server_ctx: ssl.SSLContext


def _make_pki(tmp: Any, name: str) -> Pki:
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test ca")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    cert_file, key_file = tmp / "server.pem", tmp / "server.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert_file, key_file)
    return Pki(ca.public_bytes(serialization.Encoding.PEM), ctx)


@pytest.fixture
def tls_server(tmp_path: Any) -> Iterator[tuple[Server, Pki]]:
    pki = _make_pki(tmp_path, "hooks.tls.test")
    srv = start_server(pki.server_ctx)
    yield srv, pki
    srv.httpd.shutdown()
    srv.httpd.server_close()


def test_https_pins_public_ip_and_verifies_the_name(
    tls_server: tuple[Server, Pki], dns: FakeDns, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The name resolves to a public IP (then rebinds). The client connects to that pinned IP - routed here to the
    local TLS server, standing in for the internet - with SNI and certificate checks for the name."""
    server, pki = tls_server
    dns.answers["hooks.tls.test"] = [["93.184.216.34"], ["127.0.0.1"]]
    dialed: list[tuple[str, int]] = []

    def route(ip: Any, port: int, timeout: float) -> socket.socket:
        dialed.append((str(ip), port))
        return socket.create_connection(("127.0.0.1", server.port), timeout=timeout)

    trusted = ssl.create_default_context(cadata=pki.ca_pem.decode())
    monkeypatch.setattr(http_client, "_open_socket", route)
    monkeypatch.setattr(http_client, "_ssl_context", lambda: trusted)
    result = post("https://hooks.tls.test/hook", allow_private=False)
    assert result.status == 200 and result.error is None
    assert dns.calls == ["hooks.tls.test"]
    assert dialed == [("93.184.216.34", 443)]
    assert server.seen.sni == ["hooks.tls.test"]
    assert server.seen.requests[0]["headers"]["Host"] == "hooks.tls.test"


def test_https_untrusted_certificate_fails(tls_server: tuple[Server, Pki], dns: FakeDns) -> None:
    server, _ = tls_server
    dns.answers["hooks.tls.test"] = [["127.0.0.1"]]
    result = post(f"https://hooks.tls.test:{server.port}/hook")  # default trust store: the test CA is unknown
    assert result.status is None and not result.blocked
    assert result.error is not None and result.error.startswith("tls: certificate verify failed")
    assert server.seen.requests == []


def test_https_wrong_name_fails(tls_server: tuple[Server, Pki], dns: FakeDns, monkeypatch: pytest.MonkeyPatch) -> None:
    server, pki = tls_server
    dns.answers["other.tls.test"] = [["127.0.0.1"]]
    trusted = ssl.create_default_context(cadata=pki.ca_pem.decode())
    monkeypatch.setattr(http_client, "_ssl_context", lambda: trusted)
    result = post(f"https://other.tls.test:{server.port}/hook")
    assert result.error is not None and result.error.startswith("tls: certificate verify failed")
    assert "other.tls.test" in result.error
    assert server.seen.requests == []


def test_ipv6_loopback(connects: list[tuple[str, int]]) -> None:
    if not socket.has_ipv6:
        pytest.skip("no IPv6")
    try:
        listener = socket.create_server(("::1", 0), family=socket.AF_INET6)
    except OSError:
        pytest.skip("no ::1")
    port = listener.getsockname()[1]
    got: list[bytes] = []

    def serve() -> None:
        conn, _ = listener.accept()
        with conn:
            got.append(conn.recv(65536))
            conn.sendall(b"HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    result = post(f"http://[::1]:{port}/hook", timeout=2.0)
    t.join(2)
    listener.close()
    assert result.status == 202
    assert connects == [(str(ipaddress.ip_address("::1")), port)]
    assert got and f"Host: [::1]:{port}".encode() in got[0]
