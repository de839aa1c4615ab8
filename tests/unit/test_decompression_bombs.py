"""Decompression bombs: decoded bytes and memory are bounded everywhere a stream is decoded.

Every bomb is refused with ``pdf_too_complex`` before qpdf, pyHanko or PDFium decode it; PDFium also
runs in a child process under a memory cap, so what input inspection lets through cannot take the
calling process down.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import random
import zlib

import pytest
from tachiai.domain.errors import PdfTooComplex
from tachiai.extract import text as text_module
from tachiai.extract.text import document_text, pdf_text
from tachiai.pdf_limits import DEFAULT_LIMITS, DecodeLimits, StreamLimit, check_decoded_size
from tachiai.sealing.preflight import preflight

from tests.fixtures.bombs import (
    GiB,
    MiB,
    content_bomb,
    flate_of_repeated,
    lzw_encode,
    metadata_bomb,
    object_stream_bomb,
    pdf_with_content,
    plain_pdf,
    run_length_of_repeated,
    xref_stream_bomb,
)
from tests.fixtures.pdfs import simple_pdf

SMALL = DecodeLimits(stream=StreamLimit(max_bytes=MiB, max_ratio=1100, ratio_floor=64 * 1024))
"""One stream may decode to 1 MiB: small bombs (built and measured in milliseconds) go over it."""


def _refused(data: bytes, limits: DecodeLimits = DEFAULT_LIMITS) -> PdfTooComplex:
    with pytest.raises(PdfTooComplex) as caught:
        check_decoded_size(data, limits)
    return caught.value


# --- the budget ----------------------------------------------------------------------------------------


def test_an_ordinary_pdf_passes_and_its_streams_are_measured():
    summary = check_decoded_size(simple_pdf(3))
    assert summary.streams >= 3
    assert summary.decoded_bytes == sum(len(zlib.decompress(s)) for s in _flate_streams(simple_pdf(3)))


def test_a_stream_decoding_to_more_than_the_stream_limit_is_refused():
    error = _refused(content_bomb(2 * MiB), SMALL)
    assert error.code == "pdf_too_complex"
    assert "object 4 0" in error.detail and "more than 1048576 bytes" in error.detail


def test_a_stream_just_under_the_stream_limit_passes():
    assert check_decoded_size(content_bomb(MiB - 1024), SMALL).largest_stream == MiB - 1024


def test_a_one_gib_content_stream_is_refused_with_the_default_limits():
    assert "more than 268435456 bytes" in _refused(content_bomb(GiB)).detail


def test_stacked_flate_filters_are_refused_on_their_ratio():
    bomb = content_bomb(64 * MiB, layers=2)  # 64 MiB from a few hundred bytes: under the size limit
    assert len(bomb) < 2000
    assert "expands more than 1100 times" in _refused(bomb).detail


def test_the_whole_file_is_held_to_a_total_budget():
    limits = DecodeLimits(total_base=MiB, total_ratio=1)
    bomb = pdf_with_content(b"/FlateDecode", flate_of_repeated(2 * MiB))  # under every per-stream limit
    assert "budget" in _refused(bomb, limits).detail


def test_an_object_stream_bomb_is_refused():
    assert "object 6 0" in _refused(object_stream_bomb(GiB)).detail


def test_a_cross_reference_stream_bomb_is_refused():
    assert "object 6 0" in _refused(xref_stream_bomb(GiB)).detail


def test_an_xmp_metadata_bomb_is_refused():
    assert "object 6 0" in _refused(metadata_bomb(GiB)).detail


def test_lzw_is_decoded_and_counted():
    payload = b"\0" * (2 * MiB)
    assert _refused(pdf_with_content(b"/LZWDecode", lzw_encode(payload)), SMALL)
    small = b"BT /F1 12 Tf (LZW) Tj ET " * 100
    assert check_decoded_size(pdf_with_content(b"/LZWDecode", lzw_encode(small))).decoded_bytes == len(small)


def test_run_length_is_decoded_and_counted():
    assert _refused(pdf_with_content(b"/RunLengthDecode", run_length_of_repeated(2 * MiB)), SMALL)
    summary = check_decoded_size(pdf_with_content(b"/RunLengthDecode", run_length_of_repeated(1000)))
    assert summary.decoded_bytes == 1000


def test_ascii_hex_and_ascii85_in_front_of_flate_count_towards_the_chain_ratio():
    bomb = flate_of_repeated(GiB)
    hexed = pdf_with_content(b"[/ASCIIHexDecode /FlateDecode]", binascii.hexlify(bomb) + b">")
    a85 = pdf_with_content(b"[/ASCII85Decode /FlateDecode]", base64.a85encode(bomb) + b"~>")
    assert _refused(hexed).detail.startswith("object 4 0: ")
    assert _refused(a85).detail.startswith("object 4 0: ")


def test_abbreviated_filter_names_are_decoded_too():
    assert _refused(pdf_with_content(b"[/Fl /Fl]", zlib.compress(flate_of_repeated(GiB))))


def test_a_stream_whose_filter_cannot_be_read_is_measured_as_flate_layer_after_layer():
    # /Filter is a reference to an object that is not in the file (as when it sits in an object
    # stream): the scan cannot know the chain, so it decodes while the data looks like zlib
    bomb = zlib.compress(flate_of_repeated(64 * MiB))
    assert "expands more than 1100 times" in _refused(pdf_with_content(b"99 0 R", bomb)).detail


def test_a_predictor_between_two_compression_filters_is_refused():
    parms = b"/DecodeParms [<< /Predictor 12 /Columns 4 >> null]"
    bomb = pdf_with_content(b"[/FlateDecode /FlateDecode]", zlib.compress(b"x" * 10), extra=parms)
    assert "predictor" in _refused(bomb).detail


def test_image_codecs_end_the_chain_uncounted():
    # a JPEG is decoded only by a renderer, which tachiai never runs: only the Flate stage counts
    jpeg_like = b"\xff\xd8\xff" + b"\0" * 5000
    summary = check_decoded_size(pdf_with_content(b"[/FlateDecode /DCTDecode]", zlib.compress(jpeg_like)))
    assert summary.decoded_bytes == len(jpeg_like)


def test_damaged_files_are_measured_without_any_other_error():
    rng = random.Random(10)
    samples = [plain_pdf(), simple_pdf(2), content_bomb(2 * MiB, layers=2), object_stream_bomb(MiB)]
    for sample in samples:
        for cut in range(0, len(sample), max(1, len(sample) // 40)):
            mutated = bytearray(sample[:cut] + sample[cut + 7 :])
            for _ in range(3):
                mutated[rng.randrange(len(mutated))] = rng.randrange(256)
            with contextlib.suppress(PdfTooComplex):  # anything else fails the test
                check_decoded_size(bytes(mutated), SMALL)


# --- where streams are decoded ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "bomb",
    [
        pytest.param(lambda: content_bomb(GiB, layers=2), id="double-flate content"),
        pytest.param(lambda: object_stream_bomb(GiB), id="object stream"),
        pytest.param(lambda: xref_stream_bomb(GiB), id="cross-reference stream"),
        pytest.param(lambda: metadata_bomb(GiB), id="XMP metadata"),
    ],
)
def test_preflight_refuses_a_bomb_as_too_complex(bomb):
    with pytest.raises(PdfTooComplex):
        preflight(bomb())


def test_preflight_still_accepts_the_same_pdf_without_the_bomb():
    assert preflight(plain_pdf()).pages == 1


def test_text_extraction_refuses_a_bomb_before_pdfium_reads_it():
    with pytest.raises(PdfTooComplex):
        pdf_text(content_bomb(GiB, layers=2))


def test_an_imported_bomb_is_refused_by_the_text_extraction_imports_run():
    # imports are not preflighted: their extraction (document_text) is where the bomb is decoded
    with pytest.raises(PdfTooComplex):
        document_text(metadata_bomb(GiB))


def test_text_extraction_reads_an_ordinary_pdf_in_its_child_process():
    assert pdf_text(plain_pdf(b"Hello from the child")) == "Hello from the child"


def test_pdfium_over_its_memory_cap_is_refused_not_fatal(monkeypatch):
    # 100 MiB of content passes the decode budget; PDFium needs about twice that, over a 128 MiB cap
    monkeypatch.setattr(text_module, "PDFIUM_MEMORY_LIMIT", 128 * MiB)
    with pytest.raises(PdfTooComplex) as caught:
        pdf_text(content_bomb(100 * MiB))
    assert "memory limit" in caught.value.detail


# --- helpers --------------------------------------------------------------------------------------------


def _flate_streams(data: bytes) -> list[bytes]:
    from io import BytesIO

    import pikepdf

    with pikepdf.open(BytesIO(data)) as pdf:
        return [
            obj.read_raw_bytes()
            for obj in pdf.objects
            if isinstance(obj, pikepdf.Stream) and obj.get("/Filter") == pikepdf.Name.FlateDecode
        ]
