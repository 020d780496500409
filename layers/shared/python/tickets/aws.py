"""AWS clients, created once per container on first use (botocore directly: see dal/client.py), and what
their errors mean for a retry.

Every client gets a botocore session of its own (sessions are not thread-safe), but they share one data loader: the
service models and endpoint data are read and parsed once per container, not once per client. With SnapStart the
loader is filled before the snapshot and the clients are made again after a restore, with the credentials of the
restored environment (tickets.coldstart).

Retries: botocore's standard mode with `max_attempts: 3`, which botocore counts as retries, so a call is
made at most 4 times (exponential backoff with jitter, up to 1 + 2 + 4 s for throttling) before its error
reaches our code. Connect and read timeouts keep one stuck attempt from eating the Lambda's time.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from tickets import coldstart
from tickets.config import settings

RETRIES = 3  # after the first attempt

# Error codes that mean "too busy now, retry later" (the request was not applied).
THROTTLE_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "Throttling",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "LimitExceededException",
        "TransactionConflictException",  # a single-item write that collided with a transaction
    }
)
# A TransactWriteItems cancelled only for these reasons (per item) was not applied and may simply be retried;
# botocore does not retry TransactionCanceledException itself.
_RETRYABLE_CANCELLATIONS = frozenset({"ThrottlingError", "TransactionConflict", "ProvisionedThroughputExceeded"})


# A `prompt` client makes one attempt, with short timeouts: its caller must know that a call has either finished or
# been abandoned within PROMPT_SECONDS of being sent, and retries by itself (the change feed's writer,
# tickets.logic.feed, takes a new position for each attempt).
PROMPT_CONNECT_TIMEOUT, PROMPT_READ_TIMEOUT = 1, 2
PROMPT_SECONDS = PROMPT_CONNECT_TIMEOUT + PROMPT_READ_TIMEOUT

_loader: list[Any] = []  # botocore's data loader, shared by every session (see the module docstring)


def _session() -> Any:
    import botocore.session

    session = botocore.session.get_session()
    if _loader:
        session.register_component("data_loader", _loader[0])
    else:
        _loader.append(session.get_component("data_loader"))
    return session


@cache
def client(service: str, *, prompt: bool = False) -> Any:
    from botocore.config import Config

    # S3: Signature Version 4 for presigned URLs and POSTs too (botocore would sign some of them with SigV2).
    signing = {"signature_version": "s3v4"} if service == "s3" else {}
    if prompt:
        retries = {"mode": "standard", "total_max_attempts": 1}
        timeouts = {"connect_timeout": PROMPT_CONNECT_TIMEOUT, "read_timeout": PROMPT_READ_TIMEOUT}
    else:
        retries, timeouts = {"mode": "standard", "max_attempts": RETRIES}, {"connect_timeout": 2, "read_timeout": 5}
    return _session().create_client(
        service, region_name=settings().region, config=Config(retries=retries, **timeouts, **signing)
    )


# Connections a push consumer posts to at once (tickets.logic.realtime_push): each needs its own HTTP connection.
PUSH_CONCURRENCY = 32


@cache
def connections_client(endpoint_url: str) -> Any:
    """The WebSocket API's @connections client (apigatewaymanagementapi) at `endpoint_url`: the stage URL on AWS,
    the local stack's endpoint in make dev and tests. Its pool holds a connection per parallel post."""
    from botocore.config import Config

    return _session().create_client(
        "apigatewaymanagementapi",
        region_name=settings().region,
        endpoint_url=endpoint_url,
        config=Config(
            retries={"mode": "standard", "max_attempts": RETRIES},
            connect_timeout=2,
            read_timeout=5,
            max_pool_connections=PUSH_CONCURRENCY,
        ),
    )


@coldstart.on_restore
def _forget_clients() -> None:
    """A restored environment makes its clients again: its own credentials and connections, not the snapshot's."""
    client.cache_clear()
    connections_client.cache_clear()


def throttled(exc: BaseException) -> bool:
    """True for an AWS error that left nothing applied and asks the caller to come back later: throttling,
    and a transaction cancelled only because an item was throttled or another transaction held it."""
    response = getattr(exc, "response", None)
    if not isinstance(response, dict):
        return False
    code = (response.get("Error") or {}).get("Code", "")
    if code in THROTTLE_CODES:
        return True
    if code != "TransactionCanceledException":
        return False
    reasons = {r.get("Code") for r in response.get("CancellationReasons") or []} - {"None", None, ""}
    return bool(reasons) and reasons <= _RETRYABLE_CANCELLATIONS
