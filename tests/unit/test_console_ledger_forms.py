"""The ledger console's reading of what people type, the history it shows for each field, its CSV parts
and the service's upcoming list (pure functions and services on the fakes; the pages themselves are in
test_console_ledger.py)."""

from __future__ import annotations

import base64
import csv
import io
from datetime import date, timedelta
from typing import Any

import pytest
from tachiai.console import ledger as page
from tachiai.domain.ledger import LedgerEntry
from tachiai.services import ledger
from tachiai.services.ledger import ImportRequest, MetadataValues
from tachiai.services.sending import ADMIN_GROUP, SenderIdentity

from tests.fakes import EXTRACT_FUNCTION, SEAL_FUNCTION, FakeWorld, fake_world, import_arrival
from tests.fixtures.pdfs import simple_pdf

TARO = SenderIdentity(sub="sub-taro", email="taro@example.co.jp", name="山田太郎")
HANAKO = SenderIdentity(sub="sub-hanako", email="hanako@example.co.jp", name="佐藤花子")
BOSS = SenderIdentity(sub="sub-boss", email="boss@example.co.jp", name="管理者", groups=(ADMIN_GROUP,))


def _query(**values: str):  # type: ignore[no-untyped-def]
    return page.parse_search(values.get)


# --- what people type ---------------------------------------------------------------------------


def test_full_width_digits_separators_and_yen_are_read_as_an_amount() -> None:
    assert page.parse_amount("１，２００，０００") == 1_200_000
    assert page.parse_amount("¥1,200,000") == 1_200_000
    assert page.parse_amount(" 500円 ") == 500
    assert page.parse_amount("") is None


@pytest.mark.parametrize("typed", ["300万", "1.5", "-100", "abc", "１２ａ"])
def test_what_is_not_a_whole_number_of_yen_is_refused_as_an_amount(typed: str) -> None:
    with pytest.raises(page.FieldError) as refused:
        page.parse_amount(typed)
    assert refused.value.message == "console.ledger.error.amount"


@pytest.mark.parametrize(
    "typed", ["2025-04-01", "2025/4/1", "２０２５／０４／０１", "2025年4月1日", "2025.04.01"]
)
def test_a_date_is_read_in_the_forms_people_write_it(typed: str) -> None:
    assert page.parse_date(typed) == date(2025, 4, 1)


@pytest.mark.parametrize("typed", ["2025-02-30", "April 1", "20250401x", "2025-13-01"])
def test_what_is_not_a_calendar_date_is_refused(typed: str) -> None:
    with pytest.raises(page.FieldError):
        page.parse_date(typed)


def test_every_condition_given_is_in_the_query_and_combined() -> None:
    form = _query(
        date_from="2025-01-01",
        date_to="2025/12/31",
        counterparty="サンプル",
        amount_min="１００万",
        amount_max="5,000,000",
    )
    # 「１００万」 is not a number: explained on its field, and no search runs
    assert form.query is None
    assert form.errors == {"amount_min": "console.ledger.error.amount"}
    form = _query(
        date_from="2025-01-01",
        date_to="2025/12/31",
        counterparty="サンプル",
        amount_min="１００００００",
        amount_max="5,000,000",
        title="業務委託",
        text="秘密保持",
        status="completed",
    )
    assert form.errors == {}
    assert form.query is not None
    assert (form.query.date_from, form.query.date_to) == (date(2025, 1, 1), date(2025, 12, 31))
    assert (form.query.amount_min, form.query.amount_max) == (1_000_000, 5_000_000)
    assert (form.query.counterparty, form.query.title, form.query.text) == (
        "サンプル",
        "業務委託",
        "秘密保持",
    )
    assert form.query.status is not None and form.query.status.value == "completed"


def test_a_range_upside_down_is_explained_on_its_upper_field() -> None:
    form = _query(date_from="2025-12-01", date_to="2025-01-01", amount_min="900", amount_max="100")
    assert form.query is None
    assert form.errors == {
        "date_to": "console.ledger.error.date_order",
        "amount_max": "console.ledger.error.amount_order",
    }


def test_full_text_needs_two_characters_and_an_unknown_status_is_refused() -> None:
    form = _query(text="秘", status="archived")
    assert form.errors == {"text": "console.ledger.error.text_short", "status": "console.ledger.error.status"}


def test_amount_order_is_offered_only_where_the_amount_index_drives_the_search() -> None:
    refused = _query(sort="amount", counterparty="サンプル")
    assert refused.errors == {"sort": "console.ledger.error.sort_amount"}
    alone = _query(sort="amount")
    assert alone.query is not None and alone.query.amount_min == 0  # contracts that have an amount


def test_the_links_of_a_search_keep_its_conditions() -> None:
    form = _query(counterparty="A&B 商事", amount_min="100")
    link = form.link("/app/ledger.csv", cursor="c/1")
    assert link == "/app/ledger.csv?counterparty=A%26B+%E5%95%86%E4%BA%8B&amount_min=100&cursor=c%2F1"


def test_only_the_fields_that_differ_are_sent_as_a_correction() -> None:
    values, errors, _ = page.parse_metadata(
        {
            "contract_date": ["2025-04-01"],
            "end_date": ["2026/3/31"],
            "parties": ["株式会社サンプル\n\n Acme  Corp. \n"],
            "auto_renewal": ["yes"],
            "notice_period_number": ["３"],
            "notice_period_unit": ["months"],
            "notice_deadline": ["2025-12-31"],
            "amount": ["1,200,000"],
            "currency": ["jpy"],
        }
    )
    assert errors == {}
    assert values["parties"] == ["株式会社サンプル", "Acme Corp."]
    assert values["notice_period"] == "3 months"
    assert values["currency"] == "JPY"
    current = page.ContractMetadata(
        contract_date=date(2025, 4, 1),
        end_date=date(2026, 3, 31),
        parties=["株式会社サンプル", "Acme Corp."],
        auto_renewal=True,
        notice_period="3 months",
        notice_deadline=date(2025, 12, 31),
        amount=1_000_000,
        currency="JPY",
    )
    assert page.changed_fields(current, values) == {"amount": 1_200_000}


def test_bad_metadata_is_explained_on_each_field() -> None:
    _, errors, typed = page.parse_metadata(
        {
            "end_date": ["2026-02-30"],
            "amount": ["たくさん"],
            "notice_period_number": ["0"],
            "currency": ["円"],
        }
    )
    assert errors == {
        "end_date": "console.ledger.error.date",
        "amount": "console.ledger.error.amount",
        "notice_period_number": "console.ledger.error.notice_period",
        "currency": "console.ledger.error.currency",
    }
    assert typed["amount"] == "たくさん"  # shown again as typed


# --- on the fakes -------------------------------------------------------------------------------


@pytest.fixture
def world() -> FakeWorld:
    world = fake_world()
    world.functions.routes[SEAL_FUNCTION] = lambda payload: import_arrival(world, payload)
    world.functions.routes[EXTRACT_FUNCTION] = lambda payload: {"fields": []}
    return world


def _contract(world: FakeWorld, who: SenderIdentity, title: str, **metadata: Any) -> str:
    request = ImportRequest(
        title=title,
        file_name="scan.pdf",
        content_base64=base64.b64encode(simple_pdf()).decode(),
        metadata=MetadataValues.model_validate(metadata) if metadata else None,
    )
    return ledger.import_contract(world.svc, who, request).envelope.id


def test_the_upcoming_list_is_soonest_first_within_90_days(world: FakeWorld) -> None:
    today = world.clock.now.date()
    late = _contract(world, TARO, "遅い", end_date=today + timedelta(days=80))
    soon = _contract(
        world, TARO, "近い", end_date=today + timedelta(days=40), notice_deadline=today + timedelta(days=10)
    )
    _contract(world, TARO, "遠い", end_date=today + timedelta(days=200))
    due = ledger.upcoming(world.svc, TARO, today)
    assert [(d.entry.envelope_id, d.kind) for d in due] == [(soon, "notice"), (soon, "end"), (late, "end")]


def test_a_member_sees_only_their_own_upcoming_deadlines_and_an_admin_everyones(world: FakeWorld) -> None:
    today = world.clock.now.date()
    mine = _contract(world, TARO, "太郎の契約", end_date=today + timedelta(days=30))
    theirs = _contract(world, HANAKO, "花子の契約", end_date=today + timedelta(days=20))
    assert [d.entry.envelope_id for d in ledger.upcoming(world.svc, TARO, today)] == [mine]
    assert [d.entry.envelope_id for d in ledger.upcoming(world.svc, BOSS, today)] == [theirs, mine]


def test_a_correction_after_the_extraction_keeps_the_extracted_value_in_the_history(world: FakeWorld) -> None:
    from tachiai.domain.ledger import record_extraction
    from tachiai.extract.model import ContractMetadata

    envelope_id = _contract(world, TARO, "業務委託契約書")
    envelope = world.envelopes.get(envelope_id)
    extracted, entry = record_extraction(
        envelope, ContractMetadata(amount=1_000_000, currency="JPY", engine="rules"), world.clock.now
    )
    world.envelopes.save(extracted, [entry])
    world.clock.advance(timedelta(hours=1))
    ledger.correct(world.svc, TARO, envelope_id, MetadataValues(amount=1_200_000))
    envelope = world.envelopes.get(envelope_id)
    histories = {h.name: h for h in page.field_histories(envelope, world.envelopes.audit_trail(envelope_id))}
    amount = histories["amount"]
    assert (amount.current, amount.extracted, amount.extracted_known) == ("1200000", "1000000", True)
    assert [(c.actor, c.old, c.new) for c in amount.changes] == [("taro@example.co.jp", "1000000", "1200000")]
    assert histories["currency"].extracted == "JPY" and histories["currency"].changes == []


def test_a_value_the_importer_gave_is_not_shown_as_extracted(world: FakeWorld) -> None:
    envelope_id = _contract(world, TARO, "紙の契約", amount=500)
    envelope = world.envelopes.get(envelope_id)
    histories = {h.name: h for h in page.field_histories(envelope, world.envelopes.audit_trail(envelope_id))}
    assert histories["amount"].extracted_known is False
    assert [(c.old, c.new) for c in histories["amount"].changes] == [(None, "500")]


def _entry(n: int, title: str = "契約") -> LedgerEntry:
    return LedgerEntry(
        envelope_id=f"env_{n:05d}",
        title=f"{title}{n}",
        status="completed",
        origin="signed",
        owner_id="sub-taro",
        owner_email="taro@example.co.jp",
        transaction_date=date(2025, 4, 1),
        counterparties=['=HYPERLINK("http://evil")', "株式会社サンプル"],
        amount=n,
        updated_at="2025-04-01T00:00:00Z",
    )


def test_a_csv_part_has_a_bom_a_header_once_and_neutralized_cells() -> None:
    pages = {None: ([_entry(1), _entry(2)], "p2"), "p2": ([_entry(3)], None)}
    text, after = page.csv_part(lambda cursor: pages[cursor], None)
    assert after is None
    assert text.startswith("\ufeffenvelope_id,")
    rows = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))
    assert len(rows) == 4  # the header once, then every contract of both pages
    assert rows[1][rows[0].index("counterparties")].startswith("'=HYPERLINK")
    assert rows[3][rows[0].index("amount")] == "3"


def test_a_csv_larger_than_one_response_stops_where_the_next_part_starts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(page, "CSV_CAP_CHARS", 3000)
    pages = {None: ([_entry(n) for n in range(10)], "p2"), "p2": ([_entry(n) for n in range(10, 20)], None)}
    first, after = page.csv_part(lambda cursor: pages[cursor], None)
    assert after == "p2"  # the second page did not fit: the next part reads it again
    second, end = page.csv_part(lambda cursor: pages[cursor], after)
    assert end is None
    ids = [r[0] for text in (first, second) for r in csv.reader(io.StringIO(text.removeprefix("\ufeff")))]
    assert [i for i in ids if i != "envelope_id"] == [f"env_{n:05d}" for n in range(20)]
