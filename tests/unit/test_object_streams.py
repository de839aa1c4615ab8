"""Object streams qpdf and pyHanko's strict reader read differently: rewritten once into a plain file
that every reader reads alike, or refused as damaged -- never a recursion, never a file finalize
cannot read."""

from __future__ import annotations

import io

import pytest
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.reader import PdfFileReader
from tachiai.domain.errors import DamagedPdf
from tachiai.sealing.object_streams import has_object_streams, read_as_pyhanko_does
from tachiai.sealing.preflight import preflight

from tests.fixtures.odd_pdfs import build_corpus

CASES = {odd.name: odd.data for odd in build_corpus()}


def every_object_read_strictly(data: bytes) -> list[generic.PdfObject]:
    """Every object reachable from the trailer, read by pyHanko's strict reader (which raises on
    anything it cannot read, as finalize's difference analysis does)."""
    reader = PdfFileReader(io.BytesIO(data), strict=True)
    seen: set[tuple[int, int]] = set()
    found: list[generic.PdfObject] = []
    pending: list[generic.PdfObject] = [reader.trailer.raw_get("/Root")]
    while pending:
        value = pending.pop()
        if isinstance(value, generic.IndirectObject):
            if (value.idnum, value.generation) in seen:
                continue
            seen.add((value.idnum, value.generation))
            value = value.get_object()
            found.append(value)
        if isinstance(value, generic.DictionaryObject):
            pending.extend(value.raw_get(key) for key in value)
        elif isinstance(value, generic.ArrayObject):
            pending.extend(value.raw_get(index) for index in range(len(value)))
    return found


def test_a_short_offsets_table_is_rewritten_into_a_plain_file_holding_every_object():
    plain = read_as_pyhanko_does(CASES["object_stream_n_larger_than_its_table"])

    assert not has_object_streams(plain)
    fonts = [
        o for o in every_object_read_strictly(plain) if isinstance(o, dict) and o.get("/Type") == "/Font"
    ]
    assert [font["/BaseFont"] for font in fonts] == ["/Helvetica"]


def test_the_rewrite_is_deterministic():
    data = CASES["object_stream_inside_an_object_stream"]

    assert read_as_pyhanko_does(data) == read_as_pyhanko_does(data)


def test_an_object_stream_stored_inside_itself_is_damaged_not_a_recursion():
    with pytest.raises(DamagedPdf, match="inside itself"):
        read_as_pyhanko_does(CASES["object_stream_stored_inside_itself"])


def test_a_garbled_offsets_table_is_damaged():
    with pytest.raises(DamagedPdf, match="garbled"):
        read_as_pyhanko_does(CASES["object_stream_garbled_offsets_table"])


@pytest.mark.parametrize(
    "name", ["object_stream_n_smaller_than_its_table", "object_stream_member_at_another_index"]
)
def test_an_object_strict_pyhanko_cannot_find_in_its_object_stream_gets_the_file_rewritten(name: str):
    with pytest.raises(Exception, match="index"):
        every_object_read_strictly(CASES[name])  # what finalize's difference analysis would hit

    prepared = preflight(CASES[name])

    assert prepared.normalized
    every_object_read_strictly(prepared.pdf)
