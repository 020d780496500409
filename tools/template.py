"""Read template.yaml: the one description of the table, the functions and their event sources.

Tests and the local stack build everything from here, so they cannot drift from what is deployed.
"""

from __future__ import annotations

import importlib.util
import os
import re
import sys
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


@cache
def load() -> dict[str, Any]:
    with TEMPLATE.open() as fh:
        return yaml.load(fh, Loader=_CfnLoader)


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


@dataclass
class Route:
    method: str
    path: str  # template form, e.g. /v1/tickets/{id}
    regex: re.Pattern[str]

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


def _route(method: str, path: str) -> Route:
    pattern = re.sub(
        r"\{(\w+)\+?\}", lambda m: f"(?P<{m.group(1)}>[^/]+)", re.escape(path).replace(r"\{", "{").replace(r"\}", "}")
    )
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


def resolve_env(env: dict[str, Any], refs: dict[str, str]) -> dict[str, str]:
    """Turn the template's environment into plain strings, resolving Ref / GetAtt through `refs`."""
    out = {}
    for key, val in env.items():
        if isinstance(val, dict) and "Ref" in val:
            val = refs.get(val["Ref"], "")
        elif isinstance(val, dict) and "Fn::GetAtt" in val:
            val = refs.get(".".join(val["Fn::GetAtt"]), "")
        out[key] = str(val)
    return out


def parameter_defaults() -> dict[str, str]:
    return {k: str(v.get("Default", "")) for k, v in (load().get("Parameters") or {}).items()}


SHARED_LAYER = ROOT / "layers" / "shared" / "python"


def load_handler(fn: Function) -> Any:
    """Import a function's module the way Lambda would (layers on sys.path), under a unique name."""
    if str(SHARED_LAYER) not in sys.path:
        sys.path.insert(0, str(SHARED_LAYER))
    module_file, attr = fn.handler.rsplit(".", 1)
    mod: ModuleType | None = sys.modules.get(fn.module_name)
    if mod is None:
        spec = importlib.util.spec_from_file_location(fn.module_name, fn.code_uri / f"{module_file}.py")
        assert spec and spec.loader
        mod = importlib.util.module_from_spec(spec)
        sys.modules[fn.module_name] = mod
        spec.loader.exec_module(mod)
    return getattr(mod, attr)


def apply_env(fn: Function, refs: dict[str, str]) -> None:
    os.environ.update(resolve_env(fn.environment, {**parameter_defaults(), **refs}))
