"""The text of a contract document: every page of a PDF (through PDFium), or a UTF-8 text file.

PDFium reads the text of CID-keyed Japanese fonts through their ToUnicode maps, so a PDF made by fpdf2
with the bundled IPAexGothic gives back 髙 and 﨑 as written. pypdfium2 is imported on first use only:
the functions that import this module must not pay for PDFium at cold start.

The text is normalised just enough for offsets to be stable: line ends become ``\\n``, pages are
joined by :data:`PAGE_BREAK`. Nothing else is changed (full-width digits, spaces and kana stay as they
are), so the evidence an engine quotes can be found again in it.
"""

from __future__ import annotations

import codecs
import re
from typing import Any

from tachiai.domain.errors import DamagedPdf, EmptyDocument, EncryptedPdf, NotPdf, UnreadableDocument

PAGE_BREAK = "\n\f\n"
"""Between the text of two pages."""

_PDF_HEADER = b"%PDF-"
_HEADER_WINDOW = 1024
"""Where the ``%PDF-`` header may be: within the first 1024 bytes, as preflight and PDF readers allow."""
_ENCRYPT_KEY = re.compile(rb"/Encrypt[\s/<\[]")
_BINARY = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")
"""Control characters no text file has (tab, line ends, vertical tab and form feed are allowed)."""
_LINE_ENDS = re.compile(r"\r\n?")


def is_pdf(data: bytes) -> bool:
    """True when ``data`` has a PDF header where readers look for one."""
    return _PDF_HEADER in data[:_HEADER_WINDOW]


def pdf_text(data: bytes) -> str:
    """The text of every page of a PDF, pages joined by :data:`PAGE_BREAK`.

    A page without a text layer (a scan) gives an empty string for that page.

    :raises EmptyDocument: ``data`` is empty or whitespace only.
    :raises NotPdf: there is no ``%PDF-`` header in the first 1024 bytes.
    :raises EncryptedPdf: the PDF is encrypted, also when no password is needed to open it: such a
        file is refused for signing too, and its permissions usually forbid copying the text.
    :raises DamagedPdf: PDFium cannot read the file, or it has no pages.
    """
    if not data.strip():
        raise EmptyDocument()
    if not is_pdf(data):
        raise NotPdf("no %PDF- header in the first 1024 bytes")
    import pypdfium2 as pdfium
    import pypdfium2.raw as pdfium_c

    try:
        document = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as e:
        if e.err_code in (pdfium_c.FPDF_ERR_PASSWORD, pdfium_c.FPDF_ERR_SECURITY):
            raise EncryptedPdf(f"PDFium: {e}") from e
        # PDFium reports some encryption it does not implement as a format error; the /Encrypt key
        # tells that it is encryption rather than damage (the same test as preflight's).
        if _ENCRYPT_KEY.search(data):
            raise EncryptedPdf(f"PDFium: {e}") from e
        raise DamagedPdf(f"PDFium: {e}") from e
    try:
        if pdfium_c.FPDF_GetSecurityHandlerRevision(document.raw) != -1:
            raise EncryptedPdf("the PDF is encrypted (no password needed to open it)")
        if len(document) == 0:
            raise DamagedPdf("the PDF has no pages")
        return PAGE_BREAK.join(_page_text(document[index]) for index in range(len(document)))
    except pdfium.PdfiumError as e:
        raise DamagedPdf(f"PDFium: {e}") from e
    finally:
        document.close()


def _page_text(page: Any) -> str:
    """The text of one page (a pypdfium2 ``PdfPage``, which is closed after)."""
    try:
        textpage = page.get_textpage()
        try:
            text: str = textpage.get_text_range()
        finally:
            textpage.close()
    finally:
        page.close()
    # PDFium takes a hyphen that ends a line for a word broken in two: it joins the lines and gives
    # U+FFFE for the hyphen. The hyphen is drawn and the line break is there, so both are restored.
    return _LINE_ENDS.sub("\n", text).replace("\ufffe", "-\n")


def document_text(data: bytes) -> str:
    """The text of a contract file: a PDF (``%PDF-`` header) or UTF-8 text (a byte-order mark is
    dropped, line ends become ``\\n``).

    :raises EmptyDocument: the file is empty or whitespace only.
    :raises UnreadableDocument: it is neither a PDF nor UTF-8 text (e.g. an image, Shift_JIS text).
    :raises EncryptedPdf: (a PDF) it is encrypted.
    :raises DamagedPdf: (a PDF) it cannot be read.
    """
    if is_pdf(data):
        return pdf_text(data)
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise UnreadableDocument(f"neither a PDF nor UTF-8 text (byte {e.start}: {e.reason})") from e
    if not text.strip():
        raise EmptyDocument()
    binary = _BINARY.search(text)
    if binary:
        raise UnreadableDocument(
            f"neither a PDF nor text (control character U+{ord(binary.group()):04X} at {binary.start()})"
        )
    return _LINE_ENDS.sub("\n", text)
