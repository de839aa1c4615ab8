"""The text of a contract document: every page of a PDF (through PDFium), or a UTF-8 text file.

PDFium reads the text of CID-keyed Japanese fonts through their ToUnicode maps, so a PDF made by fpdf2
with the bundled IPAexGothic gives back 髙 and 﨑 as written. pypdfium2 is imported on first use only:
the functions that import this module must not pay for PDFium at cold start.

PDFium decodes whatever a page needs, whole and without limits, so a PDF is first measured with
:func:`tachiai.pdf_limits.check_decoded_size` and then read in a child process with a memory cap
(:mod:`tachiai.pdfium_text`): a decompression bomb is refused as
:class:`~tachiai.domain.errors.PdfTooComplex` instead of taking the calling process down.

The text is normalised just enough for offsets to be stable: line ends become ``\\n``, pages are
joined by :data:`PAGE_BREAK`. Nothing else is changed (full-width digits, spaces and kana stay as they
are), so the evidence an engine quotes can be found again in it.
"""

from __future__ import annotations

import codecs
import re

from tachiai.domain.errors import (
    EmptyDocument,
    ExtractionError,
    NotPdf,
    UnreadableDocument,
)
from tachiai.pdf_limits import check_decoded_size
from tachiai.pdfium_child import run_pdfium_child
from tachiai.pdfium_text import LINE_ENDS, PAGE_BREAK

__all__ = ["PAGE_BREAK", "document_text", "is_pdf", "pdf_text"]


_PDF_HEADER = b"%PDF-"
_HEADER_WINDOW = 1024
"""Where the ``%PDF-`` header may be: within the first 1024 bytes, as preflight and PDF readers allow."""
_BINARY = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")
"""Control characters no text file has (tab, line ends, vertical tab and form feed are allowed)."""

PDFIUM_MEMORY_LIMIT = 768 * 1024 * 1024
"""Address space of the child process PDFium reads a PDF in. PDFium needs about twice a content
stream's decoded size, and :mod:`tachiai.pdf_limits` lets one stream decode to 256 MiB: 768 MiB holds
that, and with the calling process (~200 MB) stays inside a 1 GB function."""
PDFIUM_TIMEOUT_S = 240
"""Seconds PDFium may take over one file (the extract function has five minutes)."""


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
    :raises PdfTooComplex: its streams decode to more than :mod:`tachiai.pdf_limits` allows, or
        PDFium needs more than :data:`PDFIUM_MEMORY_LIMIT` bytes or :data:`PDFIUM_TIMEOUT_S` seconds.
    """
    if not data.strip():
        raise EmptyDocument()
    if not is_pdf(data):
        raise NotPdf("no %PDF- header in the first 1024 bytes")
    # bounded first, on the raw bytes: PDFium itself would decode a bomb whole
    check_decoded_size(data)
    return _text_in_child(data)


def _text_in_child(data: bytes) -> str:
    """The text of ``data`` read by PDFium in a child process capped at :data:`PDFIUM_MEMORY_LIMIT`
    (:mod:`tachiai.pdfium_child` says why a child)."""
    answer = run_pdfium_child(
        "tachiai.pdfium_text",
        [str(PDFIUM_MEMORY_LIMIT)],
        data,
        timeout_s=PDFIUM_TIMEOUT_S,
        what=f"the text (memory limit {PDFIUM_MEMORY_LIMIT} bytes)",
        cannot_start=lambda reason: ExtractionError(f"cannot start the PDF text reader: {reason}"),
    )
    text: str = answer["text"]
    return text


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
    return LINE_ENDS.sub("\n", text)
