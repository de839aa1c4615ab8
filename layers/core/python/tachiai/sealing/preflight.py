"""Preflight: decide whether an upload can be sealed, before anything is stored or signed.

:func:`preflight` either returns a :class:`PreparedDocument` (the bytes to seal, page count and hashes)
or raises exactly one :class:`~tachiai.domain.errors.InvalidDocument` subclass, each with a stable
``code`` and a Japanese and English message.

How a file is judged, cheapest first:

1. **Envelope** (no parsing): empty or whitespace only -> :class:`EmptyDocument`; over ``max_bytes`` ->
   :class:`DocumentTooLarge`; the magic number of another format (ZIP/docx, PNG, ...) at offset 0, or
   no ``%PDF-`` in the first 1024 bytes -> :class:`NotPdf`.
2. **qpdf** (pikepdf, C++, fuzzed, fast even for 5,000 pages) opens the file with recovery, parses every
   object and walks the page tree. Any encryption (also owner-password-only) -> :class:`EncryptedPdf`.
   Recovery that *lost content* (a stream replaced by an empty one, an object dropped, a lost trailer,
   ...) or no pages -> :class:`DamagedPdf`. Only repairs that keep every object (a rebuilt
   cross-reference table, a recovered stream ``/Length``, ...) are tolerated; they merely mean the
   file has to be rewritten (step 5). So is a page-tree loop (a ``/Kids`` entry pointing back to an
   ancestor): every page stays reachable without that entry, which only makes readers walk the tree
   forever or give up (qpdf does), so it is dropped and the file rewritten.
3. **Signing restrictions** (read with qpdf, so they are found even in files needing repair):
   a certification signature with ``/P 1``, a usage-rights signature (``/Perms /UR`` or ``/UR3``), a
   signed field whose lock or ``/FieldMDP`` transform carries ``/P 1`` (the whole document locked),
   or one that locks ``/All`` form fields (or all but an ``/Exclude`` list) -- which covers the new
   signature field too, so adding it would invalidate that signature -> :class:`SigningForbidden`.
   Certification with ``/P 2`` or ``/P 3`` allows adding a signature, so it is accepted, as is a
   field lock with ``/Action /Include`` (it locks the named fields only). Active content --
   JavaScript, a Launch action or an embedded executable, wherever it hides -> :class:`ActiveContent`
   (see :mod:`tachiai.sealing.active_content`). The signatures already on a signed upload are judged
   by finalize's own verdict (integrity only, trust not required, see
   :meth:`~tachiai.sealing.verify.VerificationReport.judge_integrity`): a broken one ->
   :class:`ExistingSignatureInvalid`, a document changed after one (form filled, annotation added,
   page changed) -> :class:`SignedPdfModified`, another service's document timestamp (after which no
   seal can be shown long-term valid) -> :class:`SigningForbidden`. Unsigned uploads skip this.
4. **Strict check** with pyHanko's ``PdfFileReader(strict=True)`` -- the reader the sealing engine
   uses: the cross-reference sections and trailer parse strictly, the file is not a hybrid-reference
   file (pyHanko refuses to sign those in strict mode), nothing but whitespace follows the last
   ``%%EOF``, ``/Pages /Count`` agrees with the page tree, the objects signing touches resolve
   strictly (catalog, page tree down to the first page, ``/Perms``, form fields and existing
   signatures), the XMP metadata parses (validating a seal reads it), no reference points to a
   missing object and no direct object sits in ``/Annots`` or ``/Fields`` (pyHanko's difference
   analysis fails on both when it validates a seal, see :mod:`tachiai.sealing.dangling`), and a
   rehearsal of the real signing path (:func:`tachiai.sealing.incremental.rehearse_seal`: field,
   widget, completion lock, incremental update; throwaway certificate, no network) succeeds. Only
   these objects are read with pyHanko (pure Python, ~150 us per object); qpdf has already parsed
   every object in step 2. Clean files stop here and are sealed byte
   for byte as uploaded.
5. **Normalization**: a file failing step 4 (or repaired by qpdf in step 2) is rewritten ONCE by qpdf
   into a plain file -- classic cross-reference table, no object streams, stream data copied as is,
   deterministic ``/ID`` so the same upload always gives the same bytes -- and the rewrite must pass
   steps 2 and 4 cleanly, or the upload is :class:`DamagedPdf`.

   A file that already carries signatures is never rewritten (that would invalidate them). If it
   needs normalization it is refused with :class:`SigningForbidden` ("the signed PDF needs
   structural repair, which would invalidate its existing signatures") rather than
   :class:`DamagedPdf`: the file is usually readable, and "save it again from the original
   application" -- the DamagedPdf advice -- would strip the existing signatures.
"""

from __future__ import annotations

import hashlib
import io
import re
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pikepdf
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader

from tachiai.domain.errors import (
    ActiveContent,
    DamagedPdf,
    EncryptedPdf,
    ExistingSignatureInvalid,
    SignedPdfModified,
    SigningForbidden,
    TachiaiError,
)
from tachiai.domain.uploads import DEFAULT_MAX_BYTES, PDF_WHITESPACE, check_upload
from tachiai.pdf_limits import check_decoded_size, check_structure
from tachiai.sealing.active_content import ActiveKind, active_content_text, find_active_content
from tachiai.sealing.dangling import dangling_references, direct_entries, make_entries_indirect
from tachiai.sealing.incremental import rehearse_seal
from tachiai.sealing.object_streams import has_object_streams, read_as_pyhanko_does
from tachiai.sealing.verify import Verdict, VerificationError, verify_pdf

__all__ = ["DEFAULT_MAX_BYTES", "PreparedDocument", "preflight"]

_MAX_FIELDS = 10_000
"""Form fields inspected at most; a file with more is treated as damaged rather than walked forever."""
_MAX_DETAIL = 500

# qpdf warnings that describe a repair which keeps every object of the file: the cross-reference
# table is rebuilt by scanning for "n g obj", a wrong stream /Length is recovered by finding
# "endstream", a missing "endobj" or line terminator is tolerated. A file with only these warnings is
# rewritten (normalized). Any other warning -- "unable to recover stream data; treating stream as
# empty", "giving up on reading object", "unable to find trailer dictionary", "Loop detected in
# /Pages", "ignoring excessively deeply nested data structure", ... -- means qpdf had to drop or guess
# content, so the file is refused as damaged instead of sealing something other than what the
# uploader saw. Unknown warnings are refused too, and so are ambiguities readers may resolve
# differently ("dictionary has duplicated key"): failing safe costs a re-upload, not a contract.
_HARMLESS_REPAIRS = re.compile(
    "|".join(
        (
            r"file is damaged",
            r"xref not found",
            r"can't find startxref",
            r"startxref was more than 1024 bytes before end of file",
            r"invalid xref entry",
            r"reported number of objects \(\d+\) is not one plus the highest object number",
            r"Attempting to reconstruct cross-reference table",
            r"expected (n n|\d+ \d+) obj",
            r"expected endstream",
            r"attempting to recover stream length",
            r"recovered stream length",
            r"expected endobj",
            r"EOF after endobj",
            r"stream keyword followed by carriage return only",
            r"stream keyword not followed by proper line terminator",
            # a page object listed twice in /Kids: qpdf gives the second place its own copy (every
            # reader shows the same two pages); pyHanko reads the file as it is
            r"appears more than once in the pages tree; creating a new page object as a copy",
            # a page (tree node) that omits what every reader assumes anyway: no resources (an empty
            # dictionary), no media box anywhere up the tree (US Letter, as viewers show it), a missing
            # or wrong /Type on a page tree node (its place in the tree says what it is)
            r"Resources is missing or invalid; repairing",
            r"MediaBox is undefined; setting to letter / ANSI A",
            r"/Type key should be /Pages? but is not; overriding",
        )
    )
)

# How a pure-Python parser fails on untrusted bytes. Used only to CLASSIFY the strict check ("does
# pyHanko parse this strictly?" -> no, normalize); every other exception still reaches the single
# boundary in preflight().
_STRICT_PARSE_FAILURES: tuple[type[BaseException], ...] = (
    PdfError,
    ValueError,
    LookupError,
    TypeError,
    AttributeError,
    AssertionError,
    ArithmeticError,
    RecursionError,
    NotImplementedError,
    EOFError,
    SyntaxError,  # xml.etree.ElementTree.ParseError, from XMP metadata
    zlib.error,
    struct.error,
)


@dataclass(frozen=True)
class PreparedDocument:
    """An upload that passed preflight: the bytes to seal and what is known about them."""

    pdf: bytes
    """The bytes to seal: the upload itself, or its normalized rewrite."""
    size: int
    """Size of the upload in bytes."""
    pages: int
    """Number of pages of :attr:`pdf`."""
    original_sha256: str
    """Hex SHA-256 of the upload as received."""
    normalized_sha256: str | None = None
    """Hex SHA-256 of :attr:`pdf` when the upload had to be rewritten, else ``None``."""

    @property
    def normalized(self) -> bool:
        """Whether :attr:`pdf` is a rewrite of the upload rather than the upload itself."""
        return self.normalized_sha256 is not None

    @property
    def sha256(self) -> str:
        """Hex SHA-256 of :attr:`pdf`, the bytes that will be sealed."""
        return self.normalized_sha256 or self.original_sha256

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able summary (without the bytes) for the API, logs and the audit trail."""
        return {
            "size": self.size,
            "pages": self.pages,
            "original_sha256": self.original_sha256,
            "normalized_sha256": self.normalized_sha256,
            "normalized": self.normalized,
        }


def preflight(data: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES) -> PreparedDocument:
    """Check an upload and prepare it for sealing (see the module docstring for the rules).

    Nothing is stored or signed here; the result says what to seal.

    :param data: the uploaded file, untrusted.
    :param max_bytes: the largest upload accepted.
    :returns: the bytes to seal (the upload itself, or its normalized rewrite), page count and hashes.
    :raises EmptyDocument: ``data`` is empty or whitespace only.
    :raises DocumentTooLarge: ``data`` is larger than ``max_bytes``.
    :raises NotPdf: there is no ``%PDF-`` header in the first 1024 bytes.
    :raises EncryptedPdf: the PDF is encrypted in any way, even without a password to open it.
    :raises SigningForbidden: an existing certification, usage-rights or locking signature forbids
        further signatures, or a signed PDF would have to be repaired (which breaks its signatures).
    :raises ActiveContent: the PDF carries JavaScript, a Launch action or an embedded executable
        (see :mod:`tachiai.sealing.active_content`).
    :raises PdfTooComplex: its streams decode to more data than :mod:`tachiai.pdf_limits` allows
        (a decompression bomb), or it holds more objects or syntax than it allows (a parse bomb);
        checked on the raw bytes before any parser reads them.
    :raises DamagedPdf: the PDF cannot be read, has no pages, or could only be repaired by dropping
        content. Every other failure of the PDF parsers is reported as this too.
    """
    check_upload(data, max_bytes)
    original_sha256 = hashlib.sha256(data).hexdigest()
    try:
        pdf, pages, normalized = _prepare(data)
    except TachiaiError:
        raise
    # The one deliberately broad catch of tachiai's document handling. ``data`` is untrusted input
    # parsed by two third-party parsers (qpdf via pikepdf, and pure-Python pyHanko) which signal
    # malformed input with whatever their code happens to hit: KeyError, IndexError, TypeError,
    # AssertionError, RecursionError on deep nesting, zlib.error, struct.error, MemoryError on bombs,
    # pikepdf.PdfError, pyHanko's PdfReadError, ... No list of types is complete across library
    # versions, and any of them means the same thing to the uploader: this file cannot be read.
    # BaseException (KeyboardInterrupt, SystemExit) is deliberately not caught.
    except Exception as e:
        raise DamagedPdf(_detail(e)) from e
    return PreparedDocument(
        pdf=pdf,
        size=len(data),
        pages=pages,
        original_sha256=original_sha256,
        normalized_sha256=hashlib.sha256(pdf).hexdigest() if normalized else None,
    )


# --- steps 2-5 --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _QpdfView:
    pages: int
    repairs: tuple[str, ...]
    """Harmless repairs qpdf made while reading: the file must be rewritten before signing."""
    signed: bool
    forbidden: str | None
    """The reason (a message id) when an existing signature forbids signing."""
    objects: frozenset[tuple[int, int]]
    """(number, generation) of every object qpdf's cross-reference table locates."""
    active: tuple[ActiveKind, ...] = ()
    """Active content found (JavaScript, Launch, embedded executables): the upload is refused."""
    dangling: tuple[str, ...] = ()
    """References to objects that do not exist ("n g R"): the file must be rewritten."""
    direct: tuple[str, ...] = ()
    """Arrays the seal extends that hold direct objects or nulls: the file must be rewritten."""


# Why an existing signature forbids signing: the message ids SigningForbidden names as its reason.
_REASON_CERTIFIED = "error.pdf_signing_forbidden.certified"
_REASON_USAGE_RIGHTS = "error.pdf_signing_forbidden.usage_rights"
_REASON_LOCKED = "error.pdf_signing_forbidden.locked"
_REASON_FIELDS_LOCKED = "error.pdf_signing_forbidden.fields_locked"
_REASON_SIGNED_NEEDS_REPAIR = "error.pdf_signing_forbidden.signed_needs_repair"
_REASON_DOCUMENT_TIMESTAMP = "error.pdf_signing_forbidden.document_timestamp"


def _prepare(data: bytes, *, rescue: bool = True) -> tuple[bytes, int, bool]:
    """(bytes to seal, pages, whether they were normalized); raises typed errors only on purpose.

    ``rescue``: whether a file qpdf refuses may still be read as pyHanko reads it (step 2b).
    """
    # before qpdf or pyHanko parse or decode anything: parse and decompression bombs are refused on
    # the raw bytes (the structure first: the decode scan's own cost grows with the object count)
    check_structure(data)
    check_decoded_size(data)
    try:
        view = _inspect_with_qpdf(data)
    except DamagedPdf as refused:
        if not rescue or not has_object_streams(data):
            raise
        return _read_object_streams_as_pyhanko_does(data, refused)
    if view.forbidden is not None:
        raise SigningForbidden(view.forbidden, reason=view.forbidden)
    if view.active:
        raise ActiveContent(
            ", ".join(view.active),
            found=[active_content_text(kind) for kind in view.active],
        )
    if view.signed:
        _check_existing_signatures(data)
    # the strict check runs even when qpdf already asks for a rewrite: it is where pyHanko and qpdf
    # are compared on hybrid-reference files
    problem = "; ".join(filter(None, [*view.repairs, _strict_problem(data, view)])) or None
    if problem is None:
        return data, view.pages, False
    if view.signed:
        raise SigningForbidden(
            f"signed PDF needs normalization: {problem}"[:_MAX_DETAIL],
            reason=_REASON_SIGNED_NEEDS_REPAIR,
        )
    normalized = _normalize(data)
    again = _inspect_with_qpdf(normalized)
    remaining = "; ".join(again.repairs) or _strict_problem(normalized, again)
    if remaining:
        raise DamagedPdf(f"still not clean after normalization ({problem}): {remaining}"[:_MAX_DETAIL])
    return normalized, again.pages, True


def _read_object_streams_as_pyhanko_does(data: bytes, refused: DamagedPdf) -> tuple[bytes, int, bool]:
    """Step 2b: a file with object streams that qpdf refuses, rewritten as pyHanko reads it.

    qpdf gives up on object streams that pyHanko and pdf.js read (a short offsets table, an object
    stream inside another, see :mod:`tachiai.sealing.object_streams`), and bare pyHanko signs such
    files. They are rewritten once into a plain file holding what pyHanko's strict reader reads, and
    that rewrite must then pass every step (2 to 5) as if it had been uploaded: it becomes the
    document. A signed file cannot be rewritten without breaking its signatures: SigningForbidden.
    What pyHanko cannot read strictly either stays ``refused``.
    """
    try:
        plain = read_as_pyhanko_does(data)
    except DamagedPdf as e:
        raise DamagedPdf(f"{refused.detail}; {e.detail}"[:_MAX_DETAIL]) from refused
    if b"/ByteRange" in data or b"/ByteRange" in plain:
        raise SigningForbidden(
            f"signed PDF needs normalization: {refused.detail}"[:_MAX_DETAIL],
            reason=_REASON_SIGNED_NEEDS_REPAIR,
        )
    # streams and syntax that sat inside object streams are top-level now: measured like every other
    check_structure(plain)
    check_decoded_size(plain)
    pdf, pages, _ = _prepare(plain, rescue=False)
    return pdf, pages, True


def _check_existing_signatures(data: bytes) -> None:
    """Step 3b: judge the signatures already on a signed upload with finalize's own verdict.

    Finalize accepts another party's earlier signature without requiring its trust, but only when it
    is intact, valid and followed by nothing but signing (:meth:`VerificationReport.judge_integrity`,
    the integrity half of the verdict finalize applies). What fails that here would fail finalize
    after every party agreed, so it is refused now. Unsigned uploads never get here.

    The upload is judged as it is, so a change after its last signature counts even where, at
    finalize, the seals that follow it would have excused it (a form change no signature followed):
    the rare disagreement refuses at upload, never fails after agreement.
    """
    try:
        report = verify_pdf(data)
    except VerificationError as e:
        raise ExistingSignatureInvalid(e.detail[:_MAX_DETAIL]) from e
    judgement = report.judge_integrity()
    if judgement.verdict is not Verdict.VALID:
        broken = any(f.code in ("altered", "signature_invalid") for f in judgement.findings)
        error = ExistingSignatureInvalid if broken else SignedPdfModified
        raise error(judgement.summary()[:_MAX_DETAIL])
    # A document timestamp by another TSA starts pyHanko's chain of proofs of existence (AdES LTA): it
    # does not chain to tachiai's roots, the chain breaks, and no seal added after it validates as
    # long-term (finalize requires it). Refused until finalize can judge such a file.
    foreign_timestamps = [s.field_name for s in report.signatures if s.kind == "document_timestamp"]
    if foreign_timestamps:
        raise SigningForbidden(
            f"document timestamp(s) already present: {', '.join(foreign_timestamps)}"[:_MAX_DETAIL],
            reason=_REASON_DOCUMENT_TIMESTAMP,
        )


def _open(data: bytes) -> pikepdf.Pdf:
    try:
        return pikepdf.open(io.BytesIO(data), inherit_page_attributes=False)
    except pikepdf.PasswordError as e:
        raise EncryptedPdf("a password is required to open the PDF") from e
    except pikepdf.PdfError as e:
        # qpdf refuses encryption it does not implement (e.g. /Adobe.PubSec certificate security)
        # with a generic error; the /Encrypt key tells us it is encryption, not damage.
        if re.search(rb"/Encrypt[\s/<\[]", data):
            raise EncryptedPdf(f"unsupported encryption: {_strip_source(str(e))}"[:_MAX_DETAIL]) from e
        raise DamagedPdf(f"qpdf cannot open the file: {_strip_source(str(e))}"[:_MAX_DETAIL]) from e


def _inspect_with_qpdf(data: bytes) -> _QpdfView:
    """Step 2 and 3: encryption, damage, pages and signing restrictions as qpdf reads them."""
    with _open(data) as pdf:
        if pdf.is_encrypted:
            raise EncryptedPdf("the PDF is encrypted (no password needed to open it)")
        len(pdf.objects)  # makes qpdf parse every object, so damage anywhere is seen now
        # before anything walks the pages: qpdf's page walk raises on a loop
        loops = _break_page_tree_loops(pdf)
        pages = len(pdf.pages)
        forbidden, signed = _signing_restrictions(pdf)
        objects = frozenset(pdf.get_xref_table())
        active = tuple(find_active_content(pdf))
        dangling = tuple(dangling_references(data, pdf))
        direct = tuple(direct_entries(pdf))
        # get_warnings() drains qpdf's list: read it once, after everything that may warn
        warnings = [_strip_source(w) for w in pdf.get_warnings()]
    lost = [w for w in warnings if not _HARMLESS_REPAIRS.search(w)]
    if lost:
        raise DamagedPdf(("content would be lost in repair: " + "; ".join(lost))[:_MAX_DETAIL])
    if pages == 0:
        raise DamagedPdf("the PDF has no pages")
    return _QpdfView(
        pages=pages,
        repairs=tuple(dict.fromkeys([*warnings, *loops])),
        signed=signed or b"/ByteRange" in data,
        forbidden=forbidden,
        objects=objects,
        active=active,
        dangling=dangling,
        direct=direct,
    )


def _break_page_tree_loops(pdf: pikepdf.Pdf) -> list[str]:
    """Remove every ``/Kids`` entry that points back to an ancestor in the page tree (in memory).

    Such an entry adds no page: everything below the ancestor is reached through the ancestor
    already. Readers either walk it forever or stop (qpdf raises "Loop detected in /Pages"), while
    pyHanko only walks down to the page it signs on. A node reached twice by different paths (the same
    page listed twice) is not a loop and is left alone: qpdf handles it. The walk is iterative and
    visits each node once, so a deep or wide tree costs no recursion and linear time.

    :returns: one description per removed entry (empty for a tree without loops).
    """
    top = pdf.Root.get("/Pages")
    if not isinstance(top, pikepdf.Dictionary) or not top.is_indirect:
        return []
    removed: list[str] = []
    seen = {top.objgen}
    ancestors = {top.objgen}
    stack: list[tuple[pikepdf.Dictionary, int]] = [(top, 0)]
    while stack:
        node, index = stack[-1]
        kids = node.get("/Kids")
        if not isinstance(kids, pikepdf.Array) or index >= len(kids):
            stack.pop()
            ancestors.discard(node.objgen)
            continue
        kid = kids[index]
        if isinstance(kid, pikepdf.Dictionary) and kid.is_indirect and kid.objgen in ancestors:
            del kids[index]  # the next entry moves to ``index``: look at it next
            removed.append(
                "page-tree loop: /Kids of {} {} R points back to {} {} R".format(*node.objgen, *kid.objgen)
            )
            continue
        stack[-1] = (node, index + 1)
        if not isinstance(kid, pikepdf.Dictionary) or not kid.is_indirect or kid.objgen in seen:
            continue
        seen.add(kid.objgen)
        if isinstance(kid.get("/Kids"), pikepdf.Array):
            ancestors.add(kid.objgen)
            stack.append((kid, 0))
    return removed


def _recount_pages(pdf: pikepdf.Pdf) -> None:
    """Set ``/Count`` of every intermediate page-tree node to the pages below it (tree without loops).

    After :func:`_break_page_tree_loops` the counts still include the removed entries; pyHanko checks
    ``/Count`` against the tree, so the rewrite must carry the true numbers.
    """
    top = pdf.Root.get("/Pages")
    if not isinstance(top, pikepdf.Dictionary):
        return
    counts: dict[tuple[int, int], int] = {}
    pending: set[tuple[int, int]] = set()
    stack: list[tuple[pikepdf.Dictionary, bool]] = [(top, False)]
    while stack:
        node, expanded = stack.pop()
        kids = [
            (kid, isinstance(kid.get("/Kids"), pikepdf.Array))
            for kid in node.get("/Kids", pikepdf.Array())
            if isinstance(kid, pikepdf.Dictionary)
        ]
        if not expanded:
            stack.append((node, True))
            for kid, inner in kids:
                if inner and kid.objgen not in counts and kid.objgen not in pending:
                    pending.add(kid.objgen)
                    stack.append((kid, False))
            continue
        total = sum(counts.get(kid.objgen, 0) if inner else 1 for kid, inner in kids)
        node.Count = total
        counts[node.objgen] = total


def _strip_source(message: str) -> str:
    # "stream <_io.BytesIO object at 0x7f..> (object 4 0, offset 279): message" -> "(object ...): message"
    return re.sub(r"stream <[^>]*>:? ?", "", message)


def _signing_restrictions(pdf: pikepdf.Pdf) -> tuple[str | None, bool]:
    """(reason a signature may not be added (a message id) or None, whether the file carries signatures)."""
    root = pdf.Root
    perms = root.get("/Perms")
    signed = False
    if isinstance(perms, pikepdf.Dictionary):
        if "/UR" in perms or "/UR3" in perms:
            return _REASON_USAGE_RIGHTS, True
        docmdp = perms.get("/DocMDP")
        if isinstance(docmdp, pikepdf.Dictionary):
            signed = True
            if _transform_params(docmdp, "/DocMDP") is not None and _docmdp_permission(docmdp) == 1:
                return _REASON_CERTIFIED, True
    for field, signature in _signed_fields(root):
        signed = True
        lock = field.get("/Lock")
        locks = [lock] if isinstance(lock, pikepdf.Dictionary) else []
        for method in ("/FieldMDP", "/DocMDP"):
            params = _transform_params(signature, method)
            if params is not None:
                locks.append(params)
        if any(_as_int(params.get("/P")) == 1 for params in locks):
            return _REASON_LOCKED, True
        # /Action /All locks every field, /Exclude every field not named -- including a field added
        # later for a new signature: pyHanko's diff analysis then judges the earlier signature
        # INVALID ("the form field ... is locked"). /Include locks only the named, existing fields.
        if any(params.get("/Action") in (pikepdf.Name.All, pikepdf.Name.Exclude) for params in locks):
            return _REASON_FIELDS_LOCKED, True
    return None, signed


def _signed_fields(root: pikepdf.Object) -> Iterator[tuple[pikepdf.Dictionary, pikepdf.Dictionary]]:
    """(field, signature dictionary) of every signed signature field, walking /Kids safely."""
    acroform = root.get("/AcroForm")
    if not isinstance(acroform, pikepdf.Dictionary):
        return
    fields = acroform.get("/Fields")
    if not isinstance(fields, pikepdf.Array):
        return
    stack: list[tuple[pikepdf.Object, pikepdf.Object | None]] = [(f, None) for f in fields]
    seen: set[tuple[int, int]] = set()
    while stack:
        node, inherited_type = stack.pop()
        if not isinstance(node, pikepdf.Dictionary):
            continue
        if node.is_indirect:
            if node.objgen in seen:
                continue
            seen.add(node.objgen)
        if len(seen) > _MAX_FIELDS:
            raise DamagedPdf(f"more than {_MAX_FIELDS} form fields")
        field_type = node.get("/FT", inherited_type)
        value = node.get("/V")
        if field_type == pikepdf.Name.Sig and isinstance(value, pikepdf.Dictionary):
            yield node, value
        kids = node.get("/Kids")
        if isinstance(kids, pikepdf.Array):
            stack.extend((kid, field_type) for kid in kids)


def _transform_params(signature: pikepdf.Dictionary, method: str) -> pikepdf.Dictionary | None:
    """The ``/TransformParams`` of ``signature``'s ``/Reference`` with ``/TransformMethod method``."""
    references = signature.get("/Reference")
    if not isinstance(references, pikepdf.Array):
        return None
    for reference in references:
        if isinstance(reference, pikepdf.Dictionary) and reference.get("/TransformMethod") == method:
            params = reference.get("/TransformParams")
            return params if isinstance(params, pikepdf.Dictionary) else pikepdf.Dictionary()
    return None


def _docmdp_permission(signature: pikepdf.Dictionary) -> int:
    """The DocMDP ``/P`` of a certification signature; 2 when absent (ISO 32000-2, 12.8.2.2)."""
    params = _transform_params(signature, "/DocMDP")
    value = _as_int(params.get("/P")) if params is not None else None
    return 2 if value is None else value


def _as_int(value: object) -> int | None:
    # pikepdf returns PDF integers as int (implicit conversion) or pikepdf.Integer (explicit mode)
    if isinstance(value, bool):
        return None
    if isinstance(value, int | pikepdf.Integer):
        return int(value)
    return None


def _strict_problem(data: bytes, qpdf: _QpdfView) -> str | None:
    """Step 4: why pyHanko's strict reader cannot sign ``data`` incrementally as is, or None."""
    problems = []
    if qpdf.dangling:
        problems.append(f"references to missing objects ({', '.join(qpdf.dangling)}) must be written as null")
    if qpdf.direct:
        problems.append(f"direct objects or nulls in {', '.join(qpdf.direct)} must become references")
    eof = data.rfind(b"%%EOF")
    if eof < 0:
        problems.append("no %%EOF marker")
    elif data[eof + 5 :].strip(PDF_WHITESPACE):
        problems.append(f"{len(data) - eof - 5} bytes of data after the last %%EOF")
    try:
        reader = PdfFileReader(io.BytesIO(data), strict=True)
        if reader.xrefs.hybrid_xrefs_present:
            _check_readers_agree(reader, qpdf)
            problems.append("hybrid-reference file (cross-reference table with /XRefStm)")
        elif reader.encrypt_dict is not None:
            raise EncryptedPdf("pyHanko sees an /Encrypt dictionary that qpdf ignored")
        elif (count := reader.root["/Pages"]["/Count"]) != qpdf.pages:
            problems.append(f"/Pages /Count is {count} but the page tree has {qpdf.pages} pages")
        elif not problems:
            reader.find_page_for_modification(0)
            if "/Perms" in reader.root:
                reader.root["/Perms"]
            for signature in reader.embedded_signatures:  # resolves form fields and every signature
                signature.sig_object.get("/ByteRange")
            # validating a seal parses the XMP metadata (pyHanko's difference analysis), even though
            # sealing leaves it untouched
            _ = reader.document_meta_view
            # the PDF side of sealing itself -- field naming, the new field and widget, the lock of
            # the completion seal, the incremental update -- with a throwaway certificate
            rehearse_seal(data, reader)
    except _STRICT_PARSE_FAILURES as e:
        problems.append(f"strict parse failed: {_detail(e)}")
    return "; ".join(problems) or None


def _check_readers_agree(reader: PdfFileReader, qpdf: _QpdfView) -> None:
    """Refuse a hybrid-reference file that pyHanko and qpdf read differently.

    In a hybrid file an object stored in an object stream has two entries: a free one in a classic
    table and the real one in the /XRefStm cross-reference stream. The spec leaves open which wins
    when both sit in the same section (pdf-association/pdf-issues#237): pyHanko takes the stream's,
    qpdf >= 11.9 the free one -- and then resolves references to the object to null WITHOUT a
    warning, so its rewrite would silently drop content (a font, a page). Any object pyHanko locates
    that qpdf does not is such a disagreement: refuse rather than seal a different document.
    Uses pyHanko's XRefCache, which it documents as internal (pinned to pyHanko 0.38).
    """
    located = set()
    for revision in range(reader.xrefs.total_revisions):
        for ref in reader.xrefs.explicit_refs_in_revision(revision):
            try:
                if reader.xrefs[ref] is not None:
                    located.add((ref.idnum, ref.generation))
            except KeyError:
                continue
    missing = sorted(located - qpdf.objects)
    if missing:
        listed = ", ".join(f"{n} {g} R" for n, g in missing[:10])
        raise DamagedPdf(
            f"hybrid-reference file read differently by PDF readers: objects {listed} are in its "
            "cross-reference stream but marked free in its cross-reference table"
        )


def _normalize(data: bytes) -> bytes:
    """Step 5: rewrite ``data`` once with qpdf into a plain, deterministic file."""
    out = io.BytesIO()
    with _open(data) as pdf:
        if _break_page_tree_loops(pdf):
            _recount_pages(pdf)
        make_entries_indirect(pdf)
        pdf.save(
            out,
            deterministic_id=True,  # /ID from the content: the same upload gives the same bytes
            object_stream_mode=pikepdf.ObjectStreamMode.disable,  # classic xref table, every object plain
            compress_streams=False,  # copy stream data as is ...
            stream_decode_level=pikepdf.StreamDecodeLevel.none,  # ... without decoding or recompressing
            fix_metadata_version=False,
            preserve_pdfa=True,
        )
    return out.getvalue()


def _detail(e: BaseException) -> str:
    return _strip_source(f"{type(e).__name__}: {e}")[:_MAX_DETAIL]
