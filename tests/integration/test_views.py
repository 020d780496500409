"""Views (issue 15) through the real handlers against moto: CRUD and who may do what, every condition type on every
field, `me`, refusals naming the condition, the planner's choice for view shapes, cursors, and counts."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import call, items, make_tenant
from tools.ddbcalls import count_calls

ALL_SCOPES_BUT_MANAGE = ["tickets:read", "tickets:write", "tickets:status", "agents:write", "customers:write"]


def _post(key: str, path: str, body: dict[str, Any], status: int = 201) -> dict[str, Any]:
    r = call("POST", path, key=key, body=body)
    assert r.status == status, r.body
    return r.json


def _views_stored(aws: Any, tenant_id: str) -> list[dict[str, Any]]:
    return [i for i in items(aws, f"TENANT#{tenant_id}") if i["SK"].startswith("VIEW#")]


@pytest.fixture
def world(aws):
    """A tenant (an admin key with every scope, no agent), agents Ann and Bob with keys of their own (tickets:read
    only), a customer, and 12 tickets that differ in every field a view can name."""
    from tickets.logic import admin

    t = make_tenant("INV")
    ann = _post(t.key, "/v1/agents", {"name": "Ann", "email": "ann@x.io"})["id"]
    bob = _post(t.key, "/v1/agents", {"name": "Bob", "email": "bob@x.io"})["id"]
    cus = _post(t.key, "/v1/customers", {"externalId": "c1"})["id"]
    ann_key = admin.create_api_key(t.tenant_id, ["tickets:read"], agent_id=ann)["key"]
    bob_key = admin.create_api_key(t.tenant_id, ["tickets:read"], agent_id=bob)["key"]
    plain_key = admin.create_api_key(t.tenant_id, ALL_SCOPES_BUT_MANAGE)["key"]
    specs = [
        {"status": "new", "priority": "low", "channel": "email", "tags": ["VIP"], "category": "billing"},
        {"status": "open", "priority": "urgent", "assigneeId": ann, "customerId": cus, "dueAt": "2026-01-01T00:00Z"},
        {"status": "open", "priority": "high", "assigneeId": bob, "tags": ["vip", "x"], "channel": "phone"},
        {"status": "pending", "priority": "urgent", "assigneeId": ann, "category": "tech"},
        {"status": "resolved", "priority": "medium", "customerId": cus, "dueAt": "2031-01-01T00:00Z"},
        {"status": "closed", "priority": "critical", "assigneeId": bob, "channel": "email"},
        {"status": "new", "priority": "medium", "customerId": cus, "tags": ["y"], "category": "billing"},
        {"status": "in_progress", "priority": "low", "assigneeId": ann, "channel": "chat"},
        {"status": "on_hold", "priority": "high", "tags": ["vip"], "dueAt": "2029-06-01T00:00Z"},
        {"status": "open", "priority": "medium", "assigneeId": ann, "category": "billing", "channel": "web"},
        {"status": "new", "priority": "urgent", "customerId": cus},
        {"status": "pending", "priority": "low", "assigneeId": bob, "tags": ["VIP"]},
    ]
    made = [_post(t.key, "/v1/tickets", {"subject": f"ticket {i}", **spec}) for i, spec in enumerate(specs)]
    touched = made[3]["id"]  # the one ticket updated later than every creation
    made[3] = call("PATCH", f"/v1/tickets/{touched}", key=t.key, body={"subject": "touched"}).json
    return {"t": t, "ann": ann, "bob": bob, "cus": cus, "ann_key": ann_key, "bob_key": bob_key,
            "plain_key": plain_key, "tickets": made[::-1]}  # fmt: skip


def _view(w: dict[str, Any], conditions: dict[str, Any], sort: str = "-createdAt", key: str | None = None) -> str:
    body = {"name": "v", "conditions": conditions, "sort": sort}
    return str(_post(key or w["t"].key, "/v1/views", body)["id"])


def _run(w: dict[str, Any], view_id: str, key: str | None = None, **query: str) -> dict[str, Any]:
    r = call("GET", f"/v1/views/{view_id}/tickets", key=key or w["t"].key, query={"limit": "100", **query})
    assert r.status == 200, r.body
    return r.json


# ---------------------------------------------------------------- every condition type, every field


def _has_tag(t: dict[str, Any], *names: str) -> bool:
    return any(n.casefold() in {x.casefold() for x in names} for n in t["tags"])


def _cases(w: dict[str, Any]) -> list[tuple[str, dict[str, Any], Any]]:
    ann, bob, cus = w["ann"], w["bob"], w["cus"]
    created_cut = w["tickets"][5]["createdAt"]  # the seventh ticket made
    updated_cut = w["tickets"][0]["updatedAt"]  # the last creation: only the touched ticket is updated after it
    due_cut = "2030-01-01T00:00:00Z"
    c = lambda f, o, v: {"all": [{"field": f, "operator": o, "value": v}]}  # noqa: E731
    return [
        ("status is", c("status", "is", "OPEN"), lambda t: t["status"] == "open"),
        ("status is (synonym)", c("status", "is", "solved"), lambda t: t["status"] == "resolved"),
        ("status is_not", c("status", "is_not", "new"), lambda t: t["status"] != "new"),
        ("status in", c("status", "in", ["new", "pending"]), lambda t: t["status"] in ("new", "pending")),
        ("status not_in", c("status", "not_in", ["resolved", "closed"]), lambda t: t["status"] not in ("resolved", "closed")),  # noqa: E501
        ("priority is", c("priority", "is", "urgent"), lambda t: t["priority"] == "urgent"),
        ("priority is_not", c("priority", "is_not", "low"), lambda t: t["priority"] != "low"),
        ("priority in", c("priority", "in", ["low", "high"]), lambda t: t["priority"] in ("low", "high")),
        ("priority not_in", c("priority", "not_in", ["medium"]), lambda t: t["priority"] != "medium"),
        ("channel is", c("channel", "is", "email"), lambda t: t["channel"] == "email"),
        ("channel is_not", c("channel", "is_not", "api"), lambda t: t["channel"] != "api"),
        ("channel in", c("channel", "in", ["chat", "web"]), lambda t: t["channel"] in ("chat", "web")),
        ("channel not_in", c("channel", "not_in", ["api", "email"]), lambda t: t["channel"] not in ("api", "email")),
        ("assigneeId is", c("assigneeId", "is", ann), lambda t: t["assigneeId"] == ann),
        ("assigneeId is none", c("assigneeId", "is", "none"), lambda t: t["assigneeId"] is None),
        ("assigneeId is_not", c("assigneeId", "is_not", bob), lambda t: t["assigneeId"] != bob),
        ("assigneeId in", c("assigneeId", "in", [bob, "none"]), lambda t: t["assigneeId"] in (bob, None)),
        ("assigneeId not_in", c("assigneeId", "not_in", ["none"]), lambda t: t["assigneeId"] is not None),
        ("groupId is none", c("groupId", "is", "none"), lambda t: True),  # no ticket has a group
        ("groupId is", c("groupId", "is", "01JAAAAAAAAAAAAAAAAAAAAAAA"), lambda t: False),
        ("groupId not_in", c("groupId", "not_in", ["none"]), lambda t: False),
        ("customerId is", c("customerId", "is", cus), lambda t: t["customerId"] == cus),
        ("customerId is none", c("customerId", "is", "none"), lambda t: t["customerId"] is None),
        ("customerId is_not", c("customerId", "is_not", cus), lambda t: t["customerId"] != cus),
        ("customerId in", c("customerId", "in", [cus, "none"]), lambda t: True),
        ("customerId not_in", c("customerId", "not_in", [cus]), lambda t: t["customerId"] != cus),
        ("tag is", c("tag", "is", "vip"), lambda t: _has_tag(t, "vip")),
        ("tag is_not", c("tag", "is_not", "VIP"), lambda t: not _has_tag(t, "vip")),
        ("tag in", c("tag", "in", ["y", "x"]), lambda t: _has_tag(t, "x", "y")),
        ("tag not_in", c("tag", "not_in", ["vip", "y"]), lambda t: not _has_tag(t, "vip", "y")),
        ("category is", c("category", "is", "billing"), lambda t: t["category"] == "billing"),
        ("category is null", c("category", "is", None), lambda t: t["category"] is None),
        ("category is_not", c("category", "is_not", "billing"), lambda t: t["category"] != "billing"),
        ("category in", c("category", "in", ["tech", "billing"]), lambda t: t["category"] in ("tech", "billing")),
        ("category not_in", c("category", "not_in", ["billing"]), lambda t: t["category"] != "billing"),
        ("slaBreached is", c("slaBreached", "is", False), lambda t: True),  # no SLA breached here
        ("slaBreached is_not", c("slaBreached", "is_not", False), lambda t: False),
        ("createdAt before", c("createdAt", "before", created_cut), lambda t: t["createdAt"] < created_cut),
        ("createdAt after", c("createdAt", "after", created_cut), lambda t: t["createdAt"] >= created_cut),
        ("updatedAt after", c("updatedAt", "after", updated_cut), lambda t: t["updatedAt"] >= updated_cut),
        ("updatedAt before", c("updatedAt", "before", updated_cut), lambda t: t["updatedAt"] < updated_cut),
        ("dueAt before", c("dueAt", "before", due_cut), lambda t: bool(t["dueAt"]) and t["dueAt"] < "2030"),
        ("dueAt after", c("dueAt", "after", due_cut), lambda t: bool(t["dueAt"]) and t["dueAt"] >= "2030"),
        (
            "any of two fields",
            {"any": [{"field": "status", "operator": "is", "value": "new"},
                     {"field": "priority", "operator": "is", "value": "urgent"}]},
            lambda t: t["status"] == "new" or t["priority"] == "urgent",
        ),
        (
            "any of one field (planned as a set)",
            {"any": [{"field": "status", "operator": "is", "value": "pending"},
                     {"field": "status", "operator": "in", "value": ["on_hold", "closed"]}]},
            lambda t: t["status"] in ("pending", "on_hold", "closed"),
        ),
        (
            "all and any",
            {"all": [{"field": "status", "operator": "not_in", "value": ["closed"]},
                     {"field": "assigneeId", "operator": "is_not", "value": "none"}],
             "any": [{"field": "tag", "operator": "is", "value": "vip"},
                     {"field": "priority", "operator": "in", "value": ["urgent", "critical"]}]},
            lambda t: t["status"] != "closed" and t["assigneeId"] is not None
            and (_has_tag(t, "vip") or t["priority"] in ("urgent", "critical")),
        ),
        (
            "contradiction",
            {"all": [{"field": "status", "operator": "is", "value": "open"},
                     {"field": "status", "operator": "is", "value": "new"}]},
            lambda t: False,
        ),
    ]  # fmt: skip


def test_given_every_condition_type_on_every_field_then_the_view_lists_and_counts_exactly_its_tickets(world):
    w = world
    for name, conditions, match in _cases(w):
        view_id = _view(w, conditions)
        wanted = [t["id"] for t in w["tickets"] if match(t)]
        page = _run(w, view_id)
        assert [t["id"] for t in page["data"]] == wanted, name
        assert (page["total"], page["totalExact"], page["nextCursor"]) == (len(wanted), True, None), name
        count = call("GET", f"/v1/views/{view_id}/count", key=w["t"].key).json
        assert count == {"viewId": view_id, "total": len(wanted), "totalExact": True}, name
    fields = {
        c["field"] for _, conditions, _ in _cases(w) for c in conditions.get("all", []) + conditions.get("any", [])
    }
    operators = {c["operator"] for _, cs, _ in _cases(w) for c in cs.get("all", []) + cs.get("any", [])}
    from tickets.models.views import FIELDS, OPERATORS

    assert fields == set(FIELDS) and operators == set(OPERATORS)  # the cases above cover the contract


def test_given_a_view_sorted_oldest_first_or_by_update_then_its_order_is_the_sort(world):
    w = world
    oldest = _run(w, _view(w, {"all": [{"field": "status", "operator": "is_not", "value": "closed"}]}, "createdAt"))
    assert [t["id"] for t in oldest["data"]] == [t["id"] for t in w["tickets"][::-1] if t["status"] != "closed"]
    updated = _run(w, _view(w, {}, "-updatedAt"))
    assert updated["data"][0]["id"] == w["tickets"][8]["id"]  # the touched ticket comes first (fixture: made[3])


# ---------------------------------------------------------------- me


def test_given_a_shared_view_of_me_then_each_agent_sees_their_own_and_a_key_without_an_agent_is_refused(aws, world):
    w = world
    view_id = _view(w, {"all": [{"field": "status", "operator": "is_not", "value": "closed"},
                                {"field": "assigneeId", "operator": "is", "value": "me"}]})  # fmt: skip
    for agent, key in ((w["ann"], w["ann_key"]), (w["bob"], w["bob_key"])):
        wanted = [t["id"] for t in w["tickets"] if t["assigneeId"] == agent and t["status"] != "closed"]
        assert [t["id"] for t in _run(w, view_id, key=key)["data"]] == wanted
    for path in (f"/v1/views/{view_id}/tickets", f"/v1/views/{view_id}/count"):
        r = call("GET", path, key=w["t"].key)
        assert (r.status, r.json["code"], r.json["errors"][0]["field"]) == (
            400,
            "VALIDATION_ERROR",
            "conditions.all[1]",
        )


def test_given_agent_id_me_then_the_view_is_the_calling_agents_and_without_an_agent_400_on_agent_id(aws, world):
    w = world
    mine = _post(w["ann_key"], "/v1/views", {"name": "mine", "agentId": "me"})
    assert mine["agentId"] == w["ann"]
    r = call("POST", "/v1/views", key=w["t"].key, body={"name": "me?", "agentId": "me"})
    assert (r.status, r.json["errors"][0]["field"]) == (400, "agentId")
    assert len(_views_stored(aws, w["t"].tenant_id)) == 1


# ---------------------------------------------------------------- who may do what


def test_given_scopes_and_owners_then_views_are_seen_and_changed_only_as_the_contract_says(aws, world):
    w = world
    admin, ann, bob, plain = w["t"].key, w["ann_key"], w["bob_key"], w["plain_key"]
    shared = _post(admin, "/v1/views", {"name": "shared"})["id"]
    anns = _post(ann, "/v1/views", {"name": "ann's", "agentId": w["ann"]})["id"]
    for_bob = _post(admin, "/v1/views", {"name": "for bob", "agentId": w["bob"]})["id"]  # settings:manage may

    def listed(key: str) -> set[str]:
        return {v["id"] for v in call("GET", "/v1/views", key=key).json["data"]}

    assert listed(admin) == {shared, anns, for_bob}
    assert listed(ann) == {shared, anns} and listed(bob) == {shared, for_bob} and listed(plain) == {shared}
    assert call("GET", f"/v1/views/{anns}", key=bob).status == 404  # another agent's own view: not there
    assert call("GET", f"/v1/views/{anns}/tickets", key=bob).status == 404
    before = _views_stored(aws, w["t"].tenant_id)
    refusals = [
        ("POST", "/v1/views", plain, {"name": "shared by a key without settings:manage"}),
        ("POST", "/v1/views", ann, {"name": "for bob", "agentId": w["bob"]}),
        ("PATCH", f"/v1/views/{shared}", ann, {"name": "taken over"}),
        ("PATCH", f"/v1/views/{anns}", ann, {"agentId": None}),  # making it shared
        ("DELETE", f"/v1/views/{shared}", plain, None),
    ]
    for method, path, key, body in refusals:
        r = call(method, path, key=key, body=body)
        assert (r.status, r.json["code"]) == (403, "INSUFFICIENT_SCOPE"), (method, path, r.body)
    assert _views_stored(aws, w["t"].tenant_id) == before
    unknown = call("POST", "/v1/views", key=admin, body={"name": "x", "agentId": "01JAAAAAAAAAAAAAAAAAAAAAAA"})
    assert (unknown.status, unknown.json["errors"][0]["field"]) == (400, "agentId")
    assert call("PATCH", f"/v1/views/{anns}", key=ann, body={"name": "ann's, renamed"}).json["name"] == "ann's, renamed"
    assert call("DELETE", f"/v1/views/{anns}", key=ann).status == 204
    assert call("GET", f"/v1/views/{anns}", key=admin).status == 404


def test_given_a_view_then_crud_round_trips_and_a_patch_replaces_conditions_whole(aws, world):
    w = world
    key = w["t"].key
    created = call("POST", "/v1/views", key=key, body={"name": "Urgent", "conditions": {
        "all": [{"field": "priority", "operator": "is", "value": "URGENT"}]}})  # fmt: skip
    assert created.status == 201 and created.headers["location"] == f"/v1/views/{created.json['id']}"
    view = created.json
    assert view["conditions"] == {"all": [{"field": "priority", "operator": "is", "value": "urgent"}], "any": []}
    assert (view["agentId"], view["sort"], view["createdAt"] == view["updatedAt"]) == (None, "-createdAt", True)
    assert call("GET", f"/v1/views/{view['id']}", key=key).json == view
    patched = call("PATCH", f"/v1/views/{view['id']}", key=key, body={"conditions": {"any": [
        {"field": "status", "operator": "is", "value": "new"}]}, "sort": "createdAt"}).json  # fmt: skip
    assert patched["conditions"] == {"all": [], "any": [{"field": "status", "operator": "is", "value": "new"}]}
    assert (patched["name"], patched["sort"]) == ("Urgent", "createdAt")
    assert call("PATCH", f"/v1/views/{view['id']}", key=key, body={"name": None}).status == 400
    assert call("DELETE", f"/v1/views/{view['id']}", key=key).status == 204
    assert call("DELETE", f"/v1/views/{view['id']}", key=key).status == 404
    assert _views_stored(aws, w["t"].tenant_id) == []


# ---------------------------------------------------------------- refusals name the condition

BAD = [
    ({"all": [{"field": "subject", "operator": "is", "value": "x"}]}, "conditions.all[0]", "unknown field"),
    ({"all": [{"field": "status", "operator": "like", "value": "x"}]}, "conditions.all[0]", "unknown operator"),
    ({"all": [{"field": "status", "operator": "before", "value": "x"}]}, "conditions.all[0]", "before is only"),
    (
        {"all": [{"field": "createdAt", "operator": "is", "value": "2026-01-01T00:00:00Z"}]},
        "conditions.all[0]",
        "before",
    ),
    ({"all": [{"field": "createdAt", "operator": "after", "value": "yesterday"}]}, "conditions.all[0]", "ISO 8601"),
    ({"all": [{"field": "status", "operator": "in", "value": "open"}]}, "conditions.all[0]", "list"),
    ({"all": [{"field": "status", "operator": "in", "value": []}]}, "conditions.all[0]", "list"),
    ({"all": [{"field": "status", "operator": "is", "value": ["open"]}]}, "conditions.all[0]", "one value"),
    ({"all": [{"field": "status", "operator": "is", "value": "opened"}]}, "conditions.all[0]", "one of"),
    ({"all": [{"field": "slaBreached", "operator": "is", "value": "yes"}]}, "conditions.all[0]", "true or false"),
    ({"all": [{"field": "slaBreached", "operator": "in", "value": [True]}]}, "conditions.all[0]", "is and is_not"),
    ({"all": [{"field": "tag", "operator": "is", "value": "t" * 51}]}, "conditions.all[0]", "at most 50"),
    ({"all": [{"field": "assigneeId", "operator": "is", "value": 7}]}, "conditions.all[0]", "string"),
    (
        {
            "all": [{"field": "status", "operator": "is", "value": "open"}],
            "any": [{"field": "tag", "operator": "is", "value": "a"}, {"field": "nope", "operator": "is", "value": 1}],
        },
        "conditions.any[1]",
        "unknown field",
    ),
    ({"all": [{"field": "status", "operator": "is", "value": "open", "x": 1}]}, "conditions.all.0.x", "unknown"),
    ({"all": [{"field": "status", "operator": "is", "value": "a\x00"}]}, "conditions.all.0.value", "NUL"),
    ({"all": [{"field": "tag", "operator": "in", "value": ["ok", "a\ud800"]}]}, "conditions.all.0.value.1", "Unicode"),
    ({"all": [{"field": "status", "operator": "is", "value": "open"}] * 21}, "conditions.all", "21"),
]


@pytest.mark.parametrize(("conditions", "field", "says"), BAD, ids=[f"{b[1]} {b[2]}" for b in BAD])
def test_given_a_condition_outside_the_contract_then_400_naming_it_and_nothing_stored(
    aws, tenant, conditions, field, says
):
    r = call("POST", "/v1/views", key=tenant.key, body={"name": "bad", "conditions": conditions})
    assert (r.status, r.json["code"]) == (400, "VALIDATION_ERROR"), r.body
    named = {e["field"]: e["message"] for e in r.json["errors"]}
    assert field in named and (says in named[field] or says in r.json["detail"]), r.json
    assert _views_stored(aws, tenant.tenant_id) == []


# ---------------------------------------------------------------- planning, cursors, counts


def test_given_view_shapes_then_each_is_planned_on_its_index_and_reads_little(world):
    w = world
    group = _post(w["t"].key, "/v1/groups", {"name": "Tier 1", "routing": "manual"})["id"]
    for status in ("new", "open", "resolved"):  # the group's unassigned tickets, one finished
        _post(w["t"].key, "/v1/tickets", {"subject": f"queued {status}", "groupId": group, "status": status})
    unfinished = ["new", "open", "in_progress", "pending", "on_hold"]
    shapes = [
        # conditions, key, what is queried, the calls (view, counters, Queries)
        ({"all": [{"field": "status", "operator": "is", "value": "open"},
                  {"field": "priority", "operator": "is", "value": "urgent"}]},
         None, ["GSI1"], ["GetItem", "GetItem", "Query"]),
        ({"all": [{"field": "assigneeId", "operator": "is", "value": "me"},
                  {"field": "status", "operator": "is", "value": "open"}]},
         "ann_key", ["GSI3"], ["GetItem", "BatchGetItem", "Query"]),
        ({"all": [{"field": "groupId", "operator": "is", "value": group},
                  {"field": "assigneeId", "operator": "is", "value": "none"},
                  {"field": "status", "operator": "in", "value": unfinished}]},
         None, ["GSI3"], ["GetItem", "BatchGetItem", "Query"]),
        ({"all": [{"field": "customerId", "operator": "is", "value": w["cus"]}]},
         None, ["GSI2"], ["GetItem", "BatchGetItem", "Query"]),
        ({"all": [{"field": "status", "operator": "is", "value": "closed"},
                  {"field": "priority", "operator": "is", "value": "low"}]},
         None, [], ["GetItem", "GetItem"]),  # the counters say it is empty: nothing is read
    ]  # fmt: skip
    for conditions, key, queried, operations in shapes:
        view_id = _view(w, conditions)
        _run(w, view_id, key=w[key] if key else None)  # the key is in the auth cache from here on
        with count_calls() as calls:
            page = _run(w, view_id, key=w[key] if key else None, limit="50")
        assert (calls.queried, calls.operations) == (queried, operations), conditions
        assert calls.items_read == len(page["data"]) and page["totalExact"] is True, conditions
        with count_calls() as calls:
            call("GET", f"/v1/views/{view_id}/count", key=w[key] if key else w["t"].key)
        assert "Query" not in calls.operations, conditions  # counted by the counters alone


def test_given_a_view_paged_by_cursor_then_it_resumes_and_an_edit_of_the_view_ends_old_cursors(world):
    w = world
    view_id = _view(w, {"all": [{"field": "status", "operator": "not_in", "value": ["closed"]}]})
    wanted = [t["id"] for t in w["tickets"] if t["status"] != "closed"]
    first = _run(w, view_id, limit="4")
    second = _run(w, view_id, limit="4", cursor=first["nextCursor"])
    assert [t["id"] for t in first["data"] + second["data"]] == wanted[:8]
    assert call("PATCH", f"/v1/views/{view_id}", key=w["t"].key, body={"name": "renamed"}).status == 200
    r = call(
        "GET", f"/v1/views/{view_id}/tickets", key=w["t"].key, query={"limit": "4", "cursor": second["nextCursor"]}
    )
    assert (r.status, r.json["errors"][0]["field"]) == (400, "cursor")
    other = _view(w, {})
    r = call("GET", f"/v1/views/{other}/tickets", key=w["t"].key, query={"limit": "4", "cursor": first["nextCursor"]})
    assert (r.status, r.json["errors"][0]["field"]) == (400, "cursor")


def test_given_another_tenants_view_then_every_view_route_is_404(world):
    w = world
    view_id = _view(w, {})
    other = make_tenant("OTH")
    for method, path, body in [
        ("GET", f"/v1/views/{view_id}", None),
        ("PATCH", f"/v1/views/{view_id}", {"name": "mine now"}),
        ("DELETE", f"/v1/views/{view_id}", None),
        ("GET", f"/v1/views/{view_id}/tickets", None),
        ("GET", f"/v1/views/{view_id}/count", None),
    ]:
        r = call(method, path, key=other.key, body=body)
        assert (r.status, r.json["code"]) == (404, "NOT_FOUND"), (method, path)
    assert call("GET", "/v1/views", key=other.key).json["data"] == []
    assert call("GET", f"/v1/views/{view_id}", key=w["t"].key).json["name"] == "v"
