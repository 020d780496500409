"""Count the DynamoDB calls (and items read) that the handlers make, with botocore event hooks.

with count_calls() as calls:
    ...handler...
calls.operations   # ["GetItem", "TransactWriteItems", ...]
calls.items_read   # sum of ScannedCount over Query calls
calls.queried      # what each Query read: its IndexName, or "table"
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
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
    calls = Calls()

    def before(model: Any, **_: Any) -> None:
        calls.operations.append(model.name)

    def built(model: Any, params: dict[str, Any], **_: Any) -> None:
        if model.name == "Query":
            calls.queried.append(str(params.get("IndexName") or "table"))

    def after(model: Any, parsed: dict[str, Any], **_: Any) -> None:
        if model.name in ("Query", "Scan"):
            calls.items_read += int(parsed.get("ScannedCount", parsed.get("Count", 0)))

    with hooked({"before-call": before, "before-parameter-build": built, "after-call": after}, "ddbcalls"):
        yield calls


@contextmanager
def hooked(handlers: dict[str, Callable[..., None]], tag: str) -> Iterator[None]:
    """`handlers` (botocore event name without its service: "after-call", ...) registered on the handlers' DynamoDB
    client (tickets.dal.client.ddb()) while the block runs, under unique ids that start with `tag`."""
    from tickets.dal.client import ddb

    events = ddb().meta.events
    for name, handler in handlers.items():
        events.register(f"{name}.dynamodb", handler, unique_id=f"{tag}-{name}")
    try:
        yield
    finally:
        for name in handlers:
            events.unregister(f"{name}.dynamodb", unique_id=f"{tag}-{name}")
