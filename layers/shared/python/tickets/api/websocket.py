"""The Lambda entry point of a WebSocket API route ($connect, $disconnect, $default): API Gateway's WebSocket
events (requestContext.routeKey, connectionId, eventType) in, `{"statusCode", "body"?}` out.

On $connect a status other than 2xx refuses the upgrade with that status (a domain error: its own status, e.g.
401 for a bad token); on a two-way route ($default) API Gateway sends `body` to the client as a message.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger

from tickets import coldstart, metrics
from tickets.api import problems
from tickets.errors import DomainError

logger = Logger()

Answer = Callable[[dict[str, Any]], dict[str, Any]]


def connection_id(event: dict[str, Any]) -> str:
    return str((event.get("requestContext") or {})["connectionId"])


def websocket_handler(answer: Answer) -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    """`answer(event)` as a handler: observability, domain errors as their status, anything else a logged 500."""

    # log_event=False: a $connect event carries the token in its query string.
    @logger.inject_lambda_context(correlation_id_path="requestContext.requestId", clear_state=True, log_event=False)
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        context_ = event.get("requestContext") or {}
        logger.append_keys(connection_id=context_.get("connectionId"), route=context_.get("routeKey"))
        try:
            return answer(event)
        except DomainError as exc:
            status, body = problems.from_domain(exc, context_.get("requestId"))
            logger.info("refused", extra={"status": status, "code": exc.code})
            return {"statusCode": status, "headers": {"Content-Type": problems.PROBLEM_JSON}, "body": body}
        except Exception:
            logger.exception("unhandled error")
            return message({"type": "error", "code": "INTERNAL", "message": "unexpected error"}, 500)
        finally:
            metrics.flush()
            coldstart.first_invocation_done()

    return handler


def message(body: dict[str, Any], status: int = 200) -> dict[str, Any]:
    """A two-way route's answer: `body` goes to the client as one text message."""
    return {"statusCode": status, "body": json.dumps(body, separators=(",", ":"))}
