"""PDFium page rendering, run in a child process under a memory cap (see :mod:`tachiai.console.preview`).

``python -m tachiai.pdfium_render LIMIT_BYTES PAGE WIDTH MAX_PIXELS`` reads a PDF on stdin and writes one
JSON object on stdout: ``{"pages": n, "png": <base64>}`` (page ``PAGE``, counted from 1, as a PNG
``WIDTH`` pixels wide, or narrower when the page is so tall that it would exceed ``MAX_PIXELS``), or
``{"error": <TachiaiError.report()>}`` for a typed refusal.

Rendering decodes what text extraction never does (images: JPEG, JPEG 2000, JBIG2 ...), and PDFium
cannot be told to stop at a memory limit: in a process of its own, an allocation over the cap ends
that process, not the send function or ``tachiai local`` with everything it serves. A top-level
module, as :mod:`tachiai.pdfium_text` is, so the child imports nothing but PDFium and the errors.
"""

from __future__ import annotations

import base64
import contextlib
import json
import struct
import sys
import zlib
from typing import Any

from tachiai.domain.errors import DamagedPdf, EncryptedPdf, NotFound, PdfTooComplex, TachiaiError


def render_page(data: bytes, page_number: int, width: int, max_pixels: int) -> tuple[int, bytes]:
    """The number of pages of a PDF and page ``page_number`` (from 1) as a PNG, in this process.

    Only for the child process :func:`tachiai.console.preview.render` starts (see :func:`main`).

    :raises EncryptedPdf: the PDF is encrypted.
    :raises DamagedPdf: PDFium cannot read the file or the page, or the file has no pages.
    :raises NotFound: the PDF has no page ``page_number``.
    """
    import pypdfium2 as pdfium
    import pypdfium2.raw as pdfium_c

    try:
        document = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as e:
        if e.err_code in (pdfium_c.FPDF_ERR_PASSWORD, pdfium_c.FPDF_ERR_SECURITY):
            raise EncryptedPdf(f"PDFium: {e}") from e
        raise DamagedPdf(f"PDFium: {e}") from e
    try:
        pages = len(document)
        if pages == 0:
            raise DamagedPdf("the PDF has no pages")
        if not 1 <= page_number <= pages:
            raise NotFound(f"page {page_number} of {pages}")
        page = document[page_number - 1]
        try:
            page_width, page_height = page.get_size()
            if page_width <= 0 or page_height <= 0:
                raise DamagedPdf(f"page {page_number} is {page_width} x {page_height} points")
            # As wide as asked, unless the page is so tall (a receipt roll, a hostile MediaBox) that the
            # bitmap would pass the pixel cap: then the whole page, smaller.
            scale = min(width / page_width, (max_pixels / (page_width * page_height)) ** 0.5)
            bitmap = page.render(scale=scale, rev_byteorder=True, may_draw_forms=True)
            try:
                png = _png(bitmap.buffer, bitmap.width, bitmap.height, bitmap.stride, bitmap.n_channels)
            finally:
                bitmap.close()
        finally:
            page.close()
        return pages, png
    except pdfium.PdfiumError as e:
        raise DamagedPdf(f"PDFium: {e}") from e
    finally:
        document.close()


def _png(buffer: Any, width: int, height: int, stride: int, channels: int) -> bytes:
    """An 8-bit RGB (or RGBA) PNG of a bitmap whose rows are ``stride`` bytes apart, without Pillow."""
    raw = memoryview(buffer).cast("B")
    row = width * channels
    # filter type 0 (None) in front of every row; zlib does the compressing
    lines = b"".join(b"\x00" + raw[y * stride : y * stride + row].tobytes() for y in range(height))
    color_type = 6 if channels == 4 else 2

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 8, color_type, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(lines, 6))
        + chunk(b"IEND", b"")
    )


def _cap_memory(limit: int) -> None:
    import resource

    # a platform that does not enforce RLIMIT_AS (macOS) refuses it: the parent's checks still apply
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def main(argv: list[str]) -> int:
    """Run once: stdin PDF -> stdout JSON. Exit status 0 whenever an answer was written."""
    limit, page_number, width, max_pixels = (int(value) for value in argv[1:5])
    _cap_memory(limit)
    data = sys.stdin.buffer.read()
    try:
        pages, png = render_page(data, page_number, width, max_pixels)
        answer: dict[str, object] = {"pages": pages, "png": base64.b64encode(png).decode("ascii")}
    except TachiaiError as e:
        answer = {"error": e.report()}
    except MemoryError:
        answer = {"error": PdfTooComplex(f"out of memory at a limit of {limit} bytes").report()}
    sys.stdout.buffer.write(json.dumps(answer).encode("utf-8"))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
