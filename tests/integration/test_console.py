"""The agent console's routes through the template's real function: no API key needed (and none read), no data
read, a CSP that names exactly where the page connects, and the API's authentication untouched."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.conftest import TenantKey, call
from tools import template
from tools.events import FakeContext, http_event

PAGE = template.ROOT / "functions" / "serve_console" / "static" / "index.html"


def _connect_src(headers: dict[str, str]) -> list[str]:
    match = re.search(r"connect-src ([^;]+)", headers["content-security-policy"])
    assert match, headers
    return match.group(1).split()


def test_given_no_api_key_when_the_console_is_opened_then_the_page_and_a_csp_naming_the_websocket_and_the_bucket(
    aws: Any, tenant: TenantKey
) -> None:
    resp = call("GET", "/console/")

    assert resp.status == 200
    assert resp.body == PAGE.read_text()
    assert resp.headers["content-type"] == "text/html; charset=utf-8"
    websocket = template.resolve_env(template.functions()["ServeConsoleFunction"].environment, {})["REALTIME_URL"]
    form = {"filename": "a.pdf", "contentType": "application/pdf", "size": 10}
    upload = call("POST", "/v1/attachments", key=tenant.key, body=form).json["upload"]["url"]
    origin = "{0.scheme}://{0.netloc}"
    assert _connect_src(resp.headers) == [
        "'self'", origin.format(urlsplit(websocket)), origin.format(urlsplit(upload))
    ]  # fmt: skip
    assert websocket.startswith("wss://") and ".execute-api.us-east-1.amazonaws.com" in websocket
    assert "'none'" in resp.headers["content-security-policy"].split("frame-ancestors ")[1].split(";")[0]


@pytest.mark.parametrize(
    "headers",
    [{}, {"x-api-key": "tk_" + "x" * 40}, {"authorization": "Bearer not-a-key"}, {"x-api-key": "\ud800"},
     {"x-anything": "a\x00b"}],
)  # fmt: skip
def test_given_any_or_no_key_when_a_console_file_is_asked_for_then_the_same_bytes_and_nothing_read(
    aws: Any, tenant: TenantKey, headers: dict[str, str]
) -> None:
    # ServeConsoleFunction has `Policies: []`: a table read would be refused (and fail this test, tests.conftest).
    plain = call("GET", "/console/app.js")
    resp = call("GET", "/console/app.js", headers={**headers})

    assert (resp.status, resp.body, resp.headers["etag"]) == (200, plain.body, plain.headers["etag"])
    assert tenant.key not in resp.body


@pytest.mark.parametrize("name", ["abc\x00def", "abc\ud800", "a" * 300, "../app.py", "%2e%2e%2fapp.py", "app.py"])
def test_given_a_hostile_file_name_when_asked_for_then_404_problem_not_500(aws: Any, name: str) -> None:
    fn = template.functions()["ServeConsoleFunction"]
    template.apply_env(fn, {})
    event = http_event("GET", "/console/x", route_path="/console/{proxy+}", path_params={"proxy": "x"})
    event["pathParameters"] = {"proxy": name}

    result = template.load_handler(fn)(event, FakeContext(fn.name))

    assert result["statusCode"] == 404
    assert result["headers"]["Content-Type"] == "application/problem+json"
    assert '"code": "NOT_FOUND"' in result["body"]


def test_given_the_console_routes_without_a_key_then_the_api_routes_still_refuse_a_missing_key(aws: Any) -> None:
    assert call("GET", "/console").status == 200
    for method, path in (("GET", "/v1/tickets"), ("GET", "/v1/me"), ("POST", "/v1/realtime/tokens")):
        resp = call(method, path)
        assert (resp.status, resp.json["code"]) == (401, "UNAUTHORIZED"), (method, path)
