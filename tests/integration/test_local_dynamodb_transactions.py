"""moto's TransactWriteItems on the local runtime: its cost follows what it writes, not the table.

moto backs up every table a transaction touches with ``copy.deepcopy(table)``, so each agree, seal or
audit entry cost time in proportion to every envelope the runtime held (patch 3e of
:mod:`tachiai.local.aws`). With the patch only the named items are copied, and a failed transaction
still leaves no trace. The gap test turns the patch off: when a moto upgrade stops copying the table,
it fails and the patch can go.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any
from unittest import mock

import pytest
from botocore.exceptions import ClientError
from tachiai.local.aws import LocalAws

TABLE = "tachiai-transactions-test"
ITEMS = 300


def _table(aws: LocalAws) -> Any:
    dynamodb = aws.client("dynamodb")
    dynamodb.create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    for index in range(ITEMS):
        dynamodb.put_item(
            TableName=TABLE, Item={"pk": {"S": f"ENV#{index}"}, "sk": {"S": "META"}, "n": {"N": "0"}}
        )
    return dynamodb


@pytest.fixture
def patched() -> Iterator[Any]:
    with LocalAws() as aws:
        dynamodb = _table(aws)
        try:
            yield dynamodb
        finally:
            dynamodb.delete_table(TableName=TABLE)


def _item(dynamodb: Any, pk: str, sk: str = "META") -> dict[str, Any] | None:
    found: dict[str, Any] | None = dynamodb.get_item(
        TableName=TABLE, Key={"pk": {"S": pk}, "sk": {"S": sk}}
    ).get("Item")
    return found


def _two_writes(dynamodb: Any) -> None:
    dynamodb.transact_write_items(
        TransactItems=[
            {
                "Update": {
                    "TableName": TABLE,
                    "Key": {"pk": {"S": "ENV#1"}, "sk": {"S": "META"}},
                    "UpdateExpression": "SET n = n + :one",
                    "ExpressionAttributeValues": {":one": {"N": "1"}},
                }
            },
            {"Put": {"TableName": TABLE, "Item": {"pk": {"S": "ENV#1"}, "sk": {"S": "AUDIT#1"}}}},
        ]
    )


def _items_copied(write: Any) -> int:
    """How many items ``copy.deepcopy`` copied while ``write()`` ran."""
    from moto.dynamodb.models.dynamo_type import Item

    original = Item.__deepcopy__
    with mock.patch.object(Item, "__deepcopy__", autospec=True, side_effect=original) as spy:
        write()
    return spy.call_count


def test_a_transaction_copies_the_items_it_names_not_the_table(patched: Any) -> None:
    copied = _items_copied(lambda: _two_writes(patched))
    assert copied <= 4  # the items the transaction names (and moto's own copy of the updated one)
    assert _item(patched, "ENV#1")["n"] == {"N": "1"}  # type: ignore[index]
    assert _item(patched, "ENV#1", "AUDIT#1") is not None


def test_a_failed_transaction_leaves_every_item_as_it_was(patched: Any) -> None:
    before = copy.deepcopy(_item(patched, "ENV#2"))
    with pytest.raises(ClientError) as refused:
        patched.transact_write_items(
            TransactItems=[
                {
                    "Update": {
                        "TableName": TABLE,
                        "Key": {"pk": {"S": "ENV#2"}, "sk": {"S": "META"}},
                        "UpdateExpression": "SET n = :ten",
                        "ExpressionAttributeValues": {":ten": {"N": "10"}},
                    }
                },
                {"Put": {"TableName": TABLE, "Item": {"pk": {"S": "ENV#2"}, "sk": {"S": "AUDIT#1"}}}},
                {"Delete": {"TableName": TABLE, "Key": {"pk": {"S": "ENV#3"}, "sk": {"S": "META"}}}},
                {
                    "ConditionCheck": {
                        "TableName": TABLE,
                        "Key": {"pk": {"S": "ENV#4"}, "sk": {"S": "META"}},
                        "ConditionExpression": "attribute_not_exists(pk)",  # it exists: the transaction fails
                    }
                },
            ]
        )
    assert refused.value.response["Error"]["Code"] == "TransactionCanceledException"
    assert _item(patched, "ENV#2") == before  # the update is undone
    assert _item(patched, "ENV#2", "AUDIT#1") is None  # the new item is gone
    assert _item(patched, "ENV#3") is not None  # the deleted one is back


def test_without_the_patch_moto_copies_the_whole_table_for_each_transaction() -> None:
    with LocalAws(fix_known_gaps=False) as aws:
        dynamodb = _table(aws)
        try:
            assert _items_copied(lambda: _two_writes(dynamodb)) >= ITEMS
        finally:
            dynamodb.delete_table(TableName=TABLE)
