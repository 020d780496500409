"""Guard rules over template.yaml: failure handling, least privilege, table protection and alarms."""

from __future__ import annotations

import ast
import json
import re
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


# Functions that call no AWS service at all: `Policies: []` says so (their role is SAM's basic execution role: logs,
# and X-Ray for active tracing), and tools/iam refuses any call they would make, as their role would.
NO_AWS_ACCESS = {"ServeConsoleFunction": "serves the agent console's files from its own package"}


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_given_a_function_then_it_has_its_own_least_privilege_policy(name):
    statements = _statements(FUNCTIONS[name])
    if name in NO_AWS_ACCESS:
        assert FUNCTIONS[name]["Properties"]["Policies"] == [], f"{name}: {NO_AWS_ACCESS[name]}: it needs no grant"
        return
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


# ---------------------------------------------------------------- operations: logs, access logs, throttling, metrics

PARAMETERS = template.load()["Parameters"]
LOG_GROUPS = {name: r["Properties"] for name, r in RESOURCES.items() if r["Type"] == "AWS::Logs::LogGroup"}
HTTP_API = RESOURCES["HttpApiApiGatewayDefaultStage"]["Properties"]  # the HTTP API's one stage: its logs and limits


def _function_log_groups(name: str) -> list[str]:
    """The log groups named as Lambda names the function's own: /aws/lambda/<its physical name>."""
    lambda_name = {"Fn::Sub": f"/aws/lambda/${{{name}}}"}
    return [group for group, props in LOG_GROUPS.items() if props.get("LogGroupName") == lambda_name]


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_given_a_function_then_exactly_one_log_group_of_its_own_keeps_its_logs_for_the_retention_parameter(name):
    groups = _function_log_groups(name)
    assert len(groups) == 1, f"{name} needs one log-group line (in the template that defines it), has {groups}"
    assert LOG_GROUPS[groups[0]]["RetentionInDays"] == {"Ref": "LogRetentionDays"}
    # A LoggingConfig.LogGroup would send its logs elsewhere and leave this group empty.
    assert "LogGroup" not in (FUNCTIONS[name]["Properties"].get("LoggingConfig") or {}), name


def test_given_every_log_group_then_it_belongs_to_a_function_or_the_access_log_and_keeps_30_days_by_default():
    owned = {group for name in FUNCTIONS for group in _function_log_groups(name)}
    access = HTTP_API["AccessLogSettings"]["DestinationArn"]["Fn::GetAtt"][0]
    assert set(LOG_GROUPS) == owned | {access}, "a log group of a function that is gone, or of nothing"
    assert all(props["RetentionInDays"] == {"Ref": "LogRetentionDays"} for props in LOG_GROUPS.values())
    assert PARAMETERS["LogRetentionDays"]["Default"] == 30
    assert 30 in PARAMETERS["LogRetentionDays"]["AllowedValues"]  # CloudWatch takes only its own list of days


# What an access log line may hold: the request's shape and fate, the caller's address. Never a header
# ($request.header.*: X-API-Key, Authorization, cookies), a query string, an authorizer's field or any other
# caller identity field. An allow-list: a variable not named here fails the test until someone decides.
ACCESS_LOG_VARIABLES = {
    "$context.requestId", "$context.extendedRequestId", "$context.requestTime", "$context.requestTimeEpoch",
    "$context.identity.sourceIp", "$context.httpMethod", "$context.routeKey", "$context.path",
    "$context.protocol", "$context.stage", "$context.domainName", "$context.status", "$context.responseLength",
    "$context.responseLatency", "$context.integrationStatus", "$context.integrationLatency",
    "$context.integrationErrorMessage", "$context.error.message", "$context.error.responseType",
}  # fmt: skip


def test_given_the_http_api_then_its_access_log_is_json_of_allowed_context_variables_only():
    settings = HTTP_API["AccessLogSettings"]
    fmt = settings["Format"]
    assert isinstance(fmt, str), "the format is one literal string, so this test sees all of it"
    line = json.loads(fmt)  # every value is quoted: the line stays JSON whatever a variable holds
    assert all(isinstance(v, str) for v in line.values())
    variables = set(re.findall(r"\$[\w.]+", fmt))
    assert variables == set(line.values()), "one variable per field, nothing around it"
    assert variables <= ACCESS_LOG_VARIABLES, f"not allowed in access logs: {sorted(variables - ACCESS_LOG_VARIABLES)}"
    assert {"$context.requestId", "$context.status", "$context.routeKey"} <= variables
    assert not re.search(r"header|authoriz|api.?key|cookie|querystring", fmt, re.IGNORECASE)
    group = settings["DestinationArn"]["Fn::GetAtt"]
    assert group[1] == "Arn" and RESOURCES[group[0]]["Type"] == "AWS::Logs::LogGroup"


def test_given_the_http_api_then_every_route_is_throttled_by_the_stage_parameters():
    limits = HTTP_API["DefaultRouteSettings"]
    assert limits["ThrottlingBurstLimit"] == {"Ref": "ApiThrottlingBurstLimit"}
    assert limits["ThrottlingRateLimit"] == {"Ref": "ApiThrottlingRateLimit"}
    burst, rate = PARAMETERS["ApiThrottlingBurstLimit"], PARAMETERS["ApiThrottlingRateLimit"]
    assert burst["Type"] == rate["Type"] == "Number" and burst["MinValue"] >= 1 and rate["MinValue"] >= 1
    # Below AWS's account-wide default (10,000 rps, burst 5,000), so a flood stops at the stage.
    assert 0 < rate["Default"] <= burst["Default"] <= 5000
    # No route loosens them for itself.
    assert RESOURCES["HttpApiApiGatewayDefaultStage"]["Properties"]["ApiId"] == {"Ref": "HttpApi"}
    assert "RouteSettings" not in HTTP_API
    assert not any("RouteSettings" in p for f in FUNCTIONS.values() for p in _events(f, "HttpApi"))


def test_given_the_metrics_namespace_then_every_metric_it_promises_is_counted_by_the_code():
    from tickets import metrics

    namespace = template.load()["Globals"]["Function"]["Environment"]["Variables"]["POWERTOOLS_METRICS_NAMESPACE"]
    assert namespace and isinstance(namespace, str)
    # `metrics.count(metrics.NAME, ...)` calls in the function and layer code, by the constant they name
    counted = {
        getattr(metrics, node.args[0].attr)
        for _, _, node in _calls("count")
        if node.args and isinstance(node.args[0], ast.Attribute) and getattr(node.args[0].value, "id", "") == "metrics"
    }
    assert set(metrics.METRICS) <= counted, f"never counted: {sorted(set(metrics.METRICS) - counted)}"
    assert {"TicketsCreated", "WebhookDeliveries", "EmailsSent", "Throttles"} <= set(metrics.METRICS)


# each calls tickets.metrics.flush()
FLUSHING_FACTORIES = {
    "make_handler",
    "stream_consumer",
    "queue_consumer",
    "websocket_handler",
    "console_handler",
    "record_consumer",
    "scheduled_handler",
}


def _made_by(fn: template.Function) -> str | None:
    """The factory the function's module calls to make its handler (`handler = make_handler(...)`: make_handler)."""
    module, attr = fn.handler.rsplit(".", 1)
    tree = ast.parse((fn.code_uri / f"{module}.py").read_text())
    made_by = [
        node.value.func.id
        for node in tree.body
        if isinstance(node, ast.Assign)
        and any(getattr(t, "id", "") == attr for t in node.targets)
        and isinstance(node.value, ast.Call)
        and isinstance(node.value.func, ast.Name)
    ]
    return made_by[-1] if made_by else None


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_given_a_function_then_its_handler_comes_from_a_factory_that_flushes_its_metrics(name):
    made_by = _made_by(template.functions()[name])
    assert made_by in FLUSHING_FACTORIES, f"{name}: its handler is not made by one of {FLUSHING_FACTORIES}"


# The only routes that take no API key: the agent console's files (tickets.api.console), which hold no data.
CONSOLE_ROUTES = {("GET", "/console"), ("GET", "/console/{proxy+}")}


@pytest.mark.parametrize("name", sorted(n for n, fn in template.functions().items() if fn.routes))
def test_given_a_routed_function_then_api_routes_authenticate_and_only_the_console_goes_without_a_key(name):
    fn = template.functions()[name]
    routes = {(r.method, r.path) for r in fn.routes}
    if all(r.is_api for r in fn.routes):
        # make_handler authenticates the key and checks the scope before anything else (tickets.api.http)
        assert _made_by(fn) == "make_handler", f"{name} serves the API: its handler must come from make_handler"
    else:
        assert (name, routes) == ("ServeConsoleFunction", CONSOLE_ROUTES), f"{name}: routes outside /v1/: {routes}"
        assert _made_by(fn) == "console_handler"
        assert "tickets.dal" not in (fn.code_uri / "app.py").read_text()  # it reads no data


# ---------------------------------------------------------------- buckets: private, encrypted, TLS only, events queued

BUCKETS = {name: r for name, r in RESOURCES.items() if r["Type"] == "AWS::S3::Bucket"}


def _of_bucket(kind: str, name: str) -> list[dict[str, Any]]:
    return [
        r["Properties"]
        for r in RESOURCES.values()
        if r["Type"] == kind and r["Properties"].get("Bucket") == {"Ref": name}
    ]


@pytest.mark.parametrize("name", sorted(BUCKETS))
def test_given_a_bucket_then_it_is_private_encrypted_owner_enforced_retained_and_tls_only(name):
    bucket = BUCKETS[name]
    props = bucket["Properties"]
    (rule,) = props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] in ("AES256", "aws:kms")
    assert props["PublicAccessBlockConfiguration"] == dict.fromkeys(
        ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"), True
    )
    assert props["OwnershipControls"]["Rules"] == [{"ObjectOwnership": "BucketOwnerEnforced"}]  # no ACLs at all
    assert bucket["DeletionPolicy"] == bucket["UpdateReplacePolicy"] == "Retain"
    denies = [
        st
        for policy in _of_bucket("AWS::S3::BucketPolicy", name)
        for st in policy["PolicyDocument"]["Statement"]
        if st["Effect"] == "Deny" and st.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}}
    ]
    assert denies and denies[0]["Principal"] == "*" and denies[0]["Action"] == "s3:*"
    assert {"Fn::GetAtt": [name, "Arn"]} in denies[0]["Resource"]
    assert {"Fn::Sub": f"${{{name}.Arn}}/*"} in denies[0]["Resource"]
    rules = props["LifecycleConfiguration"]["Rules"]
    assert any(r.get("AbortIncompleteMultipartUpload") and "Prefix" not in r and "TagFilters" not in r for r in rules)


@pytest.mark.parametrize("name", sorted(BUCKETS))
def test_given_a_bucket_with_queue_notifications_then_s3_may_send_to_them_first_and_nothing_else_may(name):
    bucket = BUCKETS[name]
    bucket_name = bucket["Properties"]["BucketName"]["Fn::Sub"]
    for conf in (bucket["Properties"].get("NotificationConfiguration") or {}).get("QueueConfigurations") or []:
        queue = conf["Queue"]["Fn::GetAtt"][0]
        assert RESOURCES[queue]["Properties"]["RedrivePolicy"]["deadLetterTargetArn"]
        (policy_name,) = [
            n for n, r in RESOURCES.items()
            if r["Type"] == "AWS::SQS::QueuePolicy" and {"Ref": queue} in r["Properties"]["Queues"]
        ]  # fmt: skip
        # S3 tests that it may send when the notification is set: the policy must exist before the bucket.
        assert policy_name in ([bucket["DependsOn"]] if isinstance(bucket["DependsOn"], str) else bucket["DependsOn"])
        (st,) = RESOURCES[policy_name]["Properties"]["PolicyDocument"]["Statement"]
        assert (st["Effect"], st["Principal"], st["Action"]) == (
            "Allow",
            {"Service": "s3.amazonaws.com"},
            "sqs:SendMessage",
        )
        assert st["Resource"] == {"Fn::GetAtt": [queue, "Arn"]}
        source, variables = st["Condition"]["ArnEquals"]["aws:SourceArn"]["Fn::Sub"]
        assert (source, variables) == ("arn:${AWS::Partition}:s3:::" + bucket_name[0], bucket_name[1])  # this bucket
        assert st["Condition"]["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}


def test_given_the_attachments_bucket_then_it_keeps_no_old_versions_and_browsers_may_only_post():
    props = BUCKETS["AttachmentsBucket"]["Properties"]
    assert "VersioningConfiguration" not in props  # a redacted or rejected file must really be gone
    (cors,) = props["CorsConfiguration"]["CorsRules"]
    assert cors["AllowedMethods"] == ["POST"] and cors["AllowedOrigins"] == {"Ref": "AttachmentUploadOrigins"}
    (conf,) = props["NotificationConfiguration"]["QueueConfigurations"]
    assert conf["Filter"] == {"S3Key": {"Rules": [{"Name": "prefix", "Value": "u/"}]}}  # uploads only


def _s3_statements(fn: dict[str, Any], bucket: str) -> list[dict[str, Any]]:
    def on_bucket(resource: Any) -> bool:
        return resource == {"Fn::GetAtt": [bucket, "Arn"]} or str(resource.get("Fn::Sub", "")).startswith(
            f"${{{bucket}.Arn}}/"
        )

    out = []
    for st in _statements(fn):
        resources = st["Resource"] if isinstance(st["Resource"], list) else [st["Resource"]]
        if any(isinstance(r, dict) and on_bucket(r) for r in resources):
            assert all(a.startswith("s3:") for a in st["Action"]), st
            out.append(st)
    return out


# Functions that need the bucket's name and no access to it.
NAMES_THE_BUCKET_ONLY = {"ServeConsoleFunction": "the console page's CSP lets the browser POST uploads to the bucket"}


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_given_a_function_then_it_knows_the_attachments_bucket_exactly_when_its_policy_reaches_into_it(name):
    fn = FUNCTIONS[name]
    env = ((fn["Properties"].get("Environment") or {}).get("Variables")) or {}
    statements = _s3_statements(fn, "AttachmentsBucket")
    names_it = name in NAMES_THE_BUCKET_ONLY
    assert ("ATTACHMENTS_BUCKET" in env) == (bool(statements) or names_it), name
    assert not (names_it and statements), f"{name} was to know the bucket's name only"
    if statements:
        assert env["ATTACHMENTS_BUCKET"] == {"Ref": "AttachmentsBucket"}
    for st in statements:  # object actions on a tenant-prefixed part of the bucket only; listing at most
        resources = st["Resource"] if isinstance(st["Resource"], list) else [st["Resource"]]
        for resource in resources:
            if "Fn::Sub" in resource:
                assert resource["Fn::Sub"] in ("${AttachmentsBucket.Arn}/t/*", "${AttachmentsBucket.Arn}/u/*"), st
            else:
                assert st["Action"] == ["s3:ListBucket"], st


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_given_a_function_then_snapstart_follows_the_parameter_exactly_when_it_serves_http_routes(name):
    # SnapStart needs a published version (AutoPublishAlias, which the route then invokes); a function without routes
    # publishes none and gets no SnapStart setting (cfn-lint W2530).
    props = FUNCTIONS[name]["Properties"]
    if _events(FUNCTIONS[name], "HttpApi"):
        assert props.get("AutoPublishAlias") == "live", f"{name}: add `AutoPublishAlias: live`"
        assert props.get("SnapStart") == {"ApplyOn": {"Fn::If": ["SnapStartOn", "PublishedVersions", "None"]}}, name
    else:
        assert "AutoPublishAlias" not in props and "SnapStart" not in props, name


def test_given_the_snapstart_parameter_then_it_is_off_by_default_and_on_only_when_said():
    parameter = template.load()["Parameters"]["SnapStart"]
    assert (parameter["Default"], parameter["AllowedValues"]) == ("Off", ["Off", "On"])
    assert template.load()["Conditions"]["SnapStartOn"] == {"Fn::Equals": [{"Ref": "SnapStart"}, "On"]}
    assert "SnapStart" not in (template.load().get("Globals") or {}).get("Function", {})
