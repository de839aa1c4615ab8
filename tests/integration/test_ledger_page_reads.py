"""K8: a ledger search without filters (the console's home lists every contract this way) reads the
page it answers and one item more — not a READ_PAGE of items for a page of 20 — and still pages
without loss, with no cursor to an empty page."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws
from tachiai.adapters.dynamodb import TABLE_SCHEMA, ledger_writes
from tachiai.adapters.ledger_index import READ_PAGE, LedgerIndex
from tachiai.domain.envelope import EnvelopeStatus
from tachiai.domain.ledger import LedgerEntry, LedgerQuery

TABLE = "envelopes"
CONTRACTS = 45


@pytest.fixture
def client() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("dynamodb", region_name="ap-northeast-1")
        client.create_table(TableName=TABLE, **TABLE_SCHEMA)
        yield client


def contracts(client: Any, count: int) -> list[str]:
    """``count`` contracts' ledger items, as a save writes them; their ids, newest transaction first."""
    items: list[dict[str, Any]] = []
    for n in range(count):
        entry = LedgerEntry(
            envelope_id=f"env_{n:03d}",
            title=f"業務委託契約書 #{n}",
            status=EnvelopeStatus.COMPLETED,
            origin="signed",
            owner_id="sub-a",
            owner_email="owner@tachiai.example",
            transaction_date=date(2026, 1, 1) + timedelta(days=n),
            counterparties=["株式会社立会テクノロジー"],
            currency="JPY",
            updated_at=datetime(2026, 1, 1, tzinfo=UTC),
        )
        items += [w["Put"]["Item"] for w in ledger_writes(TABLE, entry) if "Put" in w]
    for start in range(0, len(items), 25):
        client.batch_write_item(
            RequestItems={TABLE: [{"PutRequest": {"Item": item}} for item in items[start : start + 25]]}
        )
    return [f"env_{n:03d}" for n in reversed(range(count))]


def test_an_unfiltered_page_reads_one_item_more_than_it_answers(client):
    assert READ_PAGE > 21  # else there would be nothing to show
    contracts(client, CONTRACTS)

    page = LedgerIndex(client, TABLE).search(LedgerQuery(), limit=20)

    assert len(page.entries) == 20 and page.cursor is not None
    assert page.items_read == 21 and page.calls == 1


def test_unfiltered_pages_go_through_every_contract_once_in_order(client):
    ids = contracts(client, CONTRACTS)
    index = LedgerIndex(client, TABLE)

    seen: list[str] = []
    cursor = None
    while True:
        page = index.search(LedgerQuery(), limit=20, cursor=cursor)
        seen += [e.envelope_id for e in page.entries]
        if page.cursor is None:
            break
        cursor = page.cursor

    assert seen == ids


def test_a_ledger_of_exactly_one_page_has_no_next_page(client):
    contracts(client, 20)

    page = LedgerIndex(client, TABLE).search(LedgerQuery(), limit=20)

    assert len(page.entries) == 20 and page.cursor is None
