"""Test helpers shared across tiers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

EVENTS = Path(__file__).resolve().parent.parent / "events"


def load_event(name: str) -> dict[str, Any]:
    """The committed sample event events/<name>.json (name is the function's folder, e.g. create_ticket)."""
    return json.loads((EVENTS / f"{name}.json").read_text())
