"""Scheduled (every minute): record the SLA warnings and breaches that have fallen due, for every tenant."""

from dataclasses import asdict
from typing import Any

from tickets import timeutil
from tickets.consumers import scheduled_handler
from tickets.logic.sla_sweep import sweep


def run(event: dict[str, Any]) -> dict[str, Any]:
    return asdict(sweep(timeutil.now()))  # the schedule's own time is ignored: a late run sweeps up to now


handler = scheduled_handler(run)
