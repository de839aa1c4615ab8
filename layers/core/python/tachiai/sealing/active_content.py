"""Active content: what in a PDF runs or launches something on the reader's machine.

tachiai refuses such an upload at preflight (:class:`~tachiai.domain.errors.ActiveContent`) rather than
stripping it: a seal says the company vouches for the file, and a silent rewrite would seal something
other than what the sender uploaded and saw. Found, wherever it can hide:

* **JavaScript**: a ``/JavaScript`` action (or a ``/Rendition`` action carrying ``/JS``) as the
  catalog's ``/OpenAction`` or in its ``/AA``, in a page's ``/AA``, in an annotation's ``/A`` or
  ``/AA``, in a form field's ``/AA``, in an outline item's ``/A`` -- following each action's ``/Next``
  chain -- and any entry of the document-level ``/Names /JavaScript`` tree.
* **Launch**: a ``/Launch`` action in any of those places (it starts a program or opens a file).
* **Embedded executable**: an embedded file (``/Names /EmbeddedFiles`` or a file-attachment
  annotation) whose name ends like a program (``.exe``, ``.bat``, ``.js``, ``.jar``, ...), whose MIME
  subtype says executable, or whose first bytes are a program's magic number (``MZ``, ELF, Mach-O,
  ``#!``). Ordinary attachments (a PDF, a spreadsheet, an image) are fine, as are URI and GoTo links.

The walk is bounded: every dictionary is visited once (cycles in ``/Next``, outline or name trees end
there), and a file needing more than :data:`MAX_NODES` visits is judged as if it were active content
so that a crafted file cannot make preflight walk forever.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterable, Iterator
from enum import StrEnum

import pikepdf

__all__ = ["MAX_NODES", "ActiveKind", "active_content_text", "find_active_content"]

MAX_NODES = 200_000
"""Objects visited at most while looking for active content."""


class ActiveKind(StrEnum):
    """What was found; the values are stable (they appear in the error's detail)."""

    JAVASCRIPT = "javascript"
    LAUNCH = "launch"
    EMBEDDED_EXECUTABLE = "embedded_executable"
    TOO_COMPLEX = "too_complex_to_inspect"


def active_content_text(kind: ActiveKind) -> str:
    """The message id of ``kind``'s wording in :class:`~tachiai.domain.errors.ActiveContent`'s message."""
    return f"error.active_content.{kind.value}"


_EXECUTABLE_NAME = re.compile(
    r"\.(exe|dll|com|scr|pif|cpl|msi|msp|msc|bat|cmd|ps1|psm1|vbs|vbe|js|jse|wsf|wsh|hta|jar|"
    r"class|sh|bash|command|app|apk|elf|bin|run|lnk|reg|inf|scf|url|gadget|appx|msix|dmg|pkg|deb|rpm)$",
    re.IGNORECASE,
)
_EXECUTABLE_MIME = re.compile(
    r"(x-msdownload|x-msdos-program|x-dosexec|x-executable|x-sharedlib|x-mach-binary|x-elf|"
    r"java-archive|x-java|x-sh|x-shellscript|javascript|ecmascript|x-msi|vnd\.microsoft\.portable-executable|"
    r"x-bat|hta)",
    re.IGNORECASE,
)
_EXECUTABLE_MAGIC = (
    b"MZ",  # Windows PE / DOS
    b"\x7fELF",
    b"\xfe\xed\xfa\xce",  # Mach-O, both byte orders and word sizes
    b"\xfe\xed\xfa\xcf",
    b"\xce\xfa\xed\xfe",
    b"\xcf\xfa\xed\xfe",
    b"\xca\xfe\xba\xbe",  # Mach-O universal binary / Java class file
    b"#!",  # a script with an interpreter line
)
_MAGIC_BYTES = 8


def find_active_content(pdf: pikepdf.Pdf) -> list[ActiveKind]:
    """The kinds of active content in ``pdf``, each once, in a stable order (empty: none found).

    Reads only dictionaries and, of an embedded file, its first bytes (inflated at most 8 bytes, so
    an embedded decompression bomb is never expanded).
    """
    walker = _Walker()
    found = set(walker.walk(pdf))
    if walker.visited > MAX_NODES:
        found.add(ActiveKind.TOO_COMPLEX)
    return [kind for kind in ActiveKind if kind in found]


class _Walker:
    def __init__(self) -> None:
        self.visited = 0
        self._seen: set[tuple[int, int]] = set()

    def _first_visit(self, obj: pikepdf.Object) -> bool:
        """Count the visit; False when ``obj`` was seen already or the budget is spent."""
        self.visited += 1
        if self.visited > MAX_NODES:
            return False
        if obj.is_indirect:
            if obj.objgen in self._seen:
                return False
            self._seen.add(obj.objgen)
        return True

    def walk(self, pdf: pikepdf.Pdf) -> Iterator[ActiveKind]:
        root = pdf.Root
        yield from self._action_or_destination(root.get("/OpenAction"))
        yield from self._additional_actions(root.get("/AA"))
        names = root.get("/Names")
        if isinstance(names, pikepdf.Dictionary):
            for _, _ in self._name_tree(names.get("/JavaScript")):
                yield ActiveKind.JAVASCRIPT
                break
            for _, spec in self._name_tree(names.get("/EmbeddedFiles")):
                yield from self._file_spec(spec)
        for page in pdf.pages:
            page_dict = page.obj
            if self.visited > MAX_NODES:
                return
            yield from self._additional_actions(page_dict.get("/AA"))
            annots = page_dict.get("/Annots")
            if isinstance(annots, pikepdf.Array):
                for annot in annots:
                    yield from self._annotation(annot)
        acroform = root.get("/AcroForm")
        if isinstance(acroform, pikepdf.Dictionary):
            yield from self._fields(acroform.get("/Fields"))
        outlines = root.get("/Outlines")
        if isinstance(outlines, pikepdf.Dictionary):
            yield from self._outline(outlines.get("/First"))

    def _annotation(self, annot: pikepdf.Object) -> Iterator[ActiveKind]:
        if not isinstance(annot, pikepdf.Dictionary) or not self._first_visit(annot):
            return
        yield from self._action(annot.get("/A"))
        yield from self._additional_actions(annot.get("/AA"))
        if annot.get("/Subtype") == pikepdf.Name.FileAttachment:
            yield from self._file_spec(annot.get("/FS"))

    def _fields(self, fields: object) -> Iterator[ActiveKind]:
        stack = list(fields) if isinstance(fields, pikepdf.Array) else []
        while stack:
            node = stack.pop()
            if not isinstance(node, pikepdf.Dictionary) or not self._first_visit(node):
                continue
            # a field merged with its widget was read as an annotation already; this reaches the
            # others (parent fields, widgets missing from every page's /Annots)
            yield from self._additional_actions(node.get("/AA"))
            yield from self._action(node.get("/A"))
            kids = node.get("/Kids")
            if isinstance(kids, pikepdf.Array):
                stack.extend(kids)

    def _outline(self, first: object) -> Iterator[ActiveKind]:
        stack = [first]
        while stack:
            item = stack.pop()
            if not isinstance(item, pikepdf.Dictionary) or not self._first_visit(item):
                continue
            yield from self._action(item.get("/A"))
            stack.extend((item.get("/Next"), item.get("/First")))

    def _additional_actions(self, aa: object) -> Iterator[ActiveKind]:
        if isinstance(aa, pikepdf.Dictionary):
            for action in aa.values():
                yield from self._action(action)

    def _action_or_destination(self, value: object) -> Iterator[ActiveKind]:
        # /OpenAction is an action dictionary or a destination array (harmless)
        if isinstance(value, pikepdf.Dictionary):
            yield from self._action(value)

    def _action(self, action: object) -> Iterator[ActiveKind]:
        stack = [action]
        while stack:
            current = stack.pop()
            if isinstance(current, pikepdf.Array):
                stack.extend(current)
                continue
            if not isinstance(current, pikepdf.Dictionary) or not self._first_visit(current):
                continue
            kind = current.get("/S")
            if kind == pikepdf.Name.JavaScript or (kind == pikepdf.Name.Rendition and "/JS" in current):
                yield ActiveKind.JAVASCRIPT
            elif kind == pikepdf.Name.Launch:
                yield ActiveKind.LAUNCH
            stack.append(current.get("/Next"))

    def _name_tree(self, node: object) -> Iterator[tuple[object, object]]:
        stack = [node]
        while stack:
            current = stack.pop()
            if not isinstance(current, pikepdf.Dictionary) or not self._first_visit(current):
                continue
            names = current.get("/Names")
            if isinstance(names, pikepdf.Array):
                items = list(names)
                yield from zip(items[0::2], items[1::2], strict=False)
            kids = current.get("/Kids")
            if isinstance(kids, pikepdf.Array):
                stack.extend(kids)

    def _file_spec(self, spec: object) -> Iterator[ActiveKind]:
        if isinstance(spec, pikepdf.String):
            if _EXECUTABLE_NAME.search(str(spec).strip()):
                yield ActiveKind.EMBEDDED_EXECUTABLE
            return
        if not isinstance(spec, pikepdf.Dictionary) or not self._first_visit(spec):
            return
        names = [spec.get(key) for key in ("/UF", "/F", "/DOS", "/Mac", "/Unix")]
        embedded = spec.get("/EF")
        streams = list(embedded.values()) if isinstance(embedded, pikepdf.Dictionary) else []
        if any(_EXECUTABLE_NAME.search(_text(name).strip()) for name in names if name is not None):
            yield ActiveKind.EMBEDDED_EXECUTABLE
            return
        for stream in streams:
            if not isinstance(stream, pikepdf.Stream):
                continue
            subtype = stream.get("/Subtype")
            if isinstance(subtype, pikepdf.Name) and _EXECUTABLE_MIME.search(str(subtype)):
                yield ActiveKind.EMBEDDED_EXECUTABLE
                return
            if _first_bytes(stream).startswith(_EXECUTABLE_MAGIC):
                yield ActiveKind.EMBEDDED_EXECUTABLE
                return


def _text(value: object) -> str:
    if isinstance(value, pikepdf.String):
        try:
            return str(value)
        except UnicodeDecodeError:
            return bytes(value).decode("latin-1")
    return ""


def _filters(stream: pikepdf.Stream) -> Iterable[object]:
    filters = stream.get("/Filter")
    if filters is None:
        return []
    return list(filters) if isinstance(filters, pikepdf.Array) else [filters]


def _first_bytes(stream: pikepdf.Stream) -> bytes:
    """The first bytes of an embedded file, decoded only as far as needed (unknown filters: none)."""
    filters = list(_filters(stream))
    raw = stream.read_raw_bytes()
    if not filters:
        return bytes(raw[:_MAGIC_BYTES])
    if filters == [pikepdf.Name.FlateDecode] and "/DecodeParms" not in stream:
        try:
            return zlib.decompressobj().decompress(bytes(raw[:4096]), _MAGIC_BYTES)
        except zlib.error:
            return b""
    return b""
