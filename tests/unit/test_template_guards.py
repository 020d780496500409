"""Guard rules over template.yaml: failure handling, least privilege, table protection and alarms."""

from __future__ import annotations

import ast
from typing import Any

import pytest

from tools import template

RESOURCES = template.load()["Resources"]
FUNCTIONS = {name: r for name, r in RESOURCES.items() if r["Type"] == "AWS::Serverless::Function"}
WRITE_ACTIONS = {"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem",
                 "dynamodb:ConditionCheckItem"}  # fmt: skip


def _statements(fn: dict[str, Any]) -> list[dict[str, Any]]:
    return [st for policy in fn["Properties"].get("Policies", []) for st in policy.get("Statement", [])]


def _events(fn: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [e["Properties"] for e in (fn["Properties"].get("Events") or {}).values() if e["Type"] == kind]


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_given_a_function_then_it_has_its_own_least_privilege_policy(name):
    statements = _statements(FUNCTIONS[name])
    assert statements, f"{name} has no inline policy of its own"
    for st in statements:
        actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
        resources = st["Resource"] if isinstance(st["Resource"], list) else [st["Resource"]]
        assert not any(a == "*" or a.endswith(":*") for a in actions), f"{name}: wildcard action {actions}"
        assert "*" not in resources, f"{name}: wildcard resource"
        assert "dynamodb:Scan" not in actions, f"{name}: no Scan anywhere"


@pytest.mark.parametrize(
    "name", sorted(n for n, f in FUNCTIONS.items() if any(e["Method"] == "GET" for e in _events(f, "HttpApi")))
)
def test_given_a_read_only_route_then_its_policy_has_no_write_action(name):
    actions = {a for st in _statements(FUNCTIONS[name]) for a in st["Action"]}
    assert not actions & WRITE_ACTIONS, f"{name} may write: {sorted(actions & WRITE_ACTIONS)}"


@pytest.mark.parametrize("name", sorted(n for n, f in FUNCTIONS.items() if _events(f, "DynamoDB") or _events(f, "SQS")))
def test_given_an_async_event_source_then_partial_failures_and_a_dead_letter_destination(name):
    fn = FUNCTIONS[name]
    for source in _events(fn, "DynamoDB"):
        assert "ReportBatchItemFailures" in source["FunctionResponseTypes"]
        assert source["DestinationConfig"]["OnFailure"]["Destination"]
        assert 0 <= source["MaximumRetryAttempts"] <= 100 and source["BisectBatchOnFunctionError"]
    for source in _events(fn, "SQS"):
        assert "ReportBatchItemFailures" in source["FunctionResponseTypes"]
        queue = RESOURCES[source["Queue"]["Fn::GetAtt"][0]]
        assert queue["Properties"]["RedrivePolicy"]["deadLetterTargetArn"], "SQS source without a DLQ"


def test_given_the_table_then_it_is_protected_and_streams_both_images():
    props = RESOURCES["Table"]["Properties"]
    assert RESOURCES["Table"]["DeletionPolicy"] == "Retain"
    assert props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    assert props["SSESpecification"]["SSEEnabled"] is True
    assert props["StreamSpecification"]["StreamViewType"] == "NEW_AND_OLD_IMAGES"
    assert props["BillingMode"] == "PAY_PER_REQUEST"


def test_given_dead_letter_queues_and_consumers_then_each_has_an_alarm():
    alarms = [r["Properties"] for r in RESOURCES.values() if r["Type"] == "AWS::CloudWatch::Alarm"]

    def watched(metric: str, dimension: str) -> set[str]:
        out = set()
        for a in alarms:
            if a["MetricName"] != metric:
                continue
            for d in a["Dimensions"]:
                if d["Name"] == dimension:
                    value = d["Value"]
                    out.add(value["Fn::GetAtt"][0] if "Fn::GetAtt" in value else value["Ref"])
        return out

    dlqs = {
        RESOURCES[p["Queue"]["Fn::GetAtt"][0]]["Properties"]["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
        for f in FUNCTIONS.values()
        for p in _events(f, "SQS")
    } | {
        p["DestinationConfig"]["OnFailure"]["Destination"]["Fn::GetAtt"][0]
        for f in FUNCTIONS.values()
        for p in _events(f, "DynamoDB")
    }
    assert dlqs <= watched("ApproximateNumberOfMessagesVisible", "QueueName")
    consumers = {n for n, f in FUNCTIONS.items() if _events(f, "DynamoDB") or _events(f, "SQS")}
    assert consumers <= watched("Errors", "FunctionName")
    assert all(a["AlarmActions"] for a in alarms)


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_given_a_function_then_a_tracer_could_never_record_its_responses_or_errors(name):
    # Responses carry new API keys and webhook secrets; errors can quote input. Globals set both off.
    env = template.functions()[name].environment
    assert env.get("POWERTOOLS_TRACER_CAPTURE_RESPONSE") == "false", name
    assert env.get("POWERTOOLS_TRACER_CAPTURE_ERROR") == "false", name


def _calls(keyword: str) -> list[tuple[str, int, ast.Call]]:
    """Every call in the function and layer code that passes `keyword`, or is named `keyword`."""
    found = []
    for path in sorted([*(template.ROOT / "functions").rglob("*.py"), *(template.ROOT / "layers").rglob("*.py")]):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Call):
                name = getattr(node.func, "attr", getattr(node.func, "id", ""))
                if name == keyword or any(k.arg == keyword for k in node.keywords):
                    found.append((str(path.relative_to(template.ROOT)), node.lineno, node))
    return found


def _keyword(call: ast.Call, name: str) -> object:
    return next((k.value.value for k in call.keywords if k.arg == name and isinstance(k.value, ast.Constant)), None)


def test_given_the_code_then_no_tracer_captures_responses_and_no_logger_logs_events():
    captures = _calls("capture_response")
    assert [(p, line) for p, line, c in captures if _keyword(c, "capture_response") is not False] == []
    injections = _calls("inject_lambda_context")
    assert len(injections) >= 3, injections  # the API handlers' and both consumers'
    # log_event=False explicitly: left out, POWERTOOLS_LOGGER_LOG_EVENT=true would log whole events (API keys).
    assert [(p, line) for p, line, c in injections if _keyword(c, "log_event") is not False] == []
