"""Guard rules over the nested applications (stacks/*/template.yaml) that hold the HTTP API's functions.

tools/template.py reads the parent and its children as one template, and every other guard, the IAM check and the
local stack work on that view. These tests hold the seams of the split itself: what the parent passes and the
children declare, the routes each child makes on the parent's API, and the settings both must share.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tools import template

PARENT = template.read(template.TEMPLATE)
CHILDREN = template.nested_applications(PARENT)


def _child(app: str) -> dict[str, Any]:
    return template.read(CHILDREN[app])


def _of_type(doc: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {name: r for name, r in doc["Resources"].items() if r["Type"] == kind}


def test_given_the_parent_then_its_api_is_a_plain_http_api_with_no_function_routes_of_its_own():
    # An AWS::Serverless::HttpApi is an OpenAPI body, re-imported on every update: it would drop the children's routes.
    assert PARENT["Resources"]["HttpApi"]["Type"] == "AWS::ApiGatewayV2::Api"
    assert "Body" not in PARENT["Resources"]["HttpApi"]["Properties"]
    assert PARENT["Resources"]["HttpApi"]["Properties"]["ProtocolType"] == "HTTP"
    for doc in (PARENT, *(_child(app) for app in CHILDREN)):
        assert not _of_type(doc, "AWS::Serverless::HttpApi")
        for name, fn in _of_type(doc, "AWS::Serverless::Function").items():
            kinds = {e["Type"] for e in (fn["Properties"].get("Events") or {}).values()}
            assert "HttpApi" not in kinds, f"{name}: SAM's HttpApi event needs its API in the same template"
    assert not any(
        "AutoPublishAlias" in fn["Properties"] for fn in _of_type(PARENT, "AWS::Serverless::Function").values()
    )


def test_given_the_parent_then_it_has_three_local_nested_applications():
    assert set(CHILDREN) == {"TicketsApi", "DirectoryApi", "SettingsApi"}
    for path in CHILDREN.values():
        assert path.exists() and path.is_relative_to(template.ROOT / "stacks")


@pytest.mark.parametrize("app", sorted(CHILDREN))
def test_given_a_child_then_it_declares_exactly_what_the_parent_passes_each_a_ref_or_getatt_of_the_parent(app):
    child, passed = _child(app), PARENT["Resources"][app]["Properties"]["Parameters"]
    assert set(child["Parameters"]) == set(passed)
    parent_names = set(PARENT["Resources"]) | set(PARENT["Parameters"])
    for name, value in passed.items():
        if "Ref" in value:
            assert value == {"Ref": name} and name in parent_names, (name, value)
        else:
            target, attribute = value["Fn::GetAtt"]
            assert name == target + attribute and target in PARENT["Resources"], (name, value)
        # A parent parameter keeps its type (a Number stays one); a resource's name or ARN is a String.
        kind = PARENT["Parameters"][name]["Type"] if name in PARENT["Parameters"] else "String"
        assert child["Parameters"][name] == {"Type": kind}, name


@pytest.mark.parametrize("app", sorted(CHILDREN))
def test_given_a_child_then_its_globals_and_snapstart_condition_are_the_parents_word_for_word(app):
    child = _child(app)
    assert child["Globals"] == PARENT["Globals"]
    assert child["Conditions"] == {"SnapStartOn": {"Fn::Equals": [{"Ref": "SnapStart"}, "On"]}}
    assert PARENT["Resources"][app]["Properties"]["Parameters"]["SnapStart"] == {"Ref": "SnapStart"}


def _sam_source_arn(method: str, path: str) -> dict[str, str]:
    return {
        "Fn::Sub": "arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:${HttpApi}/*/"
        + method
        + re.sub(r"\{[^}]+\}", "*", path)
    }


@pytest.mark.parametrize("app", sorted(CHILDREN))
def test_given_a_child_function_then_one_integration_to_its_alias_and_each_route_with_its_own_permission(app):
    child = _child(app)
    functions = _of_type(child, "AWS::Serverless::Function")
    integrations = _of_type(child, "AWS::ApiGatewayV2::Integration")
    routes = _of_type(child, "AWS::ApiGatewayV2::Route")
    permissions = _of_type(child, "AWS::Lambda::Permission")
    assert functions, app

    by_function = {}
    for name, integration in integrations.items():
        props = integration["Properties"]
        assert props["ApiId"] == {"Ref": "HttpApi"}
        assert (props["IntegrationType"], props["PayloadFormatVersion"]) == ("AWS_PROXY", "2.0")
        target = props["IntegrationUri"]["Ref"]
        assert target.endswith(".Alias"), f"{name}: the route invokes the published alias (SnapStart)"
        by_function.setdefault(target.removesuffix(".Alias"), []).append(name)
    assert {fn: len(names) for fn, names in by_function.items()} == dict.fromkeys(functions, 1)

    grants = {
        (p["Properties"]["FunctionName"]["Ref"], str(p["Properties"]["SourceArn"])): p["Properties"]
        for p in permissions.values()
    }
    assert len(grants) == len(permissions) == len(routes)
    for name, route in routes.items():
        props = route["Properties"]
        assert props["ApiId"] == {"Ref": "HttpApi"}
        method, path = props["RouteKey"].split(" ", 1)
        (integration,) = re.fullmatch(r"integrations/\$\{(\w+)\}", props["Target"]["Fn::Sub"]).groups()  # type: ignore[union-attr]
        function = integrations[integration]["Properties"]["IntegrationUri"]["Ref"]
        grant = grants[(function, str(_sam_source_arn(method, path)))]
        assert (grant["Action"], grant["Principal"]) == ("lambda:InvokeFunction", "apigateway.amazonaws.com")


def test_given_every_template_then_no_logical_id_is_defined_twice():
    seen: dict[str, Path] = {}
    for path in (template.TEMPLATE, *CHILDREN.values()):
        for name in template.read(path)["Resources"]:
            assert name not in seen, f"{name} in {path} and {seen[name]}"
            seen[name] = path


def test_given_the_merged_view_then_every_child_function_reads_as_it_would_in_one_template():
    merged = template.load()["Resources"]
    get_ticket = merged["GetTicketFunction"]["Properties"]
    assert get_ticket["CodeUri"] == "functions/get_ticket/"
    assert get_ticket["Events"] == {
        "Api": {
            "Type": "HttpApi",
            "Properties": {"ApiId": {"Ref": "HttpApi"}, "Method": "GET", "Path": "/v1/tickets/{id}"},
        }
    }
    # The child's `!Ref TableArn` and `!Sub "${TableArn}/index/*"` are the parent's table again.
    statements = merged["ListTicketsFunction"]["Properties"]["Policies"][0]["Statement"]
    assert statements[0]["Resource"] == [{"Fn::GetAtt": ["Table", "Arn"]}, {"Fn::Sub": "${Table.Arn}/index/*"}]
    routed = [f for f in template.functions().values() if f.routes]
    assert len(routed) == sum(len(_of_type(_child(app), "AWS::Serverless::Function")) for app in CHILDREN)
