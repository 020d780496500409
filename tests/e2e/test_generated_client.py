"""A client generated from the committed docs/openapi.json (openapi-python-client) against the local stack.

This is what an integrator does first: generate an SDK and use it. It pages with the cursor (the SDK sends no
offset because the document gives it no default), sends If-Match from the declared ETag header, and parses
problem+json errors into the document's Problem model.
"""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.e2e.conftest import ROOT, Stack, Tenant

DOC = ROOT / "docs" / "openapi.json"
PACKAGE = "tickets_sdk_generated"


@pytest.fixture(scope="module")
def sdk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    out = tmp_path_factory.mktemp("sdk")
    config = out / "config.json"
    config.write_text(json.dumps({"package_name_override": PACKAGE, "post_hooks": []}))
    generator = Path(sys.executable).with_name("openapi-python-client")
    done = subprocess.run(
        [str(generator), "generate", "--path", str(DOC), "--output-path", str(out / PACKAGE), "--meta", "none",
         "--config", str(config)],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Unable to parse" not in done.stdout + done.stderr, done.stdout + done.stderr
    sys.path.insert(0, str(out))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(out))
        for name in [m for m in sys.modules if m == PACKAGE or m.startswith(PACKAGE + ".")]:
            del sys.modules[name]


def _op(sdk: ModuleType, tag: str, operation: str) -> Any:
    return importlib.import_module(f"{sdk.__name__}.api.{tag}.{operation}")


def _model(sdk: ModuleType, name: str) -> Any:
    return getattr(importlib.import_module(f"{sdk.__name__}.models"), name)


SENT: list[str] = []  # every URL the generated client requested


@pytest.fixture(scope="module")
def client(sdk: ModuleType, stack: Stack, make_tenant: Any) -> tuple[Any, Tenant]:
    tenant = make_tenant("SDK")
    hooks = {"request": [lambda request: SENT.append(str(request.url))]}
    api = sdk.client.AuthenticatedClient(base_url=stack.base_url, token=tenant.key, httpx_args={"event_hooks": hooks})
    return api, tenant


def test_given_the_document_then_every_operation_is_generated_with_a_readable_name(sdk: ModuleType) -> None:
    doc = json.loads(DOC.read_text())
    operations = [op for item in doc["paths"].values() for op in item.values()]
    modules = {p.stem for p in Path(sdk.__file__).parent.joinpath("api").rglob("*.py") if p.stem != "__init__"}
    expected = {"".join(f"_{c.lower()}" if c.isupper() else c for c in op["operationId"]) for op in operations}
    assert expected == modules and "list_tickets" in modules and len(modules) == len(operations)


def test_given_a_generated_client_when_paging_with_the_cursor_then_every_ticket_once(sdk: ModuleType, client) -> None:
    api, _ = client
    create = _op(sdk, "tickets", "create_ticket")
    made = [create.sync(client=api, body=_model(sdk, "TicketCreate")(subject=f"sdk {i}")).id for i in range(7)]

    listing = _op(sdk, "tickets", "list_tickets")
    seen, cursor, pages = [], None, 0
    SENT.clear()
    while True:
        kwargs = {"limit": 3} if cursor is None else {"limit": 3, "cursor": cursor}
        resp = listing.sync_detailed(client=api, **kwargs)
        assert resp.status_code == 200, resp.content
        assert resp.parsed.offset == 0
        pages += 1
        seen += [t.id for t in resp.parsed.data]
        cursor = resp.parsed.next_cursor
        if not isinstance(cursor, str):
            break
    assert seen == list(reversed(made)) and pages == 3
    assert resp.parsed.total == 7
    assert len(SENT) == 3 and not any("offset=" in url for url in SENT), SENT  # the document has no offset default


def test_given_a_generated_client_then_if_match_from_the_declared_etag_guards_the_patch(
    sdk: ModuleType, client
) -> None:
    api, _ = client
    doc = json.loads(DOC.read_text())
    assert "ETag" in doc["paths"]["/v1/tickets/{id}"]["get"]["responses"]["200"]["headers"]
    ticket = _op(sdk, "tickets", "create_ticket").sync(client=api, body=_model(sdk, "TicketCreate")(subject="etag"))
    got = _op(sdk, "tickets", "get_ticket").sync_detailed(ticket.id, client=api)
    etag = got.headers["ETag"]
    assert etag == '"1"'

    update = _op(sdk, "tickets", "update_ticket")
    patch = _model(sdk, "TicketPatch")(priority=_model(sdk, "Priority")("high"))
    first = update.sync_detailed(ticket.id, client=api, body=patch, if_match=etag)
    assert first.status_code == 200 and first.parsed.version == 2 and first.headers["ETag"] == '"2"'

    stale = update.sync_detailed(ticket.id, client=api, body=patch, if_match=etag)
    assert stale.status_code == 412
    problem = stale.parsed
    assert type(problem).__name__ == "Problem" and problem.code == "PRECONDITION_FAILED" and problem.status == 412


def test_given_bad_input_then_the_generated_client_parses_the_problem_with_its_field(sdk: ModuleType, client) -> None:
    api, _ = client
    listing = _op(sdk, "tickets", "list_tickets")
    resp = listing.sync_detailed(client=api, cursor="not-a-cursor")
    assert resp.status_code == 400
    problem = resp.parsed
    assert problem.code == "VALIDATION_ERROR" and [e.field for e in problem.errors] == ["cursor"]


def test_given_a_cursor_with_offset_zero_then_accepted_and_with_another_offset_then_400_naming_cursor(
    stack: Stack, client
) -> None:
    _, tenant = client
    first = stack.request("GET", "/v1/tickets", key=tenant.key, query={"limit": 1}).json
    ok = stack.request(
        "GET", "/v1/tickets", key=tenant.key, query={"limit": 1, "offset": 0, "cursor": first["nextCursor"]}
    )
    assert ok.status == 200 and ok.json["offset"] == 0
    bad = stack.request(
        "GET", "/v1/tickets", key=tenant.key, query={"limit": 1, "offset": 2, "cursor": first["nextCursor"]}
    )
    assert bad.status == 400 and [e["field"] for e in bad.json["errors"]] == ["cursor"]
