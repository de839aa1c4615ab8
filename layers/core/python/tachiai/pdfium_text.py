"""PDFium text extraction, run in a child process under a memory cap (see :mod:`tachiai.extract.text`).

``python -m tachiai.pdfium_text LIMIT_BYTES`` reads a PDF on stdin and writes one JSON object on
stdout: ``{"text": ...}``, or ``{"error": <TachiaiError.report()>}`` for a typed refusal. The
address-space cap is set before PDFium is loaded, so everything PDFium allocates counts; an
allocation over the cap makes PDFium abort this process, which the parent reports as
:class:`~tachiai.domain.errors.PdfTooComplex`.

A top-level module, outside :mod:`tachiai.extract`: the child must not import that package's engines
(pydantic, settings), which would cost it more than PDFium itself.
"""

from __future__ import annotations

import contextlib
import json
import re
import sys
from typing import Any

from tachiai.domain.errors import DamagedPdf, EncryptedPdf, PdfTooComplex, TachiaiError

PAGE_BREAK = "\n\f\n"
"""Between the text of two pages (re-exported by :mod:`tachiai.extract.text`)."""
LINE_ENDS = re.compile(r"\r\n?")
"""Line ends made ``\\n`` in every text read."""
_ENCRYPT_KEY = re.compile(rb"/Encrypt[\s/<\[]")


def pdfium_text(data: bytes) -> str:
    """The text of every page of a PDF, read by PDFium in this process, without any limit.

    Only for the child process :func:`tachiai.extract.text.pdf_text` starts (see :func:`main`).

    :raises EncryptedPdf: the PDF is encrypted.
    :raises DamagedPdf: PDFium cannot read the file, or it has no pages.
    """
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
    return LINE_ENDS.sub("\n", text).replace("\ufffe", "-\n")


def _cap_memory(limit: int) -> None:
    import resource

    # a platform that does not enforce RLIMIT_AS (macOS) refuses it: the decode budget still applies
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def main(argv: list[str]) -> int:
    """Run once: stdin PDF -> stdout JSON. Exit status 0 whenever an answer was written."""
    _cap_memory(int(argv[1]))
    data = sys.stdin.buffer.read()
    try:
        answer: dict[str, object] = {"text": pdfium_text(data)}
    except TachiaiError as e:
        answer = {"error": e.report()}
    except MemoryError:
        answer = {"error": PdfTooComplex(f"out of memory at a limit of {argv[1]} bytes").report()}
    sys.stdout.buffer.write(json.dumps(answer, ensure_ascii=False).encode("utf-8"))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
