"""End-to-end: /docs and its static files come from this machine (no CDN), and the static file server gives out
only the files of its directory, with their types."""

from __future__ import annotations

import http.client
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.e2e.conftest import Stack, assert_problem
from tools.devproc import Response
from tools.devstack import SWAGGER_UI_DIR, static_file


def raw_get(stack: Stack, path: str) -> Response:
    """GET with the path exactly as written (no client-side normalisation of `..` or `%2e`)."""
    url = urlsplit(stack.base_url)
    conn = http.client.HTTPConnection(url.hostname or "127.0.0.1", url.port, timeout=30)
    try:
        conn.putrequest("GET", path, skip_accept_encoding=True)
        conn.endheaders()
        resp = conn.getresponse()
        return Response(resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read())
    finally:
        conn.close()


def test_given_the_docs_page_when_read_then_every_asset_it_names_is_local_and_served_with_its_type(
    stack: Stack,
) -> None:
    docs = stack.request("GET", "/docs")

    assert docs.status == 200 and docs.content_type == "text/html; charset=utf-8"
    assert b"://" not in docs.body  # no CDN, no absolute URL of any kind
    assets = re.findall(r'(?:src|href)="(/[^"]+)"', docs.body.decode())
    assert sorted(assets) == ["/docs/static/swagger-ui-bundle.min.js", "/docs/static/swagger-ui.min.css"]
    types = {"js": "text/javascript; charset=utf-8", "css": "text/css; charset=utf-8"}
    for asset in assets:
        resp = stack.request("GET", asset)
        assert resp.status == 200 and resp.content_type == types[asset.rsplit(".", 1)[1]], asset
        assert resp.headers["x-content-type-options"] == "nosniff"
        assert resp.body == (SWAGGER_UI_DIR / asset.rsplit("/", 1)[1]).read_bytes()


def test_given_a_stack_on_its_own_port_when_the_openapi_document_is_read_then_its_server_is_this_stack(
    stack: Stack,
) -> None:
    spec = stack.request("GET", "/openapi.json").json

    assert spec["servers"] == [{"url": stack.base_url, "description": "this local stack (make dev)"}]


@pytest.mark.parametrize(
    "path",
    [
        "/docs/static/",
        "/docs/static/html.py",  # Powertools' code sits next to the assets: not a served type
        "/docs/static/__init__.py",
        "/docs/static/__pycache__",
        "/docs/static/../swagger_ui/html.py",
        "/docs/static/../../../../../../etc/passwd",
        "/docs/static/%2e%2e/%2e%2e/openapi/__init__.py",
        "/docs/static/..%2fhtml.py",
        "/docs/static/.%2e/swagger-ui.min.css",
        "/docs/static//etc/passwd",
        "/docs/static/./swagger-ui.min.css",
        "/docs/static/swagger-ui.min.css/",
        "/docs/static/..\\swagger-ui.min.css",
        "/docs/static/swagger-ui.min.css%00.js",
        "/docs/static/missing.js",
    ],
)
def test_given_a_path_outside_the_served_files_when_requested_then_404_problem(stack: Stack, path: str) -> None:
    assert_problem(raw_get(stack, path), 404, "NOT_FOUND")


def test_given_a_symlink_out_of_the_directory_when_served_then_404_and_a_file_inside_is_served(
    tmp_path: Path,
) -> None:
    root, outside = tmp_path / "root", tmp_path / "secret.js"
    root.mkdir()
    outside.write_text("secret")
    (root / "app.js").write_text("ok")
    (root / "leak.js").symlink_to(outside)
    (root / "sub").symlink_to(tmp_path)

    served = static_file(root, "app.js")
    assert served["statusCode"] == 200 and served["body"] == b"ok"
    assert served["headers"]["Content-Type"] == "text/javascript; charset=utf-8"
    assert static_file(root, "leak.js")["statusCode"] == 404
    assert static_file(root, "sub/secret.js")["statusCode"] == 404
    assert static_file(root, "/" + str(outside))["statusCode"] == 404
