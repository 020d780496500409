"""Views: saved conditions and a sort, run through the same planner as GET /v1/tickets (logic/ticket_lists.py).

Who sees and changes what: a shared view (agentId null) is seen by every key of the tenant and changed only with
settings:manage; an agent's own view is seen and changed by keys bound to that agent, and by settings:manage keys.
A view a caller may not see is a 404, as another tenant's is. `me` in a condition is the calling key's agent when the
view runs (a shared "assigned to me" view shows each agent their own tickets); a key without an agent cannot run it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tickets import ids
from tickets.dal import agents as agents_dal
from tickets.dal import keys
from tickets.dal import views as dal
from tickets.dal.query import QueryPlan
from tickets.errors import InsufficientScope, NotFound, ValidationFailed
from tickets.logic import paging, ticket_lists
from tickets.logic.ticket_lists import UNASSIGNED, Check, Filter
from tickets.models.tenants import Principal
from tickets.models.tickets import Channel, Priority, Status
from tickets.models.views import ViewCreate, ViewListQuery, ViewPatch, ViewTicketsQuery
from tickets.timeutil import now_iso

MANAGE = "settings:manage"
_ALL = {"status": frozenset(Status), "priority": frozenset(Priority), "channel": frozenset(Channel)}


def _require_manage(caller: Principal, why: str) -> None:
    if MANAGE not in caller.scopes:
        raise InsufficientScope(f"{why} needs the scope {MANAGE}")


def _visible(view: dict[str, Any], caller: Principal) -> bool:
    owner = view.get("agentId")
    return owner is None or owner == caller.agentId or MANAGE in caller.scopes


def _may_change(view: dict[str, Any], caller: Principal) -> None:
    if view.get("agentId") is None or view["agentId"] != caller.agentId:
        _require_manage(caller, "changing a shared view, or another agent's")


def _load(caller: Principal, view_id: str) -> dict[str, Any]:
    found = dal.get(caller.tenantId, view_id) if ids.is_ulid(view_id) else None
    if found is None or not _visible(found, caller):
        raise NotFound(f"no view {view_id}")
    return found


def _owner(caller: Principal, agent_id: str | None) -> str | None:
    """The agent a view belongs to (None: shared) from the body's agentId (`me`: the calling key's agent)."""
    if agent_id is None:
        return None
    if agent_id == "me":
        if caller.agentId is None:
            raise ValidationFailed.of("agentId", "'me' needs a key bound to an agent")
        return caller.agentId
    if agent_id != caller.agentId and (not ids.is_ulid(agent_id) or agents_dal.get(caller.tenantId, agent_id) is None):
        raise ValidationFailed.of("agentId", "no such agent in this tenant")
    return agent_id


def needs_manage(caller: Principal, agent_id: str | None) -> bool:
    """Whether a view for `agent_id` (the body's value) is one only settings:manage may create."""
    return agent_id is None or agent_id not in ("me", caller.agentId)


def _public(v: dict[str, Any]) -> dict[str, Any]:
    return {k: v.get(k) for k in ("id", "name", "agentId", "conditions", "sort", "createdAt", "updatedAt")}


def create_view(caller: Principal, body: ViewCreate) -> dict[str, Any]:
    if needs_manage(caller, body.agentId):
        _require_manage(caller, "a shared view, or another agent's")
    at = now_iso()
    view = {
        "id": ids.new_id(),
        "name": body.name,
        "agentId": _owner(caller, body.agentId),
        "conditions": body.conditions.model_dump(mode="json"),
        "sort": body.sort,
        "createdAt": at,
        "updatedAt": at,
    }
    dal.create(caller.tenantId, {k: v for k, v in view.items() if v is not None})
    return _public(view)


def get_view(caller: Principal, view_id: str) -> dict[str, Any]:
    return _public(_load(caller, view_id))


def update_view(caller: Principal, view_id: str, patch: ViewPatch) -> dict[str, Any]:
    old = _load(caller, view_id)
    _may_change(old, caller)
    changes = patch.model_dump(mode="json", include=patch.model_fields_set)
    if "agentId" in changes:
        if needs_manage(caller, patch.agentId):
            _require_manage(caller, "making a view shared, or another agent's")
        changes["agentId"] = _owner(caller, patch.agentId)
    new = {**old, **changes}
    if new == old:
        return _public(old)
    new["updatedAt"] = now_iso()
    dal.replace(caller.tenantId, old, {k: v for k, v in new.items() if v is not None})
    return _public(new)


def delete_view(caller: Principal, view_id: str) -> None:
    _may_change(_load(caller, view_id), caller)
    dal.delete(caller.tenantId, view_id)


def list_views(caller: Principal, q: ViewListQuery) -> dict[str, Any]:
    """The views the caller sees (shared ones and its agent's own; every view with settings:manage), newest first."""
    plan = QueryPlan(None, keys.tenant_pk(caller.tenantId), keys.VIEW_PREFIX, keys.VIEW_PREFIX + "~")
    predicate = None if MANAGE in caller.scopes else (lambda v: _visible(v, caller))
    result = paging.page(caller.tenantId, plan, q, predicate=predicate, count_rest=True)
    result["data"] = [_public(v) for v in result["data"]]
    return result


# ---------------------------------------------------------------- running a view


def _values(condition: dict[str, Any]) -> list[Any]:
    value = condition.get("value")
    return list(value) if isinstance(value, list) else [value]


def _resolve(value: Any, me: str | None, where: str) -> Any:
    """An id condition's value as stored on tickets: `none` is no id, `me` the calling key's agent."""
    if value == "none":
        return None
    if value == "me":
        if me is None:
            raise ValidationFailed.of(where, "'me' needs a key bound to an agent")
        return me
    return value


def _check(condition: dict[str, Any], me: str | None, where: str) -> Check:
    """One condition as a check of a stored ticket."""
    field, op = condition["field"], condition["operator"]
    if op in ("before", "after"):
        at = condition["value"]
        if op == "before":
            return lambda t: bool(t.get(field)) and t[field] < at
        return lambda t: bool(t.get(field)) and t[field] >= at
    positive = op in ("is", "in")
    if field == "tag":
        tags = {str(v).casefold() for v in _values(condition)}
        return lambda t: any(n.casefold() in tags for n in t.get("tags") or ()) is positive
    if field == "slaBreached":
        wanted = bool(condition["value"])
        return lambda t: (ticket_lists.sla_breached(t) is wanted) is positive
    values = {_resolve(v, me, where) for v in _values(condition)} if field.endswith("Id") else set(_values(condition))
    return lambda t: ((t.get(field) or None) in values) is positive


_RANGES = {"createdAt": "created", "updatedAt": "updated", "dueAt": "due"}
_NARROWABLE = {
    "status": "statuses",
    "priority": "priorities",
    "assigneeId": "assignees",
    "customerId": "customers",
    "groupId": "groups",
}


def _allowed(condition: dict[str, Any], me: str | None, where: str) -> frozenset[Any] | None:
    """The values a condition allows of a field the planner narrows on (None: it cannot be planned as a set)."""
    field, op = condition["field"], condition["operator"]
    if field not in _NARROWABLE or op not in ("is", "is_not", "in", "not_in"):
        return None
    values = frozenset(_resolve(v, me, where) if field.endswith("Id") else v for v in _values(condition))
    if op in ("is", "in"):
        return values if not (field == "customerId" and None in values) else None
    if field in _ALL:
        return _ALL[field] - values
    return None  # "not this agent": no finite set of the others


def _narrow(f: Filter, field: str, values: frozenset[Any]) -> Filter:
    name = _NARROWABLE[field]
    allowed = {UNASSIGNED if v is None else v for v in values} if field == "assigneeId" else values
    return f.narrow(**{name: allowed})


def to_filter(conditions: dict[str, Any], sort: str, me: str | None) -> Filter:
    """A view's conditions as a list filter: `all` narrows the planner's sets and ranges where it can and adds checks
    where it cannot; `any` is one check, or one set when all its conditions allow values of the same field."""
    f = Filter(sort=sort)
    for i, c in enumerate(conditions.get("all") or ()):
        where = f"conditions.all[{i}]"
        if (allowed := _allowed(c, me, where)) is not None:
            f = _narrow(f, c["field"], allowed)
        elif c["field"] in _RANGES:
            span = (None, c["value"]) if c["operator"] == "before" else (c["value"], None)
            f = f.within(_RANGES[c["field"]], *span)
        else:
            f = f.check(_check(c, me, where))
    anys: Sequence[dict[str, Any]] = conditions.get("any") or ()
    if anys:
        wheres = [f"conditions.any[{i}]" for i in range(len(anys))]
        sets = [_allowed(c, me, w) for c, w in zip(anys, wheres, strict=True)]
        fields = {c["field"] for c in anys}
        if len(fields) == 1 and all(s is not None for s in sets):
            f = _narrow(f, anys[0]["field"], frozenset().union(*(s for s in sets if s is not None)))
        else:
            checks = [_check(c, me, w) for c, w in zip(anys, wheres, strict=True)]
            f = f.check(lambda t: any(check(t) for check in checks))
    return f


def _run(caller: Principal, view_id: str) -> tuple[dict[str, Any], Filter]:
    view = _load(caller, view_id)
    return view, to_filter(view["conditions"], view["sort"], caller.agentId)


def list_view_tickets(caller: Principal, view_id: str, q: ViewTicketsQuery) -> dict[str, Any]:
    """A bounded page of the view's tickets. Its cursor is bound to the view as it was (an edit ends old cursors)
    and to the calling agent (whom `me` means)."""
    view, f = _run(caller, view_id)
    fp = paging.query_fingerprint(caller.tenantId, q, view=view["id"], at=view["updatedAt"], me=caller.agentId)
    return ticket_lists.list_page(caller.tenantId, f, q, fp)


def count_view_tickets(caller: Principal, view_id: str) -> dict[str, Any]:
    view, f = _run(caller, view_id)
    return {"viewId": view["id"], **ticket_lists.count(caller.tenantId, f)}
