"""The real-time channel without AWS: the push message (a pure function of a domain event), its 8 KB cap, the
WebSocket API as template.yaml declares it, and the IAM model of @connections calls."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tools import iam, template

template.ensure_shared_layer_on_path()

from tickets.logic.realtime_push import encode, push_message  # noqa: E402
from tickets.models.events import DomainEvent  # noqa: E402

RESOURCES = template.load()["Resources"]
TICKET = {
    "id": "01KQ219W80DEM0T1CKET000000", "number": 7, "reference": "DEMO-7", "subject": "Printer on fire",
    "description": "SECRET description", "status": "open", "priority": "high",
    "assigneeId": "01KQ219W80DEM0AGENT0000000",
    "assignee": {"id": "01KQ219W80DEM0AGENT0000000", "name": "Grace", "email": "grace@example.com"},
    "metadata": {"card": "4242"}, "version": 3, "createdAt": "2026-04-25T10:00:00.000Z",
    "updatedAt": "2026-04-25T10:05:00.000Z",
}  # fmt: skip
AGENT = TICKET["assigneeId"]


def event(kind: str, **data: Any) -> DomainEvent:
    return DomainEvent(
        id="evt_01KQ219W800003000ABCDEFGHJ", type=kind, createdAt="2026-04-25T10:05:00.000Z",
        data={"ticket": TICKET, **data}, tenantId="T1",
    )  # fmt: skip


THIN = {
    "id": TICKET["id"], "reference": "DEMO-7", "subject": "Printer on fire", "status": "open", "priority": "high",
    "assigneeId": AGENT, "groupId": None, "version": 3, "updatedAt": "2026-04-25T10:05:00.000Z",
}  # fmt: skip


@pytest.mark.parametrize(
    ("kind", "data", "changes"),
    [
        ("ticket.created", {}, []),
        ("ticket.updated", {"changes": {"subject": {}, "priority": {}, "tags": {}}}, ["priority", "subject", "tags"]),
        ("ticket.status_changed", {"previousStatus": "new", "newStatus": "open"}, ["status"]),
        ("ticket.assigned", {"previousAssigneeId": None, "assigneeId": AGENT}, ["assigneeId"]),
        ("ticket.deleted", {"id": TICKET["id"]}, []),
        ("comment.created", {"comment": {"id": "c1", "body": "SECRET body", "visibility": "internal"}}, []),
    ],
)
def test_given_each_event_type_then_the_push_is_exactly_the_contracts_shape(kind, data, changes):
    message = push_message(event(kind, **data), AGENT)
    assert message == {
        "type": kind, "eventId": "evt_01KQ219W800003000ABCDEFGHJ", "at": "2026-04-25T10:05:00.000Z",
        "ticket": THIN, "changes": changes, "forYou": True,
    }  # fmt: skip
    assert list(message["ticket"]) == list(THIN)
    text = encode(message).decode()
    assert "SECRET" not in text and "4242" not in text and "grace@example.com" not in text


@pytest.mark.parametrize(("agent", "for_you"), [(AGENT, True), ("01KQ219W80OTHERAGENT000000", False), (None, False)])
def test_given_a_connection_then_for_you_says_whether_the_ticket_is_assigned_to_its_agent(agent, for_you):
    assert push_message(event("ticket.created"), agent)["forYou"] is for_you


def test_given_an_unassigned_ticket_then_it_is_for_nobody_even_a_connection_without_an_agent():
    unassigned = DomainEvent(
        id="evt_01KQ219W800003000ABCDEFGHJ", type="ticket.created", createdAt="2026-04-25T10:05:00.000Z",
        data={"ticket": {**TICKET, "assigneeId": None}}, tenantId="T1",
    )  # fmt: skip
    assert push_message(unassigned, None)["forYou"] is False


def test_given_a_small_message_then_it_is_compact_utf8_json():
    message = push_message(event("ticket.created"), None)
    data = encode(message)
    assert json.loads(data) == message and b", " not in data and data.count(b'"') > 10


@pytest.mark.parametrize("char", ["x", "é", "😀", "\u0001", '"'])
def test_given_a_subject_that_would_pass_8_kb_then_it_is_cut_with_an_ellipsis_and_the_rest_is_intact(char):
    huge = push_message(event("ticket.created"), AGENT) | {}
    huge["ticket"] = {**huge["ticket"], "subject": char * 9000}
    data = encode(huge)
    assert len(data) <= 8 * 1024
    parsed = json.loads(data)
    assert parsed["ticket"]["subject"].endswith("…") and set(parsed["ticket"]["subject"][:-1]) == {char}
    assert len(data) > 8 * 1024 - 64  # as much of the subject as fits
    assert {k: v for k, v in parsed["ticket"].items() if k != "subject"} == {
        k: v for k, v in THIN.items() if k != "subject"
    }
    assert parsed["forYou"] is True and parsed["type"] == "ticket.created"


# ------------------------------------------------------------------------------------------------ the template


def test_given_the_websocket_api_then_its_routes_reach_their_functions_and_only_default_answers():
    api = RESOURCES["WebSocketApi"]["Properties"]
    assert (api["ProtocolType"], api["RouteSelectionExpression"]) == ("WEBSOCKET", "$request.body.action")
    routes = template.websocket_routes()
    assert {key: (r.function, r.two_way) for key, r in routes.items()} == {
        "$connect": ("ConnectRealtimeFunction", False),
        "$disconnect": ("DisconnectRealtimeFunction", False),
        "$default": ("AnswerRealtimeMessageFunction", True),
    }
    for route in (r for r in RESOURCES.values() if r["Type"] == "AWS::ApiGatewayV2::Route"):
        assert route["Properties"]["AuthorizationType"] == "NONE"  # $connect's function checks the token itself
    for name in ("ConnectRealtime", "DisconnectRealtime", "AnswerRealtimeMessage"):
        assert "Events" not in RESOURCES[f"{name}Function"]["Properties"]  # invoked by the API, not by an event


def test_given_the_deployment_then_it_waits_for_every_route_and_the_stage_names_the_globals_urls():
    routes = {
        n for n, r in RESOURCES.items() if r["Type"] in ("AWS::ApiGatewayV2::Route", "AWS::ApiGatewayV2::RouteResponse")
    }
    assert set(RESOURCES["WebSocketDeployment"]["DependsOn"]) == routes
    stage = RESOURCES["WebSocketStage"]["Properties"]
    assert stage["DeploymentId"] == {"Ref": "WebSocketDeployment"} and stage["StageName"] == template.websocket_stage()
    assert stage["DefaultRouteSettings"] == {
        "ThrottlingBurstLimit": {"Ref": "ApiThrottlingBurstLimit"},
        "ThrottlingRateLimit": {"Ref": "ApiThrottlingRateLimit"},
    }
    env = template.load()["Globals"]["Function"]["Environment"]["Variables"]
    suffix = "${WebSocketApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}/" + stage["StageName"]
    assert env["REALTIME_URL"] == {"Fn::Sub": "wss://" + suffix}
    assert env["REALTIME_CONNECTIONS_URL"] == {"Fn::Sub": "https://" + suffix}


def test_given_each_route_then_api_gateway_may_invoke_its_function_for_that_route_only():
    permissions = {
        r["Properties"]["FunctionName"]["Ref"]: r["Properties"]
        for r in RESOURCES.values()
        if r["Type"] == "AWS::Lambda::Permission"
    }
    for key, route in template.websocket_routes().items():
        perm = permissions[route.function]
        assert (perm["Action"], perm["Principal"]) == ("lambda:InvokeFunction", "apigateway.amazonaws.com")
        assert perm["SourceArn"] == {
            "Fn::Sub": "arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:${WebSocketApi}/*/" + key
        }


def _manage_connections(name: str) -> list[dict[str, Any]]:
    return [
        st
        for policy in RESOURCES[name]["Properties"].get("Policies", [])
        for st in policy["Statement"]
        if any(a.startswith("execute-api:") for a in st["Action"])
    ]


def test_given_the_functions_then_only_the_push_consumer_manages_connections_and_only_on_this_stage():
    functions = template.resources("AWS::Serverless::Function")
    assert [n for n in functions if _manage_connections(n)] == ["PushRealtimeFunction"]
    (statement,) = _manage_connections("PushRealtimeFunction")
    assert statement["Action"] == ["execute-api:ManageConnections"]
    base = "arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:${WebSocketApi}/${WebSocketStage}"
    assert statement["Resource"] == [
        {"Fn::Sub": f"{base}/POST/@connections/*"},
        {"Fn::Sub": f"{base}/DELETE/@connections/*"},
    ]


def test_given_the_push_consumer_then_it_hears_what_the_webhooks_hear_without_waiting_for_a_fuller_batch():
    push, fanout = (
        template.functions()[n].event_sources[0] for n in ("PushRealtimeFunction", "FanoutWebhooksFunction")
    )
    assert push.filters == fanout.filters  # every ticket change and every new comment
    assert push.maximum_batching_window == 0 and push.report_batch_item_failures and push.on_failure


# ------------------------------------------------------------------------------------------------ IAM model


@pytest.mark.parametrize(
    ("endpoint", "op", "method"),
    [
        ("https://abc123defg.execute-api.eu-west-1.amazonaws.com/v1", "PostToConnection", "POST"),
        ("http://127.0.0.1:4711/abc123defg/v1", "DeleteConnection", "DELETE"),
        ("http://127.0.0.1:4711/abc123defg/v1", "GetConnection", "GET"),
    ],
)
def test_given_an_at_connections_call_then_iam_sees_manage_connections_on_that_api_stage_and_connection(
    endpoint, op, method
):
    pairs = iam.requested("apigatewaymanagementapi", op, {"ConnectionId": "L0SM9cOFvHcCIhw="}, endpoint=endpoint)
    arn = f"arn:aws:execute-api:us-east-1:123456789012:abc123defg/v1/{method}/@connections/L0SM9cOFvHcCIhw="
    assert pairs == [("execute-api:ManageConnections", arn)]


def test_given_an_at_connections_endpoint_that_names_no_api_then_the_strictest_reading():
    pairs = iam.requested("apigatewaymanagementapi", "PostToConnection", {"ConnectionId": "x"}, endpoint="http://h/")
    assert pairs == [("execute-api:ManageConnections", "*")]


def test_given_the_push_policy_then_posting_to_this_stage_is_allowed_and_another_api_or_get_is_not():
    api, stage = template.websocket_refs()["WebSocketApi"], template.websocket_stage()
    policy = iam.policies(iam.local_refs("tickets-local"))["PushRealtimeFunction"]
    base = f"arn:aws:execute-api:us-east-1:123456789012:{api}/{stage}"
    assert policy.decide("execute-api:ManageConnections", f"{base}/POST/@connections/abc=").allowed
    assert policy.decide("execute-api:ManageConnections", f"{base}/DELETE/@connections/abc=").allowed
    assert not policy.decide("execute-api:ManageConnections", f"{base}/GET/@connections/abc=").allowed
    other = f"arn:aws:execute-api:us-east-1:123456789012:otherapi00/{stage}/POST/@connections/abc="
    assert not policy.decide("execute-api:ManageConnections", other).allowed
    default = iam.policies(iam.local_refs("tickets-local"))["AnswerRealtimeMessageFunction"]
    assert not default.decide("execute-api:ManageConnections", f"{base}/POST/@connections/abc=").allowed
