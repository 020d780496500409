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


# ---------------------------------------------------------------------------------------------- SnapStart hooks


@pytest.fixture
def snapshot_state(collector) -> Iterator[None]:
    """Undo what the hooks change in this process: the clients, the id generator's memory, the random state."""
    import random

    from tickets import aws, ids

    state, last = random.getstate(), (ids._last_ms, ids._last_rand)
    yield
    random.setstate(state)
    ids._last_ms, ids._last_rand = last
    aws.client.cache_clear()


def test_given_two_environments_restored_from_one_snapshot_when_the_hook_runs_then_their_random_draws_differ(
    snapshot_state,
):
    import random

    random.seed(1234)  # the state the snapshot holds
    snapshot = random.getstate()

    def environment(hook: bool) -> list[float]:
        random.setstate(snapshot)
        if hook:
            coldstart.after_restore()
        return [random.random() for _ in range(3)]

    assert environment(hook=False) == environment(hook=False), "without the hook every environment draws alike"
    assert environment(hook=True) != environment(hook=True)


def test_given_two_environments_restored_from_one_snapshot_when_they_make_an_id_in_the_same_millisecond_then_the_ids_differ(  # noqa: E501
    snapshot_state,
):
    import time

    from tickets import ids

    snapshot = (int(time.time() * 1000) + 60_000, 123_456_789)  # the last id made before the snapshot, clock ahead

    def environment(hook: bool) -> str:
        ids._last_ms, ids._last_rand = snapshot
        if hook:
            coldstart.after_restore()
        return ids.new_id()

    assert environment(hook=False) == environment(hook=False), "without the hook both continue the snapshot's sequence"
    first, second = environment(hook=True), environment(hook=True)
    assert first != second and ids.is_ulid(first) and ids.is_ulid(second)


def test_given_a_client_made_before_the_snapshot_when_restored_then_a_new_client_has_the_new_credentials(
    snapshot_state, monkeypatch
):
    from tickets import aws

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "before-snapshot")
    aws.client.cache_clear()
    before = aws.client("dynamodb")
    loader = aws._loader[0]

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "after-restore")  # the restored environment's credentials
    assert aws.client("dynamodb") is before
    coldstart.after_restore()
    after = aws.client("dynamodb")

    assert after is not before
    assert before._request_signer._credentials.access_key == "before-snapshot"
    assert after._request_signer._credentials.access_key == "after-restore"
    assert aws._loader[0] is loader, "the service models parsed before the snapshot are kept"


def test_given_caches_that_expire_by_the_clock_when_restored_then_they_are_emptied(snapshot_state):
    from tickets.api import auth, idempotency
    from tickets.logic import realtime_push
    from tickets.models.tenants import Principal

    auth._cache["digest"] = (float("inf"), Principal(tenantId="t", keyId="k", scopes=frozenset()))
    realtime_push._key_states[("t", "k")] = (float("inf"), True)
    idempotency._store("table", "tenant", object())
    assert idempotency._store.cache_info().currsize == 1

    coldstart.after_restore()

    assert auth._cache == {} and realtime_push._key_states == {}
    assert idempotency._store.cache_info().currsize == 0


def test_given_a_post_function_when_the_snapshot_is_prepared_then_its_first_request_work_is_done_before(
    snapshot_state,
):
    import sys

    from pydantic import BaseModel, ConfigDict

    from tickets import aws

    class Probe(BaseModel):  # a model of ours, built on first use
        model_config = ConfigDict(defer_build=True)
        __module__ = "tickets.models.probe"
        name: str

    template.load_handler(template.functions()["CreateTicketFunction"])
    aws.client.cache_clear()
    sys.modules.pop("aws_lambda_powertools.utilities.idempotency", None)
    assert Probe.__pydantic_complete__ is False

    coldstart.before_snapshot()

    assert Probe.__pydantic_complete__ is True
    assert aws.client.cache_info().currsize >= 1, "the DynamoDB client (and botocore's models) are loaded"
    assert "aws_lambda_powertools.utilities.idempotency" in sys.modules
    assert gc.get_freeze_count() > 0


def test_given_lambda_snapstart_when_registered_then_the_runtime_gets_both_hooks(monkeypatch):
    import sys
    import types

    registered: list[tuple[str, object]] = []
    runtime = types.ModuleType("snapshot_restore_py")
    runtime.register_before_snapshot = lambda f: registered.append(("before", f))  # type: ignore[attr-defined]
    runtime.register_after_restore = lambda f: registered.append(("after", f))  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "snapshot_restore_py", runtime)

    monkeypatch.setenv("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand")
    coldstart.register_snapstart_hooks()
    assert registered == []

    monkeypatch.setenv("AWS_LAMBDA_INITIALIZATION_TYPE", "snap-start")
    coldstart.register_snapstart_hooks()
    assert registered == [("before", coldstart.before_snapshot), ("after", coldstart.after_restore)]


def test_given_no_snapshot_runtime_module_when_registered_then_nothing_fails(monkeypatch):
    import sys

    monkeypatch.setenv("AWS_LAMBDA_INITIALIZATION_TYPE", "snap-start")
    monkeypatch.setitem(sys.modules, "snapshot_restore_py", None)  # an import of it raises ImportError

    coldstart.register_snapstart_hooks()


def _held() -> None:
    """As in a Lambda container between its cold start and its first answer."""
    gc.disable()
    coldstart._deferred = True


@pytest.mark.parametrize("kind", ["scheduled_handler", "record_consumer on a schedule", "console_handler"])
def test_given_a_handler_of_every_factory_when_first_invoked_then_it_lets_the_collector_go(collector, kind):
    from tickets.api.console import console_handler
    from tickets.consumers import record_consumer, scheduled_handler
    from tools.events import FakeContext, http_event

    if kind == "console_handler":
        handler = console_handler(template.ROOT / "functions" / "serve_console" / "static", lambda: ())
        event = http_event("GET", "/console/", route_path="/console/{proxy+}")
    elif kind == "scheduled_handler":
        handler, event = scheduled_handler(lambda event: 0), {"detail-type": "Scheduled Event"}
    else:
        handler, event = (
            record_consumer(lambda *_: None, on_schedule=lambda event: 0),
            {"detail-type": "Scheduled Event"},
        )
    _held()

    handler(event, FakeContext("ColdstartTest"))

    assert gc.isenabled() and not coldstart._deferred, f"{kind} kept the collector off after its invocation"
