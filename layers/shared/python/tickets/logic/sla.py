"""The SLA of a ticket, completed in the ticket's own write: every write path (create, api-create, email, PATCH,
bulk, batch, comments) goes through logic/tickets.insert_ticket or next_state, and both call `apply` here.

The clock's rules are in logic/sla_clock.py (pure); this module reads what they need from the tenant's SLA setup
(logic/sla_setup.py, cached per container): the policies when the policy must be chosen again (creation,
priority or group change), and a calendar when business minutes are counted.
"""

from __future__ import annotations

from typing import Any

from tickets.logic import sla_clock, sla_setup

REMATCH_FIELDS = ("priority", "groupId")
FROM_SLA = "dueAtFromSla"  # stored flag: dueAt follows sla.resolutionDueAt (absent: the client's own dueAt)


def apply(
    tenant_id: str,
    old: dict[str, Any] | None,
    new: dict[str, Any],
    at: str,
    *,
    client_due: bool,
    sla_rev: int | None = None,
) -> None:
    """Set `new["sla"]` (and dueAt, when it follows the SLA) for the write of `new` over `old` (None: creation).

    `client_due`: the write sets dueAt itself (a value: the client's from now on; null: follow the SLA again).
    `sla_rev`: the tenant's SLA revision, when the write knows it (a creation: its tenant item carries it).
    """
    sla = (old or {}).get("sla")
    rematch = old is None or any(new.get(f) != old.get(f) for f in REMATCH_FIELDS)
    moved = old is not None and (
        new["status"] != old["status"] or new.get("firstRespondedAt") != old.get("firstRespondedAt")
    )
    if rematch or moved:
        target, cal = None, None
        if rematch:
            setup = sla_setup.for_create(tenant_id, sla_rev) if sla_rev is not None else sla_setup.current(tenant_id)
            target = sla_clock.choose(setup.policies, new)
            if target is not None:
                cal = sla_setup.calendar(tenant_id, target.business_hours_id, setup)
        elif old is not None and sla_clock.needs_calendar(sla, old, new):
            cal = sla_setup.calendar(tenant_id, (sla or {}).get("businessHoursId"))
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
