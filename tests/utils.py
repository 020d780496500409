"""Test helpers shared across tiers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

EVENTS = Path(__file__).resolve().parent.parent / "events"


def load_event(name: str) -> dict[str, Any]:
    """The committed sample event events/<name>.json (name is the function's folder, e.g. create_ticket)."""
    return json.loads((EVENTS / f"{name}.json").read_text())


def invoked_http_response(stdout: str) -> tuple[str, dict[str, str], Any]:
    """What `make invoke` printed for an API function: status line, headers (lower-cased names), JSON body."""
    head, _, body = stdout.partition("\n\n")
    status, *header_lines = head.splitlines()
    headers = {name.lower(): val for name, _, val in (line.partition(": ") for line in header_lines)}
    return status, headers, json.loads(body) if body.strip() else None
