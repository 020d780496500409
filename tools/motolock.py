"""Make moto's DynamoDB safe under concurrent requests.

moto's in-memory DynamoDB is not thread-safe (TransactWriteItems deep-copies a table while other
threads write to it). Real DynamoDB serialises conflicting writes itself; here one lock around each
DynamoDB action gives the same atomicity, so concurrency tests exercise our conditions, not moto's races.
"""

from __future__ import annotations

import threading
from typing import Any

_lock = threading.RLock()
_installed = False


def install() -> None:
    global _installed
    if _installed:
        return
    from moto.dynamodb.responses import DynamoHandler

    original = DynamoHandler.call_action

    def call_action(self: Any) -> Any:
        with _lock:
            return original(self)

    DynamoHandler.call_action = call_action  # type: ignore[method-assign]
    _installed = True
