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
    _speed_up_transactions()
    _installed = True


def _locked(original: Any) -> Any:
    def call_action(self: Any) -> Any:
        with _lock:
            return original(self)

    return call_action


def _speed_up_transactions() -> None:
    """Make moto's TransactWriteItems rollback cheaper, and keep the table's stream readable after one.

    - moto deep-copies the whole table for every item of a transaction (all copies are taken before
      anything is written, so they are identical); with four items per ticket create that made creates
      slow down linearly with the table size. One copy per table per call gives the same rollback.
    - A cancelled transaction makes moto swap in the copied table, stream shard included, while every
      open shard iterator still reads the old shard object: stream consumers then saw no record again.
      The rolled-back state is moved back into the original table and shard objects instead.
    """
    import copy

    from moto.dynamodb import models

    if getattr(models.DynamoDBBackend.transact_write_items, "_motolock", False):
        return
    original = models.DynamoDBBackend.transact_write_items

    class _OncePerTable:
        def __init__(self) -> None:
            self.memo: dict[int, Any] = {}

        def deepcopy(self, obj: Any, *args: Any) -> Any:
            if not isinstance(obj, models.Table):
                return copy.deepcopy(obj, *args)
            if id(obj) not in self.memo:
                self.memo[id(obj)] = copy.deepcopy(obj, *args)
            return self.memo[id(obj)]

    def transact_write_items(self: Any, transact_items: Any) -> Any:
        # Safe to swap the module global: the lock above runs one moto action at a time.
        before = dict(self.tables)
        models.copy = _OncePerTable()  # type: ignore[assignment]
        try:
            return original(self, transact_items)
        finally:
            models.copy = copy
            for name, table in list(self.tables.items()):
                kept = before.get(name)
                if kept is not None and table is not kept:  # rolled back: keep the objects iterators hold
                    shard = kept.stream_shard
                    if shard is not None and table.stream_shard is not None:
                        shard.items = table.stream_shard.items
                    kept.__dict__.update({k: v for k, v in table.__dict__.items() if k != "stream_shard"})
                    self.tables[name] = kept

    transact_write_items._motolock = True  # type: ignore[attr-defined]
    models.DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]
