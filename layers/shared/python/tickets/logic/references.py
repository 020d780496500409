"""References a request may give by another name: a customer by its externalId, tags by their ids."""

from __future__ import annotations

from typing import Any

from tickets.dal import customers as customers_dal
from tickets.dal import keys
from tickets.dal.client import get_many
from tickets.errors import CustomerNotFound, FieldError, InvalidTag

MAX_TAGS = 20


def customer_by_external_id(tenant_id: str, external_id: str) -> dict[str, Any]:
    """The customer's snapshot {id, externalId, name, email}; 404 CUSTOMER_NOT_FOUND naming customerExternalId."""
    customer = customers_dal.get_by_external_id(tenant_id, external_id)
    if customer is None:
        raise CustomerNotFound(
            f"no customer with externalId {external_id}", [FieldError("customerExternalId", "no such customer")]
        )
    return customer


def tag_names(tenant_id: str, tag_ids: list[str], names: list[str]) -> list[str]:
    """`names` followed by the names of `tag_ids` (one BatchGetItem), without repeats; 400 INVALID_TAG."""
    if not tag_ids:
        return names
    found = get_many([(tid, keys.tag(tenant_id, tid)) for tid in dict.fromkeys(tag_ids)])
    missing = [tid for tid in tag_ids if tid not in found]
    if missing:
        raise InvalidTag(f"unknown tag ids: {', '.join(missing)}", [FieldError("tagIds", f"unknown: {missing[0]}")])
    seen = {name.casefold() for name in names}
    merged = list(names)
    for tid in tag_ids:
        name = found[tid]["name"]
        if name.casefold() not in seen:  # tag names are unique case-insensitively
            seen.add(name.casefold())
            merged.append(name)
    if len(merged) > MAX_TAGS:
        raise InvalidTag(f"a ticket has at most {MAX_TAGS} tags", [FieldError("tagIds", "too many tags")])
    return merged
