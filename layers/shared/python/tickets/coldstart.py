"""What a Lambda container does once: the garbage collector waits until the first invocation has been answered.

A cold start allocates hundreds of thousands of objects (pydantic, Powertools, botocore's models), and the cyclic
garbage collector walks them again and again while they are being made: about 8% of our first request, three times
what it costs the floor of issue 16 (bench/cold.py). Nearly all of them live as long as the container. So in Lambda
the collector is switched off when this package is first imported, and after the first invocation everything made so
far is frozen (`gc.freeze()`: never walked again, which also keeps later collections short) and the collector is
switched back on. Cyclic garbage made before that point (a few exceptions, the first request's temporaries) is never
freed: a bounded, one-time amount.

Outside Lambda (tests, tools, `make dev`: no AWS_LAMBDA_FUNCTION_NAME) nothing changes.
"""

from __future__ import annotations

import gc
import os

_deferred = False


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
