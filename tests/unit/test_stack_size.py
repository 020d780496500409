"""Each stack (template.yaml and its nested applications) stays under CloudFormation's 500 resources: the SAM
transform's real output is counted.

aws-sam-translator lives only in the SAM CLI's virtualenv (.venv-sam, which `make test` builds), so the count
runs there in a subprocess (tools/stack_size.py).
"""

from __future__ import annotations

import json
import subprocess

import pytest

from tools import stack_size, template

SAM_PYTHON = template.ROOT / ".venv-sam" / "bin" / "python"


@pytest.mark.parametrize("snapstart", ["Off", "On"])
def test_given_the_template_when_sam_transforms_it_then_it_stays_below_the_split_budget(snapstart):
    assert SAM_PYTHON.exists(), "no .venv-sam: run `make test` (or `make .venv-sam/.stamp`) to build it"
    run = subprocess.run(
        [str(SAM_PYTHON), "-m", "tools.stack_size", "--parameter", f"SnapStart={snapstart}"],
        cwd=template.ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    report = json.loads(run.stdout)
    stacks = report["stacks"]
    assert set(stacks) == {
        "template.yaml",
        *(str(p.relative_to(template.ROOT)) for p in template.nested_applications().values()),
    }
    assert len(stacks) == 4, "the parent and its three nested applications"
    # The transform's output, not the template's: each function is a function, a role and its log group.
    by_type = report["byType"]
    functions = len(template.resources("AWS::Serverless::Function"))
    assert by_type["AWS::Lambda::Function"] == functions
    assert by_type["AWS::IAM::Role"] >= functions
    assert by_type["AWS::Logs::LogGroup"] == functions + 1  # and the HTTP API's access log
    assert report["resources"] == sum(by_type.values()) == sum(s["resources"] for s in stacks.values())
    # Each API function publishes a version under an alias in both settings: SAM has no conditional AutoPublishAlias.
    routed = [fn for fn in template.functions().values() if fn.routes]
    assert by_type["AWS::Lambda::Version"] == by_type["AWS::Lambda::Alias"] == len(routed)
    # Every API route is an explicit route of the HTTP API, made in a child stack (and the WebSocket API's three).
    http_routes = sum(len(fn.routes) for fn in routed)
    assert stacks["template.yaml"]["byType"].get("AWS::Lambda::Version", 0) == 0, "an API function in the parent"
    assert by_type["AWS::ApiGatewayV2::Route"] == http_routes + len(template.websocket_routes())
    for name, stack in stacks.items():
        print(
            f"stack size, SnapStart={snapstart}: {name} {stack['resources']} resources (split at {stack_size.SPLIT_AT})"
        )
        assert stack_size.verdict(stack["resources"], name) is None, stack_size.verdict(stack["resources"], name)


def test_given_a_count_at_the_budget_then_the_verdict_says_to_split_into_nested_applications():
    assert stack_size.verdict(stack_size.SPLIT_AT - 1) is None
    message = stack_size.verdict(stack_size.SPLIT_AT)
    assert message is not None and "split into nested applications" in message and "450" in message
    assert stack_size.SPLIT_AT == 450 and stack_size.LIMIT == 500
