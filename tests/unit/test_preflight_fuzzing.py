"""Issue 10, section 5: hypothesis fuzzing of preflight on mutated PDFs.

Whatever bytes arrive, :func:`tachiai.sealing.preflight.preflight` either returns a
:class:`PreparedDocument` or raises an :class:`InvalidDocument` subclass — never another exception,
never a hang. The inputs start from small valid PDFs made here and are damaged the ways uploads are:
bytes flipped, the file cut short, PDF tokens inserted anywhere, and random objects (dictionaries,
arrays, form fields with signature-like entries) written into an otherwise valid file.

Deterministic (``derandomize``, no example database) and bounded: each example has a deadline generous
enough for a loaded CI machine (a hang fails the example, or the test's timeout), and the test a
fixed number of examples.
"""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

import pikepdf
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from pyhanko.pdf_utils.reader import PdfFileReader
from tachiai.domain.errors import InvalidDocument
from tachiai.sealing.preflight import PreparedDocument, preflight

from tests.fixtures.pdfs import simple_pdf

FUZZ = settings(
    derandomize=True,
    database=None,
    deadline=timedelta(seconds=20),  # "never hang", with room for a loaded 2-core CI machine
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    max_examples=150,
)

pytestmark = pytest.mark.timeout(240)


def _plain_pdf() -> bytes:
    """One page, an uncompressed content stream and a form field: every structure in plain sight."""
    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(595, 842))
    page = pdf.pages[0]
    page.Contents = pdf.make_stream(b"BT /F1 12 Tf 72 720 Td (Contract) Tj ET")
    page.Resources = pikepdf.Dictionary(
        Font=pikepdf.Dictionary(
            F1=pikepdf.Dictionary(
                Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type1, BaseFont=pikepdf.Name.Helvetica
            )
        )
    )
    field = pdf.make_indirect(
        pikepdf.Dictionary(
            FT=pikepdf.Name.Tx, T=pikepdf.String("name"), Rect=[0, 0, 10, 10], Subtype=pikepdf.Name.Widget
        )
    )
    page.Annots = pdf.make_indirect(pikepdf.Array([field]))
    pdf.Root.AcroForm = pikepdf.Dictionary(Fields=pikepdf.Array([field]))
    out = io.BytesIO()
    pdf.save(
        out,
        compress_streams=False,
        deterministic_id=True,
        object_stream_mode=pikepdf.ObjectStreamMode.disable,
    )
    return out.getvalue()


HEADER = len(b"%PDF-1.7\n")
"""Mutations land after the header: a file without one is refused before any parser runs."""


def _after_header(where: float, data: bytes | bytearray) -> int:
    return HEADER + int(where * (len(data) - HEADER))


BASES = {"fpdf": simple_pdf(2), "plain": _plain_pdf()}


def assert_prepared_or_refused(data: bytes) -> None:
    """The property, for one upload."""
    try:
        prepared = preflight(data)
    except InvalidDocument:
        return
    assert isinstance(prepared, PreparedDocument)
    # and what it accepts, the sealing engine's strict reader reads, with the pages preflight counted
    reader = PdfFileReader(io.BytesIO(prepared.pdf), strict=True)
    assert reader.root["/Pages"]["/Count"] == prepared.pages >= 1


def test_the_unmutated_bases_are_accepted():
    # The fuzz below starts from files preflight accepts, or it would only test refusals.
    for data in BASES.values():
        assert preflight(data).pages >= 1


bases = st.sampled_from(sorted(BASES)).map(BASES.__getitem__)


@FUZZ
@given(
    base=bases,
    flips=st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(0, 255)), min_size=1, max_size=8),
)
def test_preflight_prepares_or_refuses_a_pdf_with_flipped_bytes(base: bytes, flips: list[tuple[float, int]]):
    data = bytearray(base)
    for where, value in flips:
        data[_after_header(where, data)] = value
    assert_prepared_or_refused(bytes(data))


@FUZZ
@given(base=bases, keep=st.floats(0, 1))
def test_preflight_prepares_or_refuses_a_truncated_pdf(base: bytes, keep: float):
    assert_prepared_or_refused(base[: _after_header(keep, base)])


TOKENS = [
    b"<<",
    b">>",
    b"[",
    b"]",
    b"(",
    b")",
    b"<",
    b">",
    b"\\",
    b"%",
    b"%%EOF",
    b"obj",
    b"endobj",
    b"R",
    b"stream\n",
    b"\nendstream",
    b"xref\n0 1\n",
    b"trailer",
    b"startxref\n0\n",
    b"null",
    b"true",
    b"/Type",
    b"/Pages",
    b"/Page",
    b"/Kids [1 0 R]",
    b"/Count 2147483648",
    b"/Count -1",
    b"/Parent 3 0 R",
    b"/Root 1 0 R",
    b"/Size 0",
    b"/Prev 0",
    b"/XRefStm 0",
    b"/Length 999999999",
    b"/Length -5",
    b"/Filter /FlateDecode",
    b"/Filter [/FlateDecode /ASCIIHexDecode]",
    b"/DecodeParms << /Predictor 15 >>",
    b"/ObjStm",
    b"/N 99999",
    b"/First 0",
    b"/Encrypt << >>",
    b"/AcroForm << /Fields [4 0 R] >>",
    b"/FT /Sig",
    b"/V << /Type /Sig >>",
    b"/Perms << /DocMDP 4 0 R >>",
    b"/Lock << /P 1 >>",
    b"/Reference [<< /TransformMethod /DocMDP >>]",
    b"/ByteRange [0 1 2 3]",
    b"99999999999999999999",
    b"-0.000000001",
    b"3.4e38",
    b"1 0 R",
    b"0 0 R",
    b"4294967296 0 R",
    b"\x00",
    b"\xff\xfe",
    b"\r",
    b"\n",
    b" ",
]


@FUZZ
@given(
    base=bases,
    inserts=st.lists(
        st.tuples(st.floats(0, 1), st.sampled_from(TOKENS), st.booleans()), min_size=1, max_size=6
    ),
)
def test_preflight_prepares_or_refuses_a_pdf_with_inserted_tokens(
    base: bytes, inserts: list[tuple[float, bytes, bool]]
):
    data = base
    for where, token, replace in inserts:
        at = _after_header(where, data)
        # Either squeeze the token in, or overwrite as many bytes (keeping the xref offsets valid).
        data = data[:at] + token + data[at + (len(token) if replace else 0) :]
    assert_prepared_or_refused(data)


NAMES = [
    "/Type",
    "/FT",
    "/V",
    "/T",
    "/Kids",
    "/Parent",
    "/Lock",
    "/P",
    "/Action",
    "/Fields",
    "/Reference",
    "/TransformMethod",
    "/TransformParams",
    "/DocMDP",
    "/FieldMDP",
    "/UR3",
    "/ByteRange",
    "/Contents",
    "/Sig",
    "/All",
    "/Exclude",
    "/Include",
    "/Count",
    "/Pages",
    "/Metadata",
    "/Info",
    "/Annots",
]
_leaves = st.one_of(
    st.booleans(),
    st.integers(-(2**40), 2**40),
    st.floats(-1e9, 1e9, allow_nan=False),
    st.sampled_from(NAMES).map(pikepdf.Name),
    st.binary(max_size=20).map(pikepdf.String),
)
PDF_OBJECTS = st.recursive(
    _leaves,
    lambda inner: (
        st.lists(inner, max_size=4).map(pikepdf.Array)
        | st.dictionaries(st.sampled_from(NAMES), inner, max_size=5).map(lambda d: pikepdf.Dictionary(d))
    ),
    max_leaves=20,
)
"""Random PDF objects, keyed and valued with the names preflight's signature rules look at."""


@FUZZ
@given(
    where=st.sampled_from(
        ["/Perms", "/AcroForm", "/Pages", "/Metadata", "/Names", "/OpenAction", "field", "page"]
    ),
    value=PDF_OBJECTS,
)
def test_preflight_prepares_or_refuses_a_pdf_with_random_dictionaries(where: str, value: Any):
    # Given a valid file with a random object where preflight reads signatures, fields and pages
    pdf = pikepdf.open(io.BytesIO(BASES["plain"]))
    if where == "field":
        field = pdf.Root.AcroForm.Fields[0]
        for key, item in value.items() if isinstance(value, pikepdf.Dictionary) else [("/V", value)]:
            field[key] = item
    elif where == "page":
        pdf.pages[0].obj["/Annots"] = value
    else:
        pdf.Root[where] = value
    out = io.BytesIO()
    try:
        pdf.save(out, compress_streams=False, deterministic_id=True)
    except pikepdf.PdfError:
        return  # qpdf itself will not write it (e.g. a page tree it cannot walk): nothing to upload
    # Then preflight prepares it or refuses it with a typed error
    assert_prepared_or_refused(out.getvalue())
