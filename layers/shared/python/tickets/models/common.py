"""Building blocks shared by the resource models."""

from __future__ import annotations

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

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False, defer_build=True)


class OutputModel(BaseModel):
    model_config = ConfigDict(defer_build=True)


# Offset paging reads and discards `offset` items (DynamoDB has no OFFSET); past this depth use the cursor.
MAX_OFFSET = 10_000


class PageQuery(InputModel):
    limit: int = Field(default=50, ge=1, le=100)
    offset: int = Field(default=0, ge=0, le=MAX_OFFSET)
    cursor: str | None = Field(default=None, max_length=2048)
