"""A tenant's SLA setup (its policies in matching order, and the business hours they count in), cached per
container: every ticket write that may choose a policy or count business minutes needs it, and it changes rarely.

How fresh it is:
- A ticket's creation knows the tenant's `slaRev` exactly: the tenant item that numbers the ticket carries it, and
  every change of a policy or of business hours moves it in its own write (dal/tenants.sla_rev_op). The cache
  serves a creation only at that revision, so a new ticket always gets the policies as they are; a tenant that
  never had a policy has no revision, and its creations read nothing.
- Other writes (PATCH, bulk, batch, comments) do not read the tenant item: they take the cache while it is at most
  CACHE_SECONDS old (as API keys are cached), else read it again. A change made in this container clears it at
  once (forget), so one process (make dev, the tests) always sees its own changes.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from tickets import coldstart
from tickets.dal import business_hours as business_hours_dal
from tickets.dal import sla_policies as policies_dal
from tickets.logic.calendar import Calendar

CACHE_SECONDS = 60.0  # for writes that do not know the tenant's revision (as API_KEY_CACHE_SECONDS)


@dataclass
class Setup:
    rev: int | None  # None: read by a write that did not know the revision
    loaded: float  # time.monotonic() of the read (or of the last creation that confirmed it)
    policies: list[dict[str, Any]]
    calendars: dict[str, Calendar | None] = field(default_factory=dict)


_cache: dict[str, Setup] = {}


def _load(tenant_id: str, rev: int | None) -> Setup:
    setup = Setup(rev, time.monotonic(), policies_dal.in_order(tenant_id) if rev != 0 else [])
    _cache[tenant_id] = setup
    return setup


def for_create(tenant_id: str, rev: int) -> Setup:
    """The setup at revision `rev` (the tenant item's `slaRev`, 0 when it has none): exact."""
    hit = _cache.get(tenant_id)
    if hit is not None and hit.rev == rev:
        hit.loaded = time.monotonic()  # confirmed current now
        return hit
    return _load(tenant_id, rev)


def _fresh(tenant_id: str) -> Setup | None:
    hit = _cache.get(tenant_id)
    return hit if hit is not None and time.monotonic() - hit.loaded < CACHE_SECONDS else None


def current(tenant_id: str) -> Setup:
    """The setup as this container last saw it, if that is recent enough; else read now."""
    return _fresh(tenant_id) or _load(tenant_id, None)


def has_policies(tenant_id: str) -> bool:
    return bool(current(tenant_id).policies)


def calendar(tenant_id: str, business_hours_id: str | None, setup: Setup | None = None) -> Calendar | None:
    """The calendar of business hours (None: 24x7, also when the business hours are gone): kept with `setup`, or
    with the cached setup if it is fresh; a write that needs only a calendar (a pause ending) reads no policies."""
    if not business_hours_id:
        return None
    setup = setup or _fresh(tenant_id)
    if setup is not None and business_hours_id in setup.calendars:
        return setup.calendars[business_hours_id]
    found = business_hours_dal.get(tenant_id, business_hours_id)
    cal = Calendar.of(found["timeZone"], found["weekly"], found.get("holidays") or ()) if found else None
    if setup is not None:
        setup.calendars[business_hours_id] = cal
    return cal


def forget(tenant_id: str) -> None:
    """After this container changed the tenant's policies or business hours."""
    _cache.pop(tenant_id, None)


@coldstart.on_restore  # its ages are read from the snapshot's monotonic clock
def clear() -> None:
    _cache.clear()
