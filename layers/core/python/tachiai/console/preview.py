"""Page previews of a draft's documents: PNGs rendered server-side by PDFium, bounded and cached.

Bounds: at most :data:`MAX_PREVIEW_PAGES` pages of a document are previewed, each at most
:data:`PREVIEW_WIDTH` pixels wide and :data:`MAX_PIXELS` pixels in all; the file's streams are measured
first (:func:`tachiai.pdf_limits.check_decoded_size`, the budget preflight applies) and PDFium runs
in a child process (:mod:`tachiai.pdfium_render`) under :data:`RENDER_MEMORY_LIMIT` and
:data:`RENDER_TIMEOUT_S`: rendering decodes images, which nothing else in tachiai does, so a page
PDFium cannot draw within them is refused as :class:`~tachiai.domain.errors.PdfTooComplex` instead of
taking the send function (or ``tachiai local``) down.

Caching: rendered pages are kept in this process (:class:`PageCache`, an LRU bounded in bytes, keyed
by the document's SHA-256, so a page is never served for other bytes), and the HTTP answer carries an
ETag made of the same hash, so a browser that has the page revalidates without a render. The PNGs are
not cached in S3: the documents bucket has Object Lock with a default retention, so every preview
written there would be kept (and billed) for years, and the send function is granted no place outside
it to write. Re-rendering a page after a cold start costs a fraction of a second.

PDFium is never imported here: the send function imports this module through the console, and its
handler import budget (DESIGN.md) leaves no room for it.
"""

from __future__ import annotations

import base64
import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass

from tachiai.domain.errors import NotFound, TachiaiError
from tachiai.pdf_limits import check_decoded_size
from tachiai.pdfium_child import run_pdfium_child

PREVIEW_WIDTH = 900
"""Pixels: sharp on a laptop screen, readable on a phone (the page scales it down)."""
MAX_PIXELS = PREVIEW_WIDTH * PREVIEW_WIDTH * 2
"""A page taller than twice A4's ratio is drawn smaller rather than taller: the bitmap stays ~5 MB."""
MAX_PREVIEW_PAGES = 60
"""Pages previewed per document; a longer document shows its first pages and says how many there are."""
RENDER_MEMORY_LIMIT = 320 * 1024 * 1024
"""Address space of the child process: PDFium, one bitmap and an image or two decoded, beside the
send function's own ~150 MB within its 512 MB."""
RENDER_TIMEOUT_S = 15
"""Seconds one page may take (API Gateway ends the request at 29)."""
CACHE_BYTES = 32 * 1024 * 1024
"""PNG bytes kept in the process (a few hundred pages)."""


@dataclass(frozen=True)
class RenderedPage:
    png: bytes
    pages: int
    """How many pages the document has."""
    etag: str
    """Quoted, as the ``ETag`` header carries it."""


class PageCache:
    """The most recently used rendered pages, at most ``limit`` PNG bytes in all (thread-safe: the local
    runtime serves requests on several threads)."""

    def __init__(self, limit: int = CACHE_BYTES) -> None:
        self.limit = limit
        self._pages: OrderedDict[tuple[str, int, int], RenderedPage] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def get(self, key: tuple[str, int, int]) -> RenderedPage | None:
        with self._lock:
            page = self._pages.get(key)
            if page is not None:
                self._pages.move_to_end(key)
            return page

    def put(self, key: tuple[str, int, int], page: RenderedPage) -> None:
        with self._lock:
            if key in self._pages or len(page.png) > self.limit:
                return
            self._pages[key] = page
            self._size += len(page.png)
            while self._size > self.limit:
                _, dropped = self._pages.popitem(last=False)
                self._size -= len(dropped.png)


_CACHE = PageCache()


def etag_for(sha256: str, page: int, width: int = PREVIEW_WIDTH) -> str:
    """The ETag of a page of the document whose bytes hash to ``sha256`` (quoted)."""
    return f'"{sha256[:32]}-{page}-{width}"'


def render(data: bytes, page: int, *, cache: PageCache = _CACHE) -> RenderedPage:
    """Page ``page`` (from 1) of the PDF ``data`` as a PNG, from the cache or rendered now.

    :raises NotFound: no such page, or one past :data:`MAX_PREVIEW_PAGES`.
    :raises PdfTooComplex: the file decodes to more than the budget allows, or PDFium needs more than
        :data:`RENDER_MEMORY_LIMIT` bytes or :data:`RENDER_TIMEOUT_S` seconds for the page.
    :raises EncryptedPdf, DamagedPdf: PDFium cannot read the file (or the page).
    """
    if not 1 <= page <= MAX_PREVIEW_PAGES:
        raise NotFound(f"page {page} (previews end at {MAX_PREVIEW_PAGES})")
    sha256 = hashlib.sha256(data).hexdigest()
    key = (sha256, page, PREVIEW_WIDTH)
    cached = cache.get(key)
    if cached is not None:
        return cached
    check_decoded_size(data)  # PDFium decodes a stream whole: a bomb is refused before it starts
    pages, png = _render_in_child(data, page)
    rendered = RenderedPage(png=png, pages=pages, etag=etag_for(sha256, page))
    cache.put(key, rendered)
    return rendered


def _render_in_child(data: bytes, page: int) -> tuple[int, bytes]:
    """:raises TachiaiError: as :func:`render` says."""
    answer = run_pdfium_child(
        "tachiai.pdfium_render",
        [str(RENDER_MEMORY_LIMIT), str(page), str(PREVIEW_WIDTH), str(MAX_PIXELS)],
        data,
        timeout_s=RENDER_TIMEOUT_S,
        what=f"page {page}",
        cannot_start=lambda reason: TachiaiError(f"cannot start the page renderer: {reason}"),
    )
    return int(answer["pages"]), base64.b64decode(answer["png"])


def page_count(data: bytes, *, cache: PageCache = _CACHE) -> int:
    """How many pages the PDF ``data`` has (rendering its first page, which the preview shows anyway).

    :raises TachiaiError: as :func:`render`.
    """
    return render(data, 1, cache=cache).pages
