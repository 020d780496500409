"""Run one function of template.yaml on one event, as `sam local invoke` does, without Docker.

    make invoke FN=GetTicketFunction [EVENT=events/get_ticket.json]
    python -m tools.invoke GetTicketFunction [--event events/get_ticket.json]

FN is the function's logical id; the event defaults to its sample, events/<code folder>.json (tools.sample_events).
The function's own handler runs in this process with the layers on its path and the template's environment,
resolved exactly as make dev resolves it (tools.template), against:
- the running `make dev`, if its state file (.devstack.json, or DEV_STATE_FILE) names a moto that answers: the
  invocation reads and writes that stack, and its stream and queue consumers see the writes;
- otherwise a throwaway moto in this process, with the template's table and queues and the sample data that
  make dev seeds (tools.sample_events.seed), gone when the command ends.

stdout gets the result: an API function's status, headers and JSON body (pretty-printed), a consumer's batch
response (e.g. its batchItemFailures). The function's own output (logs, metrics) goes to stderr, as with sam.
Exit status: 0 when the handler returned (whatever the status code), 1 when it raised, 2 for an unknown function
or an unreadable event.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import http
import json
import os
import sys
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tools import devstack, motolock, sample_events, template
from tools.events import FakeContext


def sample_event_path(fn: template.Function) -> Path:
    return sample_events.EVENTS_DIR / f"{fn.code_uri.name}.json"


def _running_stack(path: Path) -> dict[str, Any] | None:
    """The state of the make dev that `path` describes, if its moto answers and holds its table."""
    import boto3
    from botocore.config import Config

    state = devstack.read_state(path)
    if not state:
        return None
    try:
        boto3.client(
            "dynamodb",
            endpoint_url=state["awsEndpointUrl"],
            config=Config(connect_timeout=1, read_timeout=2, retries={"max_attempts": 0}),
        ).describe_table(TableName=state["tableName"])
    except Exception as exc:
        print(f"invoke: {path} names {state.get('awsEndpointUrl')}, which does not answer ({exc})", file=sys.stderr)
        return None
    return state


@contextlib.contextmanager
def environment(fn: template.Function, state_path: Path) -> Iterator[str]:
    """Apply the function's environment against the running make dev, or else against a throwaway moto with the
    sample data; yields where that is."""
    devstack.use_local_aws_env()
    if state := _running_stack(state_path):
        os.environ["AWS_ENDPOINT_URL"] = state["awsEndpointUrl"]
        template.local_endpoints.update(state.get("localEndpoints") or {})  # its WebSocket and @connections
        template.apply_env(fn, state["refs"])
        yield f"make dev (AWS {state['awsEndpointUrl']}, table {state['tableName']})"
        return
    from moto import mock_aws

    os.environ.pop("AWS_ENDPOINT_URL", None)
    motolock.install()  # consumers run a batch's messages on threads; moto is not thread-safe
    with mock_aws():
        _, refs = devstack.create_resources(devstack.TABLE_NAME, devstack.dev_parameters())
        template.apply_env(fn, refs)
        sample_events.seed()
        yield "a throwaway moto with make dev's sample data (no make dev is running; nothing is kept)"


def render(fn: template.Function, result: Any) -> str:
    """What a caller would see: an HTTP response for an API function, the batch response for a consumer."""
    if not fn.routes:
        return json.dumps(result, indent=2, ensure_ascii=False, default=str)
    if not (isinstance(result, dict) and "statusCode" in result):
        # HTTP API v2 answers any other return value as a 200 JSON body.
        result = {"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": json.dumps(result)}
    status = int(result["statusCode"])
    try:
        reason = http.HTTPStatus(status).phrase
    except ValueError:
        reason = ""
    lines = [f"HTTP {status} {reason}".rstrip()]
    lines += [f"{key}: {val}" for key, val in (result.get("headers") or {}).items()]
    lines += [f"{key}: {val}" for key, vals in (result.get("multiValueHeaders") or {}).items() for val in vals]
    lines += [f"Set-Cookie: {cookie}" for cookie in result.get("cookies") or ()]
    body = result.get("body") or ""
    if result.get("isBase64Encoded"):
        raw = base64.b64decode(body)
        try:
            body = raw.decode()
        except UnicodeDecodeError:
            body = f"<{len(raw)} bytes of binary body>"
    with contextlib.suppress(ValueError):
        body = json.dumps(json.loads(body), indent=2, ensure_ascii=False)
    return "\n".join([*lines, "", body] if body else lines)


def _shown(path: Path) -> str:
    """A path as short as it can be said from here."""
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _usage_error(message: str, functions: dict[str, template.Function]) -> int:
    names = "\n".join(f"  {name:34} events/{fn.code_uri.name}.json" for name, fn in sorted(functions.items()))
    print(f"invoke: {message}\nFunctions of template.yaml (FN) and their sample events:\n{names}", file=sys.stderr)
    return 2


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.invoke", description=__doc__.split("\n\n")[0])
    parser.add_argument("function", nargs="?", help="logical id in template.yaml, e.g. GetTicketFunction")
    parser.add_argument("--event", type=Path, help="event file (default: the function's sample in events/)")
    args = parser.parse_args(argv)
    functions = template.functions()
    fn = functions.get(args.function or "")
    if fn is None:
        return _usage_error(f"unknown function {args.function!r}" if args.function else "FN is missing", functions)
    if not devstack.has_code(fn):
        return _usage_error(f"{fn.name} has no code at {fn.code_uri} yet", functions)
    event_path = args.event or sample_event_path(fn)
    try:
        event = json.loads(event_path.read_text())
    except (OSError, ValueError) as exc:
        print(f"invoke: cannot read the event {event_path}: {exc} (python -m tools.sample_events)", file=sys.stderr)
        return 2

    real_stdout = sys.stdout
    # The function's logs and metrics go to stderr; Powertools binds its stream when the modules are imported.
    with contextlib.redirect_stdout(sys.stderr), environment(fn, devstack.state_file()) as where:
        print(f"invoke: {fn.name} <- {_shown(event_path)}, against {where}", flush=True)
        try:
            result = template.load_handler(fn)(event, FakeContext(fn.name))
        except Exception:
            print(f"invoke: {fn.name} raised:\n{traceback.format_exc()}", flush=True)
            return 1
    try:
        print(render(fn, result), file=real_stdout, flush=True)
    except BrokenPipeError:  # e.g. `make invoke ... | head`: the reader has what it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), real_stdout.fileno())
    return 0


if __name__ == "__main__":
    sys.exit(main())
