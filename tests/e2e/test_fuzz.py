"""End-to-end: schemathesis fuzzes every operation of the committed docs/openapi.json against the local stack.

The bounded version of `make fuzz` (tools.fuzz): a few generated cases per operation, valid and invalid, plus
stateful sequences, with a fixed seed and derandomised generation so that a failure reproduces. The coverage
phase (about 2,300 boundary-value requests whatever the example count) runs in `make fuzz` only.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.e2e.conftest import Stack
from tools import fuzz

DEVSTACK_ENV = fuzz.STACK_ENV
MAX_EXAMPLES = 10
SEED = 20260425


def test_given_the_committed_openapi_when_fuzzing_every_operation_then_every_check_passes(stack: Stack) -> None:
    summary = fuzz.run(
        stack.base_url,
        stack.api_key,
        max_examples=MAX_EXAMPLES,
        phases=("fuzzing", "stateful"),
        seed_value=SEED,
        deterministic=True,
        capture=True,
    )

    in_document = sum(len(item) for item in json.loads(Path(fuzz.SPEC).read_text())["paths"].values())
    assert summary.operations.get("tested") == in_document, summary.render() + "\n\n" + summary.output[-3000:]
    assert summary.requests >= in_document * 2, summary.render()
    assert summary.ok, f"{summary.render()}\n\n{summary.failure_report()}"
