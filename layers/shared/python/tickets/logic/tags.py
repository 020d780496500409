"""Tag rules: names unique per tenant, case-insensitively."""

from __future__ import annotations

from typing import Any

from tickets import ids
from tickets.dal import keys
from tickets.dal import tags as dal
from tickets.dal import tenants as tenants_dal
from tickets.dal.query import QueryPlan
from tickets.errors import NotFound
from tickets.logic import paging
from tickets.models.tags import TagCreate, TagListQuery, TagPatch
from tickets.timeutil import now, to_ms


def create_tag(tenant_id: str, body: TagCreate) -> dict[str, Any]:
    tag = {"id": ids.new_id(to_ms(now())), "name": body.name}
    dal.create(tenant_id, tag)
    return tag


def get_tag(tenant_id: str, tag_id: str) -> dict[str, Any]:
    found = dal.get(tenant_id, tag_id) if ids.is_ulid(tag_id) else None
    if not found:
        raise NotFound(f"no tag {tag_id}")
    return found


def update_tag(tenant_id: str, tag_id: str, patch: TagPatch) -> dict[str, Any]:
    old = get_tag(tenant_id, tag_id)
    new = {**old, "name": patch.name}
    if new != old:
        dal.rename(tenant_id, old, new)
    return new


def delete_tag(tenant_id: str, tag_id: str) -> None:
    dal.delete(tenant_id, get_tag(tenant_id, tag_id))


def list_tags(tenant_id: str, q: TagListQuery) -> dict[str, Any]:
    plan = QueryPlan(None, keys.tenant_pk(tenant_id), keys.TAG_PREFIX, keys.TAG_PREFIX + "~")
    return paging.page(tenant_id, plan, q, total=int(tenants_dal.get_counts(tenant_id).get("tags", 0)))
