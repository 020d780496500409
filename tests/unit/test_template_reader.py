"""tools.template.merged: a parent and its nested applications read as one template (tiny templates here)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tools import template

CHILD_FUNCTION = {
    "Type": "AWS::Serverless::Function",
    "Properties": {
        "CodeUri": "../../functions/thing/",
        "AutoPublishAlias": "live",
        "Policies": [{"Statement": [{"Effect": "Allow", "Action": ["dynamodb:GetItem"], "Resource": [
            {"Ref": "TableArn"}, {"Fn::Sub": "${TableArn}/index/*"}, {"Fn::Sub": "${!Literal}/${AWS::Region}"},
            {"Fn::Sub": ["${TableArn}/${Own}", {"Own": {"Ref": "Table"}}]},
        ]}]}],
        "Environment": {"Variables": {"TABLE_NAME": {"Ref": "Table"}}},
    },
}  # fmt: skip
CHILD_ROUTE = {
    "ThingIntegration": {
        "Type": "AWS::ApiGatewayV2::Integration",
        "Properties": {"ApiId": {"Ref": "HttpApi"}, "IntegrationUri": {"Ref": "ThingFunction.Alias"}},
    },
    "ThingRoute": {
        "Type": "AWS::ApiGatewayV2::Route",
        "Properties": {
            "ApiId": {"Ref": "HttpApi"},
            "RouteKey": "GET /v1/things/{id}",
            "Target": {"Fn::Sub": "integrations/${ThingIntegration}"},
        },
    },
    "ThingPermission": {"Type": "AWS::Lambda::Permission", "Properties": {}},
}


def _write(tmp: Path, parent: dict[str, Any], child: dict[str, Any]) -> Path:
    (tmp / "stacks" / "c").mkdir(parents=True)
    (tmp / "stacks" / "c" / "template.yaml").write_text(yaml.safe_dump(child))
    (tmp / "template.yaml").write_text(yaml.safe_dump(parent))
    return tmp / "template.yaml"


def _parent(passed: dict[str, Any], **resources: Any) -> dict[str, Any]:
    app = {
        "Type": "AWS::Serverless::Application",
        "Properties": {"Location": "stacks/c/template.yaml", "Parameters": passed},
    }
    return {"Resources": {"Table": {"Type": "AWS::DynamoDB::Table"}, "HttpApi": {"Type": "AWS::ApiGatewayV2::Api"},
                          "C": app, **resources}}  # fmt: skip


PASSED = {"Table": {"Ref": "Table"}, "TableArn": {"Fn::GetAtt": ["Table", "Arn"]}, "HttpApi": {"Ref": "HttpApi"}}


def _child(**extra: Any) -> dict[str, Any]:
    return {
        "Parameters": {name: {"Type": "String"} for name in PASSED},
        "Conditions": {"On": {"Fn::Equals": [{"Ref": "Table"}, "x"]}},
        "Resources": {"ThingFunction": CHILD_FUNCTION, **CHILD_ROUTE},
        **extra,
    }


def test_given_a_child_then_its_parameters_become_the_parents_values_and_its_route_an_httpapi_event(tmp_path):
    doc = template.merged(_write(tmp_path, _parent(PASSED), _child()))

    fn = doc["Resources"]["ThingFunction"]["Properties"]
    assert fn["CodeUri"] == "functions/thing/"
    assert fn["Environment"]["Variables"]["TABLE_NAME"] == {"Ref": "Table"}
    assert fn["Policies"][0]["Statement"][0]["Resource"] == [
        {"Fn::GetAtt": ["Table", "Arn"]},
        {"Fn::Sub": "${Table.Arn}/index/*"},
        {"Fn::Sub": "${!Literal}/${AWS::Region}"},  # an escaped ${! and a pseudo parameter stay as written
        {"Fn::Sub": ["${Table.Arn}/${Own}", {"Own": {"Ref": "Table"}}]},
    ]
    assert fn["Events"] == {
        "Api": {
            "Type": "HttpApi",
            "Properties": {"ApiId": {"Ref": "HttpApi"}, "Method": "GET", "Path": "/v1/things/{id}"},
        }
    }
    assert not {"ThingIntegration", "ThingRoute", "ThingPermission"} & set(doc["Resources"])
    assert doc["Conditions"] == {"On": {"Fn::Equals": [{"Ref": "Table"}, "x"]}}


@pytest.mark.parametrize(
    ("passed", "message"),
    [
        ({k: v for k, v in PASSED.items() if k != "TableArn"}, "declared but not passed ['TableArn']"),
        ({**PASSED, "Extra": {"Ref": "Table"}}, "passed but not declared ['Extra']"),
    ],
)
def test_given_parameters_the_parent_and_child_disagree_on_then_an_error_names_them(tmp_path, passed, message):
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        template.merged(_write(tmp_path, _parent(passed), _child()))


def test_given_a_logical_id_in_two_stacks_then_an_error(tmp_path):
    parent = _parent(PASSED, ThingFunction={"Type": "AWS::Serverless::Function", "Properties": {}})
    with pytest.raises(ValueError, match="ThingFunction of C is also a resource"):
        template.merged(_write(tmp_path, parent, _child()))


def test_given_a_condition_two_templates_define_differently_then_an_error(tmp_path):
    parent = {**_parent(PASSED), "Conditions": {"On": {"Fn::Equals": ["a", "b"]}}}
    with pytest.raises(ValueError, match="condition On of C differs"):
        template.merged(_write(tmp_path, parent, _child()))
