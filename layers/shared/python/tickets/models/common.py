"""Building blocks shared by the resource models."""

from __future__ import annotations

import json
import math
import re
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from tickets.timeutil import iso


def _lower(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


_datetime = TypeAdapter(datetime)
# A date and a time at least: pydantic alone would also read "0.5" or 12345 as Unix time and "2026-01-01" as
# midnight, none of which is the date-time the OpenAPI document promises.
_DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}")


def _to_iso(value: Any) -> str:
    if not isinstance(value, datetime) and not (isinstance(value, str) and _DATE_TIME.match(value)):
        raise ValueError("must be an ISO 8601 date-time, e.g. 2026-04-25T10:00:00Z")
    parsed = _datetime.validate_python(value)
    try:
        return iso(parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC))
    except OverflowError:  # e.g. 0001-01-01T00:00:00+01:00 is before year 1 in UTC
        raise ValueError("timestamp out of range (years 1 to 9999 in UTC)") from None


def text_problem(value: str) -> str | None:
    """Why a string cannot be stored as text (None if it can): a NUL, or a lone UTF-16 surrogate.

    JSON's "\\ud800" escape decodes to a lone surrogate, which is not valid UTF-8: DynamoDB (and any JSON
    encoder that writes UTF-8) would fail on it, so it is refused at the edge instead of becoming a 500.
    """
    if "\x00" in value:
        return "must not contain NUL characters"
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return "must be valid Unicode (no unpaired surrogates)"
    return None


def _clean_text(value: Any) -> Any:
    # Before pydantic's own str validation: a lone surrogate there raises UnicodeEncodeError, not a 400.
    if isinstance(value, str) and (problem := text_problem(value)):
        raise ValueError(problem)
    return value


def to_iso(value: Any) -> str:
    """A timestamp in any ISO 8601 form as canonical UTC with milliseconds (ValueError when it is none)."""
    return _to_iso(value)


# Enum inputs accept any letter case; output is always lowercase.
CaseInsensitive = BeforeValidator(_lower)
# Timestamps in any ISO 8601 form come back as canonical UTC with milliseconds (naive means UTC).
Timestamp = Annotated[str, BeforeValidator(_to_iso), Field(json_schema_extra={"format": "date-time"})]
# A timestamp the API writes (always canonical already): documented as a date-time, not validated again.
DateTime = Annotated[str, Field(json_schema_extra={"format": "date-time"})]
Text = Annotated[str, BeforeValidator(_clean_text)]
# No whitespace or control character around one "@". Spelled out so that Python, pydantic's Rust regex and
# JSON Schema (ECMA 262) agree: their `\s` differ on U+001C-U+001F, U+0085 and U+FEFF.
EMAIL_PATTERN = r"^[^@\s\x00-\x1f\x7f-\x9f\ufeff]+@[^@\s\x00-\x1f\x7f-\x9f\ufeff]+$"
# The pattern goes before the validator: after it (Annotated[Text, Field(pattern=...)]) pydantic still
# enforces it but leaves it out of the JSON schema, so the OpenAPI document would not show it.
Email = Annotated[str, Field(min_length=3, max_length=320, pattern=EMAIL_PATTERN), BeforeValidator(_clean_text)]


def field_error(field: str, message: str, value: Any = None) -> ValidationError:
    """A validation error that names `field`, for model validators (whose own errors name only the body)."""
    return ValidationError.from_exception_data(
        "input", [InitErrorDetails(type=PydanticCustomError("value_error", message), loc=(field,), input=value)]
    )


def refuse_nulls(model: BaseModel, names: tuple[str, ...]) -> None:
    """A PATCH may clear nullable fields with `null`; these fields it may only set."""
    for name in names:
        if name in model.model_fields_set and getattr(model, name) is None:
            raise field_error(name, "cannot be null")


class InputModel(BaseModel):
    """Strict input: unknown fields are rejected and named in the error."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, defer_build=True)


# DynamoDB numbers carry at most 38 significant digits, must be finite, and a non-zero one must be at least
# 1e-130 in magnitude (smaller ones underflow: a ValidationException, that is a 500, on AWS).
MAX_ABS_NUMBER = 10**38 - 1
MIN_ABS_NUMBER = 1e-130
METADATA_MAX_BYTES = 8 * 1024


def number_problem(value: Any) -> str | None:
    """Why a JSON number cannot be stored in DynamoDB (None if it can, or if it is not a number)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return "numbers must be finite"
    if abs(value) > MAX_ABS_NUMBER:
        return "numbers must have at most 38 digits"
    if isinstance(value, float) and value and abs(value) < MIN_ABS_NUMBER:
        return f"non-zero numbers must be at least {MIN_ABS_NUMBER} in magnitude"
    return None


def _storable_number(value: Any) -> Any:
    if problem := number_problem(value):
        raise ValueError(problem)
    return value


INT64 = (-(2**63), 2**63 - 1)


def _scalar(value: Any) -> Any:
    # Before a union of int | float: an integer too big for int64 must not silently become a float.
    if isinstance(value, int) and not isinstance(value, bool) and not INT64[0] <= value <= INT64[1]:
        raise ValueError("integers must fit in 64 bits")
    return _storable_number(value)


# A JSON scalar (custom field value): integers within int64, numbers DynamoDB can store.
Scalar = BeforeValidator(_scalar)


def check_json_object(value: dict[str, Any] | None, max_bytes: int = METADATA_MAX_BYTES) -> dict[str, Any] | None:
    """A free-form JSON object (metadata): bounded size, numbers DynamoDB can store, strings that are text."""
    if value is None:
        return None
    try:
        size = len(json.dumps(value, separators=(",", ":"), allow_nan=False))
    except ValueError:
        raise ValueError("numbers must be finite") from None
    if size > max_bytes:
        raise ValueError(f"must be at most {max_bytes // 1024} KB serialised")
    stack: list[Any] = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if "" in item:
                # Stored by DynamoDB's emulator but read back mangled (moto), and not something a client
                # can address anyway: object keys are names.
                raise ValueError("object keys must not be empty")
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif problem := number_problem(item):
            raise ValueError(problem)
        elif isinstance(item, str) and (problem := text_problem(item)):
            raise ValueError(f"strings {problem}")
    return value


class OutputModel(BaseModel):
    model_config = ConfigDict(defer_build=True)


class Page[ItemT](OutputModel):
    """A list envelope. Subclassed per resource (`class TicketPage(Page[Ticket])`), which names its schema."""

    data: list[ItemT]
    total: int = Field(
        description="Exact when `totalExact` is true (kept by counters, or the whole list was read); otherwise the "
        "matches seen so far, a lower bound"
    )
    totalExact: bool
    limit: int
    offset: int
    nextCursor: str | None = Field(
        default=None,
        description="Where the next page starts; null at the end. A page may be short (even empty) and still have "
        "one: a list request reads at most a fixed budget of items",
    )


# The most items one list request reads, whatever the tenant's size and filters (logic/paging.py): a page that cannot
# fill within it comes back short, with a nextCursor that resumes where the reading stopped.
LIST_ITEM_BUDGET = 1000
# Offset paging reads and discards `offset` items (DynamoDB has no OFFSET): offset + limit must fit the budget (400 on
# `offset` otherwise); past it, page with the cursor.
MAX_OFFSET = LIST_ITEM_BUDGET - 1


_INTEGER = re.compile(r"-?[0-9]+")


def _no_default(schema: dict[str, Any]) -> None:
    schema.pop("default", None)


def whole_number(value: Any) -> Any:
    """A count in a query string is digits only (pydantic alone would read "1.0" as 1)."""
    if isinstance(value, str) and not _INTEGER.fullmatch(value):
        raise ValueError("must be a whole number")
    return value


class PageQuery(InputModel):
    limit: int = Field(default=50, ge=1, le=100)
    # No default in the OpenAPI document (absent means 0): a generated SDK that sends every parameter's default
    # would otherwise send offset=0 beside every cursor. offset=0 with a cursor is accepted for the same reason.
    offset: int = Field(
        default=0, ge=0, le=MAX_OFFSET,
        description=f"Items to skip (absent: 0); offset + limit at most {LIST_ITEM_BUDGET}. Not with a cursor but 0.",
        json_schema_extra=_no_default,
    )  # fmt: skip
    cursor: str | None = Field(default=None, max_length=2048)

    _whole_number = field_validator("limit", "offset", mode="before")(whole_number)

    @field_validator("cursor")
    @classmethod
    def _cursor_without_offset(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is not None and info.data.get("offset"):
            raise ValueError("a cursor continues where its page ended: use it without an offset (or with offset=0)")
        return value

    @model_validator(mode="after")
    def _offset_within_budget(self) -> Any:
        if self.offset + self.limit > LIST_ITEM_BUDGET:
            message = f"offset + limit must be at most {LIST_ITEM_BUDGET} (the list budget); page on with nextCursor"
            raise field_error("offset", message, self.offset)
        return self
