"""Security rule: one text-cleaning rule (Unicode Cc, Cf, Zl, Zp) for every name, title, reason,
organization, message and CSV cell — where the text enters and again where it leaves — and every CSV
cell neutralized against formula injection (OWASP)."""

from __future__ import annotations

import csv
import io
import unicodedata
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError
from tachiai.domain.envelope import Document, Envelope, Participant
from tachiai.domain.events import AuthMethod, EventKind, Person, SealEvent
from tachiai.domain.ledger import ledger_entry
from tachiai.domain.text import csv_cell, multi_line, single_line
from tachiai.extract.model import ContractMetadata
from tachiai.ledger_export import safe_file_name
from tachiai.ledger_listing import table, to_csv
from tachiai.sealing.reason import seal_reason
from tachiai.services.ledger import ImportRequest, MetadataValues
from tachiai.services.recipient import ForwardRequest
from tachiai.services.sending import CreateEnvelopeRequest

T0 = datetime(2026, 11, 22, 1, 0, tzinfo=UTC)
TOKYO = ZoneInfo("Asia/Tokyo")
REMOVED = {"Cc", "Cf", "Zl", "Zp"}


def _dirty(text: str) -> bool:
    return any(unicodedata.category(c) in REMOVED for c in text)


def _envelope(**changes: object) -> Envelope:
    fields: dict[str, object] = {
        "id": "env1",
        "title": "秘密保持契約書",
        "sender": Person(name="山田太郎", email="taro@example.com"),
        "sender_id": "sub-1",
        "participants": [Participant(id="p1", order=1, person=Person(name="佐藤", email="s@example.jp"))],
        "documents": [Document(id="d1", name="nda.pdf")],
        "created_at": T0,
        "updated_at": T0,
    }
    fields.update(changes)
    return Envelope.model_validate(fields)


# --- the rule -------------------------------------------------------------------------------------


def test_one_line_text_loses_every_control_format_and_separator_character():
    cleaned = single_line("山田\u202e太郎\u2028様\x1b[31m\x07\x00\u200b\ufeff\u2066x\u2069\u0085end")
    assert not _dirty(cleaned)
    assert cleaned == "山田太郎 様[31mx end"


def test_line_breaks_and_tabs_become_one_space_and_typed_spaces_stay():
    assert single_line("  株式会社\r\n\tサンプル\u2029商事  ") == "株式会社 サンプル 商事"
    assert single_line("山田　太郎") == "山田　太郎"  # a full-width space is part of how names are written


def test_a_message_keeps_its_line_breaks_as_newlines_only():
    assert multi_line("ご確認\r\nください\u2028よろしく\x1b\x07\x00\n\n\n\n以上\u202e") == (
        "ご確認\nください\nよろしく\n\n以上"
    )


def test_a_lone_surrogate_is_dropped_so_the_text_can_be_stored():
    assert single_line("理由\udfff") == "理由" and multi_line("a\ud800\nb") == "a\nb"


def test_emoji_lose_their_joiner_and_ivs_selectors_stay():
    assert single_line("👩\u200d💻") == "👩💻"
    assert single_line("葛\U000e0100城") == "葛\U000e0100城"  # IVS (Mn): the registered form of a name


# --- where text enters ------------------------------------------------------------------------------


def test_names_and_organizations_of_a_person_are_one_clean_line():
    person = Person(name="Eve\u202etxt.exe\u2028", email="e@example.jp", organization="悪\x1b]0;x\x07社")
    assert person.name == "Evetxt.exe" and person.organization == "悪]0;x社"


def test_a_name_that_is_only_invisible_characters_is_refused_as_empty():
    with pytest.raises(ValidationError):
        Person(name="\u202e\u200b\x00", email="e@example.jp")


def test_a_title_keeps_no_escape_bell_or_nul_after_a_line_break():
    envelope = _envelope(title="契約書\n\x1b[2J\x07\x00続き", message="一行目\r\n\x1b二行目")
    assert envelope.title == "契約書 [2J続き"
    assert envelope.message == "一行目\n二行目"


def test_the_api_requests_clean_what_they_carry():
    create = CreateEnvelopeRequest.model_validate(
        {
            "title": "契約\u202e書",
            "message": "a\u2028b",
            "participants": [{"name": "髙橋\u2028一郎", "email": "i@example.jp", "organization": "x\x1b社"}],
            "documents": [{"name": "nda\u202efdp.exe"}],
        }
    )
    assert (create.title, create.message) == ("契約書", "a\nb")
    assert (create.participants[0].name, create.participants[0].organization) == ("髙橋 一郎", "x社")
    assert create.documents[0].name == "ndafdp.exe"
    forward = ForwardRequest(
        name="代理\u202e人", email="d@example.jp", organization="=1+1\x07", reason="r\x00"
    )
    assert (forward.name, forward.organization, forward.reason) == ("代理人", "=1+1", "r")
    imported = ImportRequest(title="取込\x1b", file_name="scan\u202e.pdf")
    assert (imported.title, imported.file_name) == ("取込", "scan.pdf")
    assert MetadataValues(parties=["甲\u2028社"]).parties == ["甲 社"]


def test_parties_read_from_a_pdf_are_cleaned_like_typed_names():
    assert ContractMetadata(parties=["株式会社\u202eサンプル\x07"]).parties == ["株式会社サンプル"]


# --- where text leaves ------------------------------------------------------------------------------


def test_a_seal_reason_carries_no_override_or_line_separator_from_a_name():
    # model_construct: a Person stored before the rule existed, never validated again.
    actor = Person.model_construct(
        name="山田\u202e郎太\u2028Bcc", email="taro@example.com", organization=None
    )
    event = SealEvent.model_construct(
        kind=EventKind.AGREED, actor=actor, at=T0, auth_methods=[AuthMethod.EMAIL_LINK]
    )
    for language in ("ja", "en"):
        reason = seal_reason(event, language, TOKYO)
        assert not _dirty(reason), reason
        assert "山田郎太 Bcc (taro@example.com)" in reason


def test_the_terminal_table_shows_no_control_characters():
    contract = {"envelope_id": "env_1", "title": "契約\x1b[2J\x07書", "counterparties": ["悪\u202e社"]}
    printed = table([contract])
    assert "\x1b" not in printed and "\x07" not in printed and "\u202e" not in printed


def test_an_exported_file_name_cannot_reverse_its_extension():
    assert safe_file_name("invoice\u202efdp.exe") == "invoicefdp.exe"


# --- CSV formula injection --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "planted", ['=HYPERLINK("http://x")', "+1+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1", "＝1+1"]
)
def test_a_cell_a_spreadsheet_would_run_as_a_formula_starts_with_a_quote(planted):
    cell = csv_cell(planted)
    assert cell.startswith("'") and not _dirty(cell)


def test_numbers_stay_numbers_and_ordinary_text_is_unchanged():
    assert csv_cell(1_280_000) == "1280000"
    assert csv_cell(-5) == "-5"  # a number is never a formula
    assert csv_cell(True) == "true" and csv_cell(None) == ""
    assert csv_cell("株式会社サンプル") == "株式会社サンプル"
    assert csv_cell("2026-04-01") == "2026-04-01"


def test_a_forwards_organization_cannot_plant_a_formula_in_the_ledger_csv():
    # An outside recipient forwards to "someone" whose organization is a formula; with no parties
    # extracted, the ledger's counterparties are the participants' organizations.
    newcomer = Person(name="代理人", email="d@example.jp", organization='=HYPERLINK("http://evil","x")')
    envelope = _envelope(
        participants=[Participant(id="p1", order=1, person=newcomer)], metadata=ContractMetadata(amount=500)
    )
    entry = ledger_entry(envelope, TOKYO).model_dump(mode="json")
    row = next(
        csv.DictReader(io.StringIO(to_csv([{**entry, "title": "@cmd", "owner_email": "-x@example.jp"}])))
    )
    assert row["counterparties"].startswith("'=HYPERLINK")
    assert row["title"] == "'@cmd" and row["owner_email"] == "'-x@example.jp"
    assert row["amount"] == "500"
