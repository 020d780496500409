"""Read template.yaml: the one description of the table, the functions and their event sources.

Tests and the local stack build everything from here, so they cannot drift from what is deployed.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import sys
import threading
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "template.yaml"


class _CfnLoader(yaml.SafeLoader):
    """YAML loader that keeps CloudFormation short-form intrinsics as {"Fn::X": ...} / {"Ref": ...}."""


def _intrinsic(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        val: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        val = loader.construct_sequence(node, deep=True)
    else:
        val = loader.construct_mapping(node, deep=True)
    if suffix == "Ref":
        return {"Ref": val}
    if suffix == "GetAtt" and isinstance(val, str):
        val = val.split(".", 1)
    return {f"Fn::{suffix}": val}


_CfnLoader.add_multi_constructor("!", _intrinsic)


def read(path: Path) -> dict[str, Any]:
    """One template file as written (intrinsics kept as {"Ref": ...} / {"Fn::X": ...})."""
    with path.open() as fh:
        return yaml.load(fh, Loader=_CfnLoader)


def nested_applications(doc: dict[str, Any] | None = None, base: Path = ROOT) -> dict[str, Path]:
    """The parent's nested applications with a local template: logical id -> its template.yaml (`Location` is
    relative to the parent's directory, `base`)."""
    doc = doc if doc is not None else read(TEMPLATE)
    return {
        name: base / r["Properties"]["Location"]
        for name, r in doc["Resources"].items()
        if r["Type"] == "AWS::Serverless::Application" and isinstance(r["Properties"]["Location"], str)
    }


@cache
def load() -> dict[str, Any]:
    """The stack as one template (`merged(template.yaml)`): what every reader of the template uses."""
    return merged(TEMPLATE)


def merged(parent: Path) -> dict[str, Any]:
    """A parent template with the resources of its nested applications (stacks/*/) merged in, each child's parameters
    replaced by what the parent passes (so `!Ref TableArn` in a child reads as the parent's `!GetAtt Table.Arn`
    again), its CodeUris made relative to the parent's directory, and each child function's explicit HTTP API route
    given back to it as the `HttpApi` event SAM would have had. Everything that reads the template (the local stack,
    the IAM check, the OpenAPI document, the sample events, the guards) sees the functions as they run, whichever
    stack holds them. A child parameter the parent does not pass (or the reverse), a logical id defined twice and a
    condition two templates define differently are errors."""
    doc = read(parent)
    for app, path in nested_applications(doc, parent.parent).items():
        child = read(path)
        passed = doc["Resources"][app]["Properties"].get("Parameters") or {}
        declared = set(child.get("Parameters") or {})
        if declared != set(passed):
            raise ValueError(
                f"{app}: parameters declared but not passed {sorted(declared - set(passed))}, "
                f"passed but not declared {sorted(set(passed) - declared)}"
            )
        _merge_child(doc, app, path, parent.parent, _substitute(child["Resources"], passed))
        for name, condition in _substitute(child.get("Conditions") or {}, passed).items():
            if doc.setdefault("Conditions", {}).setdefault(name, condition) != condition:
                raise ValueError(f"condition {name} of {app} differs from another template's")
    return doc


def _substitute(value: Any, passed: dict[str, Any]) -> Any:
    """`value` with each Ref to a passed parameter replaced by the parent's value (a Ref or a GetAtt), also inside
    `!Sub` strings."""
    if isinstance(value, list):
        return [_substitute(v, passed) for v in value]
    if not isinstance(value, dict):
        return value
    if set(value) == {"Ref"} and value["Ref"] in passed:
        return passed[value["Ref"]]
    if set(value) == {"Fn::Sub"}:
        sub = value["Fn::Sub"]
        text, variables = (sub, {}) if isinstance(sub, str) else (sub[0], _substitute(sub[1], passed))

        def name(m: re.Match[str]) -> str:
            ref = m.group(1)
            if ref in variables or ref not in passed:
                return m.group(0)
            source = passed[ref]
            if set(source) == {"Ref"}:
                return "${" + source["Ref"] + "}"
            return "${" + ".".join(source["Fn::GetAtt"]) + "}"

        text = re.sub(r"\$\{([\w:]+)\}", name, text)
        return {"Fn::Sub": text if not variables else [text, variables]}
    return {k: _substitute(v, passed) for k, v in value.items()}


def _merge_child(doc: dict[str, Any], app: str, path: Path, base: Path, resources: dict[str, Any]) -> None:
    routes = {n: r for n, r in resources.items() if r["Type"] == "AWS::ApiGatewayV2::Route"}
    integrations = {n: r for n, r in resources.items() if r["Type"] == "AWS::ApiGatewayV2::Integration"}
    for name, res in resources.items():
        if name in doc["Resources"]:
            raise ValueError(f"{name} of {app} is also a resource of template.yaml or another nested application")
        if name in routes or name in integrations or res["Type"] == "AWS::Lambda::Permission":
            continue  # the function's HttpApi event below stands for them
        if isinstance(code := res.get("Properties", {}).get("CodeUri"), str):  # relative to the child's file
            res["Properties"]["CodeUri"] = os.path.relpath((path.parent / code).resolve(), base.resolve()) + "/"
        doc["Resources"][name] = res
    for name, route in routes.items():
        props = route["Properties"]
        method, route_path = props["RouteKey"].split(" ", 1)
        integration = re.fullmatch(r"integrations/\$\{(\w+)\}", props["Target"]["Fn::Sub"]).group(1)  # type: ignore[union-attr]
        function = integrations[integration]["Properties"]["IntegrationUri"]["Ref"].removesuffix(".Alias")
        events = doc["Resources"][function]["Properties"].setdefault("Events", {})
        events[name.removeprefix(function.removesuffix("Function")).removesuffix("Route") or "Api"] = {
            "Type": "HttpApi",
            "Properties": {"ApiId": props["ApiId"], "Method": method, "Path": route_path},
        }


def resources(kind: str) -> dict[str, dict[str, Any]]:
    return {name: r for name, r in load()["Resources"].items() if r["Type"] == kind}


def table_definition() -> dict[str, Any]:
    """CreateTable arguments for the single table, straight from the template."""
    props = resources("AWS::DynamoDB::Table")["Table"]["Properties"]
    args: dict[str, Any] = {
        "AttributeDefinitions": props["AttributeDefinitions"],
        "KeySchema": props["KeySchema"],
        "BillingMode": props["BillingMode"],
    }
    if gsis := props.get("GlobalSecondaryIndexes"):
        args["GlobalSecondaryIndexes"] = gsis
    if stream := props.get("StreamSpecification"):
        args["StreamSpecification"] = {"StreamEnabled": True, **stream}
    return args


def ttl_attribute() -> str | None:
    props = resources("AWS::DynamoDB::Table")["Table"]["Properties"]
    spec = props.get("TimeToLiveSpecification") or {}
    return spec.get("AttributeName") if spec.get("Enabled") else None


def create_table(client: Any, name: str) -> None:
    client.create_table(TableName=name, **table_definition())
    if attr := ttl_attribute():
        client.update_time_to_live(TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": attr})


API_PREFIX = "/v1/"  # the API's routes; the others serve the agent console's files (no API key, no data)


@dataclass
class Route:
    method: str
    path: str  # template form, e.g. /v1/tickets/{id}
    regex: re.Pattern[str]

    @property
    def is_api(self) -> bool:
        """A route of the API (authenticated, documented in OpenAPI), not one of the console's file routes."""
        return self.path.startswith(API_PREFIX)

    def match(self, method: str, path: str) -> dict[str, str] | None:
        if method.upper() != self.method:
            return None
        m = self.regex.match(path)
        return m.groupdict() if m else None


@dataclass
class Function:
    name: str
    code_uri: Path
    handler: str
    environment: dict[str, Any]
    routes: list[Route] = field(default_factory=list)
    events: dict[str, Any] = field(default_factory=dict)

    @property
    def module_name(self) -> str:
        return f"fn_{self.code_uri.name}"

    @property
    def event_sources(self) -> list[EventSource]:
        """Its DynamoDB stream, SQS and schedule events, typed (see event_sources())."""
        return event_sources(self)


def _route(method: str, path: str) -> Route:
    """`{name}` matches one path segment; a greedy `{name+}` (last in a path) the rest of the path, slashes included,
    and nothing at all: API Gateway routes `GET /console/` to `GET /console/{proxy+}`."""

    def variable(m: re.Match[str]) -> str:
        return f"(?P<{m.group(1)}>.*)" if m.group(2) else f"(?P<{m.group(1)}>[^/]+)"

    escaped = re.escape(path).replace(r"\{", "{").replace(r"\}", "}").replace(r"\+}", "+}")
    pattern = re.sub(r"\{(\w+)(\+?)\}", variable, escaped)
    return Route(method.upper(), path, re.compile(f"^{pattern}$"))


def functions() -> dict[str, Function]:
    globals_ = (load().get("Globals") or {}).get("Function") or {}
    g_env = (globals_.get("Environment") or {}).get("Variables") or {}
    out = {}
    for name, res in resources("AWS::Serverless::Function").items():
        props = res["Properties"]
        env = {**g_env, **((props.get("Environment") or {}).get("Variables") or {})}
        fn = Function(
            name=name,
            code_uri=ROOT / props["CodeUri"],
            handler=props.get("Handler") or globals_.get("Handler", "app.handler"),
            environment=env,
            events=props.get("Events") or {},
        )
        for ev in fn.events.values():
            if ev["Type"] == "HttpApi":
                fn.routes.append(_route(ev["Properties"]["Method"], ev["Properties"]["Path"]))
        out[name] = fn
    return out


def resolve_env(env: dict[str, Any], refs: dict[str, str], *, strict: bool = False) -> dict[str, str]:
    """Turn the template's environment into plain strings, resolving Ref / GetAtt / Sub through `refs`.

    An unknown reference becomes "" (or raises KeyError with strict=True); see build_refs for complete refs.
    A variable in `local_endpoints` takes its local value instead (see there).
    """
    refs = {**secret_refs(), **websocket_refs(), **refs}
    resolved = {key: str(resolve(val, refs, strict=strict)) for key, val in env.items()}
    return {key: local_endpoints.get(key, val) for key, val in resolved.items()}


# Environment variables that name an endpoint the local stack serves itself, with their local values: the WebSocket
# API's wss:// URL and its @connections endpoint (tools/realtime.py). On AWS the template's value is the stage's URL;
# make dev and the tests put their own endpoint here while it runs, and every environment resolved meanwhile
# (make dev's functions, tests.conftest.call, apply_env) uses it. The code reads the same variable either way.
local_endpoints: dict[str, str] = {}


def parameter_defaults() -> dict[str, str]:
    return {k: str(v.get("Default", "")) for k, v in (load().get("Parameters") or {}).items()}


SHARED_LAYER = ROOT / "layers" / "shared" / "python"
_IMPORT_LOCK = threading.RLock()


def ensure_shared_layer_on_path() -> None:
    """Make `import tickets` work as it does in Lambda, where the layer is on sys.path."""
    if str(SHARED_LAYER) not in sys.path:
        sys.path.insert(0, str(SHARED_LAYER))


def load_handler(fn: Function) -> Any:
    """Import a function's module the way Lambda would (layers on sys.path), under a unique name.

    The handler returned runs as `fn` (tools.iam.running): with tools.iam installed, as in tests and make dev,
    its AWS calls are checked against fn's template policy, as its role would check them.
    """
    from tools import iam

    ensure_shared_layer_on_path()
    module_file, attr = fn.handler.rsplit(".", 1)
    with _IMPORT_LOCK:  # concurrent first requests must not see a half-imported module
        mod: ModuleType | None = sys.modules.get(fn.module_name)
        if mod is None:
            spec = importlib.util.spec_from_file_location(fn.module_name, fn.code_uri / f"{module_file}.py")
            assert spec and spec.loader
            mod = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(mod)
            sys.modules[fn.module_name] = mod
    return iam.as_function(fn.name, getattr(mod, attr))


def apply_env(fn: Function, refs: dict[str, str]) -> None:
    os.environ.update(resolve_env(fn.environment, {**parameter_defaults(), **refs}))


# ---------------------------------------------------------------------------------------------------------------
# Intrinsics, SQS queues, event sources and the refs that resolve them (make dev and tests build these locally).

PSEUDO_PARAMETERS = {
    "AWS::Region": "us-east-1",
    "AWS::AccountId": "123456789012",
    "AWS::Partition": "aws",
    "AWS::URLSuffix": "amazonaws.com",
    "AWS::StackName": "tickets-local",
}


def resolve(value: Any, refs: dict[str, str], *, strict: bool = False) -> Any:
    """Resolve Ref / Fn::GetAtt / Fn::Sub (`${Name}`, `${Name.Attr}`) through `refs`; other values as they are.

    `refs` keys are logical ids (and parameter / pseudo-parameter names) for Ref, `Name.Attr` for GetAtt.
    With strict=True an unknown name raises KeyError; otherwise it resolves to "" (resolve_env's old behaviour).
    """

    def look(key: str) -> str:
        if key in refs:
            return refs[key]
        if key in PSEUDO_PARAMETERS:
            return PSEUDO_PARAMETERS[key]
        if strict:
            raise KeyError(f"template reference {key!r} is not resolved (refs has {sorted(refs)})")
        return ""

    if isinstance(value, dict) and len(value) == 1:
        ((kind, arg),) = value.items()
        if kind == "Ref":
            return look(arg)
        if kind == "Fn::GetAtt":
            return look(".".join(arg) if isinstance(arg, list) else str(arg))
        if kind == "Fn::Sub":
            text, extra = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])
            local = {k: str(resolve(v, refs, strict=strict)) for k, v in extra.items()}
            text = re.sub(r"\$\{([^}!]+)\}", lambda m: local.get(m.group(1)) or look(m.group(1)), text)
            return _SECRET_REF.sub(lambda m: look(f"secretsmanager:{m.group(1)}"), text)
    if isinstance(value, str):
        return _SECRET_REF.sub(lambda m: look(f"secretsmanager:{m.group(1)}"), value)
    return value


# A `{{resolve:secretsmanager:<id>:SecretString}}` dynamic reference (no json-key, version stage or id).
_SECRET_REF = re.compile(r"\{\{resolve:secretsmanager:(.+?):SecretString\}\}")


def websocket_refs() -> dict[str, str]:
    """Ref values of the WebSocket APIs (an API id, made from the logical id as API Gateway makes a 10-character one)
    and of their stages (the stage name), as they resolve locally (environment, IAM policies)."""
    import hashlib

    out = {}
    for name in resources("AWS::ApiGatewayV2::Api"):
        out[name] = hashlib.sha256(name.encode()).hexdigest()[:10]
    for name, res in resources("AWS::ApiGatewayV2::Stage").items():
        out[name] = str((res.get("Properties") or {}).get("StageName", ""))
    return out


@dataclass(frozen=True)
class WebSocketRoute:
    """A route of the template's WebSocket API and the function its integration invokes."""

    key: str  # $connect, $disconnect, $default or an action
    function: str  # logical id
    two_way: bool  # a route response is declared: the function's answer (its body) goes back to the client


def websocket_api() -> tuple[str, dict[str, Any]] | None:
    """The template's WebSocket API (logical id, properties), if it has one."""
    apis = [(n, r.get("Properties") or {}) for n, r in resources("AWS::ApiGatewayV2::Api").items()]
    found = [(n, p) for n, p in apis if p.get("ProtocolType") == "WEBSOCKET"]
    if len(found) > 1:
        raise ValueError(f"more than one WebSocket API: {[n for n, _ in found]}")
    return found[0] if found else None


def websocket_stage() -> str:
    """The stage name of the WebSocket API's (one) stage."""
    api = websocket_api()
    stages = [
        r["Properties"]["StageName"]
        for r in resources("AWS::ApiGatewayV2::Stage").values()
        if api and r["Properties"].get("ApiId") == {"Ref": api[0]}
    ]
    if len(stages) != 1:
        raise ValueError(f"the WebSocket API needs exactly one stage, has {stages}")
    return str(stages[0])


def websocket_routes() -> dict[str, WebSocketRoute]:
    """The WebSocket API's routes by route key: Route -> Target `integrations/${X}` -> X's IntegrationUri, a Sub
    naming `${<Function>.Arn}`; two-way when a RouteResponse points at the route."""
    api = websocket_api()
    if api is None:
        return {}
    responded = {
        getatt_target(r["Properties"]["RouteId"]) for r in resources("AWS::ApiGatewayV2::RouteResponse").values()
    }
    integrations = resources("AWS::ApiGatewayV2::Integration")
    out = {}
    for name, res in resources("AWS::ApiGatewayV2::Route").items():
        props = res["Properties"]
        if props.get("ApiId") != {"Ref": api[0]}:
            continue
        target = re.fullmatch(r"integrations/\$\{(\w+)\}", str(props.get("Target", {}).get("Fn::Sub", "")))
        if target is None:
            raise ValueError(f"{name}: Target must be !Sub integrations/${{<Integration>}}")
        uri = integrations[target.group(1)]["Properties"]["IntegrationUri"]
        fn = re.search(r"\$\{(\w+)\.Arn\}", str(uri.get("Fn::Sub", "") if isinstance(uri, dict) else uri))
        if fn is None:
            raise ValueError(f"{target.group(1)}: IntegrationUri must name a function of the template (${{X.Arn}})")
        out[props["RouteKey"]] = WebSocketRoute(props["RouteKey"], fn.group(1), name in responded)
    return out


def secret_refs(values: dict[str, str] | None = None) -> dict[str, str]:
    """Ref (an ARN) and value of every AWS::SecretsManager::Secret, for its dynamic references.

    CloudFormation resolves `{{resolve:secretsmanager:...}}` at deploy time; locally a secret's value is
    `values[logical id]` (make dev: random per process) or else a fixed, non-secret one (tests).
    """
    out = {}
    for name in resources("AWS::SecretsManager::Secret"):
        region, account = PSEUDO_PARAMETERS["AWS::Region"], PSEUDO_PARAMETERS["AWS::AccountId"]
        arn = f"arn:aws:secretsmanager:{region}:{account}:secret:{name}"
        out[name] = arn
        out[f"secretsmanager:{arn}"] = (values or {}).get(name) or f"local-{name}-not-secret"
    return out


def getatt_target(value: Any) -> str | None:
    """The logical id an intrinsic points at: !GetAtt X.Arn / !Ref X -> "X"."""
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        arg = value["Fn::GetAtt"]
        return str(arg[0] if isinstance(arg, list) else str(arg).split(".", 1)[0])
    if isinstance(value, dict) and "Ref" in value:
        return str(value["Ref"])
    return None


@dataclass(frozen=True)
class Queue:
    """An AWS::SQS::Queue resource."""

    name: str  # logical id
    visibility_timeout: int | None = None
    message_retention_period: int | None = None
    delay_seconds: int | None = None
    receive_message_wait_time_seconds: int | None = None
    queue_name: str | None = None  # QueueName property, if the template fixes one
    fifo: bool = False
    dead_letter_target: str | None = None  # logical id of the RedrivePolicy's DLQ
    max_receive_count: int | None = None

    def attributes(self, dlq_arn: str | None = None) -> dict[str, str]:
        """CreateQueue attributes; the RedrivePolicy needs the created DLQ's ARN."""
        attrs: dict[str, str] = {}
        for key, val in (
            ("VisibilityTimeout", self.visibility_timeout),
            ("MessageRetentionPeriod", self.message_retention_period),
            ("DelaySeconds", self.delay_seconds),
            ("ReceiveMessageWaitTimeSeconds", self.receive_message_wait_time_seconds),
        ):
            if val is not None:
                attrs[key] = str(val)
        if self.fifo:
            attrs["FifoQueue"] = "true"
        if self.dead_letter_target:
            if not dlq_arn:
                raise ValueError(f"{self.name}: the ARN of its dead-letter queue {self.dead_letter_target} is needed")
            attrs["RedrivePolicy"] = json.dumps(
                {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": self.max_receive_count or 1}
            )
        return attrs


def _int(val: Any) -> int | None:
    return None if val is None else int(val)


def queues() -> dict[str, Queue]:
    out = {}
    for name, res in resources("AWS::SQS::Queue").items():
        props = res.get("Properties") or {}
        redrive = props.get("RedrivePolicy") or {}
        out[name] = Queue(
            name=name,
            visibility_timeout=_int(props.get("VisibilityTimeout")),
            message_retention_period=_int(props.get("MessageRetentionPeriod")),
            delay_seconds=_int(props.get("DelaySeconds")),
            receive_message_wait_time_seconds=_int(props.get("ReceiveMessageWaitTimeSeconds")),
            queue_name=props.get("QueueName") if isinstance(props.get("QueueName"), str) else None,
            fifo=bool(props.get("FifoQueue")),
            dead_letter_target=getatt_target(redrive.get("deadLetterTargetArn")),
            max_receive_count=_int(redrive.get("maxReceiveCount")),
        )
    return out


@dataclass(frozen=True)
class CreatedQueue:
    name: str  # logical id
    url: str
    arn: str


def create_queues(client: Any, *, prefix: str = "") -> dict[str, CreatedQueue]:
    """Create every AWS::SQS::Queue of the template (dead-letter queues first); logical id -> url and arn.

    A queue is named `prefix + logical id` (or its QueueName), as CloudFormation would give it a physical name.
    """
    defined = queues()
    created: dict[str, CreatedQueue] = {}

    def create(queue: Queue, seen: tuple[str, ...] = ()) -> CreatedQueue:
        if queue.name in created:
            return created[queue.name]
        if queue.name in seen:
            raise ValueError(f"redrive cycle through {queue.name}")
        dlq_arn = None
        if queue.dead_letter_target:
            dlq_arn = create(defined[queue.dead_letter_target], (*seen, queue.name)).arn
        name = queue.queue_name or prefix + queue.name + (".fifo" if queue.fifo else "")
        url = client.create_queue(QueueName=name, Attributes=queue.attributes(dlq_arn))["QueueUrl"]
        arn = client.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        created[queue.name] = CreatedQueue(queue.name, url, arn)
        return created[queue.name]

    for queue in defined.values():
        create(queue)
    return created


@dataclass(frozen=True)
class BucketNotification:
    """One QueueConfiguration of a bucket's NotificationConfiguration: S3 events to an SQS queue."""

    queue: str  # logical id of the queue
    events: tuple[str, ...]
    prefix: str | None = None
    suffix: str | None = None


@dataclass(frozen=True)
class Bucket:
    """An AWS::S3::Bucket resource, with what the local stack must reproduce of it (its queue notifications)."""

    name: str  # logical id
    notifications: tuple[BucketNotification, ...] = ()


def buckets() -> dict[str, Bucket]:
    out = {}
    for name, res in resources("AWS::S3::Bucket").items():
        props = res.get("Properties") or {}
        notes = []
        for conf in (props.get("NotificationConfiguration") or {}).get("QueueConfigurations") or []:
            rules = {
                r["Name"].lower(): r["Value"] for r in ((conf.get("Filter") or {}).get("S3Key") or {}).get("Rules", [])
            }
            queue = getatt_target(conf["Queue"])
            if queue is None:
                raise ValueError(f"{name}: a queue notification must point at a queue of the template (!GetAtt Q.Arn)")
            notes.append(BucketNotification(queue, (conf["Event"],), rules.get("prefix"), rules.get("suffix")))
        out[name] = Bucket(name, tuple(notes))
    return out


def bucket_name(logical_id: str, prefix: str = "tickets-local-") -> str:
    """A bucket's local physical name: lowercase `prefix + logical id` (create_buckets makes it so)."""
    return (prefix + logical_id).lower()


def create_buckets(client: Any, queues: dict[str, CreatedQueue], *, prefix: str = "tickets-local-") -> dict[str, str]:
    """Create every AWS::S3::Bucket (`client` is an s3 client) with its queue notifications; logical id -> name.

    Names are lowercase `prefix + logical id`, as CloudFormation makes a physical name. The notifications are
    S3's own (moto delivers them to the queue, as S3 does), so the consumers see real S3 event messages.
    """
    created = {}
    for bucket in buckets().values():
        name = bucket_name(bucket.name, prefix)
        client.create_bucket(Bucket=name)
        configs = []
        for note in bucket.notifications:
            conf: dict[str, Any] = {"QueueArn": queues[note.queue].arn, "Events": list(note.events)}
            rules = [{"Name": k, "Value": v} for k, v in (("prefix", note.prefix), ("suffix", note.suffix)) if v]
            if rules:
                conf["Filter"] = {"Key": {"FilterRules": rules}}
            configs.append(conf)
        if configs:
            client.put_bucket_notification_configuration(
                Bucket=name, NotificationConfiguration={"QueueConfigurations": configs}
            )
        created[bucket.name] = name
    return created


def table_refs(client: Any, table_name: str, logical_id: str = "Table") -> dict[str, str]:
    """Ref / GetAtt values of a created table: name, Arn and StreamArn (if it has a stream)."""
    desc = client.describe_table(TableName=table_name)["Table"]
    refs = {logical_id: table_name, f"{logical_id}.Arn": desc["TableArn"]}
    if desc.get("LatestStreamArn"):
        refs[f"{logical_id}.StreamArn"] = desc["LatestStreamArn"]
    return refs


def parameter_values(overrides: dict[str, str] | None = None) -> dict[str, str]:
    """The template's parameters: defaults, overridden by `overrides` (unknown names are an error)."""
    values = parameter_defaults()
    for key, val in (overrides or {}).items():
        if key not in values:
            raise KeyError(f"template.yaml has no parameter {key!r}")
        values[key] = str(val)
    return values


def build_refs(
    *,
    table: dict[str, str] | None = None,
    queues: dict[str, CreatedQueue] | None = None,
    parameters: dict[str, str] | None = None,
    secrets: dict[str, str] | None = None,
    buckets: dict[str, str] | None = None,
) -> dict[str, str]:
    """Everything Ref / GetAtt can point at locally, for resolve_env / apply_env / the event sources.

    `table` is table_refs(...) (or {"Table": name}), `queues` is create_queues(...): a queue's Ref is its URL and
    its Arn attribute its ARN. Parameters are the template defaults with `parameters` overriding. `secrets`
    gives secrets' local values by logical id (see secret_refs).
    """
    refs = dict(PSEUDO_PARAMETERS)
    refs.update(parameter_values(parameters))
    refs.update(secret_refs(secrets))
    refs.update(websocket_refs())
    refs.update(table or {})
    for name, q in (queues or {}).items():
        refs[name] = q.url
        refs[f"{name}.Arn"] = q.arn
        refs[f"{name}.QueueName"] = q.url.rsplit("/", 1)[-1]
        refs[f"{name}.QueueUrl"] = q.url
    for name, bucket_name in (buckets or {}).items():  # `buckets` is create_buckets(...): a Ref is the name
        refs[name] = bucket_name
        refs[f"{name}.Arn"] = f"arn:aws:s3:::{bucket_name}"
    return refs


def resolve_function_env(fn: Function, refs: dict[str, str], *, strict: bool = False) -> dict[str, str]:
    """A function's environment with every reference resolved (parameter defaults under `refs`)."""
    return resolve_env(fn.environment, {**parameter_defaults(), **refs}, strict=strict)


@dataclass(frozen=True)
class DynamoDBStreamSource:
    """A function's `Type: DynamoDB` event (an event source mapping on a table's stream)."""

    function: str  # logical id of the function
    name: str  # the event's name under Events
    stream: Any  # the Stream property as written (e.g. {"Fn::GetAtt": ["Table", "StreamArn"]})
    starting_position: str = "LATEST"
    batch_size: int = 100
    maximum_batching_window: float = 0.0
    bisect_on_error: bool = False
    maximum_retry_attempts: int = -1  # -1: until the record expires, as in Lambda
    maximum_record_age: int = -1
    parallelization_factor: int = 1
    function_response_types: tuple[str, ...] = ()
    on_failure: str | None = None  # logical id of the OnFailure destination (an SQS queue here)
    filters: tuple[dict[str, Any], ...] = ()  # FilterCriteria patterns, parsed from their JSON strings
    enabled: bool = True

    kind = "DynamoDB"

    @property
    def report_batch_item_failures(self) -> bool:
        return "ReportBatchItemFailures" in self.function_response_types

    @property
    def table(self) -> str | None:
        return getatt_target(self.stream)


@dataclass(frozen=True)
class SQSSource:
    """A function's `Type: SQS` event."""

    function: str
    name: str
    queue: str  # logical id of the queue
    batch_size: int = 10
    maximum_batching_window: float = 0.0
    function_response_types: tuple[str, ...] = ()
    maximum_concurrency: int | None = None
    filters: tuple[dict[str, Any], ...] = ()
    enabled: bool = True

    kind = "SQS"

    @property
    def report_batch_item_failures(self) -> bool:
        return "ReportBatchItemFailures" in self.function_response_types


@dataclass(frozen=True)
class ScheduleSource:
    """A function's `Type: ScheduleV2` (EventBridge Scheduler) or `Type: Schedule` (a scheduled rule) event."""

    function: str
    name: str
    expression: str  # rate(1 minute), cron(...)
    event_type: str = "ScheduleV2"
    enabled: bool = True

    kind = "Schedule"

    @property
    def period_seconds(self) -> float | None:
        """The period of a rate() expression, in seconds (None for cron(), at(), or anything else)."""
        m = re.fullmatch(r"rate\((\d+) (minute|minutes|hour|hours|day|days)\)", self.expression.strip())
        if not m:
            return None
        unit = {"minute": 60, "hour": 3600, "day": 86400}[m.group(2).rstrip("s")]
        return float(int(m.group(1)) * unit)


EventSource = DynamoDBStreamSource | SQSSource | ScheduleSource


def _filters(props: dict[str, Any]) -> tuple[dict[str, Any], ...]:
    out = []
    for flt in (props.get("FilterCriteria") or {}).get("Filters") or []:
        pattern = flt["Pattern"]
        out.append(json.loads(pattern) if isinstance(pattern, str) else pattern)
    return tuple(out)


def event_sources(fn: Function) -> list[EventSource]:
    """A function's DynamoDB stream, SQS and schedule events as typed objects (HttpApi events are its routes)."""
    out: list[EventSource] = []
    for name, ev in fn.events.items():
        props = ev.get("Properties") or {}
        if ev["Type"] in ("ScheduleV2", "Schedule"):
            expression = props.get("ScheduleExpression") or props.get("Schedule")
            assert expression, f"{fn.name}.{name}: a schedule needs its expression"
            enabled = props.get("State", "ENABLED") != "DISABLED" and bool(props.get("Enabled", True))
            out.append(ScheduleSource(fn.name, name, str(expression), ev["Type"], enabled))
            continue
        common: dict[str, Any] = {
            "function": fn.name,
            "name": name,
            "maximum_batching_window": float(props.get("MaximumBatchingWindowInSeconds", 0)),
            "function_response_types": tuple(props.get("FunctionResponseTypes") or ()),
            "filters": _filters(props),
            "enabled": bool(props.get("Enabled", True)),
        }
        if ev["Type"] == "DynamoDB":
            on_failure = ((props.get("DestinationConfig") or {}).get("OnFailure") or {}).get("Destination")
            out.append(
                DynamoDBStreamSource(
                    **common,
                    stream=props["Stream"],
                    starting_position=props.get("StartingPosition", "LATEST"),
                    batch_size=int(props.get("BatchSize", 100)),
                    bisect_on_error=bool(props.get("BisectBatchOnFunctionError", False)),
                    maximum_retry_attempts=int(props.get("MaximumRetryAttempts", -1)),
                    maximum_record_age=int(props.get("MaximumRecordAgeInSeconds", -1)),
                    parallelization_factor=int(props.get("ParallelizationFactor", 1)),
                    on_failure=getatt_target(on_failure),
                )
            )
        elif ev["Type"] == "SQS":
            queue = getatt_target(props["Queue"])
            assert queue, f"{fn.name}.{name}: Queue must be !GetAtt <Queue>.Arn"
            out.append(
                SQSSource(
                    **common,
                    queue=queue,
                    batch_size=int(props.get("BatchSize", 10)),
                    maximum_concurrency=_int((props.get("ScalingConfig") or {}).get("MaximumConcurrency")),
                )
            )
    return out
