"""A tiny local webhook receiver for make dev: prints every delivery, verifying its signature if given the secret.

    make receiver ARGS='--port 9000 [--secret whsec_...] [--status 200]'      (.venv/bin/python -m tools.receiver ...)

Signatures are Standard Webhooks (https://www.standardwebhooks.com), checked with the official `standardwebhooks`
library: `webhook-signature: v1,<base64 HMAC-SHA256 of "<webhook-id>.<webhook-timestamp>.<body>">` keyed with the
base64-decoded secret after "whsec_", and a timestamp within 5 minutes.
--status makes it answer with another status (e.g. 500) to watch the retries.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def verify(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """True if the delivery is signed with `secret` (the official `standardwebhooks` check, timestamp included)."""
    from standardwebhooks import Webhook, WebhookVerificationError

    try:
        Webhook(secret).verify(body, headers)
    except WebhookVerificationError:
        return False
    return True


def read_request(h: BaseHTTPRequestHandler) -> tuple[bytes, dict[str, str]]:
    """The body and the (lower-cased) headers of the request `h` is handling."""
    return h.rfile.read(int(h.headers.get("Content-Length") or 0)), {k.lower(): v for k, v in h.headers.items()}


def respond(h: BaseHTTPRequestHandler, status: int) -> None:
    h.send_response(status)
    h.send_header("Content-Length", "0")
    h.end_headers()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    on_connect: Callable[[], None] | None = None

    def verify_request(self, request: Any, client_address: Any) -> bool:
        if self.on_connect is not None:
            self.on_connect()
        return True


def post_server(
    on_post: Callable[[BaseHTTPRequestHandler], None],
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    on_connect: Callable[[], None] | None = None,
    background: bool = True,
) -> ThreadingHTTPServer:
    """A quiet threaded HTTP server whose POSTs go to `on_post(handler)`: the CLI below and the test and load
    receivers. `background` serves it on a daemon thread; `port=0` takes a free port (`server_address[1]`)."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            on_post(self)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = _Server((host, port), Handler)
    server.on_connect = on_connect
    if background:
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    return server


def printing_handler(secret: str | None, status: int) -> Callable[[BaseHTTPRequestHandler], None]:
    def on_post(h: BaseHTTPRequestHandler) -> None:
        received = time.time()
        body, headers = read_request(h)
        respond(h, status)
        if secret is None:
            check = "signature not checked (no --secret)"
        else:
            check = "signature OK" if verify(secret, headers, body) else "SIGNATURE INVALID"
        try:
            payload: Any = json.loads(body)
            summary = f"{payload.get('type')} {payload.get('id')}" if isinstance(payload, dict) else ""
        except ValueError:
            payload, summary = body.decode(errors="replace"), "(not JSON)"
        sent = headers.get("webhook-timestamp")
        lag = f", {received - int(sent):.1f} s after it was signed" if sent and sent.isdigit() else ""
        print(f"{h.command} {h.path} {summary} -> {status}; {check}{lag}", flush=True)
        print(json.dumps(payload, indent=2) if not isinstance(payload, str) else payload, flush=True)

    return on_post


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9000)
    parser.add_argument("--secret", help="the webhook's secret (whsec_...), to verify signatures")
    parser.add_argument("--status", type=int, default=200, help="the status to answer with (default 200)")
    args = parser.parse_args(argv)
    server = post_server(printing_handler(args.secret, args.status), host=args.host, port=args.port, background=False)
    print(f"Receiving webhooks on http://{args.host}:{server.server_address[1]}/hook (Ctrl+C to stop)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
