"""tools.motolock's TransactWriteItems: an undo log of the named items instead of a copy of the whole table."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.conftest import TABLE


def _stream_after(aws: Any, write: Any) -> list[dict[str, Any]]:
    """The stream records that `write()` adds (read from a LATEST iterator taken just before it)."""
    streams = boto3.client(
        "dynamodbstreams", region_name="us-east-1", config=Config(account_id_endpoint_mode="disabled")
    )
    arn = aws.describe_table(TableName=TABLE)["Table"]["LatestStreamArn"]
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    it = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="LATEST")["ShardIterator"]
    write()
    return streams.get_records(ShardIterator=it)["Records"]


def _item(pk: str, sk: str, **attrs: str) -> dict[str, Any]:
    return {"PK": {"S": pk}, "SK": {"S": sk}, **{k: {"S": v} for k, v in attrs.items()}}


def test_given_a_transaction_cancelled_by_its_last_item_then_earlier_items_and_stream_records_are_undone(aws):
    aws.put_item(TableName=TABLE, Item=_item("T", "B", v="before"))
    aws.put_item(TableName=TABLE, Item=_item("T", "GONE", v="x"))

    def cancelled() -> None:
        with pytest.raises(ClientError) as err:
            aws.transact_write_items(
                TransactItems=[
                    {"Put": {"TableName": TABLE, "Item": _item("T", "A", v="new")}},
                    {
                        "Update": {
                            "TableName": TABLE,
                            "Key": _item("T", "B"),
                            "UpdateExpression": "SET v = :v",
                            "ExpressionAttributeValues": {":v": {"S": "after"}},
                        }
                    },
                    {"Delete": {"TableName": TABLE, "Key": _item("T", "GONE")}},
                    {
                        "ConditionCheck": {
                            "TableName": TABLE,
                            "Key": _item("T", "MISSING"),
                            "ConditionExpression": "attribute_exists(PK)",
                        }
                    },
                ]
            )
        assert err.value.response["Error"]["Code"] == "TransactionCanceledException"

    assert _stream_after(aws, cancelled) == []
    get = lambda sk: aws.get_item(TableName=TABLE, Key=_item("T", sk), ConsistentRead=True).get("Item")  # noqa: E731
    assert get("A") is None
    assert get("B") == _item("T", "B", v="before")
    assert get("GONE") == _item("T", "GONE", v="x")
    # The stream goes on from the same shard: the next write is seen by an iterator taken before it.
    records = _stream_after(aws, lambda: aws.put_item(TableName=TABLE, Item=_item("T", "C", v="c")))
    assert [r["dynamodb"]["Keys"]["SK"]["S"] for r in records] == ["C"]


def test_given_a_transaction_then_the_table_is_never_deep_copied(aws, monkeypatch):
    """moto's own rollback deep-copies every named table: a write then costs time in proportion to the table."""
    from moto.dynamodb import models

    def refuse(self: Any, memo: Any) -> Any:
        raise AssertionError("the whole table was deep-copied")

    monkeypatch.setattr(models.Table, "__deepcopy__", refuse, raising=False)
    aws.transact_write_items(TransactItems=[{"Put": {"TableName": TABLE, "Item": _item("T", "A", v="1")}}])
    with pytest.raises(ClientError):
        aws.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": TABLE, "Item": _item("T", "A", v="2"), "ConditionExpression": "v = :x",
                         "ExpressionAttributeValues": {":x": {"S": "nope"}}}},
            ]
        )  # fmt: skip
    item = aws.get_item(TableName=TABLE, Key=_item("T", "A"), ConsistentRead=True)["Item"]
    assert item == _item("T", "A", v="1")


def _query_everything(aws: Any) -> list[Any]:
    """Answers to a spread of Queries: partitions, sort-key ranges, every index, both directions, pages."""
    answers = []
    plans: list[dict[str, Any]] = []
    for p in ("P0", "P1", "NONE"):
        plans.append({"KeyConditionExpression": "PK = :p", "ExpressionAttributeValues": {":p": {"S": p}}})
        plans.append(
            {
                "KeyConditionExpression": "PK = :p AND SK BETWEEN :a AND :b",
                "ExpressionAttributeValues": {":p": {"S": p}, ":a": {"S": "TICKET#03"}, ":b": {"S": "TICKET#11"}},
            }
        )
        plans.append(
            {
                "KeyConditionExpression": "PK = :p AND begins_with(SK, :a)",
                "ExpressionAttributeValues": {":p": {"S": p}, ":a": {"S": "AGENT#"}},
            }
        )
    for g in ("G0", "G1", "NONE"):
        plans.append(
            {
                "IndexName": "GSI1",
                "KeyConditionExpression": "GSI1PK = :g",
                "ExpressionAttributeValues": {":g": {"S": g}},
            }
        )
        plans.append(
            {
                "IndexName": "GSI1",
                "KeyConditionExpression": "GSI1PK = :g AND GSI1SK > :s",
                "ExpressionAttributeValues": {":g": {"S": g}, ":s": {"S": "07"}},
            }
        )
    for plan in plans:
        for forward in (True, False):
            for limit in (3, 100):
                pages, start = [], None
                while True:
                    params = {"TableName": TABLE, "ScanIndexForward": forward, "Limit": limit, **plan}
                    if start:
                        params["ExclusiveStartKey"] = start
                    resp = aws.query(**params)
                    pages.append(resp["Items"])
                    start = resp.get("LastEvaluatedKey")
                    if not start:
                        break
                answers.append((plan, forward, limit, pages))
    return answers


@pytest.mark.slow  # many partitions
def test_given_many_partitions_when_querying_then_the_narrowed_query_answers_as_moto_does(aws, monkeypatch):
    from moto.dynamodb.models.table import Table

    for n in range(60):
        sk = f"TICKET#{n % 20:02d}" if n % 3 else f"AGENT#{n:02d}"
        item = _item(f"P{n % 2}", f"{sk}#{n}", GSI1SK=f"{n % 13:02d}")
        if n % 4:
            item["GSI1PK"] = {"S": f"G{n % 2}"}
        aws.put_item(TableName=TABLE, Item=item)
    narrowed = _query_everything(aws)
    monkeypatch.setattr(Table, "query", Table.query._original)
    assert narrowed == _query_everything(aws)
    assert any(pages[0] for _, _, _, pages in narrowed)


def test_given_a_transaction_retried_with_its_client_request_token_then_it_succeeds_and_applies_once(aws):
    """botocore keeps the token on a retry after a timeout; DynamoDB then answers success without re-applying."""
    add = {
        "Update": {
            "TableName": TABLE,
            "Key": _item("T", "COUNTS"),
            "UpdateExpression": "ADD n :one",
            "ExpressionAttributeValues": {":one": {"N": "1"}},
        }
    }
    create = {"Put": {"TableName": TABLE, "Item": _item("T", "NEW"), "ConditionExpression": "attribute_not_exists(PK)"}}
    aws.transact_write_items(TransactItems=[create, add], ClientRequestToken="token-1")
    aws.transact_write_items(TransactItems=[create, add], ClientRequestToken="token-1")  # the retry
    counts = aws.get_item(TableName=TABLE, Key=_item("T", "COUNTS"), ConsistentRead=True)["Item"]
    assert counts["n"] == {"N": "1"}
    with pytest.raises(ClientError) as err:  # a new token is a new request: the condition refuses it
        aws.transact_write_items(TransactItems=[create, add], ClientRequestToken="token-2")
    assert err.value.response["Error"]["Code"] == "TransactionCanceledException"
