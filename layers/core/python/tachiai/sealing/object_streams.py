"""Object streams qpdf cannot read, read the way pyHanko and pdf.js do, and written out plainly.

An object stream (PDF 1.5) packs many objects into one compressed stream. Its data starts with an
offsets table -- pairs of object number and offset, ``/N`` of them, ending where ``/First`` says the
objects begin. Some writers get the table wrong, and readers part ways:

* ``/N`` larger than the pairs the table really holds (a short table): qpdf reads ``/N`` pairs, runs
  into the first object's data, gives up on the whole object stream and loses every object in it --
  often the catalog, so it cannot open the file at all. pyHanko reads the pairs one by one until it
  finds the object it wants and never reaches the bad part; pdf.js does about the same.
* An object stream stored *inside* another object stream (ISO 32000 forbids a stream there): qpdf
  says "supposed object stream is not a stream" and loses its objects; pdf.js parses streams inside
  object streams on purpose, and pyHanko reads them when not strict.
* An offsets table whose offsets do not increase, or that names the object stream itself: qpdf drops
  the entry with a warning; pyHanko and pdf.js read each object where its offset points.

Bare pyHanko signs such files: signing reads only the catalog, the page tree down to one page and the
form, and later pyHanko validates the seal just as leniently. tachiai would refuse them as damaged
(its inspection runs on qpdf) although the readers people use show them. :func:`read_as_pyhanko_does`
closes that gap without trusting a guess: it reads every object reachable from the trailer with
pyHanko's *strict* reader -- cross-reference sections, object headers, ``endobj``, duplicated
dictionary keys and all -- relaxed in exactly two ways (the offsets table is the pairs in front of
``/First``, whatever ``/N`` says, and an object stream may hold a stream), and guarded against an
object stream that contains itself, directly or through others (which would otherwise recurse until
Python gives up). What it reads is written out as a plain PDF: same object numbers, a classic
cross-reference table, no object streams, every stream's data byte for byte, the trailer's
``/Root``, ``/Info`` and ``/ID``. That file is what every reader reads the same way, and it becomes
the document (preflight's normalization, with its own hash).

Anything else strict pyHanko refuses -- a garbled table (a pair that is not two numbers), an object
missing from the table, a bare reference as an object stream member, a broken stream -- is
:class:`~tachiai.domain.errors.DamagedPdf`: the readers would not agree on what the document is.

Uses pyHanko 0.38's reader internals (``PdfFileReader._get_object_from_stream``, the method the
reader calls for every compressed object), pinned like the rest of the sealing engine.
"""

from __future__ import annotations

import hashlib
import io
import re
from typing import Any

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.decode_limits import DecodePurpose
from pyhanko.pdf_utils.misc import PdfStrictReadError
from pyhanko.pdf_utils.reader import PdfFileReader

from tachiai.domain.errors import DamagedPdf, EncryptedPdf

__all__ = ["MAX_OBJECTS", "has_object_streams", "read_as_pyhanko_does"]

MAX_OBJECTS = 1_000_000
"""Objects read at most (pure Python, ~150 us each); a file with more is refused as damaged."""

_OBJECT_STREAM = re.compile(rb"/Type\s*/ObjStm(?![\w#])")
_TABLE_TOKEN = re.compile(rb"[^\x00\t\n\x0c\r ]+")
_HEADER = re.compile(rb"%PDF-([12]\.\d)")


def has_object_streams(data: bytes) -> bool:
    """Whether ``data`` has at least one object stream (``/Type /ObjStm`` anywhere in its bytes)."""
    return _OBJECT_STREAM.search(data) is not None


def read_as_pyhanko_does(data: bytes) -> bytes:
    """``data`` rewritten as a plain PDF holding exactly what pyHanko's strict reader reads in it
    (see the module docstring for the two relaxations about object streams).

    Deterministic: the same upload always gives the same bytes.

    :param data: the upload, untrusted; already checked by :func:`tachiai.pdf_limits.check_decoded_size`.
    :returns: the plain PDF (same object numbers, classic cross-reference table, no object streams).
    :raises EncryptedPdf: the file has an ``/Encrypt`` dictionary.
    :raises DamagedPdf: strict pyHanko cannot read every object reachable from the trailer, an object
        stream contains itself, or there are more than :data:`MAX_OBJECTS` objects.
    """
    try:
        reader = _ObjectStreamReader(io.BytesIO(data))
        if reader.encrypt_dict is not None:
            raise EncryptedPdf("the PDF is encrypted")
        last_trailer = reader.trailer.flatten()  # every revision's trailer, the latest winning
        objects = _reachable(reader, last_trailer)
        trailer = _trailer(last_trailer, data)
    except (DamagedPdf, EncryptedPdf):
        raise
    # pyHanko signals malformed input with whatever its code hits (PdfReadError, ValueError,
    # KeyError, RecursionError on deep nesting, ...): all mean "not readable strictly", which is the
    # answer here; preflight reports it as the damage qpdf found.
    except Exception as e:
        raise DamagedPdf(f"pyHanko cannot read it strictly either: {type(e).__name__}: {e}"[:500]) from e
    header = _HEADER.search(data, 0, 1024)
    return _write(objects, trailer, version=header.group(1) if header else b"1.7")


class _ObjectStreamReader(PdfFileReader):
    """pyHanko's strict reader, with object streams read as described in the module docstring."""

    def __init__(self, stream: io.BytesIO) -> None:
        self._opening: set[int] = set()
        super().__init__(stream, strict=True)

    def _get_object_from_stream(self, idnum: int, stmnum: int, idx: int) -> Any:
        # an object stream that is (through others) inside itself: reading it needs itself first
        if stmnum in self._opening:
            raise DamagedPdf(f"object stream {stmnum} 0 is stored inside itself")
        self._opening.add(stmnum)
        try:
            container = self.get_object(generic.Reference(stmnum, 0, self))
        finally:
            self._opening.discard(stmnum)
        if not isinstance(container, generic.StreamObject) or container.get("/Type") != "/ObjStm":
            raise PdfStrictReadError(f"object {idnum}: object {stmnum} 0 is not an object stream")
        first, count = container.get("/First"), container.get("/N")
        if not isinstance(first, int) or not isinstance(count, int) or first < 0 or count < 0:
            raise PdfStrictReadError(f"object stream {stmnum} 0: bad /First or /N")
        content = container.read_data(DecodePurpose.OBJECT_STREAM)
        # The offsets table is what stands in front of the first object; /N only caps it (a table
        # longer than /N is read as qpdf and pyHanko read it: its first /N pairs).
        tokens = _TABLE_TOKEN.findall(content, 0, first)
        if len(tokens) % 2 or not all(token.isdigit() for token in tokens):
            raise PdfStrictReadError(f"object stream {stmnum} 0: its offsets table is garbled")
        table = [(int(tokens[i]), int(tokens[i + 1])) for i in range(0, len(tokens), 2)][:count]
        if idx >= len(table) or table[idx][0] != idnum:
            raise PdfStrictReadError(f"object {idnum} is not at index {idx} of object stream {stmnum} 0")
        buffer = io.BytesIO(content)
        buffer.seek(first + table[idx][1])
        member = generic.read_object(buffer, generic.Reference(idnum, 0, self))
        if isinstance(member, generic.IndirectObject):
            raise PdfStrictReadError(f"object {idnum} in object stream {stmnum} 0 is a bare reference")
        return member


def _reachable(
    reader: PdfFileReader, trailer: generic.DictionaryObject
) -> dict[tuple[int, int], generic.PdfObject]:
    """Every object reachable from the trailer's /Root and /Info, read strictly, keyed (number,
    generation). Text strings are turned back into the bytes they were read from, so writing them
    changes no byte of their content. Iterative: deep or long chains cost no recursion."""
    found: dict[tuple[int, int], generic.PdfObject] = {}
    pending = [trailer.raw_get(key) for key in ("/Root", "/Info") if key in trailer]
    while pending:
        value = pending.pop()
        if isinstance(value, generic.IndirectObject):
            ref = value.reference
            key = (ref.idnum, ref.generation)
            if key in found:
                continue
            if len(found) >= MAX_OBJECTS:
                raise DamagedPdf(f"more than {MAX_OBJECTS} objects to rewrite")
            value = reader.get_object(ref)
            found[key] = value
        if isinstance(value, generic.DictionaryObject):  # streams included
            for name, item in list(value.items()):
                if isinstance(item, generic.TextStringObject):
                    value[name] = generic.ByteStringObject(item.original_bytes)
                pending.append(item)
        elif isinstance(value, generic.ArrayObject):
            for index, item in enumerate(value):
                if isinstance(item, generic.TextStringObject):
                    value[index] = generic.ByteStringObject(item.original_bytes)
                pending.append(item)
    return found


def _trailer(last: generic.DictionaryObject, data: bytes) -> dict[str, generic.PdfObject]:
    """/Root, /Info and /ID of the new file: the upload's /ID when it has a valid one, else one
    derived from its bytes (a fixed /ID keeps the rewrite deterministic)."""
    trailer: dict[str, generic.PdfObject] = {"/Root": last.raw_get("/Root")}
    if isinstance(last.raw_get("/Info") if "/Info" in last else None, generic.IndirectObject):
        trailer["/Info"] = last.raw_get("/Info")
    identifier = last.get("/ID")
    if (
        isinstance(identifier, generic.ArrayObject)
        and len(identifier) == 2
        and all(isinstance(part, generic.ByteStringObject | generic.TextStringObject) for part in identifier)
    ):
        parts = [part.original_bytes for part in identifier]
    else:
        digest = hashlib.sha256(data).digest()[:16]
        parts = [digest, digest]
    trailer["/ID"] = generic.ArrayObject(generic.ByteStringObject(part) for part in parts)
    return trailer


def _write(
    objects: dict[tuple[int, int], generic.PdfObject],
    trailer: dict[str, generic.PdfObject],
    *,
    version: bytes,
) -> bytes:
    """A classic PDF file of the upload's header ``version``: every object at its own number, then the
    cross-reference table."""
    out = io.BytesIO()
    out.write(b"%PDF-" + version + b"\n%\xe2\xe3\xcf\xd3\n")
    offsets: dict[int, tuple[int, int]] = {}
    for (number, generation), value in sorted(objects.items()):
        offsets[number] = (out.tell(), generation)
        out.write(b"%d %d obj\n" % (number, generation))
        value.write_to_stream(out)
        out.write(b"\nendobj\n")
    size = max(offsets, default=0) + 1
    startxref = out.tell()
    out.write(b"xref\n0 %d\n" % size)
    for number in range(size):
        if number in offsets:
            offset, generation = offsets[number]
            out.write(b"%010d %05d n \n" % (offset, generation))
        else:
            out.write(b"0000000000 65535 f \n" if number == 0 else b"0000000000 00000 f \n")
    out.write(b"trailer\n")
    entries = {"/Size": generic.NumberObject(size), **trailer}
    generic.DictionaryObject({generic.NameObject(k): v for k, v in entries.items()}).write_to_stream(out)
    out.write(b"\nstartxref\n%d\n%%%%EOF\n" % startxref)
    return out.getvalue()
