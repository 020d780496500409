"""Capacity units DynamoDB would bill for the calls the handlers make, worked out from the real items.

moto does not bill, so this meter watches the handlers' client (tickets.dal.client.ddb()) with botocore event
hooks and, around every call, reads the items that call touches through another client (whose reads are not
watched): their size before and after each write, and every GetItem, BatchGetItem and Query result. The billing
rules applied are DynamoDB's on-demand ones:

- a write costs 1 WRU per KB of the larger of the item before and after it; inside TransactWriteItems each item
  costs twice that (a ConditionCheck too, by the size of the item it checks);
- each global secondary index of template.yaml whose entry changes costs 1 WRU per KB of its projected entry: a
  new entry is a put, a removed one a delete, a changed index key a delete plus a put, and a change of a projected
  attribute a rewrite (by the larger of old and new); an index whose entry does not change costs nothing. Index
  writes are not doubled by a transaction;
- a read costs 1 RRU per 4 KB when strongly consistent, half when eventually consistent: a GetItem and each item
  of a BatchGetItem round up on their own (a missing item costs the minimum), a Query rounds up the sum of the
  entries it read (an index's projected entries; a ProjectionExpression saves nothing).

    with meter(reader) as m:
        ...handler...
    m.wru, m.rru, m.lines
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from tools import template
from tools.ddbcalls import hooked

KEY_ATTRS = ("PK", "SK")


def av_size(av: dict[str, Any]) -> int:
    """Size of one AttributeValue, per the DynamoDB item size rules."""
    ((kind, v),) = av.items()
    if kind == "S":
        return len(v.encode())
    if kind == "N":
        digits = v.lstrip("-").replace(".", "").split("e")[0].split("E")[0].strip("0") or "0"
        return math.ceil(len(digits) / 2) + 1
    if kind == "B":
        return len(v)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "L":
        return 3 + sum(1 + av_size(x) for x in v)
    if kind == "M":
        return 3 + sum(1 + len(k.encode()) + av_size(x) for k, x in v.items())
    if kind == "SS":
        return sum(len(x.encode()) for x in v)
    if kind == "NS":
        return sum(av_size({"N": x}) for x in v)
    if kind == "BS":
        return sum(len(x) for x in v)
    raise ValueError(kind)


def item_size(item: dict[str, Any] | None) -> int:
    return sum(len(name.encode()) + av_size(v) for name, v in (item or {}).items())


def wru(size: int) -> int:
    return max(1, math.ceil(size / 1024))


def rru(size: int, *, consistent: bool) -> float:
    units = max(1, math.ceil(size / 4096))
    return float(units) if consistent else units / 2


@dataclass(frozen=True)
class Index:
    name: str
    hash_key: str
    range_key: str | None  # None: a hash-only index (REF)
    projection: str  # ALL, KEYS_ONLY or INCLUDE
    include: tuple[str, ...] = ()

    def entry(self, item: dict[str, Any] | None) -> dict[str, Any] | None:
        """The item's entry in this index as DynamoDB stores it, or None (sparse: a key attribute is missing)."""
        if not item or any(k not in item for k in self.key_attrs):
            return None
        if self.projection == "ALL":
            return item
        names = {*KEY_ATTRS, *self.key_attrs, *self.include}
        return {k: v for k, v in item.items() if k in names}

    @property
    def key_attrs(self) -> tuple[str, ...]:
        return (self.hash_key, self.range_key) if self.range_key else (self.hash_key,)

    def write_units(self, old: dict[str, Any] | None, new: dict[str, Any] | None) -> tuple[int, str]:
        """WRU of this index for one base item going from `old` to `new`, and what they pay for."""
        before, after = self.entry(old), self.entry(new)
        if before is None and after is None:
            return 0, ""
        if before is None:
            return wru(item_size(after)), "put"
        if after is None:
            return wru(item_size(before)), "delete"
        if any(before[k] != after[k] for k in self.key_attrs):
            return wru(item_size(before)) + wru(item_size(after)), "key change: delete + put"
        if before != after:
            return wru(max(item_size(before), item_size(after))), "rewrite"
        return 0, ""


def indexes(overrides: dict[str, tuple[str, tuple[str, ...]]] | None = None) -> dict[str, Index]:
    """The table's GSIs from template.yaml; `overrides` {name: (projection, include)} models another projection."""
    out = {}
    for gsi in template.table_definition().get("GlobalSecondaryIndexes", []):
        schema = {k["KeyType"]: k["AttributeName"] for k in gsi["KeySchema"]}
        projection = gsi["Projection"]
        kind, include = projection["ProjectionType"], tuple(projection.get("NonKeyAttributes", ()))
        kind, include = (overrides or {}).get(gsi["IndexName"], (kind, include))
        out[gsi["IndexName"]] = Index(gsi["IndexName"], schema["HASH"], schema.get("RANGE"), kind, include)
    return out


@dataclass
class Write:
    """One item written by one call: its state before and after, and whether a transaction wrote it."""

    operation: str
    key: dict[str, Any]
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    transactional: bool
    check_only: bool = False


@dataclass
class Meter:
    reader: Any  # a DynamoDB client the handlers do not use
    table: str
    index_defs: dict[str, Index]
    rru: float = 0.0
    read_lines: list[str] = field(default_factory=list)
    writes: list[Write] = field(default_factory=list)
    _pending: list[Write] = field(default_factory=list)

    def get(self, key: dict[str, Any]) -> dict[str, Any] | None:
        resp = self.reader.get_item(TableName=self.table, Key={k: key[k] for k in KEY_ATTRS}, ConsistentRead=True)
        return resp.get("Item")

    def label(self, item: dict[str, Any] | None, key: dict[str, Any] | None = None) -> str:
        sk = str(((item or key or {}).get("SK") or {}).get("S", "?"))
        return sk.split("#", 1)[0] or sk

    # ---------------------------------------------------------------- writes

    def wru_of(self, w: Write, index_defs: dict[str, Index] | None = None) -> tuple[int, list[str]]:
        """`index_defs`: bill the same write as if the table had these indexes (a projection not chosen)."""
        size = max(item_size(w.before), item_size(w.after))
        factor = 2 if w.transactional else 1
        base = factor * wru(size)
        what = "check" if w.check_only else w.operation
        lines = [f"{what} {self.label(w.before or w.after, w.key)} ({size} B) {base}"]
        total = base
        if not w.check_only:
            for index in (index_defs or self.index_defs).values():
                units, how = index.write_units(w.before, w.after)
                if units:
                    lines.append(f"{index.name} {how} {units}")
                    total += units
        return total, lines

    @property
    def wru(self) -> int:
        return sum(self.wru_of(w)[0] for w in self.writes)

    def wru_with(self, index_defs: dict[str, Index]) -> int:
        return sum(self.wru_of(w, index_defs)[0] for w in self.writes)

    @property
    def write_lines(self) -> list[str]:
        return [line for w in self.writes for line in self.wru_of(w)[1]]

    def before_call(self, name: str, params: dict[str, Any]) -> None:
        self._pending = []
        if name in ("PutItem", "UpdateItem", "DeleteItem"):
            key = params.get("Key") or params["Item"]
            self._pending.append(Write(name, key, self.get(key), None, False))
        elif name == "TransactWriteItems":
            for entry in params["TransactItems"]:
                ((kind, body),) = entry.items()
                key = body.get("Key") or body["Item"]
                self._pending.append(Write(kind, key, self.get(key), None, True, kind == "ConditionCheck"))
        elif name == "BatchWriteItem":
            for requests in params["RequestItems"].values():
                for r in requests:
                    ((kind, body),) = r.items()
                    key = body.get("Key") or body["Item"]
                    self._pending.append(Write(kind, key, self.get(key), None, False))

    def after_call(self, name: str, params: dict[str, Any], parsed: dict[str, Any]) -> None:
        if "Error" in parsed:  # a refused write still costs; none of the measured requests makes one
            self._pending = []
            return
        for w in self._pending:
            w.after = w.before if w.check_only else self.get(w.key)
            self.writes.append(w)
        self._pending = []
        consistent = bool(params.get("ConsistentRead"))
        if name == "GetItem":
            item = parsed.get("Item")
            self._read(rru(item_size(self.get(item) if item else None), consistent=consistent), name, item)
        elif name == "BatchGetItem":
            for request in params["RequestItems"].values():
                strong = bool(request.get("ConsistentRead"))
                for key in request["Keys"]:
                    item = self.get(key)
                    self._read(rru(item_size(item), consistent=strong), name, item, key)
        elif name == "Query":
            index = self.index_defs.get(params.get("IndexName") or "")
            entries = [self.get(i) for i in parsed.get("Items", [])]
            size = sum(item_size(index.entry(e) if index else e) for e in entries)
            units = rru(size, consistent=consistent)
            self.rru += units
            self.read_lines.append(
                f"Query {params.get('IndexName') or 'table'} {len(entries)} items {size} B {units:g}"
            )

    def _read(self, units: float, name: str, item: dict[str, Any] | None, key: dict[str, Any] | None = None) -> None:
        self.rru += units
        self.read_lines.append(f"{name} {self.label(item, key)} ({item_size(item)} B) {units:g}")

    @property
    def lines(self) -> list[str]:
        return [*self.read_lines, *self.write_lines]


@contextmanager
def meter(reader: Any, table: str, index_defs: dict[str, Index] | None = None) -> Iterator[Meter]:
    """Bill the calls the handlers make through tickets.dal.client.ddb() while the block runs."""
    m = Meter(reader, table, index_defs or indexes())
    last: dict[str, Any] = {}

    def before(model: Any, params: dict[str, Any], **_: Any) -> None:
        last["params"] = params
        m.before_call(model.name, params)

    def after(model: Any, parsed: dict[str, Any], **_: Any) -> None:
        m.after_call(model.name, last.get("params") or {}, parsed)

    with hooked({"before-parameter-build": before, "after-call": after}, "capacity"):
        yield m
