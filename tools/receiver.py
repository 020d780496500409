"""A tiny local webhook receiver for make dev: prints every delivery, verifying its signature if given the secret.

    python -m tools.receiver --port 9000 [--secret whsec_...] [--status 200]

Signatures are Standard Webhooks (https://www.standardwebhooks.com): `webhook-signature: v1,<base64 HMAC-SHA256
of "<webhook-id>.<webhook-timestamp>.<body>">` keyed with the base64-decoded secret after "whsec_".
--status makes it answer with another status (e.g. 500) to watch the retries.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def verify(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """True if any v1 signature in `webhook-signature` matches the body, id and timestamp."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{headers.get('webhook-id', '')}.{headers.get('webhook-timestamp', '')}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    for sig in headers.get("webhook-signature", "").split():
        version, _, value = sig.partition(",")
        if version == "v1" and hmac.compare_digest(value, expected):
            return True
    return False


def make_handler(secret: str | None, status: int) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            received = time.time()
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            headers = {k.lower(): v for k, v in self.headers.items()}
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()
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
            print(f"{self.command} {self.path} {summary} -> {status}; {check}{lag}", flush=True)
            print(json.dumps(payload, indent=2) if not isinstance(payload, str) else payload, flush=True)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9000)
    parser.add_argument("--secret", help="the webhook's secret (whsec_...), to verify signatures")
    parser.add_argument("--status", type=int, default=200, help="the status to answer with (default 200)")
    args = parser.parse_args(argv)
    server = ThreadingHTTPServer((args.host, args.port), make_handler(args.secret, args.status))
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
