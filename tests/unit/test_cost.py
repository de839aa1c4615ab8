"""The cost arithmetic of `make bench` (benchmarks/cost.py): DynamoDB item sizes and request units as
on-demand mode bills them, index writes from the table's own index definitions, and the bill."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from tachiai.adapters.dynamodb import TABLE_SCHEMA

from benchmarks.cost import (
    PRICES,
    TableDefinition,
    dynamodb_capacity,
    envelope_bill,
    index_writes,
    item_size,
    price,
    read_units,
    stored_items,
    write_units,
)

TABLE = TableDefinition.from_schema(TABLE_SCHEMA)


@dataclass
class Call:
    service: str
    operation: str
    params: dict[str, Any]
    response: dict[str, Any] | None = None
    prior: list[dict[str, Any] | None] = field(default_factory=list)
    function: str = "tachiai-send"


def _item(sk: str, doc_bytes: int, **extra: Any) -> dict[str, Any]:
    """An item of the tachiai table whose size is exactly ``doc_bytes`` plus its key and names."""
    return {"pk": {"S": "ENV#e1"}, "sk": {"S": sk}, "doc": {"S": "x" * doc_bytes}, **extra}


def _sized(sk: str, size: int, **extra: Any) -> dict[str, Any]:
    """An item of exactly ``size`` bytes (as DynamoDB counts them)."""
    base = item_size(_item(sk, 0, **extra))
    return _item(sk, size - base, **extra)


def test_item_size_counts_attribute_names_and_utf8_bytes() -> None:
    # "pk"(2) + "ENV#e1"(6) + "sk"(2) + "META"(4) + "doc"(3) + "契約"(6 bytes in UTF-8)
    assert item_size({"pk": {"S": "ENV#e1"}, "sk": {"S": "META"}, "doc": {"S": "契約"}}) == 23


def test_item_size_of_numbers_maps_lists_and_binary() -> None:
    assert item_size({"n": {"N": "12345"}}) == 1 + 4  # 5 significant digits: 3 bytes + 1
    assert item_size({"n": {"N": "1000"}}) == 1 + 2  # trailing zeros trimmed
    assert item_size({"m": {"M": {"a": {"S": "bc"}}}}) == 1 + 3 + 1 + 1 + 2
    assert item_size({"l": {"L": [{"BOOL": True}, {"NULL": True}]}}) == 1 + 3 + 2 * (1 + 1)
    assert item_size({"b": {"B": b"\x00\x01\x02"}}) == 1 + 3
    assert item_size({"b": {"B": "AAEC"}}) == 1 + 3  # moto's JSON: base64 on the wire


def test_a_write_unit_is_one_kilobyte_begun() -> None:
    assert write_units(1) == 1
    assert write_units(1024) == 1
    assert write_units(1025) == 2
    assert write_units(4929) == 5


def test_deleting_a_missing_item_still_costs_a_write_unit() -> None:
    assert write_units(0) == 1


def test_a_transactional_write_costs_double() -> None:
    assert write_units(1025, transactional=True) == 4
    assert write_units(0, transactional=True) == 2


def test_a_read_unit_is_four_kilobytes_strongly_consistent_half_eventually_double_in_a_transaction() -> None:
    assert read_units(4096, consistent=True) == 1
    assert read_units(4097, consistent=True) == 2
    assert read_units(4097, consistent=False) == 1
    assert read_units(100, consistent=False) == 0.5
    assert read_units(4097, consistent=True, transactional=True) == 4


def test_the_table_definition_comes_from_the_schema_the_stack_deploys() -> None:
    assert TABLE.keys == ("pk", "sk")
    assert [(i.name, i.keys, i.projection) for i in TABLE.indexes] == [
        (index["IndexName"], tuple(k["AttributeName"] for k in index["KeySchema"]), "ALL")
        for index in TABLE_SCHEMA["GlobalSecondaryIndexes"]
    ]


def test_an_item_with_an_index_key_is_written_to_that_index_only() -> None:
    item = _sized("META", 2000, gsi1pk={"S": "SENDER#s"}, gsi1sk={"S": "draft#1"})
    assert index_writes(TABLE, None, item) == {"gsi1": 2}


def test_an_item_without_index_keys_costs_no_index_write() -> None:
    assert index_writes(TABLE, None, _sized("EVT#00000001", 3000)) == {}


def test_an_index_key_that_changes_deletes_the_old_entry_and_puts_the_new_one() -> None:
    old = _sized("META", 900, gsi1pk={"S": "SENDER#s"}, gsi1sk={"S": "draft#1"})
    new = _sized("META", 1500, gsi1pk={"S": "SENDER#s"}, gsi1sk={"S": "in_progress#2"})
    assert index_writes(TABLE, old, new) == {"gsi1": 1 + 2}


def test_an_unchanged_item_rewritten_costs_no_index_write() -> None:
    item = _sized("META", 900, gsi1pk={"S": "SENDER#s"}, gsi1sk={"S": "draft#1"})
    assert index_writes(TABLE, item, dict(item)) == {}


def test_a_deleted_item_is_deleted_from_its_indexes() -> None:
    old = _sized("CPTY#00", 300, gsi2pk={"S": "CPTY#acme"}, gsi2sk={"S": "2026-01-01#e1"})
    assert index_writes(TABLE, old, None) == {"gsi2": 1}


def test_a_transaction_bills_the_larger_of_old_and_new_item_twice_plus_index_writes() -> None:
    old = _sized("META", 4000, gsi1pk={"S": "SENDER#s"}, gsi1sk={"S": "draft#1"})
    new = _sized("META", 2100, gsi1pk={"S": "SENDER#s"}, gsi1sk={"S": "in_progress#2"})
    event = _sized("EVT#00000002", 500)
    missing_slot = {"pk": {"S": "ENV#e1"}, "sk": {"S": "CPTY#07"}}
    call = Call(
        "dynamodb",
        "TransactWriteItems",
        {
            "TransactItems": [
                {"Put": {"TableName": "t", "Item": new}},
                {"Put": {"TableName": "t", "Item": event}},
                {"Delete": {"TableName": "t", "Key": missing_slot}},
            ]
        },
        prior=[old, None, None],
    )
    capacity = dynamodb_capacity([call], TABLE)
    # META: 4000 B -> 4 units x 2; EVT: 1 x 2; the delete of a missing item: 1 x 2
    assert capacity.table_writes == 8 + 2 + 2
    # gsi1 key changed: delete the 4000 B entry (4) and put the 2100 B one (3), not doubled
    assert capacity.index_writes == {"gsi1": 7}
    assert capacity.writes == 19


def test_reads_are_billed_from_what_the_answer_returned() -> None:
    envelope = _sized("META", 5000)
    calls = [
        Call("dynamodb", "GetItem", {"ConsistentRead": True}, {"Item": envelope}),
        Call("dynamodb", "GetItem", {}, {}),  # not found, eventually consistent: still half a unit
        Call(
            "dynamodb",
            "Query",
            {"IndexName": "gsi1", "ConsistentRead": False},
            {"Items": [envelope, envelope], "Count": 2, "ScannedCount": 2},
        ),
    ]
    capacity = dynamodb_capacity(calls, TABLE)
    assert capacity.reads == 2 + 0.5 + 1.5  # 10,000 B at once on an index: 3 units, halved
    assert capacity.filtered_queries == 0


def test_a_query_whose_filter_dropped_items_is_flagged_as_undercounted() -> None:
    call = Call("dynamodb", "Query", {}, {"Items": [], "Count": 0, "ScannedCount": 3})
    assert dynamodb_capacity([call], TABLE).filtered_queries == 1


def test_an_update_in_place_is_refused_rather_than_guessed() -> None:
    with pytest.raises(ValueError, match="UpdateItem"):
        dynamodb_capacity([Call("dynamodb", "UpdateItem", {"Key": {}}, {}, [None])], TABLE)


def test_what_stays_in_the_table_is_the_last_write_of_each_key() -> None:
    a1, a2 = _sized("META", 500), _sized("META", 700)
    b = _sized("CPTY#00", 100)
    calls = [
        Call("dynamodb", "PutItem", {"Item": a1}, prior=[None]),
        Call("dynamodb", "PutItem", {"Item": b}, prior=[None]),
        Call(
            "dynamodb",
            "TransactWriteItems",
            {"TransactItems": [{"Put": {"Item": a2}}, {"Delete": {"Key": {"pk": b["pk"], "sk": b["sk"]}}}]},
            prior=[a1, b],
        ),
    ]
    assert list(stored_items(calls, TABLE).values()) == [a2]


@dataclass
class _Invocation:
    function: str
    seconds: float
    trigger: str = "chain"


@dataclass
class _Http:
    target: str
    method: str = "GET"


@dataclass
class _Stored:
    key: str
    bytes: int
    inside: str | None = None


@dataclass
class _Counted:
    calls: list[Call]
    invocations: list[_Invocation]
    http: list[_Http]
    state_transitions: int
    stored: list[_Stored]
    signers: int = 2


def _bill(counted: _Counted, **kwargs: Any) -> dict[str, float]:
    bill = envelope_bill(counted, {"seal": 1024, "send": 512}, TABLE, **kwargs)
    return {line.service: line.usd for line in bill.lines} | {"storage": bill.storage_usd}


def test_the_bill_prices_each_counted_service() -> None:
    counted = _Counted(
        calls=[
            Call("kms", "Sign", {}),
            Call("sesv2", "SendEmail", {"Destination": {"ToAddresses": ["a@example.jp", "b@example.jp"]}}),
            Call("s3", "PutObject", {"Body": 1000}),
            Call("s3", "GetObject", {}),
        ],
        invocations=[_Invocation("tachiai-seal", 2.0), _Invocation("tachiai-send", 0.5, "api")],
        http=[_Http("api"), _Http("s3")],
        state_transitions=12,
        stored=[],
    )
    lines = _bill(counted)
    assert lines["Lambda"] == pytest.approx((2.0 + 0.25) * price("lambda_gb_s") + 2 * price("lambda_request"))
    assert lines["KMS"] == price("kms_request_rsa2048")
    assert lines["SES"] == 2 * price("ses_message")  # each recipient is a message
    assert lines["S3 requests"] == pytest.approx(price("s3_put") + 2 * price("s3_get"))
    assert lines["Step Functions"] == 12 * price("sfn_transition")
    assert lines["API Gateway"] == price("apigw_rest_request")


def test_an_ecc_seal_key_pays_the_asymmetric_request_price() -> None:
    counted = _Counted([Call("kms", "Sign", {})], [], [], 0, [])
    assert _bill(counted, seal_key_spec="ECC_NIST_P256")["KMS"] == price("kms_request_asymmetric")
    assert price("kms_request_asymmetric") == pytest.approx(5 * price("kms_request_rsa2048"))


def test_storage_is_every_kept_object_for_every_month_of_the_retention() -> None:
    counted = _Counted([], [], [], 0, [_Stored("a.pdf", 400_000_000), _Stored("b.pdf", 100_000_000)])
    assert _bill(counted, retention_years=10)["storage"] == pytest.approx(
        0.5 * 120 * price("s3_standard_gb_month")
    )


def test_every_price_names_its_unit_and_source() -> None:
    for name, p in PRICES.items():
        assert p.usd >= 0, name
        assert p.unit, name
        assert p.source.startswith("https://aws.amazon.com/"), name
