"""Make moto safe under concurrent requests, in-process (tests) and in server mode (make dev).

moto's in-memory backends are not thread-safe: TransactWriteItems deep-copies a table while other
threads write to it, and two racing `SET seq = seq + 1` updates can read the same value. AWS applies
each request atomically; one lock around every moto action gives the same guarantee, so concurrency
tests exercise our conditions, not moto's races.
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
    from moto.core.responses import BaseResponse
    from moto.dynamodb.responses import DynamoHandler

    for cls in (BaseResponse, DynamoHandler):  # DynamoHandler overrides call_action
        cls.call_action = _locked(cls.call_action)  # type: ignore[method-assign]
    _installed = True


def _locked(original: Any) -> Any:
    def call_action(self: Any) -> Any:
        with _lock:
            return original(self)

    return call_action
