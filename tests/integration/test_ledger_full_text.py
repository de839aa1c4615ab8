"""L1, full text: words anywhere in a contract find it — whatever their width, case or the line breaks a
PDF put inside them — combined with the other conditions, at a bounded number of texts per request."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws
from tachiai.adapters import ledger_index
from tachiai.adapters.dynamodb import TABLE_SCHEMA, ledger_writes
from tachiai.adapters.ledger_index import MAX_TEXT_CHARS, READ_PAGE, LedgerIndex
from tachiai.domain.envelope import EnvelopeStatus
from tachiai.domain.ledger import LedgerEntry, LedgerQuery

TABLE = "fulltext"
CONTRACTS = 600
CLAUSE = "甲及び乙は、反社会的勢力に該当しないことを表明し、保証する。"
# How the same clause comes out of real documents: wrapped by a PDF's layout, full-width, spaced.
VARIANTS = (
    CLAUSE,
    "甲及び乙は、反社会的\n勢力に該当しないことを表明し、保証する。",
    "甲及び乙は、反社会的勢力に該当しないことを表明し、保証する。".replace("反社会的", "反社会的 "),
)
BOILERPLATE = "第{n}条（協議）本契約に定めのない事項は、甲乙誠実に協議して定める。" * 20


def _entry(n: int) -> LedgerEntry:
    return LedgerEntry(
        envelope_id=f"env_{n:05d}",
        title=f"業務委託契約書 #{n}",
        status=EnvelopeStatus.COMPLETED,
        origin="signed",
        owner_id="sub-a",
        owner_email="owner@tachiai.example",
        transaction_date=date(2024, 1, 1) + timedelta(days=n),
        counterparties=["株式会社立会テクノロジー", f"株式会社サンプル{n % 7}"],
        updated_at=datetime(2026, 1, 1, tzinfo=UTC),
    )


@pytest.fixture(scope="module")
def ledger() -> Iterator[tuple[LedgerIndex, set[str]]]:
    with mock_aws():
        client = boto3.client("dynamodb", region_name="ap-northeast-1")
        client.create_table(TableName=TABLE, **TABLE_SCHEMA)
        index = LedgerIndex(client, TABLE)
        rng = random.Random(5)
        with_clause: set[str] = set()
        for n in range(CONTRACTS):
            entry = _entry(n)
            for write in ledger_writes(TABLE, entry):
                if "Put" in write:
                    client.put_item(TableName=TABLE, Item=write["Put"]["Item"])
            text = BOILERPLATE.format(n=n)
            if n % 40 == 3:
                text += rng.choice(VARIANTS)
                with_clause.add(entry.envelope_id)
            index.store_text(entry.envelope_id, text)
        yield index, with_clause


def _everything(index: LedgerIndex, query: LedgerQuery) -> tuple[list[str], list[Any]]:
    found: list[str] = []
    pages = []
    cursor = None
    while True:
        page = index.search(query, limit=20, cursor=cursor)
        pages.append(page)
        found += [e.envelope_id for e in page.entries]
        cursor = page.cursor
        if not cursor:
            return found, pages


def test_words_in_the_text_find_the_contract_whatever_the_width_spacing_or_line_breaks(ledger):
    index, with_clause = ledger
    found, _ = _everything(index, LedgerQuery(text="反社会的勢力に該当しない"))
    assert sorted(found) == sorted(with_clause) and len(found) == len(set(found)) == 15
    full_width, _ = _everything(index, LedgerQuery(text="反社会的　勢力"))
    assert sorted(full_width) == sorted(with_clause)
    assert _everything(index, LedgerQuery(text="存在しない条項"))[0] == []


def test_full_text_combines_with_a_date_range_and_reads_only_that_range(ledger):
    index, with_clause = ledger
    query = LedgerQuery(text="反社会的勢力", date_from=date(2024, 1, 1), date_to=date(2024, 3, 31))
    found, pages = _everything(index, query)
    expected = {i for i in with_clause if int(i.removeprefix("env_")) < 91}
    assert set(found) == expected and expected
    assert sum(p.texts_read for p in pages) == 91  # one text per contract in the range, no more


def test_a_search_over_many_texts_answers_in_bounded_requests_and_loses_nothing(ledger, monkeypatch):
    index, with_clause = ledger
    monkeypatch.setattr(ledger_index, "MAX_TEXTS_PER_SEARCH", 100)
    found, pages = _everything(index, LedgerQuery(text="反社会的勢力"))
    assert sorted(found) == sorted(with_clause)
    assert all(p.texts_read <= 100 + READ_PAGE for p in pages)
    assert len(pages) >= CONTRACTS // (100 + READ_PAGE)


def test_a_very_long_text_is_kept_up_to_its_limit(ledger):
    index, _ = ledger
    index.store_text("env_long", "あ" * (MAX_TEXT_CHARS + 10) + "末尾の条項")
    stored = index._client.get_item(TableName=TABLE, Key={"pk": {"S": "ENV#env_long"}, "sk": {"S": "TEXT"}})
    assert len(stored["Item"]["text"]["S"]) == MAX_TEXT_CHARS
