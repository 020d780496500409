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
    _speed_up_queries()
    _idempotent_transactions()
    _installed = True


def _locked(original: Any) -> Any:
    def call_action(self: Any) -> Any:
        with _lock:
            return original(self)

    return call_action


def _speed_up_transactions() -> None:
    """Make moto's TransactWriteItems cost independent of the table's size, and keep the stream readable.

    - moto deep-copies every table a transaction names before applying it, so that a cancellation can swap
      the copy back in: every ticket write cost time in proportion to the whole table (tickets, deliveries,
      history...). Under `make load` that reached seconds per write, past the handlers' 5 s read timeout, and
      botocore's retry of an already applied transaction then failed its own conditions (moto ignores
      ClientRequestToken): false 500s and 404s for writes that had happened. Instead, only the items the
      transaction names are copied (an undo log), and moto's "copy" of a table is the table itself.
    - Swapping in a copied table also left every open shard iterator reading the old shard object, so stream
      consumers saw no record again. A rollback now puts the named items back and drops the stream records
      the transaction added, in place.
    """
    import copy

    from moto.dynamodb import models
    from moto.dynamodb.models.dynamo_type import DynamoType

    if getattr(models.DynamoDBBackend.transact_write_items, "_motolock", False):
        return
    original = models.DynamoDBBackend.transact_write_items

    class _NoTableCopy:
        @staticmethod
        def deepcopy(obj: Any, *args: Any) -> Any:
            return obj if isinstance(obj, models.Table) else copy.deepcopy(obj, *args)

    def _undo_log(self: Any, transact_items: Any) -> tuple[list[tuple[Any, Any, Any, Any]], list[tuple[Any, int]]]:
        undo: list[tuple[Any, Any, Any, Any]] = []
        shards: dict[int, tuple[Any, int]] = {}
        for entry in transact_items if isinstance(transact_items, list) else []:
            op = next(iter(entry.values()), None) if isinstance(entry, dict) else None
            table = self.tables.get(op.get("TableName")) if isinstance(op, dict) else None
            if table is None or not isinstance(op, dict):
                continue
            key = op.get("Key") or op.get("Item") or {}
            hash_key, range_attr = table.hash_key_attr, table.range_key_attr
            if hash_key not in key or (range_attr and range_attr not in key):
                continue  # moto refuses it before writing anything
            h = DynamoType(key[hash_key])
            r = DynamoType(key[range_attr]) if range_attr else None
            undo.append((table, h, r, copy.deepcopy(table.get_item(h, r))))
            if table.stream_shard is not None:
                shards[id(table)] = shards.get(id(table)) or (table.stream_shard, len(table.stream_shard.items))
        return undo, list(shards.values())

    def _roll_back(undo: list[tuple[Any, Any, Any, Any]], shards: list[tuple[Any, int]]) -> None:
        for table, h, r, item in reversed(undo):
            bucket = table.items if r is None else table.items[h]
            slot = h if r is None else r
            if item is None:
                bucket.pop(slot, None)
            else:
                bucket[slot] = item
        for shard, length in shards:
            del shard.items[length:]

    def transact_write_items(self: Any, transact_items: Any) -> Any:
        # Safe to swap the module global: the lock above runs one moto action at a time.
        undo, shards = _undo_log(self, transact_items)
        models.copy = _NoTableCopy  # type: ignore[assignment]
        try:
            return original(self, transact_items)
        except BaseException:
            _roll_back(undo, shards)
            raise
        finally:
            models.copy = copy

    transact_write_items._motolock = True  # type: ignore[attr-defined]
    models.DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]


def _speed_up_queries() -> None:
    """Make moto's Query cost the partition it reads, not the whole table.

    moto answers every Query by listing and sorting every item of the table, then keeping the partition's
    (tickets, deliveries, history and idempotency records all count): a few thousand writes made each
    Query take tens of milliseconds under the one lock, and a `make load` table of 10^5 items seconds.
    The candidates moto looks at are narrowed first, with the same answer: a base-table Query gets its
    partition's items (with a BETWEEN or begins_with range already applied to string sort keys), an
    index Query the items whose index partition key matches. moto still sorts, pages and filters them.
    """
    from moto.dynamodb.models.table import Table

    if getattr(Table.query, "_motolock", False):
        return
    original = Table.query

    def candidates(table: Any, hash_key: Any, comparison: Any, objs: Any, index: Any, conditions: Any) -> Any:
        if index is None:
            bucket = table.items.get(hash_key) if hash_key is not None and table.range_key_attr else None
            if bucket is None:
                return None if hash_key is None or not table.range_key_attr else []
            items = list(bucket.values())
            values = [o.value for o in objs or []]
            if all(isinstance(v, str) for v in values) and objs and all(o.type == "S" for o in objs):
                if comparison == "BETWEEN" and len(values) == 2:
                    lo, hi = values
                    return [i for i in items if i.range_key.type == "S" and lo <= i.range_key.value <= hi]
                if comparison == "BEGINS_WITH" and len(values) == 1:
                    return [i for i in items if i.range_key.type == "S" and i.range_key.value.startswith(values[0])]
            return items
        if not conditions or len(conditions) != 1:
            return None
        name, wanted = conditions[0]
        out = []
        for bucket in table.items.values():
            for item in bucket.values() if table.range_key_attr else [bucket]:
                got = item.attrs.get(name)
                if got is not None and got.type == wanted.type and got.value == wanted.value:
                    out.append(item)
        return out

    def query(self: Any, hash_key: Any, range_comparison: Any, range_objs: Any, *args: Any, **kwargs: Any) -> Any:
        index = args[4] if len(args) > 4 else kwargs.get("index_name")
        narrowed = candidates(self, hash_key, range_comparison, range_objs, index, kwargs.get("hash_key_conditions"))
        if narrowed is None:
            return original(self, hash_key, range_comparison, range_objs, *args, **kwargs)
        self.all_items = lambda: narrowed  # the instance attribute shadows the method for this call only
        try:
            return original(self, hash_key, range_comparison, range_objs, *args, **kwargs)
        finally:
            del self.all_items

    query._motolock = True  # type: ignore[attr-defined]
    query._original = original  # type: ignore[attr-defined]
    Table.query = query  # type: ignore[method-assign]


_TOKENS_KEPT = 10_000


def _idempotent_transactions() -> None:
    """Honour TransactWriteItems' ClientRequestToken, as DynamoDB does (moto ignores it).

    botocore fills the token in by itself and keeps it on its retries, so a retry after a read timeout of a
    transaction that was applied succeeds again on AWS instead of failing its own conditions. Without this,
    a slow moment of the local stack turned a committed create into a 500 and a committed delete into a 404.
    A repeated token with the same items answers success without applying them again (AWS keeps tokens for
    10 minutes; the newest _TOKENS_KEPT are kept here).
    """
    import hashlib
    import json
    from collections import OrderedDict

    from moto.dynamodb.responses import DynamoHandler

    if getattr(DynamoHandler.transact_write_items, "_motolock", False):
        return
    original = DynamoHandler.transact_write_items
    applied: OrderedDict[str, str] = OrderedDict()

    def transact_write_items(self: Any) -> Any:
        token = self.body.get("ClientRequestToken")
        # Binary attributes (the change feed's compressed events) arrive as bytes: hashed as their hex.
        items = json.dumps(self.body.get("TransactItems"), sort_keys=True, default=lambda b: bytes(b).hex())
        digest = hashlib.sha256(items.encode()).hexdigest()
        if token and applied.get(token) == digest:
            from moto.core.responses import ActionResult

            return ActionResult({"ConsumedCapacity": [], "ItemCollectionMetrics": {}})
        result = original(self)
        if token:
            applied[token] = digest
            while len(applied) > _TOKENS_KEPT:
                applied.popitem(last=False)
        return result

    transact_write_items._motolock = True  # type: ignore[attr-defined]
    DynamoHandler.transact_write_items = transact_write_items  # type: ignore[method-assign]
