"""References to objects that do not exist ("dangling" references), found without a full parse.

ISO 32000 (7.3.10) reads a reference to an undefined or freed object as ``null``, and so do qpdf and
viewers, silently. pyHanko's strict reader does not: when it later validates a seal, its difference
analysis walks every object reachable from the trailer and stops with "object ... not found" -- after
the parties agreed, at finalize. Worse, a dangling number at or above the trailer's ``/Size`` is the
number the seal's own new objects get, so the reference would silently start pointing at a
signature object. Preflight therefore looks for dangling references and, when it finds one, has the
file rewritten by qpdf, which writes them as ``null`` -- what every reader showed anyway.

Finding them with pyHanko would parse every object in pure Python (seconds for a few thousand pages).
Instead the object bodies are scanned as bytes: qpdf's cross-reference table gives each object's
offset (or its object stream, which qpdf decodes); the dictionary part of each body (up to ``stream``
or ``endobj``) is searched for ``n g R`` tokens, with literal strings removed first. A false positive
(a string that looks like a reference) only costs an unneeded rewrite.
"""

from __future__ import annotations

import re

import pikepdf

__all__ = ["dangling_references"]

_REFERENCE = re.compile(rb"(?<![\w.+\-#])(\d{1,10})[\x00\t\n\x0c\r ]+(\d{1,5})[\x00\t\n\x0c\r ]+R(?![\w#])")
_BODY_END = re.compile(rb"endobj|stream(?:\r\n|\n|\r)")
# innermost literal string (no unescaped parentheses inside); applied until none is left, so nested
# balanced parentheses go too
_LITERAL_STRING = re.compile(rb"\((?:\\.|[^\\()])*\)", re.DOTALL)
_TRAILER = re.compile(rb"trailer(.*?)startxref", re.DOTALL)
_MAX_REPORTED = 10
_TABLE_TOKEN = re.compile(rb"[^\x00\t\n\x0c\r ]+")


def dangling_references(data: bytes, pdf: pikepdf.Pdf) -> list[str]:
    """``"n g R"`` of every reference in ``data`` to an object its cross-reference table (as qpdf
    read it into ``pdf``) does not hold, at most 10, sorted; empty when there is none.

    Only the current version of each object is scanned (superseded versions are not), plus every
    classic trailer. Object streams are decoded by qpdf. An object the table places in an object
    stream counts as missing unless the stream's offsets table lists it at that index, below ``/N``
    (where pyHanko's strict reader looks for it).
    """
    table = pdf.get_xref_table()
    existing = {objgen for objgen, entry in table.items() if entry.type == 1}
    # every body is collected first and scanned in one pass: one regex run instead of thousands
    bodies: list[bytes] = []
    object_streams: set[int] = set()
    for entry in table.values():
        if entry.type == 1 and entry.offset is not None:
            end = _BODY_END.search(data, entry.offset)
            bodies.append(data[entry.offset : end.start() if end else len(data)])
        elif entry.type == 2 and entry.obj_stream_number is not None:
            object_streams.add(entry.obj_stream_number)
    members: dict[int, list[int]] = {}
    for number in object_streams:
        container = pdf.get_object((number, 0))
        if isinstance(container, pikepdf.Stream):
            content = container.read_bytes()
            bodies.append(content)
            members[number] = _object_stream_members(container, content)
    # A compressed object exists for pyHanko's strict reader only where the table says: at its index,
    # below /N. qpdf reads the object by number and null past /N, so a mismatch reads alike nowhere
    # (pyHanko's difference analysis stops on it at finalize): treated as dangling, qpdf's rewrite
    # writes what qpdf read.
    for objgen, entry in table.items():
        if entry.type != 2 or entry.obj_stream_number is None or entry.obj_stream_index is None:
            continue
        listed = members.get(entry.obj_stream_number, [])
        if entry.obj_stream_index < len(listed) and listed[entry.obj_stream_index] == objgen[0]:
            existing.add(objgen)
    bodies.extend(trailer.group(1) for trailer in _TRAILER.finditer(data))
    referenced = _references(b"\n".join(bodies))
    missing = sorted(referenced - existing)
    return [f"{number} {generation} R" for number, generation in missing[:_MAX_REPORTED]]


def _object_stream_members(container: pikepdf.Stream, content: bytes) -> list[int]:
    """Object numbers of an object stream's offsets table, in order, as many as ``/N`` says at most
    (pyHanko reads no further); the table ends where the objects start (``/First``)."""
    # pikepdf gives PDF integers as Python ints (its stubs say Object)
    first: object = container.get("/First")
    count: object = container.get("/N")
    if not isinstance(first, int) or not isinstance(count, int):
        return []
    tokens = _TABLE_TOKEN.findall(content, 0, max(0, first))
    numbers = []
    for index in range(0, min(len(tokens) - 1, 2 * count), 2):
        if not (tokens[index].isdigit() and tokens[index + 1].isdigit()):
            break
        numbers.append(int(tokens[index]))
    return numbers


def _references(syntax: bytes) -> set[tuple[int, int]]:
    while True:
        stripped = _LITERAL_STRING.sub(b"()", syntax)
        if stripped == syntax:
            break
        syntax = stripped.replace(b"()", b" ")
    return {(int(m[1]), int(m[2])) for m in _REFERENCE.finditer(syntax)}


def direct_entries(pdf: pikepdf.Pdf) -> list[str]:
    """Where a page's ``/Annots`` or the form's ``/Fields`` holds something other than a reference
    to a dictionary (a direct annotation dictionary, a ``null`` left by a dangling reference, ...).

    The seal adds its widget to the first page's ``/Annots`` and its field to ``/Fields``; pyHanko's
    difference analysis then refuses the array ("Array contains direct objects") and judges every
    earlier seal as changed after signing. :func:`make_entries_indirect` repairs it.
    """
    found = []
    for number, page in enumerate(pdf.pages, start=1):
        annots = page.obj.get("/Annots")
        if isinstance(annots, pikepdf.Array) and not _all_indirect_dictionaries(annots):
            found.append(f"page {number} /Annots")
            if len(found) >= _MAX_REPORTED:
                return found
    acroform = pdf.Root.get("/AcroForm")
    if isinstance(acroform, pikepdf.Dictionary):
        fields = acroform.get("/Fields")
        if not isinstance(fields, pikepdf.Array) or not _all_indirect_dictionaries(fields):
            found.append("/AcroForm /Fields")
    return found


def make_entries_indirect(pdf: pikepdf.Pdf) -> None:
    """Repair what :func:`direct_entries` finds: direct dictionaries become indirect objects (the
    same content), anything else (``null``) is dropped, and a ``/Fields`` that is not an array
    becomes an empty one -- no reader shows what is dropped."""
    owners: list[tuple[pikepdf.Dictionary, str]] = [(page.obj, "/Annots") for page in pdf.pages]
    acroform = pdf.Root.get("/AcroForm")
    if isinstance(acroform, pikepdf.Dictionary):
        if not isinstance(acroform.get("/Fields"), pikepdf.Array):
            # not an array: no reader lists any field from it (and pyHanko cannot add one to it)
            acroform.Fields = pikepdf.Array()
        owners.append((acroform, "/Fields"))
    for owner, key in owners:
        array = owner.get(key)
        if not isinstance(array, pikepdf.Array) or _all_indirect_dictionaries(array):
            continue
        owner[key] = pikepdf.Array(
            entry if entry.is_indirect else pdf.make_indirect(entry)
            for entry in array
            if isinstance(entry, pikepdf.Dictionary)
        )


def _all_indirect_dictionaries(array: pikepdf.Array) -> bool:
    return all(isinstance(entry, pikepdf.Dictionary) and entry.is_indirect for entry in array)
