"""The contract ledger / 契約台帳 in the console (issue 12 item 4; FEATURES L1–L5): the 電子帳簿保存法
search, its CSV, a contract's metadata with its history and corrections, imports and the deadlines
coming up — in-process on the fakes through tests/console_browser.py.

Security rule under test throughout: a member's pages show only their own contracts, an
administrator's every contract, and nothing is counted before that filter."""

from __future__ import annotations

import base64
import csv
import io
from datetime import date, timedelta
from typing import Any

import pytest
from tachiai import i18n
from tachiai.console import ledger as ledger_page
from tachiai.services import ledger
from tachiai.services.identity import sender_from_claims
from tachiai.services.ledger import ImportRequest, MetadataValues
from tachiai.services.sending import SenderIdentity

from tests.console_browser import (
    ADMIN,
    MEMBER,
    OTHER_MEMBER,
    ConsoleBrowser,
    Page,
    StaffPerson,
    add_person,
    id_claims,
)
from tests.fakes import EXTRACT_FUNCTION, SEAL_FUNCTION, FakeWorld, fake_world, import_arrival
from tests.fixtures.pdfs import simple_pdf


@pytest.fixture
def world() -> FakeWorld:
    world = fake_world()
    world.functions.routes[SEAL_FUNCTION] = lambda payload: import_arrival(world, payload)
    world.functions.routes[EXTRACT_FUNCTION] = lambda payload: {"fields": []}
    return world


def _identity(world: FakeWorld, person: StaffPerson) -> SenderIdentity:
    add_person(world, person)
    claims = {k: (",".join(v) if isinstance(v, list) else v) for k, v in id_claims(person).items()}
    return sender_from_claims(world.svc, {**claims, "email_verified": "true"})


def _contract(world: FakeWorld, person: StaffPerson, title: str, **metadata: Any) -> str:
    """A completed contract of ``person`` in the ledger (an import, with what its importer knew)."""
    request = ImportRequest(
        title=title,
        file_name="scan.pdf",
        content_base64=base64.b64encode(simple_pdf()).decode(),
        metadata=MetadataValues.model_validate(metadata) if metadata else None,
    )
    return ledger.import_contract(world.svc, _identity(world, person), request).envelope.id


def _titles(page: Page) -> list[str]:
    """The titles of the results table, in order."""
    return [
        " ".join(a.text_content().split())
        for a in page.xpath("//table[contains(@class,'ledger')]//tbody/tr/td[3]/a")
    ]


def _field_error(page: Page, name: str) -> str | None:
    """The problem shown next to input ``name`` (the element its aria-describedby names)."""
    found = page.xpath(f"//*[@id='{name}-error']")
    return " ".join(found[0].text_content().split()) if found else None


@pytest.fixture
def contracts(world: FakeWorld) -> dict[str, str]:
    return {
        "sample": _contract(
            world,
            MEMBER,
            "業務委託契約書",
            parties=["株式会社サンプル商事"],
            amount=1_200_000,
            contract_date=date(2025, 1, 15),
        ),
        "sample_small": _contract(
            world,
            MEMBER,
            "秘密保持契約書",
            parties=["株式会社サンプル商事"],
            amount=100_000,
            contract_date=date(2024, 6, 1),
        ),
        "acme": _contract(
            world,
            MEMBER,
            "License Agreement",
            parties=["Acme Corp."],
            amount=3_000_000,
            contract_date=date(2025, 2, 1),
        ),
        "other": _contract(
            world,
            OTHER_MEMBER,
            "次郎の取引基本契約書",
            parties=["株式会社サンプル商事"],
            amount=1_500_000,
            contract_date=date(2025, 3, 1),
        ),
    }


# --- search ---------------------------------------------------------------------------------------


def test_a_search_by_counterparty_finds_the_contracts_with_that_party(world, contracts):
    page = ConsoleBrowser(world, MEMBER).get(
        "/app/ledger?counterparty=%EF%BD%BB%EF%BE%9D%EF%BE%8C%EF%BE%9F%EF%BE%99"
    )
    # ｻﾝﾌﾟﾙ (half-width kana) finds 株式会社サンプル商事: width does not matter
    assert page.status == 200
    assert _titles(page) == ["業務委託契約書", "秘密保持契約書"]


def test_a_search_by_amount_range_with_full_width_digits_finds_the_amounts_within_it(world, contracts):
    page = ConsoleBrowser(world, MEMBER).get("/app/ledger?amount_min=１，０００，０００&amount_max=2000000")
    assert page.status == 200
    assert _titles(page) == ["業務委託契約書"]
    # what was typed stays in the form
    assert page.xpath("//input[@name='amount_min']/@value") == ["１，０００，０００"]


def test_counterparty_and_amount_range_combined_must_both_hold(world, contracts):
    page = ConsoleBrowser(world, MEMBER).get("/app/ledger?counterparty=サンプル&amount_min=500000")
    assert _titles(page) == ["業務委託契約書"]


def test_a_search_by_transaction_date_range(world, contracts):
    page = ConsoleBrowser(world, MEMBER).get("/app/ledger?date_from=2025/1/1&date_to=2025年1月31日")
    assert _titles(page) == ["業務委託契約書"]


def test_a_search_that_finds_nothing_says_so(world, contracts):
    page = ConsoleBrowser(world, MEMBER).get("/app/ledger?counterparty=存在しない会社")
    assert page.status == 200
    assert _titles(page) == []
    assert "条件に合う契約はありません。" in page.text()


def test_bad_input_is_explained_next_to_its_field_and_nothing_is_searched(world, contracts):
    page = ConsoleBrowser(world, MEMBER).get(
        "/app/ledger?amount_min=たくさん&date_from=2025-05-01&date_to=2025-01-01"
    )
    assert page.status == 400
    assert _field_error(page, "amount_min") == "金額は数字で入力してください（例: 1200000）。"
    assert _field_error(page, "date_to") == "終了日が開始日より前になっています。"
    assert page.xpath("//input[@name='amount_min']/@aria-invalid") == ["true"]
    assert "amount_min-error" in page.xpath("//input[@name='amount_min']/@aria-describedby")[0]
    assert _titles(page) == []


def test_bad_input_is_explained_in_the_visitors_language(world, contracts):
    browser = ConsoleBrowser(world, MEMBER)
    page = browser.get("/app/ledger?amount_max=lots&lang=en")
    assert _field_error(page, "amount_max") == "Enter the amount as a number (for example 1200000)."


def test_results_go_on_with_the_services_cursor(world, contracts, monkeypatch):
    monkeypatch.setattr(ledger_page, "PAGE_SIZE", 2)
    browser = ConsoleBrowser(world, MEMBER)
    first = browser.get("/app/ledger")
    assert _titles(first) == ["License Agreement", "業務委託契約書"]
    following = [link for link in first.xpath("//a[@rel='next']/@href")]
    assert len(following) == 1
    second = browser.get(str(following[0]))
    assert _titles(second) == ["秘密保持契約書"]
    assert second.xpath("//a[@rel='next']") == []


def test_a_member_searches_only_their_own_contracts_and_an_admin_every_one(world, contracts):
    mine = ConsoleBrowser(world, MEMBER).get("/app/ledger?counterparty=サンプル")
    assert "次郎の取引基本契約書" not in mine.text()
    everyone = ConsoleBrowser(world, ADMIN).get("/app/ledger?counterparty=サンプル")
    assert _titles(everyone) == ["次郎の取引基本契約書", "業務委託契約書", "秘密保持契約書"]


# --- CSV ------------------------------------------------------------------------------------------


def test_the_csv_of_a_search_has_a_bom_its_rows_and_neutralized_formula_cells(world, contracts):
    _contract(world, MEMBER, '=HYPERLINK("http://evil.example","click")', parties=["@SUM(A1)"], amount=5)
    browser = ConsoleBrowser(world, MEMBER)
    page = browser.get("/app/ledger.csv?amount_max=10")
    assert page.status == 200
    assert page.header("content-type") == "text/csv; charset=utf-8"
    assert page.header("content-disposition") == 'attachment; filename="ledger-20250401.csv"'
    assert page.body.startswith("\ufeff")
    rows = list(csv.DictReader(io.StringIO(page.body.removeprefix("\ufeff"))))
    assert len(rows) == 1
    assert rows[0]["title"] == '\'=HYPERLINK("http://evil.example","click")'
    assert rows[0]["counterparties"] == "'@SUM(A1)"
    assert rows[0]["amount"] == "5"


def test_the_csv_holds_only_what_the_visitor_may_see(world, contracts):
    rows = list(
        csv.DictReader(
            io.StringIO(ConsoleBrowser(world, MEMBER).get("/app/ledger.csv").body.removeprefix("\ufeff"))
        )
    )
    assert sorted(r["envelope_id"] for r in rows) == sorted(
        [contracts["sample"], contracts["sample_small"], contracts["acme"]]
    )


def test_a_csv_too_large_for_one_response_is_offered_in_parts_that_together_hold_every_row(
    world, contracts, monkeypatch
):
    monkeypatch.setattr(ledger_page, "CSV_PAGE", 1)
    monkeypatch.setattr(ledger_page, "CSV_CAP_CHARS", 400)
    browser = ConsoleBrowser(world, ADMIN)
    page = browser.get("/app/ledger.csv")
    assert page.status == 200 and page.header("content-type") == "text/html; charset=utf-8"
    parts = [str(link) for link in page.xpath("//ol[@class='parts']//a/@href")]
    assert len(parts) >= 2
    ids: list[str] = []
    for number, link in enumerate(parts, start=1):
        part = browser.get(link)
        assert (
            part.header("content-disposition") == f'attachment; filename="ledger-20250401-part{number}.csv"'
        )
        ids.extend(r["envelope_id"] for r in csv.DictReader(io.StringIO(part.body.removeprefix("\ufeff"))))
    assert sorted(ids) == sorted(contracts.values())


def test_a_csv_with_bad_input_explains_it_on_the_search_page(world, contracts):
    page = ConsoleBrowser(world, MEMBER).get("/app/ledger.csv?date_from=yesterday")
    assert page.status == 400
    assert _field_error(page, "date_from") == "日付として読めません（例: 2025-04-01）。"


# --- a contract: its history and corrections -----------------------------------------------------


def test_a_correction_is_recorded_in_the_history_and_shown(world, contracts):
    browser = ConsoleBrowser(world, MEMBER)
    envelope_id = contracts["sample"]
    page = browser.get(f"/app/ledger/{envelope_id}")
    fields = page.form_values(f"/app/ledger/{envelope_id}")
    assert fields["amount"] == "1200000"
    answer = browser.post(f"/app/ledger/{envelope_id}", {**fields, "amount": "１，３００，０００"})
    assert answer.status == 303 and answer.location == f"/app/ledger/{envelope_id}"
    page = browser.follow()
    assert page.notice() == "修正を保存しました。履歴に記録されています。"
    row = " ".join(page.xpath("//tr[@id='field-amount']")[0].text_content().split())
    assert "1,300,000" in row
    assert "2025-04-01 18:00 taro@example.co.jp: 1,200,000 → 1,300,000" in row  # Asia/Tokyo
    # only the amount was corrected: the other fields shown unchanged in the form were not
    trail = world.envelopes.audit_trail(envelope_id)
    corrected = [e.data["field"] for e in trail if e.kind == "metadata.corrected"]
    assert corrected == ["contract_date", "parties", "amount", "amount"]
    assert world.envelopes.get(envelope_id).metadata.amount == 1_300_000


def test_a_correction_with_a_bad_value_is_shown_again_with_the_problem_at_its_field(world, contracts):
    browser = ConsoleBrowser(world, MEMBER)
    envelope_id = contracts["sample"]
    fields = browser.get(f"/app/ledger/{envelope_id}").form_values(f"/app/ledger/{envelope_id}")
    page = browser.post(f"/app/ledger/{envelope_id}", {**fields, "end_date": "2026-02-30"})
    assert page.status == 422
    assert _field_error(page, "end_date") == "日付として読めません（例: 2025-04-01）。"
    assert page.xpath("//input[@name='end_date']/@value") == ["2026-02-30"]
    assert world.envelopes.get(envelope_id).metadata.end_date is None


def test_a_correction_posted_from_another_site_is_refused(world, contracts):
    browser = ConsoleBrowser(world, MEMBER, origin="https://evil.example")
    envelope_id = contracts["sample"]
    page = browser.post(f"/app/ledger/{envelope_id}", {"amount": "1"})
    assert page.status == 403
    assert world.envelopes.get(envelope_id).metadata.amount == 1_200_000


def test_a_member_cannot_open_another_members_contract(world, contracts):
    page = ConsoleBrowser(world, MEMBER).get(f"/app/ledger/{contracts['other']}")
    assert page.status == 404
    assert "次郎の取引基本契約書" not in page.text()


def test_an_admin_reads_any_contract_but_only_its_owner_is_offered_the_correction(world, contracts):
    page = ConsoleBrowser(world, ADMIN).get(f"/app/ledger/{contracts['other']}")
    assert page.status == 200
    assert "次郎の取引基本契約書" in page.text()
    assert page.xpath("//form[@method='post' and contains(@action,'/app/ledger/')]") == []


def test_the_contracts_files_are_downloaded_through_short_lived_links(world, contracts):
    browser = ConsoleBrowser(world, MEMBER)
    envelope_id = contracts["sample"]
    page = browser.get(f"/app/ledger/{envelope_id}")
    links = [str(h) for h in page.xpath("//section[@aria-labelledby='documents-heading']//a/@href")]
    assert links == [f"/app/ledger/{envelope_id}/files/0", f"/app/ledger/{envelope_id}/files/1"]
    answer = browser.get(links[0])
    assert answer.status == 303
    assert (answer.location or "").startswith("https://documents.invalid/")  # the storage's URL
    assert browser.get(f"/app/ledger/{envelope_id}/files/9").status == 400


# --- import ---------------------------------------------------------------------------------------


def test_a_paper_contract_imported_with_what_is_known_appears_in_the_ledger(world):
    browser = ConsoleBrowser(world, MEMBER)
    form = browser.get("/app/ledger/import")
    assert form.status == 200
    answer = browser.post(
        "/app/ledger/import",
        {
            "title": "倉庫賃貸借契約書（紙）",
            "parties": "株式会社倉庫\n",
            "amount": "２４０万".replace("万", "0000"),
            "contract_date": "2024/10/1",
        },
        files={"file": ("倉庫契約.pdf", simple_pdf())},
    )
    assert answer.status == 303
    envelope_id = (answer.location or "").rsplit("/", 1)[-1]
    page = browser.follow()
    assert page.notice() == "契約書を取り込みました。"
    assert "倉庫賃貸借契約書（紙）" in page.text()
    found = browser.get("/app/ledger?counterparty=倉庫")
    assert _titles(found) == ["倉庫賃貸借契約書（紙）"]
    envelope = world.envelopes.get(envelope_id)
    assert envelope.origin == "imported" and envelope.status == "completed"
    assert envelope.metadata.amount == 2_400_000 and envelope.documents[0].name == "倉庫契約.pdf"


def test_an_import_that_is_not_a_pdf_is_refused_on_the_file_in_the_visitors_language(world):
    browser = ConsoleBrowser(world, MEMBER, language="en")
    page = browser.post(
        "/app/ledger/import",
        {"title": "Lease", "amount": "500"},
        files={"file": ("lease.docx", b"PK\x03\x04 word")},
    )
    assert page.status == 400
    problem = _field_error(page, "file")
    assert problem == i18n.text("error.not_pdf", "en")
    assert page.xpath("//input[@name='title']/@value") == ["Lease"]  # kept
    assert page.xpath("//input[@name='amount']/@value") == ["500"]
    assert (
        ledger.search(world.svc, _identity(world, MEMBER), ledger_page.LedgerQuery(), 10, None).entries == []
    )


def test_an_import_without_a_file_or_title_says_what_is_missing(world):
    page = ConsoleBrowser(world, MEMBER).post("/app/ledger/import", {"title": ""}, files={})
    assert page.status == 422
    assert _field_error(page, "file") == "PDFファイルを選んでください。"
    assert _field_error(page, "title") == "件名を入力してください。"


def test_an_import_over_the_request_limit_is_refused_before_it_is_sent_on(world, monkeypatch):
    monkeypatch.setattr(ledger_page, "MAX_IMPORT_BYTES", 100)
    page = ConsoleBrowser(world, MEMBER).post(
        "/app/ledger/import", {"title": "大きな契約"}, files={"file": ("big.pdf", simple_pdf())}
    )
    assert page.status == 422
    assert "tachiai import" in (_field_error(page, "file") or "")


# --- upcoming -------------------------------------------------------------------------------------


def test_upcoming_deadlines_and_expiries_are_listed_soonest_first(world):
    today = world.clock.now.date()
    _contract(world, MEMBER, "遅い契約", end_date=today + timedelta(days=80))
    _contract(
        world,
        MEMBER,
        "近い契約",
        end_date=today + timedelta(days=45),
        notice_deadline=today + timedelta(days=15),
    )
    _contract(world, MEMBER, "先の契約", end_date=today + timedelta(days=120))
    _contract(world, OTHER_MEMBER, "次郎の契約", end_date=today + timedelta(days=5))
    for path in ("/app/ledger", "/app/ledger/upcoming"):
        page = ConsoleBrowser(world, MEMBER).get(path)
        items = [" ".join(li.text_content().split()) for li in page.xpath("//ol[@class='upcoming']/li")]
        assert items == [
            "2025-04-16 通知期限 あと15日 近い契約",
            "2025-05-16 契約終了 あと45日 近い契約",
            "2025-06-20 契約終了 あと80日 遅い契約",
        ], path


def _extraction_state(world: FakeWorld, envelope_id: str, status: str, error: str | None = None) -> None:
    stored = world.envelopes.envelopes[envelope_id]
    world.envelopes.envelopes[envelope_id] = stored.model_copy(
        update={"metadata_status": status, "metadata_error": error}
    )


def test_a_contract_being_read_says_so_instead_of_not_read_yet(world):
    envelope_id = _contract(world, MEMBER, "読み取り中の契約書")
    _extraction_state(world, envelope_id, "extracting")

    page = ConsoleBrowser(world, MEMBER).get(f"/app/ledger/{envelope_id}")

    assert "読み取り中です。" in page.text() and "まだ読み取っていません。" not in page.text()


def test_a_failed_reading_shows_its_reason_and_the_owner_can_start_it_again(world):
    envelope_id = _contract(world, MEMBER, "読み取れなかった契約書")
    _extraction_state(world, envelope_id, "failed", "function_unavailable")
    browser = ConsoleBrowser(world, MEMBER)
    world.functions.started.clear()

    page = browser.get(f"/app/ledger/{envelope_id}")
    assert "function_unavailable" in page.text()
    answer = browser.post(f"/app/ledger/{envelope_id}/extract", {})

    assert answer.status == 303
    assert browser.follow().notice() == "契約書の読み取りを始めました。"
    assert world.envelopes.get(envelope_id).metadata_status == "extracting"
    assert [payload["envelopeId"] for _, payload in world.functions.started] == [envelope_id]


def test_only_the_contracts_owner_can_start_its_reading_again(world):
    envelope_id = _contract(world, OTHER_MEMBER, "次郎の読み取れなかった契約書")
    _extraction_state(world, envelope_id, "failed", "function_unavailable")
    world.functions.started.clear()

    answer = ConsoleBrowser(world, MEMBER).post(f"/app/ledger/{envelope_id}/extract", {})

    assert answer.status == 404
    assert world.functions.started == []


def test_a_contract_read_successfully_offers_no_second_reading(world):
    envelope_id = _contract(world, MEMBER, "読み取った契約書")
    _extraction_state(world, envelope_id, "extracted")

    page = ConsoleBrowser(world, MEMBER).get(f"/app/ledger/{envelope_id}")

    assert not page.xpath("//button[@id='extract-again']")
