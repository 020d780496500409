"""Each function's template.yaml policy, enforced on the AWS calls its code makes, as IAM would (tests, make dev).

moto accepts every call, AWS only what the calling function's role allows: a missing action or resource
would first show up on a real deploy. Here, while a function's handler runs (template.load_handler's handler
runs inside `running(<logical id>)`), every botocore call is turned into the IAM actions and resource ARNs AWS
authorises it by (`requested`) and checked against that function's `Policies` (`policies`); a call they do not
allow raises the ClientError AWS would (AccessDeniedException), naming the function, the action and the resource.

    iam.install()                       # every botocore client created from now on is checked (tests, devstack)
    with iam.running("CreateTicketFunction"):
        ...                             # the handler: its calls are checked against that function's policy

What is modelled: Allow and Deny statements with Action / NotAction and Resource / NotResource (`*` and `?`
wildcards), Ref / GetAtt / Sub resolved against the local stack's names (the table is TABLE_NAME, a queue its
logical id, account and region tools.template.PSEUDO_PARAMETERS), and managed policies the template defines
(`!Ref <AWS::IAM::ManagedPolicy>`), and StringEquals / StringLike conditions on the S3 request-tag keys
(`s3:RequestObjectTag/<key>`). Any other condition, an AWS managed policy or a SAM policy template is not
modelled and raises Unmodelled, so a policy is never silently read as something else.

What SAM and Lambda grant by themselves is not asked of the policies: the event source mappings' reads
(streams, queues), CloudWatch Logs and X-Ray. The OnFailure destination of a stream mapping is the function's
own policy's business (SAM adds it only with a destination `Type`): tools.eventsources checks its SendMessage
under the function's name, as Lambda sends it with the function's role.

A call from a client the layer created (tickets.aws.client) with no function known while some handler runs
means an app thread lost the function (contextvars do not follow a thread by themselves): that is an error
(ContextLost), never an unchecked pass. Every decision is recorded, so that a run can also tell which grants
nothing used (`unused_grants`).
"""

from __future__ import annotations

import functools
import os
import re
import sys
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from email.utils import parseaddr
from typing import Any
from urllib.parse import urlsplit

from tools import template

REGION = template.PSEUDO_PARAMETERS["AWS::Region"]
ACCOUNT = template.PSEUDO_PARAMETERS["AWS::AccountId"]
USAGE_FILE_ENV = "IAM_USAGE_FILE"  # where python -m tools.devstack writes Recorder.snapshot() when it stops
LAYER_CLIENT_FACTORY = "tickets.aws"  # the module whose clients are the app's own (see tickets/aws.py)

# Grants no test exercises, kept because a path that is hard to reach in a test needs them; each says which.
# tests/unit/test_iam.py checks that every entry is still granted, so this list cannot outlive the template.
RARE_PATHS: dict[tuple[str, str], str] = {
    ("CreateAttachmentFunction", "s3:PutObject"): (
        "the presigned POST it signs is authorised against its role when the client uploads, a call no botocore "
        "client of ours makes"
    ),
    ("CheckAttachmentFunction", "s3:ListBucket"): (
        "S3 answers 404 rather than 403 for a missing object only with it: an upload deleted meanwhile"
    ),
}


class Unmodelled(ValueError):
    """A policy construct this model does not evaluate (it would otherwise be misread)."""


_LOST = (
    "no function is known on this thread: a thread the app starts must run in a copy of the invocation's "
    "contextvars (contextvars.copy_context().run), or its calls would go unchecked"
)


class ContextLost(RuntimeError):
    """An app client was called while a handler ran, but no function is known on this thread."""


# ------------------------------------------------------------------------------------------------ policies


@functools.lru_cache(maxsize=4096)
def _pattern(glob: str, ignore_case: bool) -> re.Pattern[str]:
    """IAM wildcards: `*` any run of characters (`:` and `/` too), `?` one character; nothing else is special."""
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in glob)
    return re.compile(f"^{body}$", re.S | (re.I if ignore_case else 0))


def glob_match(glob: str, value: str, *, ignore_case: bool = False) -> bool:
    return _pattern(glob, ignore_case).match(value) is not None


@dataclass(frozen=True)
class Statement:
    effect: str  # Allow | Deny
    actions: tuple[str, ...]
    resources: tuple[str, ...]  # resolved ARN patterns
    sources: tuple[str, ...] = ()  # the same resources as template.yaml writes them (reports)
    not_action: bool = False
    not_resource: bool = False
    # (operator, key, allowed values) of its Condition: every one must hold for the request's context
    conditions: tuple[tuple[str, str, tuple[str, ...]], ...] = ()

    def holds(self, context: Mapping[str, str]) -> bool:
        """Whether its Condition holds for a request with these condition keys (a missing key never matches)."""
        for operator, key, values in self.conditions:
            given = context.get(key.lower())
            if given is None:
                return False
            if operator == "StringEquals" and given not in values:
                return False
            if operator == "StringLike" and not any(glob_match(v, given) for v in values):
                return False
        return True

    def covers_action(self, action: str) -> bool:
        hit = any(glob_match(a, action, ignore_case=True) for a in self.actions)  # action names ignore case
        return hit != self.not_action

    def resource_index(self, resource: str) -> int | None:
        """Which of its resources matches (-1 for a NotResource that lets it through); None if none does."""
        for i, pattern in enumerate(self.resources):
            if glob_match(pattern, resource):
                return None if self.not_resource else i
        return -1 if self.not_resource else None


@dataclass(frozen=True)
class Decision:
    allowed: bool
    grant: tuple[int, int] | None = None  # (statement, resource) of the Allow that let it through
    reason: str = ""


@dataclass(frozen=True)
class Policy:
    function: str
    statements: tuple[Statement, ...]

    def decide(self, action: str, resource: str, context: Mapping[str, str] | None = None) -> Decision:
        """IAM's order: an explicit Deny wins, then any Allow, else the implicit deny."""
        grant = None
        for i, st in enumerate(self.statements):
            if not st.covers_action(action):
                continue
            j = st.resource_index(resource)
            if j is None or not st.holds(context or {}):
                continue
            if st.effect == "Deny":
                return Decision(False, None, f"an explicit Deny (statement {i}) in its policy")
            if grant is None:
                grant = (i, j)
        if grant is None:
            return Decision(False, None, f"no statement of its template policy allows {action} on that resource")
        return Decision(True, grant)


def _listed(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else [value]


def source_text(value: Any) -> str:
    """A template value as template.yaml writes it: `!GetAtt Table.Arn`, `!Sub "${Table.Arn}/index/*"`."""
    if isinstance(value, dict) and len(value) == 1:
        ((kind, arg),) = value.items()
        if kind == "Ref":
            return f"!Ref {arg}"
        if kind == "Fn::GetAtt":
            return "!GetAtt " + (".".join(arg) if isinstance(arg, list) else str(arg))
        if kind == "Fn::Sub":
            return f'!Sub "{arg if isinstance(arg, str) else arg[0]}"'
    return str(value)


CONDITION_OPERATORS = ("StringEquals", "StringLike")


def _conditions(fn: str, raw: dict[str, Any]) -> tuple[tuple[str, str, tuple[str, ...]], ...]:
    out = []
    for operator, pairs in (raw.get("Condition") or {}).items():
        if operator not in CONDITION_OPERATORS or not isinstance(pairs, dict):
            raise Unmodelled(f"{fn}: condition operator {operator!r} is not modelled: {raw}")
        for key, values in pairs.items():
            if not str(key).lower().startswith(CONDITION_KEYS):
                raise Unmodelled(f"{fn}: condition key {key!r} is not modelled: {raw}")
            out.append((operator, str(key), tuple(str(v) for v in _listed(values))))
    return tuple(out)


def _statement(fn: str, raw: dict[str, Any], refs: Mapping[str, str]) -> Statement:
    conditions = _conditions(fn, raw)
    effect = raw.get("Effect")
    if effect not in ("Allow", "Deny"):
        raise Unmodelled(f"{fn}: Effect must be Allow or Deny: {raw}")
    action_key = "NotAction" if "NotAction" in raw else "Action"
    resource_key = "NotResource" if "NotResource" in raw else "Resource"
    resources, sources = [], []
    for value in _listed(raw.get(resource_key, [])):
        resolved = template.resolve(value, dict(refs), strict=True)
        if not isinstance(resolved, str):
            raise Unmodelled(f"{fn}: resource {source_text(value)} does not resolve to an ARN")
        resources.append(resolved)
        sources.append(source_text(value))
    actions = tuple(str(a) for a in _listed(raw.get(action_key, [])))
    if not actions or not resources:
        raise Unmodelled(f"{fn}: a statement needs an action and a resource: {raw}")
    return Statement(
        effect=effect,
        actions=actions,
        resources=tuple(resources),
        sources=tuple(sources),
        not_action=action_key == "NotAction",
        not_resource=resource_key == "NotResource",
        conditions=conditions,
    )


def _documents(fn: str, entries: list[Any]) -> Iterator[dict[str, Any]]:
    managed = template.resources("AWS::IAM::ManagedPolicy")
    for entry in entries:
        if isinstance(entry, dict) and "Statement" in entry:
            yield entry
        elif isinstance(entry, dict) and set(entry) == {"Ref"} and entry["Ref"] in managed:
            yield managed[entry["Ref"]]["Properties"]["PolicyDocument"]
        else:
            what = entry if isinstance(entry, str) else next(iter(entry), entry) if isinstance(entry, dict) else entry
            raise Unmodelled(f"{fn}: policy {what!r} (a managed policy or a SAM policy template) is not modelled")


def policies(refs: Mapping[str, str]) -> dict[str, Policy]:
    """Every function's policy (its `Policies`, inline statements and the template's managed policies)."""
    out = {}
    for name, res in template.resources("AWS::Serverless::Function").items():
        props = res.get("Properties") or {}
        if "Role" in props:
            raise Unmodelled(f"{name}: an explicit Role is not modelled (its Policies would be ignored by SAM)")
        statements: list[Statement] = []
        for doc in _documents(name, _listed(props.get("Policies") or [])):
            statements += [_statement(name, raw, refs) for raw in _listed(doc["Statement"])]
        out[name] = Policy(name, tuple(statements))
    return out


def local_refs(table_name: str) -> dict[str, str]:
    """Ref / GetAtt values of the local stack as tests and make dev create it: the table is `table_name`, each
    queue is named after its logical id (tools.template.create_queues), in PSEUDO_PARAMETERS' account and region."""
    table_arn = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{table_name}"
    queues = {}
    for name, q in template.queues().items():
        physical = q.queue_name or name + (".fifo" if q.fifo else "")
        url = f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{physical}"
        queues[name] = template.CreatedQueue(name, url, f"arn:aws:sqs:{REGION}:{ACCOUNT}:{physical}")
    table = {"Table": table_name, "Table.Arn": table_arn, "Table.StreamArn": f"{table_arn}/stream/*"}
    buckets = {name: template.bucket_name(name) for name in template.buckets()}
    return template.build_refs(table=table, queues=queues, buckets=buckets)


# ------------------------------------------------------------------------------------------------ requests

# TransactWriteItems / TransactGetItems are authorised item by item, as the single-item actions.
_TRANSACT_ITEM_ACTIONS = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
    "Get": "GetItem",
}
_SQS_BATCHES = {
    "SendMessageBatch": "SendMessage",
    "DeleteMessageBatch": "DeleteMessage",
    "ChangeMessageVisibilityBatch": "ChangeMessageVisibility",
}


def _table_arn(name: Any, region: str, account: str) -> str:
    name = str(name)
    return name if name.startswith("arn:") else f"arn:aws:dynamodb:{region}:{account}:table/{name}"


def _dynamodb(op: str, params: Mapping[str, Any], region: str, account: str) -> list[tuple[str, str]]:
    if op in ("TransactWriteItems", "TransactGetItems"):
        out = []
        for entry in params.get("TransactItems") or []:
            for kind, body in (entry or {}).items():
                if kind in _TRANSACT_ITEM_ACTIONS and isinstance(body, dict) and "TableName" in body:
                    action = f"dynamodb:{_TRANSACT_ITEM_ACTIONS[kind]}"
                    out.append((action, _table_arn(body["TableName"], region, account)))
        return out
    if op in ("BatchGetItem", "BatchWriteItem"):
        return [(f"dynamodb:{op}", _table_arn(t, region, account)) for t in params.get("RequestItems") or {}]
    if "TableName" not in params:
        return [(f"dynamodb:{op}", "*")]
    arn = _table_arn(params["TableName"], region, account)
    if op in ("Query", "Scan") and params.get("IndexName"):
        arn += f"/index/{params['IndexName']}"  # an index is its own resource
    return [(f"dynamodb:{op}", arn)]


def _queue_arn(params: Mapping[str, Any], region: str, account: str) -> str:
    if url := params.get("QueueUrl"):
        parts = urlsplit(str(url)).path.strip("/").split("/")
        if len(parts) >= 2:
            return f"arn:aws:sqs:{region}:{parts[-2]}:{parts[-1]}"
    if name := params.get("QueueName"):
        return f"arn:aws:sqs:{region}:{params.get('QueueOwnerAWSAccountId') or account}:{name}"
    return "*"


def _events(op: str, params: Mapping[str, Any], region: str, account: str) -> list[tuple[str, str]]:
    if op != "PutEvents":
        name = params.get("EventBusName") or params.get("Name")
        return [(f"events:{op}", f"arn:aws:events:{region}:{account}:event-bus/{name}" if name else "*")]
    out = []
    for entry in params.get("Entries") or []:
        bus = str((entry or {}).get("EventBusName") or "default")
        arn = bus if bus.startswith("arn:") else f"arn:aws:events:{region}:{account}:event-bus/{bus}"
        out.append(("events:PutEvents", arn))
    return out


def _ses(op: str, params: Mapping[str, Any], region: str, account: str) -> list[tuple[str, str]]:
    if op != "SendEmail":
        return [(f"ses:{op}", "*")]
    identity = params.get("FromEmailAddressIdentityArn")
    if not identity:
        address = parseaddr(str(params.get("FromEmailAddress") or ""))[1]
        identity = f"arn:aws:ses:{region}:{account}:identity/{address}" if address else "*"
    out = [("ses:SendEmail", str(identity))]
    if config_set := params.get("ConfigurationSetName"):
        out.append(("ses:SendEmail", f"arn:aws:ses:{region}:{account}:configuration-set/{config_set}"))
    return out


# Condition keys a request can carry here (lower-cased, as IAM compares key names): the tags an S3 request sets.
CONDITION_KEYS = ("s3:requestobjecttag/",)
# S3 operations authorised by another action's name (HeadObject is a GetObject as far as IAM is concerned).
_S3_ACTIONS = {"HeadObject": "GetObject", "ListObjectsV2": "ListBucket", "ListObjects": "ListBucket",
               "HeadBucket": "ListBucket"}  # fmt: skip
_S3_BUCKET_OPS = frozenset({"ListBucket", "CreateBucket", "DeleteBucket", "PutBucketNotificationConfiguration"})


def _tags(params: Mapping[str, Any]) -> dict[str, str]:
    """The request-tag condition keys of an S3 request: a PutObjectTagging TagSet, or a Tagging query string."""
    tagging = params.get("Tagging")
    pairs: list[tuple[str, str]] = []
    if isinstance(tagging, dict):
        pairs = [(t["Key"], t["Value"]) for t in tagging.get("TagSet") or []]
    elif isinstance(tagging, str):
        from urllib.parse import parse_qsl

        pairs = parse_qsl(tagging, keep_blank_values=True)
    return {f"s3:requestobjecttag/{k}".lower(): v for k, v in pairs}


def _s3(op: str, params: Mapping[str, Any]) -> list[tuple[str, str, dict[str, str]]]:
    action = _S3_ACTIONS.get(op, op)
    bucket = params.get("Bucket")
    if not bucket:
        return [(f"s3:{action}", "*", {})]
    if action in _S3_BUCKET_OPS or "Key" not in params:
        return [(f"s3:{action}", f"arn:aws:s3:::{bucket}", {})]
    target = f"arn:aws:s3:::{bucket}/{params['Key']}"
    if op == "CopyObject":  # read the source, write the target (and tag it when the copy sets tags)
        source = params.get("CopySource")
        if isinstance(source, dict):
            source_arn = f"arn:aws:s3:::{source.get('Bucket')}/{source.get('Key')}"
        else:
            source_arn = "arn:aws:s3:::" + str(source).split("?", 1)[0].lstrip("/")
        out: list[tuple[str, str, dict[str, str]]] = [("s3:GetObject", source_arn, {}), ("s3:PutObject", target, {})]
        if params.get("Tagging") is not None:
            out.append(("s3:PutObjectTagging", target, _tags(params)))
        return out
    if op == "PutObject" and params.get("Tagging") is not None:  # tags set with the object need their own action
        return [("s3:PutObject", target, {}), ("s3:PutObjectTagging", target, _tags(params))]
    return [(f"s3:{action}", target, _tags(params) if op == "PutObjectTagging" else {})]


_CONNECTION_METHODS = {"PostToConnection": "POST", "DeleteConnection": "DELETE", "GetConnection": "GET"}


def _api_and_stage(endpoint: str | None) -> tuple[str, str] | None:
    """The WebSocket API id and stage an @connections client is aimed at: `https://<api>.execute-api.<region>.
    <suffix>/<stage>` on AWS, `http://<host>:<port>/<api>/<stage>` for the local stack's endpoint (tools/realtime)."""
    if not endpoint:
        return None
    parts = urlsplit(endpoint)
    segments = [s for s in parts.path.split("/") if s]
    host = parts.hostname or ""
    if ".execute-api." in host and len(segments) == 1:
        return host.split(".", 1)[0], segments[0]
    if len(segments) == 2:
        return segments[0], segments[1]
    return None


def _execute_api(
    op: str, params: Mapping[str, Any], region: str, account: str, endpoint: str | None
) -> list[tuple[str, str]]:
    """@connections calls: execute-api:ManageConnections on `<api>/<stage>/<METHOD>/@connections/<id>`."""
    method, where, connection = _CONNECTION_METHODS.get(op), _api_and_stage(endpoint), params.get("ConnectionId")
    if method is None or where is None or not connection:
        return [("execute-api:ManageConnections", "*")]
    api, stage = where
    arn = f"arn:aws:execute-api:{region}:{account}:{api}/{stage}/{method}/@connections/{connection}"
    return [("execute-api:ManageConnections", arn)]


def requested(
    service: str,
    op: str,
    params: Mapping[str, Any],
    *,
    region: str = REGION,
    account: str = ACCOUNT,
    endpoint: str | None = None,
) -> list[tuple[str, str]]:
    """The (IAM action, resource ARN) pairs AWS authorises one API call by (see requested_with_context)."""
    pairs = requested_with_context(service, op, params, region=region, account=account, endpoint=endpoint)
    return [(action, resource) for action, resource, _ in pairs]


def requested_with_context(
    service: str,
    op: str,
    params: Mapping[str, Any],
    *,
    region: str = REGION,
    account: str = ACCOUNT,
    endpoint: str | None = None,
) -> list[tuple[str, str, dict[str, str]]]:
    """The (IAM action, resource ARN) pairs AWS authorises one API call by; `service` is botocore's name.

    `endpoint` is the client's endpoint URL (it names the API and stage of an @connections call). An operation this
    does not know needs `<prefix>:<Operation>` on "*", the strictest reading. Each pair comes with the request's
    condition keys (S3 request tags), which a statement's Condition is checked against.
    """
    if service == "s3":
        return list({(a, r): (a, r, c) for a, r, c in _s3(op, params)}.values())
    if service == "dynamodb":
        pairs = _dynamodb(op, params, region, account)
    elif service == "sqs":
        pairs = [(f"sqs:{_SQS_BATCHES.get(op, op)}", _queue_arn(params, region, account))]
    elif service == "events":
        pairs = _events(op, params, region, account)
    elif service in ("sesv2", "ses"):
        pairs = _ses(op, params, region, account)
    elif service == "apigatewaymanagementapi":
        pairs = _execute_api(op, params, region, account, endpoint)
    else:
        pairs = [(f"{service}:{op}", "*")]
    return [(a, r, {}) for a, r in dict.fromkeys(pairs)]


# ------------------------------------------------------------------------------------------------ enforcement

_function: ContextVar[str | None] = ContextVar("tickets_iam_function", default=None)
_lock = threading.Lock()
_running = 0  # handlers running in this process, on any thread


@contextmanager
def running(function: str) -> Iterator[None]:
    """The calls made in this context are `function`'s (its logical id in template.yaml)."""
    global _running
    token = _function.set(function)
    with _lock:
        _running += 1
    try:
        yield
    finally:
        with _lock:
            _running -= 1
        _function.reset(token)


def as_function(function: str, handler: Callable[..., Any]) -> Callable[..., Any]:
    """`handler`, running as `function` (what template.load_handler returns)."""

    @functools.wraps(handler)
    def run(*args: Any, **kwargs: Any) -> Any:
        with running(function):
            return handler(*args, **kwargs)

    return run


@dataclass(frozen=True)
class Denial:
    function: str | None
    action: str
    resource: str
    reason: str

    def message(self) -> str:
        if self.function is None:
            return (
                f"IAM: {self.action} on {self.resource} was called by the app with no function known while a "
                f"handler ran: {self.reason}"
            )
        return (
            f"IAM: {self.function} is not allowed {self.action} on {self.resource}: {self.reason} "
            f"(template.yaml, {self.function} Policies)"
        )


@dataclass
class Recorder:
    """What was checked: grants used per function and action, and every denial."""

    used: dict[str, dict[str, set[tuple[int, int]]]] = field(default_factory=dict)
    denials: list[Denial] = field(default_factory=list)
    calls: int = 0  # API calls checked
    on_denial: Callable[[Denial], None] | None = None

    def count(self, calls: int = 1) -> None:
        with _lock:
            self.calls += calls

    def use(self, function: str, action: str, grant: tuple[int, int]) -> None:
        with _lock:
            self.used.setdefault(function, {}).setdefault(action, set()).add(grant)

    def deny(self, denial: Denial) -> None:
        with _lock:
            self.denials.append(denial)
        if self.on_denial:
            self.on_denial(denial)

    def snapshot(self) -> dict[str, Any]:
        """JSON-able: {"calls": n, "used": {function: {action: [[statement, resource], ...]}}, "denials": [...]}."""
        with _lock:
            used = {fn: {a: sorted(map(list, g)) for a, g in acts.items()} for fn, acts in self.used.items()}
            denials = [d.message() for d in self.denials]
            return {"calls": self.calls, "used": used, "denials": denials}

    def merge(self, snapshot: Mapping[str, Any]) -> None:
        """Add another process's usage (xdist workers, a devstack subprocess); denials stay with their owner."""
        self.count(int(snapshot.get("calls") or 0))
        for fn, acts in (snapshot.get("used") or {}).items():
            for action, grants in acts.items():
                for s, r in grants:
                    self.use(fn, action, (int(s), int(r)))

    def take_denials(self) -> list[Denial]:
        with _lock:
            out, self.denials[:] = list(self.denials), []
        return out


recorder = Recorder()
_decisions: dict[tuple[Any, ...], Decision] = {}


@functools.lru_cache(maxsize=16)
def _policies_for(table_name: str) -> dict[str, Policy]:
    return policies(local_refs(table_name))


def reset() -> None:
    """Forget resolved policies and decisions (template.yaml, as tools.template loads it, changed)."""
    _policies_for.cache_clear()
    _decisions.clear()


def _table_name() -> str:
    return os.environ.get("TABLE_NAME") or "tickets-local"


def decide(function: str, action: str, resource: str, context: Mapping[str, str] | None = None) -> Decision:
    """`function`'s policy (resolved for the table in TABLE_NAME) on one action and resource, cached."""
    table = _table_name()
    key = (table, function, action, resource, tuple(sorted((context or {}).items())))
    if (hit := _decisions.get(key)) is not None:
        return hit
    policy = _policies_for(table).get(function)
    if policy is None:
        decision = Decision(False, None, f"{function} is not a function of template.yaml")
    else:
        decision = policy.decide(action, resource, context)
    if len(_decisions) > 50_000:
        _decisions.clear()
    _decisions[key] = decision
    return decision


def access_denied(denial: Denial, operation: str) -> Exception:
    from botocore.exceptions import ClientError

    error = {"Code": "AccessDeniedException", "Message": denial.message()}
    return ClientError({"Error": error, "ResponseMetadata": {"HTTPStatusCode": 400}}, operation)


def check(
    function: str,
    service: str,
    op: str,
    params: Mapping[str, Any],
    *,
    region: str = REGION,
    endpoint: str | None = None,
) -> None:
    """Check one call as `function` would make it; raise AWS's AccessDeniedException if its policy says no."""
    recorder.count()
    denials = []
    for action, resource, context in requested_with_context(service, op, params, region=region, endpoint=endpoint):
        decision = decide(function, action, resource, context)
        if decision.allowed:
            assert decision.grant is not None
            recorder.use(function, action, decision.grant)
        else:
            denials.append(Denial(function, action, resource, decision.reason))
    for denial in denials:
        recorder.deny(denial)
    if denials:
        raise access_denied(denials[0], op)


def _watch(client: Any, *, owned: bool) -> None:
    """Check every call of `client` against the running function's policy (before botocore builds the request)."""
    service = client.meta.service_model.service_name
    region = client.meta.region_name or REGION
    endpoint = client.meta.endpoint_url

    def before_parameter_build(params: dict[str, Any], model: Any, context: Any = None, **_: Any) -> None:
        if (context or {}).get("is_presign_request") and model.name == "CreateBucket":
            # generate_presigned_post builds its form through CreateBucket's model: no call is made, and S3 checks
            # the upload's s3:PutObject against the signer's role when the client posts the form, which no
            # botocore call of ours carries (a presigned URL is checked here as the operation it presigns).
            return
        function = _function.get()
        if function is not None:
            check(function, service, model.name, params, region=region, endpoint=endpoint)
        elif owned and _running:
            pairs = requested(service, model.name, params, region=region, endpoint=endpoint)
            action, resource = pairs[0] if pairs else (f"{service}:{model.name}", "*")
            denial = Denial(None, action, resource, _LOST)
            recorder.deny(denial)
            raise ContextLost(denial.message())

    client.meta.events.register("before-parameter-build", before_parameter_build, unique_id="tickets-iam")


_installed = False


def install(on_denial: Callable[[Denial], None] | None = None) -> None:
    """Check the calls of every botocore client created from now on (boto3's too) while a function runs.

    `on_denial(denial)` also sees each denial as it happens (make dev prints them)."""
    global _installed
    if on_denial is not None:
        recorder.on_denial = on_denial
    if _installed:
        return
    import botocore.session

    original = botocore.session.Session.create_client

    @functools.wraps(original)
    def create_client(self: Any, *args: Any, **kwargs: Any) -> Any:
        client = original(self, *args, **kwargs)
        caller = sys._getframe(1).f_globals.get("__name__")
        _watch(client, owned=caller == LAYER_CLIENT_FACTORY or _function.get() is not None)
        return client

    botocore.session.Session.create_client = create_client
    _installed = True


# ------------------------------------------------------------------------------------------------ reports


def _on_failure_queues(fn: template.Function, refs: Mapping[str, str]) -> set[str]:
    out = set()
    for source in fn.event_sources:
        if isinstance(source, template.DynamoDBStreamSource) and source.on_failure:
            out.add(str(template.resolve({"Fn::GetAtt": [source.on_failure, "Arn"]}, dict(refs), strict=True)))
    return out


@dataclass(frozen=True)
class Unused:
    function: str
    statement: int
    what: str  # an action, or a resource as template.yaml writes it
    kind: str  # "action" | "resource"
    note: str = ""  # why it is kept (RARE_PATHS, Lambda's OnFailure hand-off); "" when nothing explains it

    def line(self) -> str:
        text = f"{self.function}: {self.kind} {self.what} (statement {self.statement}) was never used"
        return f"{text}; kept: {self.note}" if self.note else text


def unused_grants(used: Mapping[str, Mapping[str, Any]]) -> list[Unused]:
    """Allow grants (an action, or a resource) of each function's policy that no checked call went through.

    `used` is Recorder.snapshot()["used"]. A function that never ran is not listed (see never_ran)."""
    refs = local_refs(_table_name())
    fns = template.functions()
    out = []
    for name, policy in policies(refs).items():
        if name not in used:
            continue
        by_action = {a: {(int(s), int(r)) for s, r in grants} for a, grants in used[name].items()}
        grants = set().union(*by_action.values()) if by_action else set()
        on_failure = _on_failure_queues(fns[name], refs)
        for i, st in enumerate(policy.statements):
            if st.effect != "Allow":
                continue
            hand_off = set(st.actions) == {"sqs:SendMessage"} and set(st.resources) <= on_failure
            lambda_note = "Lambda sends the stream's OnFailure records with this function's role" if hand_off else ""
            for action in st.actions:
                if not any(s == i for s, _ in by_action.get(action, ())):
                    out.append(Unused(name, i, action, "action", RARE_PATHS.get((name, action), lambda_note)))
            if st.not_resource or not any(s == i for s, _ in grants):
                continue  # NotResource lists what it does not grant; an unused statement's actions say so already
            for j, source in enumerate(st.sources):
                if (i, j) not in grants:
                    out.append(Unused(name, i, source, "resource", RARE_PATHS.get((name, source), "")))
    return out


def never_ran(used: Mapping[str, Any]) -> list[str]:
    return sorted(set(template.functions()) - set(used))


def summary(snapshot: Mapping[str, Any]) -> list[str]:
    """Lines for the end of a test run: what was checked, and the grants nothing used."""
    used = snapshot.get("used") or {}
    pairs = sum(len(acts) for acts in used.values())
    calls = int(snapshot.get("calls") or 0)
    lines = [
        f"IAM: {calls} AWS calls of {len(used)} functions checked against their template.yaml policies, "
        f"{pairs} distinct (function, action) pairs"
    ]
    if missing := never_ran(used):  # a partial run: most grants of what ran look unused too
        lines.append(f"  {len(missing)} functions did not run; the grants no call used are listed after a whole run")
        return lines
    unused = unused_grants(used)
    unexplained = [u for u in unused if not u.note]
    kept = [u for u in unused if u.note]
    if unexplained:
        lines.append(f"  grants no call used ({len(unexplained)}): least privilege says remove them, or name the path:")
        lines += [f"    {u.line()}" for u in unexplained]
    if kept:
        lines.append(f"  grants kept for paths the tests do not take ({len(kept)}):")
        lines += [f"    {u.line()}" for u in kept]
    return lines
