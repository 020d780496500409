"""End to end: hostile bytes over real HTTP, through the local gateway, are 4xx problems that write nothing.

tests/integration/test_hostile_input.py probes every route in-process; this module sends what only a socket
can: bytes that are not UTF-8 (the gateway hands them over base64-encoded, as API Gateway does), bodies over
256 KB, 10,000 levels of nesting and repeated query parameters in the raw query string.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest

from tests.e2e.conftest import Response, Stack, Tenant, assert_problem

JSON_CT = {"Content-Type": "application/json"}


@pytest.fixture(scope="module")
def tenant(make_tenant: Any) -> Tenant:
    return make_tenant("HST")


@pytest.fixture(scope="module")
def table_items(stack: Stack) -> Iterator[Callable[[], list[str]]]:
    """Every item of the stack's table, comparable: 'writes nothing' means this does not change."""
    client = boto3.client(
        "dynamodb",
        endpoint_url=stack.aws_endpoint_url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )

    def scan() -> list[str]:
        out, kwargs = [], {"TableName": stack.table_name}
        while True:
            page = client.scan(**kwargs)
            out += [json.dumps(i, sort_keys=True) for i in page["Items"] if not _by_a_consumer(i)]
            if "LastEvaluatedKey" not in page:
                return sorted(out)
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    yield scan


# What the stack's stream and queue consumers write, in their own time, after the earlier writes of a test: a
# refused request must write nothing itself, and these can land at any moment, so they are not compared.
CONSUMER_TYPES = frozenset({"history", "delivery", "deliveryattempt", "connection", "feedEvent", "feedMarker"})


def _by_a_consumer(item: dict[str, Any]) -> bool:
    return item.get("type", {}).get("S") in CONSUMER_TYPES or item["PK"]["S"].startswith("IDEMPOTENCY#")


def _settled(scan: Callable[[], list[str]], timeout: float = 10.0) -> list[str]:
    """The table once the stream consumers are done with earlier (legitimate) writes: two equal scans in a row."""
    deadline = time.monotonic() + timeout
    last = scan()
    while time.monotonic() < deadline:
        time.sleep(0.3)
        now = scan()
        if now == last:
            return now
        last = now
    return last


def refused(
    stack: Stack, scan: Callable[[], list[str]], status: int, code: str, method: str, path: str, **kwargs: Any
) -> dict[str, Any]:
    before = _settled(scan)
    resp: Response = stack.request(method, path, **kwargs)
    assert scan() == before, f"{method} {path} wrote to the table"
    return assert_problem(resp, status, code)


@pytest.mark.parametrize(
    ("raw", "what"),
    [
        (b'{"subject": "\xff\xfe broken"}', "invalid UTF-8"),
        (b'{"subject": "\xed\xa0\x80"}', "a UTF-8-encoded surrogate (CESU-8)"),
        ('{"subject": "x"}'.encode("utf-16"), "UTF-16"),
        (b'{"subject": "a\x00b"}', "a raw NUL inside a string"),
        (b'{"subject": ', "truncated JSON"),
    ],
)
def test_given_bytes_that_are_not_utf8_json_when_posted_then_400_invalid_json(
    stack: Stack, tenant: Tenant, table_items: Callable[[], list[str]], raw: bytes, what: str
) -> None:
    refused(
        stack, table_items, 400, "INVALID_JSON", "POST", "/v1/tickets", key=tenant.key, raw_body=raw, headers=JSON_CT
    )


@pytest.mark.parametrize(
    "raw",
    [
        b'{"subject": "' + b"x" * 300 * 1024 + b'"}',  # text
        b'{"subject": "' + "\u20ac".encode() * 100 * 1024 + b'"}',  # 100 K characters, 300 KB
        b"\xff" * 300 * 1024,  # not UTF-8: base64 in the event
    ],
    ids=["ascii", "multibyte", "binary"],
)
def test_given_a_300_kb_body_when_posted_then_413_whatever_its_encoding(
    stack: Stack, tenant: Tenant, table_items: Callable[[], list[str]], raw: bytes
) -> None:
    refused(
        stack, table_items, 413, "PAYLOAD_TOO_LARGE", "POST", "/v1/tickets", key=tenant.key, raw_body=raw,
        headers=JSON_CT,
    )  # fmt: skip


@pytest.mark.parametrize(
    "raw",
    [b"[" * 10_000 + b"]" * 10_000, b'{"a":' * 10_000 + b"1" + b"}" * 10_000, b'{"metadata": ' + b"[" * 10_000],
    ids=["arrays", "objects", "unclosed"],
)
def test_given_json_nested_10000_levels_when_posted_then_400_naming_the_body_not_a_500(
    stack: Stack, tenant: Tenant, table_items: Callable[[], list[str]], raw: bytes
) -> None:
    problem = refused(
        stack, table_items, 400, "VALIDATION_ERROR", "POST", "/v1/tickets", key=tenant.key, raw_body=raw,
        headers=JSON_CT,
    )  # fmt: skip
    assert [e["field"] for e in problem["errors"]] == ["body"], problem


def test_given_a_lone_surrogate_escape_in_a_field_then_400_naming_the_field(
    stack: Stack, tenant: Tenant, table_items: Callable[[], list[str]]
) -> None:
    raw = b'{"subject": "ok", "tags": ["fine", "bad\\ud800"]}'
    problem = refused(
        stack, table_items, 400, "VALIDATION_ERROR", "POST", "/v1/tickets", key=tenant.key, raw_body=raw,
        headers=JSON_CT,
    )  # fmt: skip
    assert [e["field"] for e in problem["errors"]] == ["tags.1"], problem


def test_given_a_form_content_type_then_415_and_a_utf8_charset_is_fine(
    stack: Stack, tenant: Tenant, table_items: Callable[[], list[str]]
) -> None:
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    refused(stack, table_items, 415, "UNSUPPORTED_MEDIA_TYPE", "POST", "/v1/tickets", key=tenant.key,
            raw_body=b"subject=x", headers=form)  # fmt: skip
    ok = stack.request(
        "POST", "/v1/tickets", key=tenant.key, raw_body=b'{"subject": "x"}',
        headers={"Content-Type": "application/json; charset=utf-8"},
    )  # fmt: skip
    assert ok.status == 201, ok.body


@pytest.mark.parametrize("query", ["limit=1&limit=2", "offset=0&offset=5", "q=a&q=b", "cursor=a&cursor=b"])
def test_given_a_repeated_single_valued_query_parameter_then_400_naming_it(
    stack: Stack, tenant: Tenant, table_items: Callable[[], list[str]], query: str
) -> None:
    problem = refused(stack, table_items, 400, "VALIDATION_ERROR", "GET", f"/v1/tickets?{query}", key=tenant.key)
    assert [e["field"] for e in problem["errors"]] == [query.split("=")[0]], problem


def test_given_a_repeated_status_then_it_means_the_comma_list(stack: Stack, make_tenant: Any) -> None:
    own = make_tenant("HSS")
    new = stack.create_ticket(own.key)
    opened = stack.create_ticket(own.key, status="open")
    stack.create_ticket(own.key, status="pending")
    repeated = stack.request("GET", "/v1/tickets?status=new&status=open", key=own.key)
    joined = stack.request("GET", "/v1/tickets?status=new,open", key=own.key)
    assert repeated.status == joined.status == 200, repeated.body
    assert repeated.json == joined.json
    assert {t["id"] for t in repeated.json["data"]} == {new["id"], opened["id"]}


@pytest.mark.parametrize("value", ["99999999999999999999999", "1.5", "-1", "1e2", "abc"])
def test_given_a_hostile_limit_over_http_then_400_naming_it(
    stack: Stack, tenant: Tenant, table_items: Callable[[], list[str]], value: str
) -> None:
    problem = refused(stack, table_items, 400, "VALIDATION_ERROR", "GET", f"/v1/tickets?limit={value}", key=tenant.key)
    assert [e["field"] for e in problem["errors"]] == ["limit"], problem
