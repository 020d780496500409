"""Scheduled (every minute): record the SLA warnings and breaches that have fallen due, for every tenant."""

from dataclasses import asdict
from typing import Any

from tickets.consumers import scheduled_handler
from tickets.logic.sla_sweep import sweep
from tickets.timeutil import now


def run(event: dict[str, Any]) -> dict[str, Any]:
    return asdict(sweep(now()))


handler = scheduled_handler(run)
