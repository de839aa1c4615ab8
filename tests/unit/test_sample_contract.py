"""The sample contract the demo sends for signing: a two-page mutual NDA (秘密保持契約書)."""

from __future__ import annotations

import io
import subprocess
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pypdf
import pytest
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext
from tachiai.domain.errors import ConfigurationError
from tachiai.local.samples import MAX_PARTY_NAME_LENGTH, sample_nda_pdf, wareki

from tests.conftest import require_tool
from tests.fixtures.events import event

SIGNING_DATE = date(2026, 11, 22)
TOKYO = ZoneInfo("Asia/Tokyo")


@pytest.fixture(scope="module")
def contract() -> bytes:
    return sample_nda_pdf(date=SIGNING_DATE)


def write(tmp_path: Path, pdf: bytes) -> Path:
    path = tmp_path / "nda.pdf"
    path.write_bytes(pdf)
    return path


def pdftotext(path: Path) -> str:
    tool = require_tool("pdftotext", "poppler-utils")
    return subprocess.run(
        [tool, "-enc", "UTF-8", str(path), "-"], capture_output=True, check=True
    ).stdout.decode()


def pages(pdf: bytes) -> list[pypdf.PageObject]:
    return list(pypdf.PdfReader(io.BytesIO(pdf)).pages)


def test_has_exactly_two_pages(contract):
    assert len(pages(contract)) == 2


@pytest.mark.parametrize(
    "expected",
    [
        "秘密保持契約書",
        "令和8年11月22日",
        "株式会社立会テクノロジー（以下「甲」という。）",
        "髙橋﨑商事株式会社（以下「乙」という。）",
        "第1条（目的）",
        "第6条（有効期間）",
        "本契約締結日から1年間",
        "東京地方裁判所",
        "第9条（管轄裁判所）",
        "代表取締役 山﨑 健一",
    ],
)
def test_japanese_text_extracts_with_pdftotext(tmp_path, contract, expected):
    assert expected in pdftotext(write(tmp_path, contract))


@pytest.mark.parametrize(
    "expected", ["秘密保持契約書", "令和8年11月22日", "髙橋﨑商事株式会社", "東京地方裁判所"]
)
def test_japanese_text_extracts_with_pypdf(contract, expected):
    assert expected in "\n".join(page.extract_text() for page in pages(contract))


def test_all_nine_articles_are_present_in_order(tmp_path, contract):
    text = pdftotext(write(tmp_path, contract))
    headings = [
        "目的",
        "秘密情報の定義",
        "秘密保持義務",
        "目的外使用の禁止",
        "返還・廃棄",
        "有効期間",
        "損害賠償",
        "協議",
    ]
    headings.append("管轄裁判所")
    positions = [text.index(f"第{n}条（{h}）") for n, h in enumerate(headings, start=1)]
    assert positions == sorted(positions)


def test_signature_block_is_on_the_second_page(contract):
    second = pages(contract)[1].extract_text()
    assert "甲" in second
    assert "乙" in second
    assert "東京都千代田区丸の内一丁目1番1号" in second


def test_party_names_are_the_given_ones(tmp_path):
    pdf = sample_nda_pdf(disclosing="甲野商事株式会社", receiving="乙川工業株式会社", date=SIGNING_DATE)
    text = pdftotext(write(tmp_path, pdf))
    assert "甲野商事株式会社（以下「甲」という。）" in text
    assert "乙川工業株式会社（以下「乙」という。）" in text


def test_longest_party_names_still_fit_on_two_pages():
    longest = "Ｗ" * MAX_PARTY_NAME_LENGTH
    assert len(pages(sample_nda_pdf(disclosing=longest, receiving=longest, date=SIGNING_DATE))) == 2


def test_overlong_party_name_is_a_configuration_error():
    with pytest.raises(ConfigurationError):
        sample_nda_pdf(receiving="長" * (MAX_PARTY_NAME_LENGTH + 1))


def test_blank_party_name_is_a_configuration_error():
    with pytest.raises(ConfigurationError):
        sample_nda_pdf(disclosing="  ")


def test_same_arguments_give_identical_bytes(contract):
    assert sample_nda_pdf(date=SIGNING_DATE) == contract


def test_creation_date_is_the_contract_date(contract):
    info = pypdf.PdfReader(io.BytesIO(contract)).metadata
    assert info is not None
    assert info["/CreationDate"].startswith("D:20261122")
    assert info["/Producer"] == "tachiai"


def test_font_is_embedded_as_a_subset(contract):
    font = next(iter(pages(contract)[0]["/Resources"]["/Font"].values())).get_object()
    descriptor = font["/DescendantFonts"][0].get_object()["/FontDescriptor"].get_object()
    assert font["/BaseFont"].endswith("+IPAexGothic")
    assert "/FontFile2" in descriptor


def test_qpdf_check_is_clean(tmp_path, contract):
    qpdf = require_tool("qpdf", "qpdf")
    result = subprocess.run([qpdf, "--check", str(write(tmp_path, contract))], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_pyhanko_reads_it_strictly(contract):
    reader = PdfFileReader(io.BytesIO(contract), strict=True)
    assert reader.root["/Pages"]["/Count"] == 2


def test_accepts_a_seal_from_the_sealing_engine(contract, kit):
    sealed = kit.sealer.seal_event(contract, event())
    (signature,) = PdfFileReader(io.BytesIO(sealed), strict=True).embedded_signatures
    status = validate_pdf_signature(
        signature, ValidationContext(trust_roots=[kit.pki.root_cert], allow_fetching=False)
    )
    assert status.intact and status.valid and status.trusted


def test_default_date_is_today_in_japan():
    before = datetime.now(TOKYO).date()
    text = "\n".join(page.extract_text() for page in pages(sample_nda_pdf()))
    after = datetime.now(TOKYO).date()
    assert wareki(before) in text or wareki(after) in text


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2026, 11, 22), "令和8年11月22日"),
        (date(2019, 5, 1), "令和元年5月1日"),
        (date(2019, 4, 30), "平成31年4月30日"),
        (date(1989, 1, 8), "平成元年1月8日"),
        (date(1989, 1, 7), "昭和64年1月7日"),
    ],
)
def test_dates_are_written_in_the_japanese_era_calendar(day, expected):
    assert wareki(day) == expected
