"""The Japanese font shipped with tachiai for the PDFs it generates.

IPAexGothic (``ipaexg.ttf``, IPA Font License v1.0, see ``IPA_Font_License_Agreement_v1.0.txt``)
covers JIS X 0208, the IBM extension kanji (髙 U+9AD9, 﨑 U+FA11, …) and Latin. 髙 and 﨑 have glyphs
of their own (not those of 高 and 崎). Some other code points do share a glyph (U+002D and U+2010,
U+2003 and U+3000, radicals and their ideographs), but fpdf2 gives every code point its own CID with
its own ToUnicode entry, so text extracted from the PDFs comes back exactly as it was written.

Characters outside the font (e.g. JIS X 0213 𠮷 U+20BB7, emoji, Hangul) cannot be drawn;
:func:`displayable` turns them into a visible ``<U+XXXX>`` so that no character silently disappears.
"""

from __future__ import annotations

import atexit
import unicodedata
from collections.abc import Callable
from contextlib import ExitStack
from functools import cache
from importlib import resources
from pathlib import Path

FONT_FAMILY = "IPAexGothic"
"""Family name the font is registered under in fpdf2."""
FONT_FILE = "ipaexg.ttf"
LICENSE_FILE = "IPA_Font_License_Agreement_v1.0.txt"

_files = ExitStack()
atexit.register(_files.close)


@cache
def _path_of(name: str) -> Path:
    # as_file() is the file itself for an installed package (or a Lambda layer); only a zipped
    # package makes it a temporary copy, which then lives until the interpreter exits.
    return _files.enter_context(resources.as_file(resources.files(__name__).joinpath(name)))


def japanese_font_path() -> Path:
    """Path of the shipped TrueType font (IPAexGothic), for ``FPDF.add_font``."""
    return _path_of(FONT_FILE)


def font_license_path() -> Path:
    """Path of the font's licence, which must accompany the font file when it is redistributed."""
    return _path_of(LICENSE_FILE)


@cache
def supported_codepoints() -> frozenset[int]:
    """Code points the shipped font has a glyph for."""
    from fontTools.ttLib import TTFont  # type: ignore[import-untyped]  # fpdf2 depends on fontTools

    with TTFont(japanese_font_path(), lazy=True) as font:
        return frozenset(font.getBestCmap())


def displayable(text: str) -> str:
    """``text`` made safe to draw with the shipped font, losing no information.

    Tabs become spaces, CR/LF and CR become LF, other control characters are dropped, and every
    character the font lacks becomes ``<U+XXXX>``.
    """
    supported = supported_codepoints()
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", " ")
    out: list[str] = []
    for ch in text:
        cp = ord(ch)
        if ch == "\n" or cp in supported:
            out.append(ch)
        elif unicodedata.category(ch) == "Cc":
            continue
        else:
            out.append(f"<U+{cp:04X}>")
    return "".join(out)


def fully_displayable(text: str) -> bool:
    """True when :func:`displayable` needs no ``<U+XXXX>`` for ``text``."""
    supported = supported_codepoints()
    return all(ord(ch) in supported or unicodedata.category(ch) == "Cc" for ch in text)


# --- line breaking ------------------------------------------------------------------------------

_NO_LINE_START = frozenset(
    "、。，．,.)）]］}｝>〕〉》」』】〙〗〟’”｠»・：；:;!?！？‐-–—ー～〜…‥々〻ゝゞヽヾ"
    "ぁぃぅぇぉっゃゅょゎゕゖァィゥェォッャュョヮヵヶㇰㇱㇲㇳㇴㇵㇶㇷㇸㇹㇺㇻㇼㇽㇾㇿ"
)
"""Characters a Japanese line must not begin with (行頭禁則)."""
_NO_LINE_END = frozenset("(（[［{｛<〔〈《「『【〘〖〝‘“｟«")
"""Characters a Japanese line must not end with (行末禁則)."""


def _is_wide(ch: str) -> bool:
    """True for characters between which a Japanese line may break (kana, kanji, full-width forms)."""
    return unicodedata.east_asian_width(ch) in ("W", "F")


def _units(paragraph: str) -> list[str]:
    """Split into the smallest pieces a line may break between: a space, one wide character, or a
    run of other characters (a Latin word, a number, a hash)."""
    units: list[str] = []
    word = ""
    for ch in paragraph:
        if ch == " " or _is_wide(ch):
            if word:
                units.append(word)
                word = ""
            units.append(ch)
        else:
            word += ch
    if word:
        units.append(word)
    return units


def break_lines(text: str, width: float, measure: Callable[[str], float]) -> list[str]:
    """Break ``text`` into lines no wider than ``width``.

    ``measure`` gives the drawn width of a string (e.g. ``FPDF.get_string_width``). Japanese breaks
    between any two characters, observing the basic 禁則 rules; Latin text breaks at spaces; a word
    wider than a whole line (a hash, a long URL) is broken between characters. ``\\n`` starts a new
    line. The returned lines joined with spaces or nothing give back the text, less the spaces at
    the breaks.
    """
    lines: list[str] = []
    for paragraph in text.split("\n"):
        lines.extend(_break_paragraph(paragraph, width, measure))
    return lines


def _break_paragraph(paragraph: str, width: float, measure: Callable[[str], float]) -> list[str]:
    lines: list[str] = []
    line: list[str] = []
    line_width = 0.0
    pending = _units(paragraph)
    pending.reverse()  # a stack: the next unit is pending[-1]
    while pending:
        unit = pending.pop()
        unit_width = measure(unit)
        if line_width + unit_width <= width + 1e-6:
            line.append(unit)
            line_width += unit_width
            continue
        if unit == " ":  # a space at a break is dropped
            lines.append("".join(line).rstrip(" "))
            line, line_width = [], 0.0
            continue
        if not line:  # wider than a whole line: break between characters
            head = _longest_prefix(unit, width, measure)
            lines.append(head)
            pending.append(unit[len(head) :])
            continue
        # 禁則: move the break back rather than start a line with a closing mark or end one with an
        # opening bracket; when no earlier break helps, break before ``unit`` all the same.
        k = len(line)
        while k > 1 and _forbidden_break(line[k - 1], line[k] if k < len(line) else unit):
            k -= 1
        if _forbidden_break(line[k - 1], line[k] if k < len(line) else unit):
            k = len(line)
        lines.append("".join(line[:k]).rstrip(" "))
        pending.append(unit)
        pending.extend(reversed(line[k:]))
        line, line_width = [], 0.0
    if line or not lines:
        lines.append("".join(line).rstrip(" "))
    return [ln.lstrip(" ") if i else ln for i, ln in enumerate(lines)]


def _forbidden_break(before: str, after: str) -> bool:
    return after[0] in _NO_LINE_START or before[-1] in _NO_LINE_END


def _longest_prefix(word: str, width: float, measure: Callable[[str], float]) -> str:
    """The longest non-empty start of ``word`` that fits in ``width`` (at least one character)."""
    end = 1
    while end < len(word) and measure(word[: end + 1]) <= width + 1e-6:
        end += 1
    return word[:end]
