"""The text extraction reads: every page of a PDF (Japanese CID fonts too) or UTF-8 text, and refuses
anything else with a typed error."""

from __future__ import annotations

import codecs
import subprocess
import sys

import pytest
from tachiai.domain.errors import DamagedPdf, EmptyDocument, EncryptedPdf, NotPdf, UnreadableDocument
from tachiai.extract.text import PAGE_BREAK, document_text, pdf_text

from tests.fixtures import odd_pdfs
from tests.fixtures.contracts import text_pdf
from tests.fixtures.pdfs import simple_pdf

JAPANESE_LINES = [
    "秘密保持契約書",
    "株式会社髙橋製作所（以下「甲」という。）と山﨑工業株式会社（以下「乙」という。）は、",
    "次のとおり契約を締結する。",
    "第１条　有効期間は令和６年４月１日から１年間とし、委託料は金四十五万円とする。",
    "　　代表取締役　髙橋　誠一",
]


def _odd(name: str) -> bytes:
    return next(build() for case, _, _, build in odd_pdfs._BUILDERS if case == name)


def test_a_japanese_pdf_made_with_the_bundled_font_gives_back_its_text_exactly():
    # Given a PDF drawn by fpdf2 with IPAexGothic (a CID font with a ToUnicode map)
    pdf = text_pdf("\n".join(JAPANESE_LINES))

    # When its text is extracted
    text = pdf_text(pdf)

    # Then every character comes back as written, 髙 and 﨑 included (not 高 and 崎)
    assert text == "\n".join(JAPANESE_LINES)


def _predefined_cmap_pdf(text: str) -> bytes:
    """A PDF whose Japanese font is not embedded and has no ToUnicode map: Type0 HeiseiMin-W3 with the
    predefined CMap UniJIS-UCS2-H (Adobe-Japan1), as older Japanese tools and many scanners' OCR layers
    write it. Only the CMap says which characters the codes are."""
    import io

    import pikepdf
    from pikepdf import Array, Dictionary, Name

    pdf = pikepdf.new()
    descriptor = Dictionary(
        Type=Name.FontDescriptor, FontName=Name("/HeiseiMin-W3"), Flags=6, FontBBox=Array([0, -141, 1000, 859]),
        ItalicAngle=0, Ascent=859, Descent=-141, CapHeight=709, StemV=69,
    )  # fmt: skip
    cid_font = Dictionary(
        Type=Name.Font, Subtype=Name.CIDFontType0, BaseFont=Name("/HeiseiMin-W3"), DW=1000,
        CIDSystemInfo=Dictionary(Registry=pikepdf.String("Adobe"), Ordering=pikepdf.String("Japan1"), Supplement=2),
        FontDescriptor=pdf.make_indirect(descriptor),
    )  # fmt: skip
    font = Dictionary(
        Type=Name.Font, Subtype=Name.Type0, BaseFont=Name("/HeiseiMin-W3"), Encoding=Name("/UniJIS-UCS2-H"),
        DescendantFonts=Array([pdf.make_indirect(cid_font)]),
    )  # fmt: skip
    content = f"BT /F1 12 Tf 50 700 Td <{text.encode('utf-16-be').hex()}> Tj ET".encode()
    page = Dictionary(
        Type=Name.Page, MediaBox=Array([0, 0, 595, 842]), Resources=Dictionary(Font=Dictionary(F1=font)),
        Contents=pdf.make_stream(content),
    )  # fmt: skip
    pdf.pages.append(pikepdf.Page(page))
    out = io.BytesIO()
    pdf.save(out)
    return out.getvalue()


def test_a_japanese_cid_font_that_is_not_embedded_is_read_through_its_predefined_cmap():
    line = "令和六年三月十五日、株式会社髙橋製作所と契約する。"

    assert pdf_text(_predefined_cmap_pdf(line)) == line


def test_pages_are_joined_by_the_page_break():
    pdf = text_pdf("第１頁の本文\f第２頁の本文")

    assert pdf_text(pdf) == f"第１頁の本文{PAGE_BREAK}第２頁の本文"


def test_line_ends_of_a_pdf_are_newlines():
    text = pdf_text(simple_pdf(pages=1, text="Mutual Non-Disclosure Agreement"))

    assert "\r" not in text
    assert text.startswith("Mutual Non-Disclosure Agreement\nPage 1\n")


def test_a_hyphen_at_the_end_of_a_line_is_kept_with_its_line_break():
    # PDFium joins such lines as one hyphenated word; the text must stay as drawn.
    lines = "This is a well-\nknown agreement of the parties-\n2024"

    assert pdf_text(text_pdf(lines)) == lines


def test_a_pdf_that_needs_a_password_is_refused_as_encrypted():
    with pytest.raises(EncryptedPdf):
        pdf_text(_odd("encrypted_user_password_aes256"))


def test_a_pdf_encrypted_without_a_password_to_open_is_refused_too():
    with pytest.raises(EncryptedPdf):
        pdf_text(_odd("encrypted_owner_only_aes128"))


def test_a_pdf_with_an_encryption_pdfium_does_not_know_is_refused_as_encrypted():
    with pytest.raises(EncryptedPdf):
        pdf_text(_odd("encrypted_public_key_pubsec"))


def test_a_truncated_pdf_is_refused_as_damaged():
    with pytest.raises(DamagedPdf):
        pdf_text(_odd("truncated_to_first_100_bytes"))


def test_pdf_text_of_something_that_is_not_a_pdf_is_refused():
    with pytest.raises(NotPdf):
        pdf_text("業務委託契約書".encode())


def test_pdf_text_of_nothing_is_refused_as_empty():
    with pytest.raises(EmptyDocument):
        pdf_text(b"  \n")


def test_a_document_that_is_a_pdf_is_read_as_a_pdf():
    pdf = text_pdf("株式会社髙橋製作所")

    assert document_text(pdf) == "株式会社髙橋製作所"


def test_a_utf8_text_document_is_read_with_its_byte_order_mark_dropped():
    data = codecs.BOM_UTF8 + "秘密保持契約書\n山﨑工業株式会社".encode()

    assert document_text(data) == "秘密保持契約書\n山﨑工業株式会社"


def test_crlf_and_cr_line_ends_of_a_text_document_become_newlines():
    assert document_text("第1条\r\n第2条\r第3条\n".encode()) == "第1条\n第2条\n第3条\n"


def test_a_shift_jis_text_document_is_refused_as_unreadable():
    with pytest.raises(UnreadableDocument):
        document_text("業務委託契約書".encode("shift_jis"))


def test_a_binary_file_that_happens_to_be_valid_utf8_is_refused_as_unreadable():
    with pytest.raises(UnreadableDocument):
        document_text(b"PK\x03\x04\x14\x00\x06\x00word/document.xml")


def test_an_empty_text_document_is_refused_as_empty():
    with pytest.raises(EmptyDocument):
        document_text(codecs.BOM_UTF8 + "\u3000\n".encode())


def test_importing_the_extraction_package_loads_neither_pdfium_nor_aws_libraries():
    code = (
        "import sys, tachiai.extract; "
        "print(sorted(m for m in ('pypdfium2', 'boto3', 'botocore') if m in sys.modules))"
    )

    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)

    assert out.stdout.strip() == "[]"
