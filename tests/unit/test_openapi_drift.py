"""docs/openapi.json is generated from the handlers (tools.openapi) and must match them and template.yaml."""

from __future__ import annotations

import json

from tools import openapi, template

DOC = template.ROOT / "docs" / "openapi.json"


def test_given_the_handlers_when_openapi_is_regenerated_then_it_equals_the_committed_document():
    generated = openapi.render()

    committed = DOC.read_text() if DOC.exists() else ""
    assert generated == committed, "docs/openapi.json is out of date with the handlers: run make openapi"


def test_given_the_generator_when_run_twice_then_the_output_is_identical():
    assert openapi.render() == openapi.render()


def test_given_template_routes_when_reading_the_document_then_every_route_is_documented_with_template_paths():
    doc = json.loads(DOC.read_text())
    routes = {(r.method.lower(), r.path) for fn in template.functions().values() for r in fn.routes if r.is_api}
    documented = {(method, path) for path, item in doc["paths"].items() for method in item}

    assert routes, "template.yaml has no HttpApi routes"
    assert routes - documented == set(), "routes missing from docs/openapi.json: run make openapi"
    assert documented - routes == set(), "docs/openapi.json documents routes template.yaml does not serve"


def test_given_the_document_then_it_declares_auth_server_and_problem_errors():
    doc = json.loads(DOC.read_text())

    assert doc["openapi"].startswith("3.1") and doc["info"]["title"] == "Tickets API"
    assert {"url": "http://127.0.0.1:3000"}.items() <= doc["servers"][0].items()
    schemes = doc["components"]["securitySchemes"]
    assert schemes["apiKey"] == {"type": "apiKey", "in": "header", "name": "X-API-Key"}
    assert schemes["bearer"]["scheme"] == "bearer"
    for path, item in doc["paths"].items():
        for method, op in item.items():
            # Powertools documents its own 422 for validation; we answer 400. A 422 here can only be ours:
            # IDEMPOTENCY_KEY_REUSED, on POST routes, alongside the Idempotency-Key header.
            if method == "post":
                assert op["responses"]["422"] == {"$ref": "#/components/responses/Error422"}
                assert any(p["name"] == "Idempotency-Key" and p["in"] == "header" for p in op["parameters"])
            else:
                assert "422" not in op["responses"], f"{method} {path} documents Powertools' 422; we answer 400"
            assert op["responses"]["401"] == {"$ref": "#/components/responses/Error401"}
            for p in op.get("parameters", []):
                if p["in"] == "path":
                    assert f"{{{p['name']}}}" in path
