"""L1 and L4 at scale: a combined search over a ledger of 10,000+ contracts reads a bounded number of
items, pages without loss, and the deadline alerts mail each owner once per threshold (frozen time).

The ledger items are written exactly as EnvelopeRepository.save writes them (ledger_writes /
directory_items), straight into moto's DynamoDB in batches, so the generated ledger is quick to build.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws
from tachiai import names
from tachiai.adapters.dynamodb import TABLE_SCHEMA, directory_items, ledger_writes
from tachiai.adapters.ledger_index import LedgerIndex, TooVague
from tachiai.config import settings_from
from tachiai.domain.envelope import EnvelopeStatus
from tachiai.domain.ledger import LedgerEntry, LedgerQuery, normalize_name
from tachiai.services.context import Services
from tachiai.services.ledger import send_deadline_alerts

REGION = "ap-northeast-1"
TABLE = "envelopes"
LEDGER_SIZE = 10_000
COMPANIES = [
    *(f"株式会社サンプル{n:03d}商事" for n in range(150)),
    *(f"山田{n:02d}工業株式会社" for n in range(40)),
    *(f"Acme Holdings {n:02d} Inc." for n in range(60)),
    "髙橋﨑商事株式会社",
]


def _entry(n: int, rng: random.Random) -> LedgerEntry:
    day = date(2020, 1, 1) + timedelta(days=rng.randrange(0, 6 * 365))
    counterparty = rng.choice(COMPANIES)
    return LedgerEntry(
        envelope_id=f"env_{n:05d}",
        title=rng.choice(["業務委託契約書", "秘密保持契約書", "売買基本契約書", "License Agreement"])
        + f" #{n}",
        status=EnvelopeStatus.COMPLETED if rng.random() < 0.9 else EnvelopeStatus.CANCELLED,
        origin="signed",
        owner_id=rng.choice(["sub-a", "sub-b", "sub-c"]),
        owner_email="owner@tachiai.example",
        transaction_date=day,
        counterparties=["株式会社立会テクノロジー", counterparty],
        amount=rng.randrange(0, 50_000_000, 1000) if rng.random() < 0.8 else None,
        currency="JPY",
        updated_at=datetime(2026, 1, 1, tzinfo=UTC),
    )


@pytest.fixture(scope="module")
def ledger() -> Iterator[tuple[LedgerIndex, list[LedgerEntry], Any]]:
    with mock_aws():
        client = boto3.client("dynamodb", region_name=REGION)
        client.create_table(TableName=TABLE, **TABLE_SCHEMA)
        rng = random.Random(20261205)
        entries = [_entry(n, rng) for n in range(LEDGER_SIZE)]
        puts: list[dict[str, Any]] = []
        for entry in entries:
            puts += [w["Put"]["Item"] for w in ledger_writes(TABLE, entry) if "Put" in w]
        for entry in entries:  # the tenant's directory, and each owner's
            puts += directory_items(entry)
        for company in COMPANIES:
            puts.append(
                {"pk": {"S": "CPTYDIR"}, "sk": {"S": normalize_name(company)}, "name": {"S": company}}
            )
        unique = {(p["pk"]["S"], p["sk"]["S"]): p for p in puts}
        batch = list(unique.values())
        for start in range(0, len(batch), 25):
            client.batch_write_item(
                RequestItems={TABLE: [{"PutRequest": {"Item": item}} for item in batch[start : start + 25]]}
            )
        yield LedgerIndex(client, TABLE), entries, client


def _matches(entry: LedgerEntry, query: LedgerQuery) -> bool:
    names_ = [normalize_name(c) for c in entry.counterparties]
    return (
        (query.date_from is None or entry.transaction_date >= query.date_from)
        and (query.date_to is None or entry.transaction_date <= query.date_to)
        and (query.counterparty is None or any(normalize_name(query.counterparty) in n for n in names_))
        and (query.amount_min is None or (entry.amount is not None and entry.amount >= query.amount_min))
        and (query.amount_max is None or (entry.amount is not None and entry.amount <= query.amount_max))
        and (query.title is None or normalize_name(query.title) in normalize_name(entry.title))
        and (query.status is None or entry.status == query.status)
        and (query.owner_id is None or entry.owner_id == query.owner_id)
    )


def _all_pages(index: LedgerIndex, query: LedgerQuery, limit: int = 50) -> tuple[list[str], int, int]:
    ids: list[str] = []
    read = calls = 0
    cursor = None
    while True:
        page = index.search(query, limit=limit, cursor=cursor)
        ids += [e.envelope_id for e in page.entries]
        read += page.items_read
        calls += page.calls
        if page.cursor is None:
            return ids, read, calls
        cursor = page.cursor


def test_a_combined_counterparty_date_and_amount_search_reads_a_bounded_number_of_items(ledger):
    index, entries, _ = ledger
    query = LedgerQuery(
        counterparty="山田0",  # partial: 山田00工業 … 山田09工業
        date_from=date(2023, 1, 1),
        date_to=date(2023, 12, 31),
        amount_min=1_000_000,
        amount_max=20_000_000,
    )
    ids, read, calls = _all_pages(index, query)
    expected = {e.envelope_id for e in entries if _matches(e, query)}
    assert expected and set(ids) == expected and len(ids) == len(expected)
    # Read: the counterparty directory (251 names) plus the ten matching names' contracts of 2023 —
    # about 2.5% of a 10,000-contract ledger, whatever its size beyond.
    assert read <= len(COMPANIES) + 10 * 30, read
    assert calls <= 1 + 10 + 2, calls


def test_a_date_range_search_reads_only_that_range(ledger):
    index, entries, _ = ledger
    query = LedgerQuery(date_from=date(2024, 3, 1), date_to=date(2024, 3, 31), title="秘密保持")
    ids, read, _ = _all_pages(index, query, limit=100)
    in_range = [e for e in entries if date(2024, 3, 1) <= e.transaction_date <= date(2024, 3, 31)]
    assert set(ids) == {e.envelope_id for e in entries if _matches(e, query)}
    assert read == len(in_range)  # the key condition bounds the read; the title is a filter on it


def test_an_amount_range_search_uses_the_amount_index(ledger):
    index, entries, _ = ledger
    query = LedgerQuery(amount_min=49_000_000, status=EnvelopeStatus.COMPLETED)
    ids, read, _ = _all_pages(index, query, limit=100)
    in_range = [e for e in entries if e.amount is not None and e.amount >= 49_000_000]
    assert set(ids) == {e.envelope_id for e in entries if _matches(e, query)}
    # A page that ends inside a call's items resumes right after its last result: the rest of that
    # call is read again, so two pages read at most twice the range.
    assert len(in_range) <= read <= 2 * len(in_range) < LEDGER_SIZE / 10


PAGE = 23
"""Not a divisor of anything in the fixture: page ends fall at odd places inside the partitions."""


def test_pages_follow_each_other_without_loss_or_repeat(ledger):
    index, entries, _ = ledger
    query = LedgerQuery(counterparty="acme holdings 1", owner_id="sub-b")
    ids, _, _ = _all_pages(index, query, limit=PAGE)
    assert len(ids) > 3 * PAGE  # several pages, each ending inside a name's partition
    assert len(ids) == len(set(ids))
    assert set(ids) == {e.envelope_id for e in entries if _matches(e, query)}


def test_english_and_full_width_spellings_find_the_same_counterparty(ledger):
    index, _, _ = ledger
    plain = index.search(LedgerQuery(counterparty="ACME HOLDINGS 05"), limit=100)
    wide = index.search(LedgerQuery(counterparty="ａｃｍｅ　ｈｏｌｄｉｎｇｓ　０５"), limit=100)
    assert plain.entries and [e.envelope_id for e in plain.entries] == [e.envelope_id for e in wide.entries]


def test_a_counterparty_text_matching_too_many_names_asks_for_more(ledger, monkeypatch):
    index, _, _ = ledger
    monkeypatch.setattr("tachiai.adapters.ledger_index.MAX_MATCHING_NAMES", 100)
    with pytest.raises(TooVague):
        index.search(LedgerQuery(counterparty="株式会社"))


def test_an_upside_down_range_is_refused(ledger):
    index, _, _ = ledger
    from tachiai.domain.errors import InvalidRequest

    with pytest.raises(InvalidRequest):
        index.search(LedgerQuery(date_from=date(2025, 1, 2), date_to=date(2025, 1, 1)))


# --- deadline alerts --------------------------------------------------------------------------------


class FakeMailer:
    def __init__(self) -> None:
        self.sent: list[Any] = []

    def send(self, message: Any) -> str:
        self.sent.append(message)
        return f"m{len(self.sent)}"


@pytest.fixture
def alerting(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Services, FakeMailer]]:
    from tachiai.adapters.aws import reset_clients

    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    reset_clients()
    ALERTS_TABLE = f"alerts-{random.randrange(10**9)}"
    with mock_aws():
        # Its own table: the module's 10,000-contract ledger may still be in moto's memory.
        client = boto3.client("dynamodb", region_name=REGION)
        client.create_table(TableName=ALERTS_TABLE, **TABLE_SCHEMA)
        base = dict(_entry(0, random.Random(1)))
        contracts = [
            # notice deadline in 30 days, end in 61; another ending in 5 days; one cancelled
            LedgerEntry(**{**base, "envelope_id": "env_notice", "title": "保守契約書", "end_date": date(2027, 3, 31),
                           "notice_deadline": date(2027, 1, 29), "auto_renewal": True}),
            LedgerEntry(**{**base, "envelope_id": "env_ending", "title": "業務委託契約書", "end_date": date(2027, 1, 4)}),
            LedgerEntry(**{**base, "envelope_id": "env_cancelled", "title": "取消", "status": EnvelopeStatus.CANCELLED,
                           "end_date": date(2027, 1, 2)}),
        ]  # fmt: skip
        for entry in contracts:
            for write in ledger_writes(ALERTS_TABLE, entry):
                if "Put" in write:
                    client.put_item(TableName=ALERTS_TABLE, Item=write["Put"]["Item"])
        svc = Services(
            settings_from(
                {
                    names.ENV_TABLE: ALERTS_TABLE,
                    names.ENV_MAIL_FROM: "noreply@sign.example.co.jp",
                    names.ENV_ALERT_DAYS: "60,30,7",
                }
            )
        )
        mailer = FakeMailer()
        svc.__dict__["mailer"] = mailer
        yield svc, mailer
    reset_clients()


def test_owners_are_mailed_before_a_notice_deadline_and_an_expiry_once_per_threshold(alerting):
    svc, mailer = alerting
    today = date(2026, 12, 30)
    first = send_deadline_alerts(svc, today)
    # notice deadline 2027-01-29 is 30 days away (30-day threshold); the end 2027-01-04 is 5 days away
    # (7-day threshold); the end 2027-03-31 is 91 days away (no threshold yet); cancelled: never.
    assert sorted(first["sent"]) == [
        "env_ending#end#2027-01-04#7",
        "env_notice#notice#2027-01-29#30",
    ]
    subjects = sorted(m.subject for m in mailer.sent)
    assert subjects == [
        "【期限通知】「保守契約書」の解約・更新拒絶の通知期限まであと30日です",
        "【期限通知】「業務委託契約書」の契約期間の満了日まであと5日です",
    ]
    # The same day again, and the next day: nothing new (no duplicate alerts)
    assert send_deadline_alerts(svc, today)["sent"] == []
    assert send_deadline_alerts(svc, today + timedelta(days=1))["sent"] == []
    # Three weeks later the notice deadline crosses the 7-day threshold: one more alert
    later = send_deadline_alerts(svc, date(2027, 1, 22))
    assert later["sent"] == ["env_notice#notice#2027-01-29#7"]
    assert len(mailer.sent) == 3


def test_an_alert_whose_mail_failed_is_sent_again_the_next_run(alerting):
    svc, mailer = alerting
    from tachiai.domain.errors import TachiaiError

    class Broken(FakeMailer):
        def send(self, message: Any) -> str:
            raise TachiaiError("SES down")

    svc.__dict__["mailer"] = Broken()
    with pytest.raises(TachiaiError):
        send_deadline_alerts(svc, date(2026, 12, 30))
    svc.__dict__["mailer"] = mailer
    assert len(send_deadline_alerts(svc, date(2026, 12, 30))["sent"]) == 2


def test_one_mail_that_fails_does_not_hold_back_the_other_alerts(alerting):
    svc, mailer = alerting
    from tachiai.domain.errors import TachiaiError

    class RefusesOne(FakeMailer):
        def send(self, message: Any) -> str:
            if "業務委託契約書" in message.subject:  # the first one due
                raise TachiaiError("address suppressed")
            return super().send(message)

    svc.__dict__["mailer"] = refusing = RefusesOne()
    with pytest.raises(TachiaiError):  # the run is reported failed (the schedule's failure destination)
        send_deadline_alerts(svc, date(2026, 12, 30))
    assert [m.subject for m in refusing.sent] == [
        "【期限通知】「保守契約書」の解約・更新拒絶の通知期限まであと30日です"
    ]
    svc.__dict__["mailer"] = mailer  # the next run sends only the one that failed
    assert send_deadline_alerts(svc, date(2026, 12, 31))["sent"] == ["env_ending#end#2027-01-04#7"]
