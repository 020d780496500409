"""Domain exceptions. Logic raises these; `tickets.api.problems` is the one place that maps them to HTTP."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str


@dataclass
class DomainError(Exception):
    detail: str = ""
    errors: list[FieldError] = field(default_factory=list)

    status = 500
    code = "INTERNAL"
    title = "Internal error"

    def __post_init__(self) -> None:
        super().__init__(self.detail or self.title)


class ValidationFailed(DomainError):
    status, code, title = 400, "VALIDATION_ERROR", "Validation failed"

    @classmethod
    def of(cls, field: str, message: str) -> ValidationFailed:
        """One field at fault: detail "<field>: <message>" and that one field error."""
        return cls(f"{field}: {message}", [FieldError(field, message)])


class InvalidJson(DomainError):
    status, code, title = 400, "INVALID_JSON", "Malformed JSON body"


class InvalidCustomer(DomainError):
    status, code, title = 400, "INVALID_CUSTOMER", "Unknown customer"


class InvalidAssignee(DomainError):
    status, code, title = 400, "INVALID_ASSIGNEE", "Unknown assignee"


class InvalidParent(DomainError):
    status, code, title = 400, "INVALID_PARENT", "Unknown parent ticket"


class InvalidBusinessHours(DomainError):
    status, code, title = 400, "INVALID_BUSINESS_HOURS", "Unknown business hours"


class InvalidGroup(DomainError):
    status, code, title = 400, "INVALID_GROUP", "Unknown group"


class InvalidTag(DomainError):
    status, code, title = 400, "INVALID_TAG", "Unknown tag"


class InvalidAttachment(DomainError):
    status, code, title = 400, "INVALID_ATTACHMENT", "Attachment not usable"


class Unauthorized(DomainError):
    status, code, title = 401, "UNAUTHORIZED", "Unauthorized"


class InsufficientScope(DomainError):
    status, code, title = 403, "INSUFFICIENT_SCOPE", "Insufficient scope"


class Forbidden(DomainError):
    status, code, title = 403, "FORBIDDEN", "Forbidden"


class PlanLimitReached(DomainError):
    status, code, title = 403, "PLAN_LIMIT_REACHED", "Plan limit reached"


class NotFound(DomainError):
    status, code, title = 404, "NOT_FOUND", "Not found"


class CustomerNotFound(DomainError):
    status, code, title = 404, "CUSTOMER_NOT_FOUND", "Customer not found"


class Conflict(DomainError):
    status, code, title = 409, "CONFLICT", "Conflict"


class TicketClosed(DomainError):
    status, code, title = 409, "TICKET_CLOSED", "Ticket is closed"


class IdempotencyInProgress(DomainError):
    status, code, title = 409, "IDEMPOTENCY_IN_PROGRESS", "Request with this Idempotency-Key is in progress"


class PreconditionFailed(DomainError):
    status, code, title = 412, "PRECONDITION_FAILED", "Precondition failed"


class PayloadTooLarge(DomainError):
    status, code, title = 413, "PAYLOAD_TOO_LARGE", "Payload too large"


class UnsupportedMediaType(DomainError):
    status, code, title = 415, "UNSUPPORTED_MEDIA_TYPE", "Unsupported media type"


class IdempotencyKeyReused(DomainError):
    status, code, title = 422, "IDEMPOTENCY_KEY_REUSED", "Idempotency-Key reused with a different request"


class ServiceUnavailable(DomainError):
    status, code, title = 503, "SERVICE_UNAVAILABLE", "Service temporarily unavailable"
