"""The DynamoDB client and (de)serialisation, created once per container."""

from __future__ import annotations

from decimal import Decimal
from functools import cache
from typing import Any

import boto3
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.config import Config

from tickets.config import settings

_ser = TypeSerializer()
_de = TypeDeserializer()


@cache
def ddb() -> Any:
    s = settings()
    return boto3.client(
        "dynamodb",
        region_name=s.region,
        config=Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=2, read_timeout=5),
    )


def table() -> str:
    return settings().table_name


def _to_dynamo(value: Any) -> Any:
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, dict):
        return {k: _to_dynamo(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_to_dynamo(v) for v in value]
    return value


def _from_dynamo(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() and "." not in str(value) else float(value)
    if isinstance(value, dict):
        return {k: _from_dynamo(v) for k, v in value.items()}
    if isinstance(value, list | set):
        return [_from_dynamo(v) for v in value]
    return value


def serialize(item: dict[str, Any]) -> dict[str, Any]:
    return {k: _ser.serialize(_to_dynamo(v)) for k, v in item.items()}


def value(v: Any) -> dict[str, Any]:
    return _ser.serialize(_to_dynamo(v))


def deserialize(item: dict[str, Any]) -> dict[str, Any]:
    return {k: _from_dynamo(_de.deserialize(v)) for k, v in item.items()}


def strip_keys(item: dict[str, Any]) -> dict[str, Any]:
    """Drop storage-only attributes (keys, index keys, entity type) from a deserialised item."""
    return {k: v for k, v in item.items() if k not in _STORAGE_ATTRS}


_STORAGE_ATTRS = frozenset(
    {"PK", "SK", "GSI1PK", "GSI1SK", "GSI2PK", "GSI2SK", "GSI3PK", "GSI3SK", "GSI4PK", "GSI4SK", "type", "tenantId"}
)


def condition_failed_reasons(exc: Exception) -> list[str]:
    """Per-item cancellation reasons of a TransactWriteItems call ('' where that item did not fail)."""
    reasons = getattr(exc, "response", {}).get("CancellationReasons") or []
    return [r.get("Code", "") if r.get("Code") != "None" else "" for r in reasons]
