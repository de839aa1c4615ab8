"""The cheap first look at an upload: is it a non-empty file of acceptable size that claims to be a PDF?

No parsing happens here, so the sender API can refuse obvious mistakes (a .docx, an empty file, a
200 MB scan) at once without loading the PDF libraries; :func:`tachiai.sealing.preflight.preflight`
runs this same check first and then parses the file for real.
"""

from __future__ import annotations

import math

from tachiai.domain.errors import DocumentTooLarge, EmptyDocument, NotPdf

DEFAULT_MAX_BYTES = 50 * 1024 * 1024
"""Largest upload accepted by default (50 MiB)."""

_MIB = 1024 * 1024
_HEADER_WINDOW = 1024
"""Readers accept a ``%PDF-`` header anywhere in the first 1024 bytes (ISO 32000-2, Annex H)."""
PDF_WHITESPACE = b"\x00\t\n\x0c\r "
_OTHER_FORMATS = {
    b"PK\x03\x04": "ZIP (docx, xlsx, ...)",
    b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1": "OLE2 (doc, xls, ...)",
    b"\x89PNG\r\n\x1a\n": "PNG",
    b"\xff\xd8\xff": "JPEG",
    b"GIF8": "GIF",
    b"II*\x00": "TIFF",
    b"MM\x00*": "TIFF",
    b"{\\rtf": "RTF",
}
"""Magic numbers of formats people upload instead of a PDF. A file starting with one is not a PDF even
when "%PDF-" happens to occur in its first kilobyte (a .docx stores its parts uncompressed at times)."""


def check_upload(data: bytes, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
    """Refuse an upload that is empty, too large or plainly not a PDF.

    :raises EmptyDocument: ``data`` is empty or whitespace only.
    :raises DocumentTooLarge: ``data`` is larger than ``max_bytes``.
    :raises NotPdf: another format's magic number, or no ``%PDF-`` in the first 1024 bytes.
    """
    if not data.strip(PDF_WHITESPACE):
        raise EmptyDocument(f"{len(data)} bytes, all whitespace" if data else "0 bytes")
    check_size(len(data), max_bytes)
    for magic, kind in _OTHER_FORMATS.items():
        if data.startswith(magic):
            raise NotPdf(f"this is a {kind} file")
    if b"%PDF-" not in data[: _HEADER_WINDOW + len(b"%PDF-")]:
        raise NotPdf(f"no %PDF- header in the first {_HEADER_WINDOW} bytes (starts with {data[:8]!r})")


def check_size(size: int, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
    """:raises DocumentTooLarge: ``size`` is over ``max_bytes``."""
    if size > max_bytes:
        raise DocumentTooLarge(
            f"{size} bytes > {max_bytes} bytes",
            size_mb=_megabytes(size, up=True),
            limit_mb=_megabytes(max_bytes, up=False),
        )


def _megabytes(size: int, *, up: bool) -> str:
    """``size`` in MB for a message: one decimal, rounded so that a file over the limit never reads
    as equal to it (sizes round up, limits down); tiny values keep two significant digits."""
    value = size / _MIB
    if value < 0.1:
        return f"{value:.2g}"
    tenths = math.ceil(value * 10) if up else math.floor(value * 10)
    return f"{tenths // 10}" if tenths % 10 == 0 else f"{tenths / 10:.1f}"
