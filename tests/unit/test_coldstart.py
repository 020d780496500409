"""tickets.coldstart: what a Lambda container does once (issue 16)."""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
from collections.abc import Iterator

import pytest

from tools import template

template.ensure_shared_layer_on_path()

from tickets import coldstart  # noqa: E402


@pytest.fixture
def collector() -> Iterator[None]:
    """The test process's collector as it was, whatever the test did to it."""
    enabled = gc.isenabled()
    yield
    gc.unfreeze()
    gc.enable() if enabled else gc.disable()
    coldstart._deferred = False


def test_given_lambda_when_deferred_then_the_collector_waits_for_the_first_invocation_and_freezes_the_heap(
    collector, monkeypatch
):
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "GetTicketFunction")
    gc.enable()

    coldstart.defer_gc()
    assert not gc.isenabled()
    coldstart.first_invocation_done()

    assert gc.isenabled() and gc.get_freeze_count() > 0
    frozen = gc.get_freeze_count()
    coldstart.first_invocation_done()  # later invocations change nothing
    assert gc.isenabled() and gc.get_freeze_count() == frozen


def test_given_no_lambda_environment_when_deferred_then_nothing_changes(collector, monkeypatch):
    monkeypatch.delenv("AWS_LAMBDA_FUNCTION_NAME", raising=False)
    gc.enable()

    coldstart.defer_gc()
    coldstart.first_invocation_done()

    assert gc.isenabled() and gc.get_freeze_count() == 0


def test_given_a_collector_switched_off_by_the_runtime_when_deferred_then_it_is_not_switched_on(collector, monkeypatch):
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "GetTicketFunction")
    gc.disable()

    coldstart.defer_gc()
    coldstart.first_invocation_done()

    assert not gc.isenabled() and gc.get_freeze_count() == 0


def test_given_a_lambda_process_when_a_function_is_imported_and_invoked_then_gc_is_held_until_the_answer():
    # A fresh interpreter, as Lambda starts one: importing the function's module holds the collector; the handler's
    # first answer lets it go. The handler answers 401 here (no key): no AWS call is made.
    fn = template.functions()["GetTicketFunction"]
    code = """
import gc, json
import app
held = not gc.isenabled()
from tools.events import FakeContext, http_event
event = http_event("GET", "/v1/tickets/x", route_path="/v1/tickets/{id}", path_params={"id": "x"})
status = app.handler(event, FakeContext("GetTicketFunction"))["statusCode"]
print(json.dumps({"held": held, "status": status, "enabled": gc.isenabled(), "frozen": gc.get_freeze_count() > 0}))
"""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("PYTHON")},
        "AWS_LAMBDA_FUNCTION_NAME": fn.name,
        "TABLE_NAME": "t",
        "PYTHONPATH": os.pathsep.join([str(template.SHARED_LAYER), str(fn.code_uri), str(template.ROOT)]),
    }
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True, timeout=120)

    assert json.loads(out.stdout.strip().splitlines()[-1]) == {
        "held": True, "status": 401, "enabled": True, "frozen": True,
    }  # fmt: skip
