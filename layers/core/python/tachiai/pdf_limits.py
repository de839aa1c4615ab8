"""The decode budget: a PDF whose streams expand to too much data is refused before any PDF library
decodes it.

A FlateDecode stream expands up to ~1032 times, and filters can be stacked (``/Filter [/FlateDecode
/FlateDecode]``): a 3 KB upload can decode to a GiB. qpdf (object and cross-reference streams, when a
file is opened), pyHanko (the same, plus the XMP metadata that signing rewrites) and PDFium (content
streams, fonts, forms -- everything text extraction reads) each decode a stream fully into memory, so
one such stream took a function (1 GB) or ``tachiai local`` down.

:func:`check_decoded_size` measures every stream of the file on its raw bytes, before anything else
parses it: it finds each ``stream`` keyword, reads the filter chain from the dictionary in front of
it, and runs the decoders incrementally, counting their output without keeping it, so its own memory
is a few chunks of :data:`CHUNK` bytes whatever the file. Working on the raw bytes, not on a
parser's object model, means it sees every stream qpdf, pyHanko or PDFium could decode -- in object
and cross-reference streams, in every incremental revision, unreferenced or hidden -- and no object
stream is decoded to find them (streams are never inside object streams). It errs towards counting
too much (a stream in an earlier revision, bytes past a wrong ``/Length``), never too little.

What is decoded and counted: FlateDecode, LZWDecode, ASCIIHexDecode, ASCII85Decode and
RunLengthDecode (and their abbreviations), every stage of a chain. Image codecs (DCTDecode,
JPXDecode, JBIG2Decode, CCITTFaxDecode) end a chain uncounted: only a renderer decodes them, and
tachiai never renders a page (PDFium's text extraction does not decode images). Predictors are not
applied (they never expand data), but a predictor *between* two expanding filters is refused: no
producer writes one, and skipping it would let the next stage's input go unmeasured. When the
dictionary cannot be read (damaged, or the filter is an indirect object inside an object stream),
the data is measured as Flate for as long as it looks like a zlib stream, layer after layer.

The limits are pyHanko's own defaults (:mod:`pyhanko.pdf_utils.decode_limits`, 0.38), applied to
every stream rather than only those pyHanko decodes, so a file preflight accepts is one the sealing
engine's reader accepts too. PDFium has no such limits; :mod:`tachiai.extract.text` also runs it in a
child process with a memory cap, as a backstop for what input inspection cannot bound.

This module needs only the standard library: text extraction uses it without loading pyHanko.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import re
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from tachiai.domain.errors import PdfTooComplex

__all__ = [
    "CHUNK",
    "DEFAULT_LIMITS",
    "DEFAULT_STRUCTURE_LIMITS",
    "DecodeLimits",
    "DecodeSummary",
    "StreamLimit",
    "StructureLimits",
    "StructureSummary",
    "check_decoded_size",
    "check_structure",
]

MiB = 1024 * 1024
CHUNK = 64 * 1024
"""Bytes asked of a decoder at a time: the scan's memory is a few of these per filter stage."""


@dataclass(frozen=True)
class StreamLimit:
    """How much one stream may decode to."""

    max_bytes: int
    """Decoded bytes at most (all stages of the chain together)."""
    max_ratio: float
    """Decoded bytes per encoded byte at most, once the stream decodes to more than :attr:`ratio_floor`.
    Measured over the whole chain, so stacking filters does not reset it."""
    ratio_floor: int
    """Decoded size below which :attr:`max_ratio` is not enforced (small streams compress very well)."""

    def exceeded(self, decoded: int, encoded: int) -> bool:
        """Whether ``decoded`` bytes from ``encoded`` bytes are over this limit."""
        if decoded > self.max_bytes:
            return True
        return decoded > self.ratio_floor and decoded > self.max_ratio * max(encoded, 1)


@dataclass(frozen=True)
class DecodeLimits:
    """The decode budget of one PDF (defaults: pyHanko 0.38's ``DecodeLimits()``, see the module doc).

    * 256 MiB per stream: above every legitimate content stream or font; an A3 page scanned at 600 dpi
      in colour and Flate-compressed is 210 MB. PDFium needs about twice a content stream's size to read
      it, which stays within the text extraction child's memory cap.
    * ratio 1100: just above the ~1032:1 a single Deflate layer can reach, so only stacked filters
      (the bomb trick) are refused on ratio.
    * object streams and XMP metadata 64 MiB / 32 MiB and ratio 100 above 4 MiB: their content is
      text that is parsed whole; a cross-reference stream is 7-ish bytes per object, so 64 MiB
      covers nine million objects.
    * in total, the larger of 256 MiB and 100 times the file size: the decoding work (CPU) of one
      upload stays within seconds.
    """

    stream: StreamLimit = field(default_factory=lambda: StreamLimit(256 * MiB, 1100, MiB))
    """Every stream."""
    object_stream: StreamLimit = field(default_factory=lambda: StreamLimit(64 * MiB, 100, 4 * MiB))
    """``/Type /ObjStm`` (also subject to :attr:`stream`)."""
    xref_stream: StreamLimit = field(default_factory=lambda: StreamLimit(64 * MiB, 100, 4 * MiB))
    """``/Type /XRef``."""
    metadata: StreamLimit = field(default_factory=lambda: StreamLimit(32 * MiB, 100, 4 * MiB))
    """``/Type /Metadata`` or ``/Subtype /XML`` (XMP)."""
    object_stream_tokens: int = 2_000_000
    """Tokens (see :class:`StructureLimits`) in all object streams' decoded data together: what
    qpdf and pyHanko parse there costs like the same syntax at top level."""
    total_base: int = 256 * MiB
    """Decoded bytes the whole file may always reach."""
    total_ratio: float = 100
    """... or this many times the file size, when that is more."""

    def total(self, size: int) -> int:
        """Decoded bytes allowed in all for a file of ``size`` bytes."""
        return max(self.total_base, int(self.total_ratio * size))

    def for_kind(self, kind: str | None) -> tuple[StreamLimit, ...]:
        """The limits a stream of ``kind`` ("ObjStm", "XRef", "Metadata" or None) is held to."""
        special = {"ObjStm": self.object_stream, "XRef": self.xref_stream, "Metadata": self.metadata}
        return (self.stream, special[kind]) if kind in special else (self.stream,)


DEFAULT_LIMITS = DecodeLimits()


@dataclass(frozen=True)
class DecodeSummary:
    """What :func:`check_decoded_size` measured."""

    streams: int
    """Streams whose data was decoded (unfiltered and image-codec streams are not)."""
    decoded_bytes: int
    """Their decoded bytes in all (every stage of every chain)."""
    largest_stream: int
    """Decoded bytes of the largest one."""
    object_stream_tokens: int = 0
    """Tokens counted in object streams' decoded data."""


def check_decoded_size(data: bytes, limits: DecodeLimits = DEFAULT_LIMITS) -> DecodeSummary:
    """Measure what every stream of ``data`` decodes to, and refuse the file when it is too much.

    Runs in memory bounded by a few :data:`CHUNK` bytes per filter stage and in time bounded by the
    total budget; never raises anything but :class:`PdfTooComplex` (unreadable bits are measured
    conservatively or skipped -- parsing the file for real is the job of the callers' parsers).

    :param data: the PDF, untrusted.
    :param limits: the budget (tests use small ones).
    :returns: what was measured, for logs and benchmarks.
    :raises PdfTooComplex: one stream or the whole file decodes to more than ``limits`` allow, or a
        predictor sits between two expanding filters.
    """
    view = memoryview(data)
    objects = _ObjectIndex(data)
    total_cap = limits.total(len(data))
    total = streams = largest = 0
    tokens = _TokenCount("object streams", limits.object_stream_tokens)
    for keyword in _stream_keywords(data):
        start = _data_start(data, keyword + len(b"stream"))
        stream = _describe(data, keyword, objects)
        caps = limits.for_kind(stream.kind)
        meter = _Meter(stream.label, caps, total_cap - total)
        raw = _Raw(view, start)
        source: Iterator[bytes] | None = None
        if stream.sniff:
            source = _sniffed_chain(view, raw, meter)
        for index, (name, params) in enumerate(stream.filters):
            decoder = _DECODERS.get(name)
            if decoder is None:
                break  # image codec, Crypt, or a name no reader knows: nothing further is decoded
            if _predictor(params) > 1 and any(n in _DECODERS for n, _ in stream.filters[index + 1 :]):
                raise PdfTooComplex(f"{stream.label}: a predictor between two compression filters")
            stage = decoder(raw if source is None else source, params, raw if source is None else None)
            source = meter.counting(stage, raw)
        if source is None:
            continue
        if stream.kind == "ObjStm":
            source = tokens.counting(source)
        for _ in source:
            pass
        meter.check(raw.consumed)
        if meter.decoded:
            streams += 1
            total += meter.decoded
            largest = max(largest, meter.decoded)
    return DecodeSummary(
        streams=streams, decoded_bytes=total, largest_stream=largest, object_stream_tokens=tokens.total
    )


# --- parse bombs: structure that costs a parser without decoding anything ------------------------------


@dataclass(frozen=True)
class StructureLimits:
    """How much PDF syntax one upload may hold, whatever its size (checked on the raw bytes).

    A parse bomb is plain syntax, so only the upload size limit (50 MB) bounded it: 2.5 million
    tiny objects, 25 million array items, a million pages. qpdf keeps every object and array item it
    parses (~1 KB per object, ~130 bytes per item), pyHanko's pure-Python reader spends ~70 us per
    object and ~1.5 us per item, and preflight runs both. Measured at 5 MB, before these limits: 100 k
    objects took 7 s and 210 MB, 2.5 million array items 3 s and 420 MB; at 50 MB ten times that.

    The limits are far above contracts: a 3,000-page text PDF written by pikepdf without object
    streams has ~15 k objects and ~200 k tokens. Page trees and reference chains are objects, and
    repeated references in one ``/Kids`` are tokens, so both are bounded too. Nesting is bounded by
    the readers themselves (qpdf refuses depth 500; pyHanko's recursion is caught as damage).
    """

    max_objects: int = 100_000
    """Indirect objects: ``N G obj`` headers, plus each object stream's ``/N``."""
    max_tokens: int = 2_000_000
    """Tokens outside stream data (objects' syntax, cross-reference tables, trailers), counted as
    words followed by whitespace plus delimiter characters (a name counts twice: an upper bound)."""


DEFAULT_STRUCTURE_LIMITS = StructureLimits()


@dataclass(frozen=True)
class StructureSummary:
    """What :func:`check_structure` counted."""

    objects: int
    tokens: int


_OBJECT_STREAM_TYPE = re.compile(rb"/Type[\x00\t\n\x0c\r ]*/ObjStm(?![\w#])")
_COUNT_ENTRY = re.compile(rb"/N[\x00\t\n\x0c\r ]+(\d{1,10})(?![\w.])")
_DICTIONARY_WINDOW = 1024
# every byte as one of three classes: whitespace " ", delimiter "d", anything else "x"
_CLASSES = bytes(
    0x20 if byte in b"\x00\t\n\x0c\r " else 0x64 if byte in b"()<>[]{}/%" else 0x78 for byte in range(256)
)


def _tokens(syntax: bytes) -> int:
    """Tokens in ``syntax``, counted in C (translate, count) since this runs over every byte."""
    return _class_tokens(syntax.translate(_CLASSES), 0, len(syntax))


def _class_tokens(classes: bytes, start: int, end: int) -> int:
    """Tokens in ``classes[start:end]`` (bytes translated by ``_CLASSES``), without copying them."""
    return classes.count(b"x ", start, end) + classes.count(b"d", start, end)


class _TokenCount:
    """Tokens of decoded chunks, refused as soon as they pass ``limit``."""

    def __init__(self, what: str, limit: int) -> None:
        self.what = what
        self.limit = limit
        self.total = 0

    def counting(self, chunks: Iterator[bytes]) -> Iterator[bytes]:
        for chunk in chunks:
            self.total += _tokens(chunk)
            if self.total > self.limit:
                raise PdfTooComplex(f"more than {self.limit} tokens of PDF syntax in {self.what}")
            yield chunk


def check_structure(data: bytes, limits: StructureLimits = DEFAULT_STRUCTURE_LIMITS) -> StructureSummary:
    """Count the objects and tokens of syntax in ``data`` and refuse a parse bomb before any parser
    (or :func:`check_decoded_size`, whose cost grows with the object count) reads it.

    Stream data is skipped (from each ``stream`` keyword to the next ``endstream``): parsers do not
    tokenize it, except an uncompressed object stream's, which is counted. Compressed object streams
    are counted while :func:`check_decoded_size` decodes them. Time: a few passes of ``bytes.count``
    and one ``bytes.translate`` over the file (~0.2 s for 50 MB); memory: one copy of the file.

    :param data: the PDF, untrusted.
    :param limits: the limits (tests use small ones).
    :returns: what was counted.
    :raises PdfTooComplex: more objects or tokens than ``limits`` allow.
    """
    endobj = data.count(b"endobj")
    # "obj" also ends every "endobj"; a header without its endobj still costs a parser an object
    objects = max(endobj, data.count(b"obj") - endobj)
    for declared in _OBJECT_STREAM_TYPE.finditer(data):
        window = data[max(0, declared.start() - _DICTIONARY_WINDOW) : declared.end() + _DICTIONARY_WINDOW]
        counts = [int(found.group(1)) for found in _COUNT_ENTRY.finditer(window)]
        objects += max(counts, default=0)
        if objects > limits.max_objects:
            break
    if objects > limits.max_objects:
        raise PdfTooComplex(f"more than {limits.max_objects} objects ({objects})")
    classes = data.translate(_CLASSES)
    tokens = 0
    position = 0
    for keyword in _stream_keywords(data):
        if keyword < position:
            continue  # "stream" inside data already skipped
        end = data.find(b"endstream", keyword)
        end = len(data) if end < 0 else end
        if not _OBJECT_STREAM_TYPE.search(data, max(0, keyword - _DICTIONARY_WINDOW), keyword):
            tokens += _class_tokens(classes, position, keyword)
            position = end
        # else: an uncompressed object stream is parsed whole: counted with what follows
        if tokens > limits.max_tokens:
            break
    tokens += _class_tokens(classes, position, len(data))
    if tokens > limits.max_tokens:
        raise PdfTooComplex(f"more than {limits.max_tokens} tokens of PDF syntax outside streams")
    return StructureSummary(objects=objects, tokens=tokens)


# --- finding streams and their filters ----------------------------------------------------------------

_WS = b"\x00\t\n\x0c\r "
_DELIMITERS = b"()<>[]{}/%"
# "stream" as a keyword: not the end of "endstream" (or of any other word), followed by an EOL (or
# the spaces some writers put before it). Matches inside binary stream data are harmless: their
# dictionary does not end there, so they are measured as "looks like zlib?" only.
_OBJ_HEADER = re.compile(rb"(?<![0-9])(\d{1,10})[\x00\t\n\x0c\r ]+(\d{1,5})[\x00\t\n\x0c\r ]+obj(?![A-Za-z])")
_HEADER_WINDOW = 48
"""Bytes before "obj" that can hold "N G " (the numbers are at most 10 and 5 digits)."""
_WORD_BYTES = frozenset(
    bytes([b]) for b in b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_"
)
_NUMBER = re.compile(rb"[+-]?(?:\d+\.?\d*|\.\d+)")
_REFERENCE_TAIL = re.compile(rb"[\x00\t\n\x0c\r ]+(\d{1,5})[\x00\t\n\x0c\r ]+R(?![A-Za-z])")
_NAME_CHARS = re.compile(rb"[^\x00\t\n\x0c\r ()<>\[\]{}/%]*")
_MAX_DEPTH = 32
_ABBREVIATIONS = {
    "Fl": "FlateDecode",
    "LZW": "LZWDecode",
    "AHx": "ASCIIHexDecode",
    "A85": "ASCII85Decode",
    "RL": "RunLengthDecode",
    "CCF": "CCITTFaxDecode",
    "DCT": "DCTDecode",
}


def _stream_keywords(data: bytes) -> Iterator[int]:
    """Offsets of "stream" as a keyword: not the end of "endstream" (or of any other word), followed
    by an EOL or the spaces some writers put before it. (bytes.find, not a regular expression with a
    look-behind: this runs over every byte of a 50 MB upload.)"""
    position = data.find(b"stream")
    while position >= 0:
        before = data[position - 1 : position] if position else b" "
        after = data[position + 6 : position + 7]
        if before not in _WORD_BYTES and after in (b"\r", b"\n", b" ", b"\t"):
            yield position
        position = data.find(b"stream", position + 6)


def _obj_headers(data: bytes) -> Iterator[re.Match[bytes]]:
    """Every "N G obj" header, found from each "obj" backwards (bytes.find again, for speed)."""
    position = data.find(b"obj")
    while position >= 0:
        window = max(0, position - _HEADER_WINDOW)
        for header in _OBJ_HEADER.finditer(data, window, position + 4):
            if header.end() == position + 3:
                yield header
                break
        position = data.find(b"obj", position + 3)


class _Unparsable(Exception):
    """The dictionary in front of a stream could not be read."""


@dataclass(frozen=True)
class _Ref:
    number: int
    generation: int


@dataclass(frozen=True)
class _Stream:
    label: str
    """"object N G" (or "stream at offset N"), for the refusal's detail."""
    filters: tuple[tuple[str, object], ...] = ()
    """(filter name, its decode parameters) in decoding order."""
    kind: str | None = None
    sniff: bool = False
    """The dictionary could not be read: measure the data as Flate while it looks like zlib."""


class _ObjectIndex:
    """Where each "N G obj" header of the raw file is (the last one of a number wins, as updates do)."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.starts: list[int] = []
        self.ends: list[int] = []
        self.by_ref: dict[tuple[int, int], int] = {}
        self._parsed: dict[int, tuple[object, int] | None] = {}
        for header in _obj_headers(data):
            self.starts.append(header.start())
            self.ends.append(header.end())
            self.by_ref[(int(header.group(1)), int(header.group(2)))] = len(self.starts) - 1

    def before(self, position: int) -> int | None:
        """Index of the last header starting before ``position``."""
        index = bisect.bisect_left(self.starts, position) - 1
        return index if index >= 0 else None

    def parsed(self, index: int) -> tuple[object, int]:
        """The object after header ``index`` and where it ends (parsed once: binary data may hold many
        "stream" look-alikes that all lead back to the same header)."""
        if index not in self._parsed:
            try:
                self._parsed[index] = _parse(self.data, self.ends[index], 0)
            except (_Unparsable, RecursionError, ValueError):  # ValueError: int() of 5000 digits
                self._parsed[index] = None
        result = self._parsed[index]
        if result is None:
            raise _Unparsable(f"object at offset {self.starts[index]}")
        return result

    def resolve(self, value: object, depth: int = 0) -> object:
        """``value``, or the direct object a reference points to when it is a plain top-level object."""
        if not isinstance(value, _Ref):
            return value
        index = self.by_ref.get((value.number, value.generation))
        if index is None or depth > 4:
            raise _Unparsable(f"{value.number} {value.generation} R is not a top-level object")
        parsed, _ = self.parsed(index)
        return self.resolve(parsed, depth + 1)


def _describe(data: bytes, keyword: int, objects: _ObjectIndex) -> _Stream:
    """The stream whose ``stream`` keyword is at ``keyword``: its filters and kind."""
    index = objects.before(keyword)
    if index is None:
        return _Stream(f"stream at offset {keyword}", sniff=True)
    header = _OBJ_HEADER.match(data, objects.starts[index])
    label = (
        f"object {int(header.group(1))} {int(header.group(2))}" if header else f"stream at offset {keyword}"
    )
    try:
        dictionary, end = objects.parsed(index)
        if not isinstance(dictionary, dict) or _skip_space(data, end) != keyword:
            raise _Unparsable("the dictionary does not end at this stream keyword")
        names = objects.resolve(dictionary.get("Filter"))
        parameters = objects.resolve(dictionary.get("DecodeParms", dictionary.get("DP")))
        names = names if isinstance(names, list) else [] if names is None else [names]
        parameters = parameters if isinstance(parameters, list) else [parameters] * len(names)
        filters = []
        for position, name in enumerate(names):
            name = objects.resolve(name)
            if not isinstance(name, str):
                raise _Unparsable(f"filter {name!r} is not a name")
            params = objects.resolve(parameters[position]) if position < len(parameters) else None
            filters.append((_ABBREVIATIONS.get(name, name), params))
        kind = objects.resolve(dictionary.get("Type"))
        if objects.resolve(dictionary.get("Subtype")) == "XML":
            kind = "Metadata"
        return _Stream(label, tuple(filters), kind if isinstance(kind, str) else None)
    except (_Unparsable, RecursionError, ValueError):  # ValueError: int() of 5000 digits
        return _Stream(label, sniff=True)


def _skip_space(data: bytes, position: int) -> int:
    """The position after whitespace and comments."""
    while position < len(data):
        byte = data[position]
        if byte in _WS:
            position += 1
        elif byte == 0x25:  # %: comment to the end of the line
            while position < len(data) and data[position] not in b"\r\n":
                position += 1
        else:
            break
    return position


def _parse(data: bytes, position: int, depth: int) -> tuple[object, int]:
    """One PDF object at ``position``: dict, list, str (a name), int/float, _Ref, or None (anything
    else: strings, booleans, null, keywords). Returns it and the position after it."""
    if depth > _MAX_DEPTH:
        raise _Unparsable("nested too deeply")
    position = _skip_space(data, position)
    if position >= len(data):
        raise _Unparsable("end of file")
    head = data[position : position + 2]
    if head == b"<<":
        result: dict[str, object] = {}
        position += 2
        while True:
            position = _skip_space(data, position)
            if data[position : position + 2] == b">>":
                return result, position + 2
            key, position = _parse(data, position, depth + 1)
            if not isinstance(key, str):
                raise _Unparsable("dictionary key is not a name")
            result[key], position = _parse(data, position, depth + 1)
    if head[:1] == b"[":
        items: list[object] = []
        position += 1
        while True:
            position = _skip_space(data, position)
            if data[position : position + 1] == b"]":
                return items, position + 1
            if position >= len(data):
                raise _Unparsable("unterminated array")
            item, position = _parse(data, position, depth + 1)
            items.append(item)
    if head[:1] == b"/":
        match = _NAME_CHARS.match(data, position + 1)
        assert match is not None  # the pattern matches the empty string
        raw = match.group()
        name = re.sub(rb"#([0-9A-Fa-f]{2})", lambda m: bytes([int(m.group(1), 16)]), raw)
        return name.decode("latin-1"), match.end()
    if head[:1] == b"(":
        return None, _skip_literal_string(data, position)
    if head[:1] == b"<":
        end = data.find(b">", position)
        if end < 0:
            raise _Unparsable("unterminated hex string")
        return None, end + 1
    number = _NUMBER.match(data, position)
    if number:
        tail = _REFERENCE_TAIL.match(data, number.end())
        if tail and number.group().isdigit():
            return _Ref(int(number.group()), int(tail.group(1))), tail.end()
        text = number.group()
        return (float(text) if b"." in text else int(text)), number.end()
    word = re.compile(rb"[A-Za-z]+").match(data, position)
    if word and word.group() in (b"true", b"false", b"null"):
        return None, word.end()
    raise _Unparsable(f"unexpected {data[position : position + 10]!r}")


def _skip_literal_string(data: bytes, position: int) -> int:
    """The position after the literal string starting at ``position`` (balanced parentheses)."""
    depth = 0
    while position < len(data):
        byte = data[position]
        if byte == 0x5C:  # backslash: the next byte is escaped
            position += 2
            continue
        if byte == 0x28:
            depth += 1
        elif byte == 0x29:
            depth -= 1
            if depth == 0:
                return position + 1
        position += 1
    raise _Unparsable("unterminated string")


def _data_start(data: bytes, after_keyword: int) -> int:
    """Where a stream's data begins: after the EOL that ends the ``stream`` keyword."""
    position = after_keyword
    while data[position : position + 1] in (b" ", b"\t"):
        position += 1
    if data[position : position + 2] == b"\r\n":
        return position + 2
    if data[position : position + 1] in (b"\r", b"\n"):
        return position + 1
    return after_keyword


def _predictor(params: object) -> int:
    predictor = params.get("Predictor") if isinstance(params, dict) else None
    return predictor if isinstance(predictor, int) else 1


# --- counting --------------------------------------------------------------------------------------


class _Raw:
    """The file from a stream's first data byte on, in chunks; knows how much its decoder consumed."""

    def __init__(self, view: memoryview, start: int) -> None:
        self.view = view
        self.position = start
        self.start = start

    def __iter__(self) -> Iterator[bytes]:
        return self

    def __next__(self) -> bytes:
        if self.position >= len(self.view):
            raise StopIteration
        chunk = bytes(self.view[self.position : self.position + CHUNK])
        self.position += len(chunk)
        return chunk

    def give_back(self, count: int) -> None:
        """The decoder did not use the last ``count`` bytes it was given (they follow its EOD)."""
        self.position -= count

    @property
    def consumed(self) -> int:
        return self.position - self.start


class _Meter:
    """Counts one stream's decoded bytes against its limits and what is left of the total budget."""

    def __init__(self, label: str, caps: tuple[StreamLimit, ...], total_left: int) -> None:
        self.label = label
        self.caps = caps
        self.total_left = total_left
        self.decoded = 0

    def counting(self, chunks: Iterator[bytes], raw: _Raw) -> Iterator[bytes]:
        for chunk in chunks:
            self.decoded += len(chunk)
            self.check(raw.consumed)
            yield chunk

    def check(self, encoded: int) -> None:
        # While decoding, ``encoded`` still includes bytes the decoder may give back: the ratio is
        # checked leniently then, and exactly at the end.
        for cap in self.caps:
            if cap.exceeded(self.decoded, encoded):
                if self.decoded > cap.max_bytes:
                    why = f"decodes to more than {cap.max_bytes} bytes"
                else:
                    why = f"expands more than {cap.max_ratio:g} times ({encoded} bytes encoded)"
                raise PdfTooComplex(f"{self.label}: {why}")
        if self.decoded > self.total_left:
            raise PdfTooComplex(f"{self.label}: the file decodes to more than its budget in all")


_Decoder = Callable[[Iterator[bytes], object, "_Raw | None"], Iterator[bytes]]


def _flate(source: Iterator[bytes], params: object, raw: _Raw | None) -> Iterator[bytes]:
    """FlateDecode, until the end of the zlib stream or the first error (where readers stop too)."""
    inflater = zlib.decompressobj()
    try:
        for chunk in source:
            pending = chunk
            while pending:
                out = inflater.decompress(pending, CHUNK)
                if out:
                    yield out
                if inflater.eof:
                    if raw is not None:
                        raw.give_back(len(inflater.unused_data))
                    return
                pending = inflater.unconsumed_tail
        yield inflater.flush()
    except zlib.error:
        return


def _sniffed_chain(view: memoryview, raw: _Raw, meter: _Meter) -> Iterator[bytes] | None:
    """Flate, layer after layer (at most 8), for as long as the data starts like a zlib stream."""
    if not _looks_like_zlib(bytes(view[raw.start : raw.start + 2])):
        return None
    source = meter.counting(_flate(raw, None, raw), raw)
    for _ in range(7):
        first = next(source, b"")
        source = _chain(first, source)
        if not _looks_like_zlib(first):
            break
        source = meter.counting(_flate(source, None, None), raw)
    return source


def _chain(first: bytes, rest: Iterator[bytes]) -> Iterator[bytes]:
    yield first
    yield from rest


def _looks_like_zlib(head: bytes) -> bool:
    return len(head) >= 2 and head[0] & 0x0F == 8 and head[0] >> 4 <= 7 and (head[0] << 8 | head[1]) % 31 == 0


def _ascii_hex(source: Iterator[bytes], params: object, raw: _Raw | None) -> Iterator[bytes]:
    """ASCIIHexDecode: two hex digits a byte, up to ``>``."""
    carry = b""
    for chunk in source:
        end = chunk.find(b">")
        digits = carry + (chunk if end < 0 else chunk[:end]).translate(None, _WS)
        usable = len(digits) // 2 * 2
        try:
            out = binascii.unhexlify(digits[:usable])
        except binascii.Error:
            out = b"\0" * (usable // 2)  # readers treat bad digits variously; the size is what counts
        carry = digits[usable:]
        if out:
            yield out
        if end >= 0:
            if raw is not None:
                raw.give_back(len(chunk) - end - 1)
            break
    if carry:
        yield b"\0"


def _ascii85(source: Iterator[bytes], params: object, raw: _Raw | None) -> Iterator[bytes]:
    """ASCII85Decode: five characters (or ``z``) for four bytes, up to ``~>``."""
    carry = b""
    for chunk in source:
        end = chunk.find(b"~")
        text = carry + (chunk if end < 0 else chunk[:end]).translate(None, _WS)
        text = text.replace(b"z", b"!!!!!")
        usable = len(text) // 5 * 5
        try:
            out = base64.a85decode(text[:usable])
        except ValueError:
            out = b"\0" * (usable // 5 * 4)
        carry = text[usable:]
        if out:
            yield out
        if end >= 0:
            if raw is not None:
                raw.give_back(len(chunk) - end - 1)
            break
    if len(carry) > 1:  # a final partial group of n characters gives n - 1 bytes
        yield b"\0" * (len(carry) - 1)


def _run_length(source: Iterator[bytes], params: object, raw: _Raw | None) -> Iterator[bytes]:
    """RunLengthDecode: a length byte, then that many literal bytes or one byte repeated; 128 ends."""
    pending = b""
    for chunk in source:
        pending += chunk
        out = bytearray()
        position = 0
        while position < len(pending):
            length = pending[position]
            if length == 128:
                yield bytes(out)
                if raw is not None:
                    raw.give_back(len(pending) - position - 1)
                return
            if length < 128:
                if position + 1 + length + 1 > len(pending):
                    break
                out += pending[position + 1 : position + 2 + length]
                position += 2 + length
            else:
                if position + 2 > len(pending):
                    break
                out += pending[position + 1 : position + 2] * (257 - length)
                position += 2
            if len(out) >= CHUNK:
                yield bytes(out)
                out.clear()
        pending = pending[position:]
        if out:
            yield bytes(out)


def _lzw(source: Iterator[bytes], params: object, raw: _Raw | None) -> Iterator[bytes]:
    """LZWDecode (variable-width codes from 9 to 12 bits, /EarlyChange 1 unless given), up to code 257."""
    early = params.get("EarlyChange", 1) if isinstance(params, dict) else 1
    early = 1 if early not in (0, 1) else early
    table: list[bytes] = [bytes([i]) for i in range(256)] + [b"", b""]
    width = 9
    previous = b""
    bits = 0
    bit_count = 0
    out = bytearray()
    for chunk in source:
        for index, byte in enumerate(chunk):
            bits = (bits << 8) | byte
            bit_count += 8
            while bit_count >= width:
                bit_count -= width
                code = (bits >> bit_count) & ((1 << width) - 1)
                bits &= (1 << bit_count) - 1
                if code == 256:  # clear table
                    del table[258:]
                    width = 9
                    previous = b""
                    continue
                if code == 257:  # end of data
                    if out:
                        yield bytes(out)
                    if raw is not None:
                        raw.give_back(len(chunk) - index - 1)
                    return
                if code < len(table):
                    entry = table[code]
                elif code == len(table) and previous:
                    entry = previous + previous[:1]
                else:
                    if out:
                        yield bytes(out)
                    return  # corrupt: readers stop here
                out += entry
                if previous and len(table) < 4096:
                    table.append(previous + entry[:1])
                previous = entry
                if len(table) + early >= (1 << width) and width < 12:
                    width += 1
                if len(out) >= CHUNK:
                    yield bytes(out)
                    out.clear()
    if out:
        yield bytes(out)


_DECODERS: dict[str, _Decoder] = {
    "FlateDecode": _flate,
    "LZWDecode": _lzw,
    "ASCIIHexDecode": _ascii_hex,
    "ASCII85Decode": _ascii85,
    "RunLengthDecode": _run_length,
}
