"""Count the DynamoDB calls (and items read) that the handlers make, with botocore event hooks.

with count_calls() as calls:
    ...handler...
calls.operations   # ["GetItem", "TransactWriteItems", ...]
calls.items_read   # sum of ScannedCount over Query calls
calls.queried      # what each Query read: its IndexName, or "table"
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Calls:
    operations: list[str] = field(default_factory=list)
    items_read: int = 0
    queried: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.operations)


@contextmanager
def count_calls() -> Iterator[Calls]:
    """Record every DynamoDB call made through the handlers' client (tickets.dal.client.ddb())."""
    from tickets.dal.client import ddb

    calls = Calls()

    def before(model: Any, **_: Any) -> None:
        calls.operations.append(model.name)

    def built(model: Any, params: dict[str, Any], **_: Any) -> None:
        if model.name == "Query":
            calls.queried.append(str(params.get("IndexName") or "table"))

    def after(model: Any, parsed: dict[str, Any], **_: Any) -> None:
        if model.name in ("Query", "Scan"):
            calls.items_read += int(parsed.get("ScannedCount", parsed.get("Count", 0)))

    events = ddb().meta.events
    events.register("before-call.dynamodb", before, unique_id="ddbcalls-before")
    events.register("before-parameter-build.dynamodb", built, unique_id="ddbcalls-built")
    events.register("after-call.dynamodb", after, unique_id="ddbcalls-after")
    try:
        yield calls
    finally:
        events.unregister("before-call.dynamodb", unique_id="ddbcalls-before")
        events.unregister("before-parameter-build.dynamodb", unique_id="ddbcalls-built")
        events.unregister("after-call.dynamodb", unique_id="ddbcalls-after")
