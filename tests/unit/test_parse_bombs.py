"""Parse bombs: uncompressed PDFs that cost a parser memory and time without decoding anything are
refused as ``pdf_too_complex`` on their raw bytes, before qpdf, pyHanko or the decode scan read them;
ordinary documents of the same shapes are accepted."""

from __future__ import annotations

import zlib

import pytest
from tachiai.domain.errors import PdfTooComplex
from tachiai.pdf_limits import (
    DEFAULT_STRUCTURE_LIMITS,
    DecodeLimits,
    StructureLimits,
    check_decoded_size,
    check_structure,
)
from tachiai.sealing import preflight as preflight_module
from tachiai.sealing.preflight import PreparedDocument, preflight

from tests.fixtures import parse_bombs
from tests.fixtures.odd_pdfs import cross_reference_stream_file, object_stream_body

# far over every limit for each builder, and well under the upload size limit (50 MB), so the
# suite stays quick; benchmarks/run.py measures them at the full 50 MB
BOMB_SIZE = 16 * parse_bombs.MiB


@pytest.mark.parametrize("name", sorted(parse_bombs.PARSE_BOMBS))
def test_preflight_refuses_a_parse_bomb_as_too_complex(name: str):
    data = parse_bombs.of_size(parse_bombs.PARSE_BOMBS[name], BOMB_SIZE)

    with pytest.raises(PdfTooComplex):
        preflight(data)


# a page listed twice in /Kids is refused as damaged at any size (qpdf would copy it: content lost)
ORDINARY_SHAPES = sorted(set(parse_bombs.PARSE_BOMBS) - {"one page repeated in /Kids"})


@pytest.mark.parametrize("name", ORDINARY_SHAPES)
def test_the_same_shape_at_an_ordinary_size_is_accepted(name: str):
    outcome = preflight(parse_bombs.PARSE_BOMBS[name](100))

    assert isinstance(outcome, PreparedDocument)
    assert outcome.pages >= 1


@pytest.mark.parametrize("name", ["many tiny objects", "one big array"])
def test_a_parse_bomb_is_refused_before_any_parser_or_the_decode_scan_reads_it(
    name: str, monkeypatch: pytest.MonkeyPatch
):
    def must_not_run(*args: object, **kwargs: object) -> None:
        raise AssertionError("a parser ran on a parse bomb")

    monkeypatch.setattr(preflight_module, "check_decoded_size", must_not_run)
    monkeypatch.setattr(preflight_module, "_inspect_with_qpdf", must_not_run)
    data = parse_bombs.of_size(parse_bombs.PARSE_BOMBS[name], BOMB_SIZE)

    with pytest.raises(PdfTooComplex):
        preflight(data)


def test_a_trailer_claiming_a_billion_objects_is_read_without_allocating_for_them():
    outcome = preflight(parse_bombs.huge_size_entry())

    assert isinstance(outcome, PreparedDocument)
    assert outcome.pages == 1


def test_counts_objects_by_their_headers_also_without_a_cross_reference_table():
    limits = StructureLimits(max_objects=500)

    check_structure(parse_bombs.many_objects(400, xref=False), limits)
    with pytest.raises(PdfTooComplex, match="more than 500 objects"):
        check_structure(parse_bombs.many_objects(600, xref=False), limits)


def test_counts_the_objects_an_object_stream_declares():
    members = [(n, b"0") for n in range(10, 20)]
    data = cross_reference_stream_file(
        {1: b"<< /Type /Catalog >>", 2: object_stream_body(members, count=5000)},
        {n: (2, index) for index, (n, _) in enumerate(members)},
    )

    with pytest.raises(PdfTooComplex, match="objects"):
        check_structure(data, StructureLimits(max_objects=4000))


def test_stream_data_is_not_counted_as_syntax():
    words = b"0 " * 5000
    stream = b"<< /Length %d >>\nstream\n" % len(words) + words + b"\nendstream"
    data = parse_bombs.write_pdf([*parse_bombs.base_objects(catalog_extra=b" /Data 6 0 R"), stream])

    assert check_structure(data).tokens < 1000


def test_an_uncompressed_object_stream_is_counted_as_syntax():
    members = [(10, b"[" + b"0 " * 5000 + b"]")]
    data = cross_reference_stream_file(
        {1: b"<< /Type /Catalog >>", 2: object_stream_body(members)}, {10: (2, 0)}
    )

    with pytest.raises(PdfTooComplex, match="tokens"):
        check_structure(data, StructureLimits(max_tokens=4000))


def compressed_object_stream(member: bytes) -> bytes:
    """A one-page file whose catalog refers to object 10 (``member``), which sits in a
    Flate-compressed object stream (object 6)."""
    table = b"10 0\n"
    data = zlib.compress(table + member)
    stream = b"<< /Type /ObjStm /N 1 /First %d /Filter /FlateDecode /Length %d >>\nstream\n" % (
        len(table),
        len(data),
    )
    plain = dict(enumerate(parse_bombs.base_objects(catalog_extra=b" /Bomb 10 0 R"), start=1))
    return cross_reference_stream_file({**plain, 6: stream + data + b"\nendstream"}, {10: (6, 0)})


def test_syntax_inside_a_compressed_object_stream_is_counted_while_it_is_decoded():
    data = compressed_object_stream(b"[" + b"0 " * 5000 + b"]")

    assert check_structure(data).tokens < 1000  # the raw bytes hide it ...
    with pytest.raises(PdfTooComplex, match="tokens of PDF syntax in object streams"):
        check_decoded_size(data, DecodeLimits(object_stream_tokens=4000))  # ... decoding does not


def test_preflight_refuses_a_parse_bomb_hidden_in_a_small_compressed_object_stream():
    # 2.2 million tokens in 2.2 MB of brackets, below the object streams' ratio floor (4 MiB): only
    # the token count stops it, and the upload is a few kilobytes
    data = compressed_object_stream(b"[]" * (DEFAULT_STRUCTURE_LIMITS.max_tokens // 2 + 100_000))
    assert len(data) < 100_000

    with pytest.raises(PdfTooComplex):
        preflight(data)


def test_a_3000_page_document_is_far_below_the_limits():
    counted = check_structure(parse_bombs.many_pages(3000))

    assert counted.objects * 10 < DEFAULT_STRUCTURE_LIMITS.max_objects
    assert counted.tokens * 10 < DEFAULT_STRUCTURE_LIMITS.max_tokens
