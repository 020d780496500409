"""End-to-end fixtures: the real `python -m tools.devstack` in a subprocess (tools.devproc), spoken to over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tools.devproc import ROOT, Response, StackInfo, TenantFactory, TenantKey, running_stack

Stack = StackInfo
Tenant = TenantKey
__all__ = ["ROOT", "Response", "Stack", "Tenant", "assert_problem"]


def assert_problem(resp: Response, status: int, code: str) -> dict[str, Any]:
    """The response is an RFC 9457 problem with this status and code; returns its body."""
    assert resp.status == status, resp.body
    assert resp.content_type.startswith("application/problem+json"), resp.headers
    body = resp.json
    assert body["status"] == status and body["code"] == code, body
    return body


@pytest.fixture(scope="module")
def stack(request: pytest.FixtureRequest) -> Iterator[Stack]:
    """`python -m tools.devstack` exactly as `make dev` runs it, once per test module.

    A stack starts in about a second; one per module keeps each module's table small (moto's transactions
    get slower as a table grows) and lets xdist spread the modules over workers. A module can set
    `DEVSTACK_ENV = {...}` to add environment variables (e.g. DEV_WEBHOOK_RETRY_SCHEDULE, which devstack maps
    to a template parameter, or WEBHOOK_TIMEOUT_SECONDS, which the in-process handlers read).
    The stack checks every function's AWS calls against its template policy (tools/iam.py): a call it refused
    fails the module here, whatever the tests made of the 500 it caused.
    """
    with running_stack(getattr(request.module, "DEVSTACK_ENV", {})) as info:
        yield info
    if info.iam_denials:
        pytest.fail("the stack refused AWS calls:\n" + "\n".join(info.iam_denials), pytrace=False)


@pytest.fixture(scope="module")
def make_tenant(stack: Stack) -> Any:
    """Create a tenant (and a key) in the running stack, as the admin CLI would."""
    return TenantFactory(stack)
