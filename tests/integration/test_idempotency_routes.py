"""Idempotency-Key on every POST route, not only POST /v1/tickets (tests/integration/test_idempotency.py covers that
one in depth): a refused request leaves no record, so the corrected retry with the same key runs afresh, and an
accepted one is stored and replayed.

The routes come from template.yaml, so a new POST route is covered without anyone listing it. Under the IAM check
(tools/iam.py) this is also what proves that every POST function's policy allows the calls of Powertools'
idempotency store: the conditional PutItem of the in-progress record, the UpdateItem that completes it and the
DeleteItem that drops it after a refusal.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import items
from tests.integration.test_hostile_input import (
    BODIES,
    CONTROL_STATUS,
    JSON_CT,
    World,
    _tenant_with_one_of_each,
    invoke,
)

POST_ROUTES = sorted(route for route in BODIES if route[0] == "POST")
REPLAYED = "idempotent-replayed"
UNKNOWN = "01J0000000000000000000000Z"  # a well-formed id that no resource has


@pytest.fixture
def world(aws: Any, resources: Any) -> World:
    tenant, ids = _tenant_with_one_of_each("IDM")
    return World(aws, tenant, ids, resources.refs)


def _records(world: World) -> list[dict[str, Any]]:
    from tickets.dal import keys

    return items(world.client, keys.idempotency_partition(world.tenant.tenant_id))


def _refused(world: World, route: tuple[str, str], headers: dict[str, str]) -> Any:
    """The route refuses the request: a body of the wrong shape, or (a route without a body) unknown ids, or (a
    route with neither) a body it does not take."""
    if BODIES[route] is not None:
        return invoke(world, *route, body="[]", headers=headers)
    if "{" not in route[1]:
        return invoke(world, *route, body='{"unexpected": true}', headers=headers)
    unknown = World(world.client, world.tenant, dict.fromkeys(world.ids, UNKNOWN), world.refs)
    return invoke(unknown, *route, headers=headers)


@pytest.mark.parametrize("route", POST_ROUTES, ids=lambda r: f"{r[0]} {r[1]}")
def test_given_any_post_route_when_a_keyed_request_is_refused_then_no_record_is_left_and_the_retry_runs_afresh(
    world: World, route: tuple[str, str]
) -> None:
    headers = {"Idempotency-Key": "k-1", **JSON_CT}
    body = world.body(route)
    body_text = None if body is None else json.dumps(body)

    refused = _refused(world, route, headers)
    assert 400 <= refused.status < 500, refused.body
    assert _records(world) == []  # deleted after the refusal

    first = invoke(world, *route, body=body_text, headers=headers)
    expected = CONTROL_STATUS.get(route)
    if expected is not None:  # e.g. retry needs a delivery that only the pipeline makes: refused too
        assert first.status == expected and REPLAYED not in first.headers, first.body
        assert _records(world) == []
        return
    assert 200 <= first.status < 300 and REPLAYED not in first.headers, first.body
    again = invoke(world, *route, body=body_text, headers=headers)
    assert (again.status, again.headers.get(REPLAYED)) == (first.status, "true"), again.body
    ((record),) = _records(world)
    assert record["status"] == "COMPLETED"
