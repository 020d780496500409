"""The SLA of a ticket, completed in the ticket's own write: every write path (create, api-create, email, PATCH,
bulk, batch, comments) goes through logic/tickets.insert_ticket or next_state, and both call `apply` here.

The clock's rules are in logic/sla_clock.py (pure); this module reads what they need: the tenant's policies when
the policy must be chosen again (creation, priority or group change), and a calendar when business minutes are
counted.
"""

from __future__ import annotations

from typing import Any

from tickets.dal import business_hours as business_hours_dal
from tickets.dal import sla_policies as policies_dal
from tickets.logic import sla_clock
from tickets.logic.calendar import Calendar

REMATCH_FIELDS = ("priority", "groupId")
FROM_SLA = "dueAtFromSla"  # stored flag: dueAt follows sla.resolutionDueAt (absent: the client's own dueAt)


def calendar(tenant_id: str, business_hours_id: str | None) -> Calendar | None:
    """The calendar of business hours (None: 24x7, also when the business hours are gone)."""
    if not business_hours_id:
        return None
    found = business_hours_dal.get(tenant_id, business_hours_id)
    if found is None:
        return None
    return Calendar.of(found["timeZone"], found["weekly"], found.get("holidays") or ())


def apply(tenant_id: str, old: dict[str, Any] | None, new: dict[str, Any], at: str, *, client_due: bool) -> None:
    """Set `new["sla"]` (and dueAt, when it follows the SLA) for the write of `new` over `old` (None: creation).

    `client_due`: the write sets dueAt itself (a value: the client's from now on; null: follow the SLA again).
    """
    sla = (old or {}).get("sla")
    rematch = old is None or any(new.get(f) != old.get(f) for f in REMATCH_FIELDS)
    moved = old is not None and (
        new["status"] != old["status"] or new.get("firstRespondedAt") != old.get("firstRespondedAt")
    )
    if rematch or moved:
        target = sla_clock.choose(policies_dal.in_order(tenant_id), new) if rematch else None
        cal = None
        if rematch and target is not None:
            cal = calendar(tenant_id, target.business_hours_id)
        elif old is not None and sla_clock.needs_calendar(sla, old, new):
            cal = calendar(tenant_id, (sla or {}).get("businessHoursId"))
        sla = sla_clock.advance(sla, old, new, target, cal, at, rematch=rematch)
    new["sla"] = sla
    if client_due:
        if new.get("dueAt") is not None:
            new[FROM_SLA] = None
            return
        new[FROM_SLA] = True
    elif old is None:
        new[FROM_SLA] = True if new.get("dueAt") is None else None
    if new.get(FROM_SLA):
        new["dueAt"] = (sla or {}).get("resolutionDueAt")
