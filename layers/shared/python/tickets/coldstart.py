"""What a Lambda container does once: the cold start's garbage collection, and SnapStart's runtime hooks.

**Garbage collection.** A cold start allocates hundreds of thousands of objects (pydantic, Powertools, botocore's
models), and the cyclic garbage collector walks them again and again while they are being made: about 8% of our first
request, three times what it costs the floor of issue 16 (bench/cold.py). Nearly all of them live as long as the
container. So in Lambda the collector is switched off when this package is first imported, and after the first
invocation everything made so far is frozen (`gc.freeze()`: never walked again, which also keeps later collections
short) and the collector is switched back on. Cyclic garbage made before that point (a few exceptions, the first
request's temporaries) is never freed: a bounded, one-time amount. Outside Lambda (tests, tools, `make dev`: no
AWS_LAMBDA_FUNCTION_NAME) nothing changes.

**SnapStart** (template parameter SnapStart=On; README, Performance). Lambda initialises a published version once,
snapshots the memory, and starts every new environment from that snapshot. So:
- before the snapshot, work that every first request would repeat is done once (`on_snapshot` hooks: the botocore
  models are loaded, the route's pydantic models built);
- after each restore, whatever must differ between environments is renewed (`on_restore` hooks): the global random
  generator is re-seeded, the id generator forgets its last id, AWS clients are made again (the restored
  environment's credentials and connections), caches whose expiry reads the clock are emptied.
The hooks are registered with Lambda's runtime (its `snapshot_restore_py` module) only when Lambda says the
environment is a SnapStart one (AWS_LAMBDA_INITIALIZATION_TYPE=snap-start); anywhere else they are plain functions,
which the tests call.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Callable
from typing import Any

_deferred = False
_before_snapshot: list[Callable[[], object]] = []
_after_restore: list[Callable[[], object]] = []


def defer_gc() -> None:
    """In Lambda, hold the garbage collector until `first_invocation_done()` (called on importing `tickets`)."""
    global _deferred
    if os.environ.get("AWS_LAMBDA_FUNCTION_NAME") and gc.isenabled() and not _deferred:
        gc.disable()
        _deferred = True


def first_invocation_done() -> None:
    """Freeze what the cold start made and switch the collector back on; every handler factory calls this after each
    invocation (only the first one does anything)."""
    global _deferred
    if _deferred:
        _deferred = False
        gc.freeze()
        gc.enable()


def on_snapshot[F: Callable[[], object]](func: F) -> F:
    """Run `func` once before Lambda takes the SnapStart snapshot (work every first request would otherwise repeat)."""
    _before_snapshot.append(func)
    return func


def on_restore[F: Callable[[], object]](func: F) -> F:
    """Run `func` in every environment Lambda restores from the snapshot: forget what must not be shared between
    environments (clients and their credentials, caches that expire by the clock, random state)."""
    _after_restore.append(func)
    return func


def before_snapshot() -> None:
    for func in _before_snapshot:
        func()
    _build_models()
    gc.collect()  # a smaller snapshot: the garbage of initialisation is not restored into every environment
    gc.freeze()


def after_restore() -> None:
    import random

    random.seed()  # from os.urandom: the generator's state is in the snapshot, every environment would draw alike
    for func in _after_restore:
        func()


def _build_models() -> None:
    """Build the pydantic models the function has imported (ours are `defer_build`: built on first use otherwise)."""
    from pydantic import BaseModel

    seen: set[type[BaseModel]] = set()
    pending: list[type[BaseModel]] = [BaseModel]
    while pending:
        sub: type[BaseModel]
        for sub in pending.pop().__subclasses__():
            if sub not in seen:
                seen.add(sub)
                pending.append(sub)
    for model in seen:
        if model.__module__.startswith("tickets.") and not getattr(model, "__pydantic_generic_metadata__", {}).get(
            "parameters"
        ):
            model.model_rebuild()


def register_snapstart_hooks() -> None:
    """Hand `before_snapshot` and `after_restore` to Lambda's runtime, in a SnapStart environment only."""
    if os.environ.get("AWS_LAMBDA_INITIALIZATION_TYPE") != "snap-start":
        return
    try:
        import snapshot_restore_py  # in Lambda's Python runtimes (3.12+)
    except ImportError:
        return
    hooks: Any = snapshot_restore_py
    hooks.register_before_snapshot(before_snapshot)
    hooks.register_after_restore(after_restore)
