"""AWS clients, created once per container on first use (botocore directly: see dal/client.py)."""

from __future__ import annotations

from functools import cache
from typing import Any

from tickets.config import settings


@cache
def client(service: str) -> Any:
    import botocore.session
    from botocore.config import Config

    return botocore.session.get_session().create_client(
        service,
        region_name=settings().region,
        config=Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=2, read_timeout=5),
    )
