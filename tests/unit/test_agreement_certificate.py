"""The agreement certificate (合意締結証明書): what it says, how it is laid out, and that it seals."""

from __future__ import annotations

import hashlib
import io
import re
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pypdf
import pytest
from fpdf import FPDF
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext
from tachiai.domain.errors import CertificateRenderError
from tachiai.domain.events import (
    AgreementRecord,
    AuthMethod,
    DocumentRecord,
    EventKind,
    ParticipantEvent,
    ParticipantRecord,
    Person,
)
from tachiai.sealing.certificate import render_agreement_certificate

from tests.conftest import require_tool
from tests.fixtures.events import event as agreement_event

TOKYO = ZoneInfo("Asia/Tokyo")
SENT_AT = datetime(2026, 11, 22, 1, 15, 3, tzinfo=UTC)  # 10:15:03 in Tokyo
DESKTOP = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36 Edg/131.0.2903.86"
)
PHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.5 Mobile/15E148 Safari/604.1"
)
ENVELOPE_ID = "01JD5ZQ8H3K9V6W2X4Y7A1B3C5"


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


ORIGINAL, NORMALIZED, SEALED = sha("original"), sha("normalized"), sha("sealed")

SENDER = Person(name="髙橋 一郎", email="takahashi@tachiai.example", organization="株式会社立会テクノロジー")
SIGNER = Person(name="山﨑 健一", email="yamasaki@example.co.jp", organization="髙橋﨑商事株式会社 法務部")


def event(kind: EventKind, minutes: int, *auth: AuthMethod, **extra: str) -> ParticipantEvent:
    return ParticipantEvent(
        kind=kind,
        at=SENT_AT + timedelta(minutes=minutes),
        auth_methods=list(auth),
        ip_address=extra.pop("ip_address", "203.0.113.10"),
        user_agent=extra.pop("user_agent", DESKTOP),
        **extra,
    )


def make_record(**changes: object) -> AgreementRecord:
    fields_: dict[str, object] = {
        "envelope_id": ENVELOPE_ID,
        "title": "秘密保持契約書（株式会社立会テクノロジー・髙橋﨑商事株式会社）",
        "documents": [
            DocumentRecord(
                name="秘密保持契約書.pdf",
                pages=2,
                original_sha256=ORIGINAL,
                normalized_sha256=NORMALIZED,
                sealed_sha256=SEALED,
            )
        ],
        "participants": [
            ParticipantRecord(
                order=0,
                role="sender",
                person=SENDER,
                events=[event(EventKind.SENT, 0, AuthMethod.SENDER_LOGIN, AuthMethod.TOTP)],
            ),
            ParticipantRecord(
                order=1,
                role="signer",
                person=SIGNER,
                events=[
                    event(EventKind.OPENED, 10, AuthMethod.EMAIL_LINK, user_agent=PHONE),
                    event(
                        EventKind.AGREED,
                        13,
                        AuthMethod.EMAIL_LINK,
                        AuthMethod.ACCESS_CODE,
                        ip_address="2001:db8:85a3::8a2e:370:7334",
                        user_agent=PHONE,
                    ),
                ],
            ),
        ],
        "completed_at": SENT_AT + timedelta(minutes=13),
    }
    fields_.update(changes)
    return AgreementRecord.model_validate(fields_)


def many_participants(count: int = 12, events_each: int = 4) -> list[ParticipantRecord]:
    kinds = [EventKind.OPENED, EventKind.FORWARDED, EventKind.OPENED, EventKind.AGREED]
    return [
        ParticipantRecord(
            order=i,
            role="sender" if i == 0 else "signer",
            person=Person(
                name=f"署名者{i:02d} 髙橋", email=f"signer{i}@example.jp", organization="髙橋﨑商事"
            ),
            events=[
                event(kinds[j % 4], i * 10 + j, AuthMethod.EMAIL_LINK, AuthMethod.EMAIL_OTP)
                for j in range(events_each)
            ],
        )
        for i in range(count)
    ]


@pytest.fixture(scope="module")
def certificate() -> bytes:
    return render_agreement_certificate(make_record())


def write(tmp_path: Path, pdf: bytes, name: str = "certificate.pdf") -> Path:
    path = tmp_path / name
    path.write_bytes(pdf)
    return path


def pdftotext(path: Path, *args: str) -> str:
    tool = require_tool("pdftotext", "poppler-utils")
    result = subprocess.run([tool, "-enc", "UTF-8", *args, str(path), "-"], capture_output=True, check=True)
    return result.stdout.decode("utf-8")


def pypdf_text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf)).pages)


def page_count(pdf: bytes) -> int:
    return len(pypdf.PdfReader(io.BytesIO(pdf)).pages)


# --- what it says --------------------------------------------------------------------------------


def test_title_is_bilingual(tmp_path, certificate):
    text = pdftotext(write(tmp_path, certificate))
    assert "合意締結証明書" in text
    assert "Certificate of Agreement" in text


@pytest.mark.parametrize("name", ["髙橋 一郎", "山﨑 健一", "髙橋﨑商事株式会社 法務部"])
def test_names_with_ibm_extension_kanji_extract_exactly_with_pdftotext(tmp_path, certificate, name):
    assert name in pdftotext(write(tmp_path, certificate))


@pytest.mark.parametrize("name", ["髙橋 一郎", "山﨑 健一", "髙橋﨑商事株式会社 法務部"])
def test_names_with_ibm_extension_kanji_extract_exactly_with_pypdf(certificate, name):
    assert name in pypdf_text(certificate)


def test_compatibility_and_unified_ideographs_stay_distinct(tmp_path):
    # 﨑 (U+FA11) and 崎 (U+5D0E), 髙 (U+9AD9) and 高 (U+9AD8) must each come back as written.
    people = [
        ParticipantRecord(order=0, role="sender", person=Person(name="山﨑 髙子", email="a@example.jp")),
        ParticipantRecord(order=1, role="signer", person=Person(name="山崎 高子", email="b@example.jp")),
    ]
    pdf = render_agreement_certificate(make_record(participants=people))
    for text in (pdftotext(write(tmp_path, pdf)), pypdf_text(pdf)):
        assert "山﨑 髙子" in text
        assert "山崎 高子" in text


def test_code_points_sharing_a_glyph_still_extract_as_written(tmp_path):
    # In IPAexGothic, U+002D and U+2010 are one glyph; each must still come back as itself.
    people = [
        ParticipantRecord(order=0, role="sender", person=Person(name="Jean-Luc", email="a@example.jp")),
        ParticipantRecord(
            order=1, role="signer", person=Person(name="Marie\u2010Anne", email="b@example.jp")
        ),
    ]
    pdf = render_agreement_certificate(make_record(participants=people))
    for text in (pdftotext(write(tmp_path, pdf)), pypdf_text(pdf)):
        assert "Jean-Luc" in text
        assert "Marie\u2010Anne" in text


def test_hashes_of_original_normalized_and_sealed_files_extract_exactly(tmp_path, certificate):
    text = pdftotext(write(tmp_path, certificate))
    for digest in (ORIGINAL, NORMALIZED, SEALED):
        assert digest in text
        assert digest in pypdf_text(certificate)


def test_normalized_hash_row_appears_only_when_the_upload_was_normalized(tmp_path):
    document = DocumentRecord(name="契約書.pdf", pages=1, original_sha256=ORIGINAL, sealed_sha256=SEALED)
    text = pdftotext(write(tmp_path, render_agreement_certificate(make_record(documents=[document]))))
    assert "SHA-256（原本）" in text
    assert "SHA-256（締結済み）" in text
    assert "正規化" not in text


def test_envelope_id_and_completion_time_extract_exactly(tmp_path, certificate):
    text = pdftotext(write(tmp_path, certificate))
    assert ENVELOPE_ID in text
    assert "2026-11-22 10:28:03 +09:00" in text


def test_event_times_are_shown_in_tokyo_time_by_default(tmp_path, certificate):
    text = pdftotext(write(tmp_path, certificate))
    for time in ("2026-11-22 10:15:03 +09:00", "2026-11-22 10:25:03 +09:00", "2026-11-22 10:28:03 +09:00"):
        assert time in text


def test_event_times_follow_the_record_time_zone(tmp_path):
    pdf = render_agreement_certificate(make_record(timezone="America/New_York"))
    assert "2026-11-21 20:15:03 -05:00" in pdftotext(write(tmp_path, pdf))


def test_each_event_is_labelled_in_japanese_and_english(tmp_path):
    kinds = list(EventKind)
    person = ParticipantRecord(
        order=1,
        role="approver",
        person=SIGNER,
        events=[event(kind, i, AuthMethod.EMAIL_LINK) for i, kind in enumerate(kinds)],
    )
    text = pdftotext(write(tmp_path, render_agreement_certificate(make_record(participants=[person]))))
    for label in (
        "送信",
        "Sent",
        "開封",
        "Opened",
        "転送",
        "Forwarded",
        "合意",
        "Agreed",
        "差し戻し",
        "Rejected",
    ):
        assert label in text
    assert "承認者" in text
    assert "Approver" in text


def test_roles_are_labelled_in_japanese_and_english(tmp_path, certificate):
    text = pdftotext(write(tmp_path, certificate))
    for label in ("送信者", "Sender", "署名者", "Signer"):
        assert label in text


def test_authentication_methods_are_described_in_both_languages(tmp_path, certificate):
    text = pdftotext(write(tmp_path, certificate), "-layout")
    assert "メール認証＋アクセスコード" in text
    assert "email link + access code" in text
    assert "ログイン認証＋2要素認証" in text


def test_ip_addresses_and_emails_are_listed(tmp_path, certificate):
    text = pdftotext(write(tmp_path, certificate))
    assert "203.0.113.10" in text
    assert "takahashi@tachiai.example" in text
    assert "yamasaki@example.co.jp" in text


def test_forward_note_is_listed(tmp_path):
    note = "転送先: 佐藤 花子 <sato@example.jp>（担当者変更のため）"
    person = ParticipantRecord(
        order=1,
        role="signer",
        person=SIGNER,
        events=[event(EventKind.FORWARDED, 1, AuthMethod.EMAIL_LINK, note=note)],
    )
    pdf = render_agreement_certificate(make_record(participants=[person]))
    assert note in pdftotext(write(tmp_path, pdf))


def test_closing_statement_explains_seals_timestamps_and_verification(tmp_path, certificate):
    text = " ".join(pdftotext(write(tmp_path, certificate)).split())
    assert "タイムスタンプ" in text
    assert "Adobe Acrobat" in text
    assert "tachiai verify" in text


def test_characters_outside_the_font_are_written_as_code_points(tmp_path):
    person = ParticipantRecord(order=0, role="sender", person=Person(name="𠮷田 花子", email="y@example.jp"))
    text = pdftotext(write(tmp_path, render_agreement_certificate(make_record(participants=[person]))))
    assert "<U+20BB7>田 花子" in text
    assert "<U+コードポイント>" in text


def test_participant_without_events_says_none_were_recorded(tmp_path):
    person = ParticipantRecord(order=2, role="signer", person=SIGNER)
    text = pdftotext(write(tmp_path, render_agreement_certificate(make_record(participants=[person]))))
    assert "No actions recorded." in text


# --- the PDF itself ------------------------------------------------------------------------------


def test_font_is_embedded_as_a_subset_according_to_pdffonts(tmp_path, certificate):
    pdffonts = require_tool("pdffonts", "poppler-utils")
    out = subprocess.run(
        [pdffonts, str(write(tmp_path, certificate))], capture_output=True, text=True, check=True
    )
    rows = out.stdout.splitlines()[2:]
    assert rows
    for row in rows:
        assert re.match(r"[A-Z]{6}\+IPAexGothic\s+CID TrueType\s+Identity-H\s+yes\s+yes\s+yes", row), row


def test_font_program_is_in_the_file(certificate):
    reader = pypdf.PdfReader(io.BytesIO(certificate))
    font = next(iter(reader.pages[0]["/Resources"]["/Font"].values())).get_object()
    descriptor = font["/DescendantFonts"][0].get_object()["/FontDescriptor"].get_object()
    assert re.fullmatch(r"/[A-Z]{6}\+IPAexGothic", font["/BaseFont"])
    assert len(descriptor["/FontFile2"].get_object().get_data()) > 1000
    assert "/ToUnicode" in font


def test_same_record_gives_identical_bytes(certificate):
    assert render_agreement_certificate(make_record()) == certificate


def test_dates_and_metadata_come_from_the_record(certificate):
    info = pypdf.PdfReader(io.BytesIO(certificate)).metadata
    assert info is not None
    assert info["/CreationDate"] == "D:20261122102803+09'00'"
    assert info["/Producer"] == "tachiai"
    assert info.title is not None
    assert "合意締結証明書" in info.title
    assert "髙橋﨑商事株式会社" in info.title


def test_pages_are_a4(certificate):
    box = pypdf.PdfReader(io.BytesIO(certificate)).pages[0].mediabox
    assert (round(float(box.width), 1), round(float(box.height), 1)) == (595.3, 841.9)


def test_qpdf_check_is_clean(tmp_path, certificate):
    qpdf = require_tool("qpdf", "qpdf")
    result = subprocess.run(
        [qpdf, "--check", str(write(tmp_path, certificate))], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No syntax or stream encoding errors found" in result.stdout


def test_pyhanko_reads_it_strictly(certificate):
    reader = PdfFileReader(io.BytesIO(certificate), strict=True)
    assert reader.root["/Pages"]["/Count"] == page_count(certificate)


def test_two_seals_by_the_sealing_engine_both_validate(certificate, kit):
    signed = kit.sealer.seal_event(kit.sealer.seal_event(certificate, agreement_event()), agreement_event())
    reader = PdfFileReader(io.BytesIO(signed), strict=True)
    context = ValidationContext(trust_roots=[kit.pki.root_cert], allow_fetching=False)
    statuses = [validate_pdf_signature(s, context) for s in reader.embedded_signatures]
    assert [(s.intact, s.valid, s.trusted) for s in statuses] == [(True, True, True)] * 2


# --- layout: pages, wrapping ---------------------------------------------------------------------


def test_many_participants_flow_onto_further_pages(certificate):
    pdf = render_agreement_certificate(make_record(participants=many_participants()))
    assert page_count(pdf) > page_count(certificate) + 2


def test_every_page_is_numbered_out_of_the_total(tmp_path):
    pdf = render_agreement_certificate(make_record(participants=many_participants()))
    total = page_count(pdf)
    path = write(tmp_path, pdf)
    for number in range(1, total + 1):
        assert f"Page {number} / {total}" in pdftotext(path, "-f", str(number), "-l", str(number))


def test_every_event_of_many_participants_is_listed(tmp_path):
    participants = many_participants()
    text = pdftotext(write(tmp_path, render_agreement_certificate(make_record(participants=participants))))
    for participant in participants:
        assert participant.person.name in text
        for e in participant.events:
            assert f"{e.at.astimezone(TOKYO):%Y-%m-%d %H:%M:%S} +09:00" in text


def test_continued_participant_is_named_at_the_top_of_the_next_page(tmp_path):
    participants = many_participants(count=2, events_each=30)
    text = pdftotext(write(tmp_path, render_agreement_certificate(make_record(participants=participants))))
    assert "署名者01 髙橋（続き / continued）" in text


def words_with_boxes(path: Path) -> list[tuple[float, float, float, float, float, float, str]]:
    """(page width, page height, xMin, yMin, xMax, yMax, word) of every word, from ``pdftotext -bbox``."""
    html = pdftotext(path, "-bbox")
    words = []
    for page in re.finditer(r'<page width="([\d.]+)" height="([\d.]+)">(.*?)</page>', html, re.S):
        width, height = float(page[1]), float(page[2])
        for w in re.finditer(
            r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">(.*?)</word>', page[3]
        ):
            words.append((width, height, float(w[1]), float(w[2]), float(w[3]), float(w[4]), w[5]))
    return words


def assert_all_text_inside_the_margins(path: Path) -> None:
    margin = 15 * 72 / 25.4 - 0.5  # 15 mm, in points, less rounding
    words = words_with_boxes(path)
    assert words
    for width, height, x0, y0, x1, y1, word in words:
        assert x0 >= margin and x1 <= width - margin, word
        assert y0 >= 0 and y1 <= height, word


def test_long_values_wrap_inside_the_page(tmp_path):
    long_agent = DESKTOP + " " + "X" * 300 + " " + PHONE * 3
    long_name = "寿限無寿限無五劫の擦り切れ海砂利水魚の水行末雲来末風来末" * 6
    person = ParticipantRecord(
        order=1,
        role="signer",
        person=Person(
            name=long_name, email="a" * 60 + "@example.jp", organization="株式会社" + "長い名前" * 40
        ),
        events=[event(EventKind.AGREED, 1, AuthMethod.EMAIL_LINK, user_agent=long_agent)],
    )
    record = make_record(participants=[person], title="とても長い件名" * 40, envelope_id="E" * 150)
    assert_all_text_inside_the_margins(write(tmp_path, render_agreement_certificate(record)))


def test_long_user_agent_is_listed_in_full(tmp_path):
    long_agent = "Mozilla/5.0" + "".join(f"/segment{i:03d}" for i in range(60))
    person = ParticipantRecord(
        order=1,
        role="signer",
        person=SIGNER,
        events=[event(EventKind.AGREED, 1, AuthMethod.EMAIL_LINK, user_agent=long_agent)],
    )
    text = pdftotext(write(tmp_path, render_agreement_certificate(make_record(participants=[person]))))
    assert long_agent in "".join(text.split())


def test_value_taller_than_a_page_continues_on_the_next_pages(tmp_path):
    huge_agent = " ".join(f"token{i:05d}" for i in range(3000))
    person = ParticipantRecord(
        order=1,
        role="signer",
        person=SIGNER,
        events=[event(EventKind.AGREED, 1, AuthMethod.EMAIL_LINK, user_agent=huge_agent)],
    )
    path = write(tmp_path, render_agreement_certificate(make_record(participants=[person])))
    assert_all_text_inside_the_margins(path)
    words = set(pdftotext(path).split())
    assert all(f"token{i:05d}" in words for i in range(3000))


def test_many_participants_stay_inside_the_margins(tmp_path):
    pdf = render_agreement_certificate(make_record(participants=many_participants()))
    assert_all_text_inside_the_margins(write(tmp_path, pdf))


# --- failures ------------------------------------------------------------------------------------


def test_unknown_time_zone_is_a_certificate_render_error():
    with pytest.raises(CertificateRenderError):
        render_agreement_certificate(make_record(timezone="Mars/Olympus_Mons"))


def test_pdf_library_failure_is_a_certificate_render_error(monkeypatch):
    def broken(self: FPDF, *args: object, **kwargs: object) -> bytes:
        raise ValueError("boom")

    monkeypatch.setattr(FPDF, "output", broken)
    with pytest.raises(CertificateRenderError) as caught:
        render_agreement_certificate(make_record())
    assert caught.value.code == "certificate_render_failed"
    assert isinstance(caught.value.__cause__, ValueError)
