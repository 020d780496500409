"""The agent console's file server (tickets.api.console): an allow-list, security headers, revalidation; and the
files themselves: nothing the CSP would refuse, no HTML sink in the scripts."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from tickets.api import console
from tools import template
from tools.events import http_event

STATIC = template.ROOT / "functions" / "serve_console" / "static"
FILES = console.load_files(STATIC)
REALTIME = "wss://abc123defg.execute-api.eu-west-1.amazonaws.com/v1"
UPLOADS = "https://tickets-attachments-1234.s3.amazonaws.com/"
CSP = console.content_security_policy(REALTIME, UPLOADS)


def _get(path: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
    route = "/console" if path == "/console" else "/console/{proxy+}"
    params = None if path == "/console" else {"proxy": path.removeprefix("/console/")}
    event = http_event("GET", path, route_path=route, path_params=params, headers=headers)
    return console.answer(event, FILES, CSP)


def _directives(csp: str) -> dict[str, str]:
    return dict(part.strip().split(" ", 1) for part in csp.split(";"))


@pytest.mark.parametrize("path", ["/console", "/console/", "/console/index.html"])
def test_given_the_page_urls_when_requested_then_the_page_comes_with_its_security_headers(path):
    resp = _get(path)

    assert resp["statusCode"] == 200
    assert resp["body"] == (STATIC / "index.html").read_text()
    headers = resp["headers"]
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    assert headers["Content-Security-Policy"] == CSP
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "no-referrer"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Cache-Control"] == "no-cache"
    assert re.fullmatch(r'"[0-9a-f]{32}"', headers["ETag"])


@pytest.mark.parametrize(
    ("name", "content_type"),
    [("app.js", "text/javascript; charset=utf-8"), ("console.css", "text/css; charset=utf-8"),
     ("icon.svg", "image/svg+xml"), ("markdown.js", "text/javascript; charset=utf-8")],
)  # fmt: skip
def test_given_an_allowed_file_when_requested_then_its_bytes_and_its_own_content_type(name, content_type):
    resp = _get(f"/console/{name}")

    assert resp["statusCode"] == 200
    assert resp["headers"]["Content-Type"] == content_type
    assert resp["body"] == (STATIC / name).read_text()
    assert resp["headers"]["Content-Security-Policy"] == CSP


@pytest.mark.parametrize(
    "name",
    [
        "../app.py", "..%2Fapp.py", "%2e%2e/app.py", "app.py", "static/app.js", "app.js/", "/app.js", "APP.JS",
        "app.js%00", "app.js\x00", "./app.js", "app.js?x=1", "index.htm", "../../template.yaml", "..", ".",
        "console.css/../app.py", "..\\app.py", "%2Fetc%2Fpasswd", "icon.svg.map", "a" * 2000,
    ],
)  # fmt: skip
def test_given_a_name_not_on_the_allow_list_when_requested_then_404_problem_and_no_file_content(name):
    resp = _get(f"/console/{name}")

    assert resp["statusCode"] == 404
    assert resp["headers"]["Content-Type"] == "application/problem+json"
    body = json.loads(resp["body"])
    assert body["code"] == "NOT_FOUND" and body["status"] == 404
    assert len(body["detail"]) < 200
    assert resp["headers"]["X-Content-Type-Options"] == "nosniff"
    assert "ETag" not in resp["headers"]


def test_given_the_etag_when_the_browser_revalidates_then_304_without_a_body_and_a_changed_file_is_sent_again():
    etag = _get("/console/app.js")["headers"]["ETag"]

    for given in (etag, f"W/{etag}", f'"other", {etag}', "*"):
        resp = _get("/console/app.js", {"If-None-Match": given})
        assert (resp["statusCode"], resp["body"], resp["headers"]["ETag"]) == (304, "", etag), given
        assert "Content-Security-Policy" in resp["headers"]
    assert _get("/console/app.js", {"If-None-Match": '"stale"'})["statusCode"] == 200
    assert _get("/console/console.css", {"If-None-Match": etag})["statusCode"] == 200  # another file's tag


def test_given_the_endpoints_when_the_csp_is_built_then_only_own_files_and_the_two_origins_are_allowed():
    d = _directives(CSP)

    assert d["default-src"] == d["script-src"] == d["style-src"] == d["img-src"] == "'self'"
    assert d["connect-src"] == (
        "'self' wss://abc123defg.execute-api.eu-west-1.amazonaws.com https://tickets-attachments-1234.s3.amazonaws.com"
    )
    assert d["frame-ancestors"] == d["form-action"] == d["object-src"] == d["base-uri"] == "'none'"
    assert d["require-trusted-types-for"] == "'script'" and d["trusted-types"] == "'none'"
    assert not re.search(r"unsafe-|\*|data:|blob:|http:", CSP)


def test_given_local_endpoints_when_the_csp_is_built_then_their_origins_and_ports_are_named():
    csp = console.content_security_policy(
        "ws://127.0.0.1:3001", "http://127.0.0.1:4566/tickets-local-attachmentsbucket"
    )

    assert _directives(csp)["connect-src"] == "'self' ws://127.0.0.1:3001 http://127.0.0.1:4566"


@pytest.mark.parametrize(
    "url",
    ["", "javascript:alert(1)", "data:text/html,x", "wss://", "wss://a b", "wss://x;script-src *", "wss://'self'",
     "ftp://example.com", "wss://user@evil.example.com", "//example.com"],
)  # fmt: skip
def test_given_a_url_that_is_no_plain_origin_when_the_csp_is_built_then_it_is_left_out(url):
    assert console.source(url) is None
    assert _directives(console.content_security_policy(url))["connect-src"] == "'self'"


def test_given_the_static_folder_then_it_holds_exactly_the_allow_list():
    on_disk = {p.name for p in STATIC.iterdir()}

    assert on_disk == set(console.FILES), "add a new file to tickets.api.console.FILES (or remove it from static/)"


def test_given_the_page_then_it_needs_nothing_its_csp_refuses():
    html = (STATIC / "index.html").read_text()

    assert re.findall(r"<script\b[^>]*>", html) == ['<script type="module" src="/console/app.js">']
    assert "<style" not in html and not re.search(r"\sstyle=", html)
    assert not re.search(r"\son[a-z]+=", html), "inline event handlers do not run under the CSP"
    for ref in re.findall(r'(?:src|href)="([^"#]+)"', html):
        assert ref.startswith("/console/") and ref.removeprefix("/console/") in console.FILES, ref
    imports = {m for f in STATIC.glob("*.js") for m in re.findall(r'from "\./([^"]+)"', f.read_text())}
    assert imports and imports <= set(console.FILES)


def test_given_the_scripts_then_no_user_text_can_become_html_or_code():
    sinks = r"innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function|createContextualFragment"
    for script in STATIC.glob("*.js"):
        text = script.read_text()
        assert not re.search(sinks, text), f"{script.name} uses an HTML or code sink"
        assert not re.search(r"\blocalStorage\s*[.\[]|document\.cookie", text), f"{script.name}: sessionStorage only"


def test_given_the_sign_in_form_then_the_key_field_has_no_name_and_is_never_sent_by_the_browser():
    html = (STATIC / "index.html").read_text()
    field = re.search(r"<input id=\"signin-key\"[^>]*>", html, re.S)

    assert field and " name=" not in field.group(0) and 'type="password"' in field.group(0)
    assert 'autocomplete="off"' in field.group(0)
    assert 'method="post"' in re.search(r"<form id=\"signin-form\"[^>]*>", html).group(0)  # never a GET query


def test_given_every_file_then_it_is_read_once_as_utf8_text():
    assert set(FILES) == set(console.FILES)
    assert all(isinstance(f.body, str) and f.body for f in FILES.values())
