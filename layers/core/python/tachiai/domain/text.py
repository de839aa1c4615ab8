"""The one text-cleaning rule for what people type: names, titles, reasons, organizations, messages.

Such text travels into places that interpret characters: a seal's reason in a validator's signature
panel, a terminal, a spreadsheet, a mail header, a PDF. A right-to-left override (U+202E) makes
``exe.pdf`` read as ``fdp.exe``; a line separator (U+2028) or a NUL splits a reason; ESC and BEL drive
a terminal. So every character of the Unicode categories

* ``Cc`` (controls: NUL, BEL, ESC, DEL, C1 ...),
* ``Cf`` (format: bidi embeddings/overrides/isolates, zero-width characters, BOM, tags ...),
* ``Zl`` and ``Zp`` (line and paragraph separators),
* and ``Cs``: a lone surrogate (``"\\udfff"`` in a JSON string) is no character at all, and would
  only fail later, when the text is encoded to be stored or sent,

is removed — line breaks and tabs become a space on one line (:func:`single_line`), or a plain ``\\n``
where a free text legitimately has several lines (:func:`multi_line`, the sender's message, a reason).

ZERO WIDTH JOINER (U+200D, ``Cf``) goes too: an emoji sequence falls apart into its pieces, which is an
acceptable price for a name. Variation selectors (``Mn``, e.g. the IVS of 葛󠄀) are kept: they are part of
how Japanese names are written.

The same functions are used where the text enters (the pydantic types :data:`Line` and :data:`Lines`
on the request and domain models) and again where it leaves (seal reasons, CSV cells, terminal tables,
mails and the signing page), so text stored before this rule existed is cleaned on its way out too.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Annotated, Any

from pydantic import BeforeValidator

_REMOVED_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs"})
_LINE_BREAK = re.compile(r"\r\n|[\n\r\x0b\x0c\x1c-\x1e\x85\u2028\u2029]")
"""What separates lines (Python's ``str.splitlines`` set): becomes a space, or ``\\n`` in a message."""
_TAB = "\t"


def _drop_invisible(text: str) -> str:
    """``text`` without any character of the removed categories (line breaks already handled)."""
    if text.isascii() and text.isprintable():
        return text  # the common case: nothing to look at
    return "".join(c for c in text if unicodedata.category(c) not in _REMOVED_CATEGORIES)


def single_line(text: str) -> str:
    """``text`` on one line: each line break or tab becomes a space, every other character of the
    categories Cc, Cf, Zl, Zp is removed, and the ends are stripped of whitespace.

    Runs of spaces the person typed are kept (a full-width space in 山田　太郎 stays); only the spaces
    this cleaning introduced are collapsed into one.
    """
    if "\t" in text or _LINE_BREAK.search(text):
        pieces = [_drop_invisible(p).strip() for p in _LINE_BREAK.split(text.replace(_TAB, "\n"))]
        text = " ".join(p for p in pieces if p)
    return _drop_invisible(text).strip()


def multi_line(text: str) -> str:
    """``text`` with ``\\n`` as its only line break (CR LF, CR, U+2028 ... become ``\\n``), tabs as a
    space, every other character of the categories Cc, Cf, Zl, Zp removed, no trailing spaces on a
    line, at most one empty line in a row, and no empty lines at either end."""
    lines = [_drop_invisible(line.replace(_TAB, " ")).rstrip() for line in _LINE_BREAK.split(text)]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip("\n")


def _cleaned_line(value: Any) -> Any:
    # Before pydantic's own checks, so min_length applies to what is kept (a name that was only a
    # bidi override is refused as empty); anything that is not a string is left for pydantic to refuse.
    return single_line(value) if isinstance(value, str) else value


def _cleaned_lines(value: Any) -> Any:
    return multi_line(value) if isinstance(value, str) else value


Line = Annotated[str, BeforeValidator(_cleaned_line)]
"""A one-line text field (name, title, organization, file name, reason in a seal), cleaned by
:func:`single_line` before it is validated."""
Lines = Annotated[str, BeforeValidator(_cleaned_lines)]
"""A free text that may have several lines (the sender's message, a rejection reason), cleaned by
:func:`multi_line` before it is validated."""

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠")
"""OWASP's list of characters a spreadsheet reads as the start of a formula (or, for tab and CR, as
a way to reach one), with their full-width forms, which some spreadsheets' input conversion turns into
the ASCII ones."""


def csv_cell(value: Any) -> str:
    """``value`` as a CSV cell that a spreadsheet shows as text, never runs as a formula.

    Text is cleaned by :func:`single_line` first; text then starting (after spaces) with one of
    ``= + - @`` (or their full-width forms) gets a leading ``'`` (OWASP's CSV injection rule). Integers
    and floats are written as numbers, unchanged: a number is never a formula (``-5`` is minus five),
    and an amount column stays a number a spreadsheet can sum. ``None`` is an empty cell; booleans are
    ``true`` / ``false``.
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    text = single_line(str(value))
    if text.lstrip(" \u3000").startswith(_FORMULA_STARTS):
        return "'" + text
    return text
