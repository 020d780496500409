"""The agent console's files, served by the HTTP API on the API's own origin: `GET /console` and
`GET /console/{proxy+}`, no API key.

These routes are the only ones without a key, and they can afford it: the files are the same for every caller and
hold no data and no secret (the page asks the agent for a key and sends it to the API itself, same origin, no CORS).
Nothing here reads the table or the request's headers beyond `If-None-Match`.

- **An allow-list.** Only the files named in `FILES` are served, from memory, by exact name: the request never
  becomes a file system path, so `..`, encodings and symlinks have nothing to reach. Anything else is a 404 problem.
- **Caching.** The names carry no content hash, so every answer says `Cache-Control: no-cache` with a strong ETag:
  a browser revalidates (a 304 with no body) and never runs a stale script next to a new page.
- **Security headers** on every answer (`security_headers`): a Content-Security-Policy that runs only the
  console's own scripts (no inline script or style, no eval, Trusted Types required, so no string ever reaches an
  HTML sink), connects only to this origin, the real-time WebSocket and the attachments upload endpoint, submits
  no form natively and may not be framed; plus nosniff, no referrer, no framing, an isolated browsing context.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging import correlation_paths

from tickets import coldstart, metrics
from tickets.api import problems
from tickets.errors import NotFound

logger = Logger()

INDEX = "index.html"
# What the console is made of: name (as in the URL, below /console/) -> Content-Type. Text files only.
FILES: Mapping[str, str] = {
    INDEX: "text/html; charset=utf-8",
    "console.css": "text/css; charset=utf-8",
    "app.js": "text/javascript; charset=utf-8",
    "api.js": "text/javascript; charset=utf-8",
    "live.js": "text/javascript; charset=utf-8",
    "markdown.js": "text/javascript; charset=utf-8",
    "icon.svg": "image/svg+xml",
}
_SCHEMES = frozenset({"http", "https", "ws", "wss"})


def source(url: str) -> str | None:
    """A URL's origin as a CSP source (`wss://abc.execute-api.eu-west-1.amazonaws.com`); None for anything else."""
    parts = urlsplit(url.strip())
    if parts.scheme not in _SCHEMES or not parts.hostname or any(c in parts.netloc for c in " ;,'\"@"):
        return None
    return f"{parts.scheme}://{parts.netloc}"


def content_security_policy(*connect_to: str) -> str:
    """The console's CSP: its own files only, and `connect_to` (URLs: the WebSocket, the upload endpoint) besides
    its own origin for fetch and WebSocket."""
    connect = ["'self'", *dict.fromkeys(s for url in connect_to if url and (s := source(url)))]
    directives = {
        "default-src": "'self'",
        "script-src": "'self'",
        "style-src": "'self'",
        "img-src": "'self'",
        "connect-src": " ".join(connect),
        "object-src": "'none'",
        "base-uri": "'none'",
        "form-action": "'none'",  # the sign-in form is never submitted by the browser: the key cannot end up in a URL
        "frame-ancestors": "'none'",
        "require-trusted-types-for": "'script'",  # innerHTML and friends refuse strings outright
        "trusted-types": "'none'",
    }
    return "; ".join(f"{name} {value}" for name, value in directives.items())


def security_headers(csp: str) -> dict[str, str]:
    return {
        "Content-Security-Policy": csp,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "X-Frame-Options": "DENY",
        "Cross-Origin-Opener-Policy": "same-origin",
        "Cross-Origin-Resource-Policy": "same-origin",
        "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
        "Strict-Transport-Security": "max-age=31536000",
    }


@dataclass(frozen=True)
class StaticFile:
    body: str
    content_type: str
    etag: str


def load_files(root: Path) -> dict[str, StaticFile]:
    """Every file of FILES under `root`, read once (a missing one fails the cold start, not a request)."""
    out = {}
    for name, content_type in FILES.items():
        body = (root / name).read_text(encoding="utf-8")
        digest = hashlib.sha256(body.encode()).hexdigest()[:32]
        out[name] = StaticFile(body, content_type, f'"{digest}"')
    return out


def requested_name(event: dict[str, Any]) -> str:
    """The file a request names: `GET /console`, `GET /console/` and `GET /console/index.html` are the page."""
    if str(event.get("routeKey", "")).endswith("{proxy+}"):
        return str((event.get("pathParameters") or {}).get("proxy") or INDEX)
    return INDEX


def _not_modified(event: dict[str, Any], etag: str) -> bool:
    headers = {str(k).lower(): str(v) for k, v in (event.get("headers") or {}).items()}
    given = headers.get("if-none-match", "")
    return given.strip() == "*" or etag in (part.strip().removeprefix("W/") for part in given.split(","))


def answer(event: dict[str, Any], files: Mapping[str, StaticFile], csp: str) -> dict[str, Any]:
    """The Lambda response (HTTP API v2.0) for one request."""
    name = requested_name(event)
    found = files.get(name)
    headers = {**security_headers(csp), "Cache-Control": "no-cache"}
    if found is None:
        status, body = problems.from_domain(NotFound(f"the console has no file {name[:100]!r}"), _request_id(event))
        return {"statusCode": status, "headers": {**headers, "Content-Type": problems.PROBLEM_JSON}, "body": body}
    headers["ETag"] = found.etag
    if _not_modified(event, found.etag):
        return {"statusCode": 304, "headers": headers, "body": ""}
    return {"statusCode": 200, "headers": {**headers, "Content-Type": found.content_type}, "body": found.body}


def _request_id(event: dict[str, Any]) -> str | None:
    return (event.get("requestContext") or {}).get("requestId")


def console_handler(
    root: Path, connect_to: Callable[[], tuple[str, ...]]
) -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    """The Lambda entry point: the files under `root`; `connect_to()` names, once per container, what the page may
    connect to besides its origin (see content_security_policy)."""
    files = load_files(root)

    @cache
    def csp() -> str:
        return content_security_policy(*connect_to())

    @logger.inject_lambda_context(
        correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True, log_event=False
    )
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        try:
            response = answer(event, files, csp())
        finally:
            metrics.flush()
            coldstart.first_invocation_done()
        logger.debug("answered", extra={"route": event.get("routeKey"), "status": response["statusCode"]})
        return response

    return handler
