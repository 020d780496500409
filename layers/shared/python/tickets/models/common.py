"""Building blocks shared by the resource models."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, TypeAdapter

from tickets.timeutil import iso


def _lower(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


_datetime = TypeAdapter(datetime)


def _to_iso(value: Any) -> str:
    parsed = _datetime.validate_python(value)
    return iso(parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC))


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


# Enum inputs accept any letter case; output is always lowercase.
CaseInsensitive = BeforeValidator(_lower)
# Timestamps in any ISO 8601 form come back as canonical UTC with milliseconds (naive means UTC).
Timestamp = Annotated[str, BeforeValidator(_to_iso), Field(json_schema_extra={"format": "date-time"})]
Text = Annotated[str, AfterValidator(_no_nul)]


class InputModel(BaseModel):
    """Strict input: unknown fields are rejected and named in the error."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, defer_build=True)


# DynamoDB numbers carry at most 38 significant digits and must be finite.
MAX_ABS_NUMBER = 10**38 - 1
METADATA_MAX_BYTES = 8 * 1024


def check_json_object(value: dict[str, Any] | None, max_bytes: int = METADATA_MAX_BYTES) -> dict[str, Any] | None:
    """A free-form JSON object (metadata): bounded size, numbers DynamoDB can store, no NUL in strings."""
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
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, int | float) and not isinstance(item, bool) and abs(item) > MAX_ABS_NUMBER:
            raise ValueError("numbers must have at most 38 digits")
        elif isinstance(item, str) and "\x00" in item:
            raise ValueError("strings must not contain NUL characters")
    return value


class OutputModel(BaseModel):
    model_config = ConfigDict(defer_build=True)


# Offset paging reads and discards `offset` items (DynamoDB has no OFFSET); past this depth use the cursor.
MAX_OFFSET = 10_000


class PageQuery(InputModel):
    limit: int = Field(default=50, ge=1, le=100)
    offset: int = Field(default=0, ge=0, le=MAX_OFFSET)
    cursor: str | None = Field(default=None, max_length=2048)
