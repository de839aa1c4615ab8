"""Text normalisation for the rule-based extractor: width folding, numerals, dates and durations.

Every function here is pure. The extractor folds a contract once with :func:`fold_width` and matches its
patterns on the folded text; :meth:`FoldedText.span` takes a match back to offsets in the original text,
which is what :class:`~tachiai.extract.model.Evidence` reports. Parsers return None on anything they cannot
read: no ``ValueError`` escapes them.
"""

from __future__ import annotations

import calendar
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Literal, NamedTuple

__all__ = [
    "EN_DURATION_PATTERN",
    "EN_NUMBER_WORDS_PATTERN",
    "EN_ORDINAL_PATTERN",
    "JA_DURATION_PATTERN",
    "KANJI_NUMERAL_CHARS",
    "DateMatch",
    "Duration",
    "DurationUnit",
    "FoldedText",
    "english_number",
    "english_ordinal",
    "find_dates",
    "fold_width",
    "kanji_to_int",
    "parse_date",
    "parse_duration",
    "period_end",
    "unwrap_lines",
]

# ---------------------------------------------------------------------------------------------- width

# NFKC leaves these alone, but word processors and PDF text layers use them where the ASCII forms are meant.
_EXTRA_FOLDS = {
    "\u2010": "-",
    "\u2011": "-",
    "\u2012": "-",
    "\u2013": "-",
    "\u2014": "-",
    "\u2015": "-",
    "\u2212": "-",
    "\u2018": "'",
    "\u2019": "'",
    "\u201c": '"',
    "\u201d": '"',
    "\u201e": '"',
}
_HAS_EXTRA = re.compile("[" + "".join(_EXTRA_FOLDS) + "]")


@lru_cache(maxsize=8192)
def _fold_char(ch: str) -> str:
    return "".join(_EXTRA_FOLDS.get(c, c) for c in unicodedata.normalize("NFKC", ch))


@dataclass(frozen=True, slots=True)
class FoldedText:
    """A text after :func:`fold_width`, with the way back to offsets in the original."""

    text: str
    """The folded text: half-width digits, letters and punctuation, ASCII dashes and quotes."""
    original: str
    starts: tuple[int, ...] | None = None
    """``starts[i]`` is where the original character that produced ``text[i]`` begins (None: identity)."""
    ends: tuple[int, ...] | None = None
    """``ends[i]`` is where it ends (a voiced-mark pair such as ``ｶﾞ`` folds to one character)."""

    def span(self, start: int, end: int) -> tuple[int, int]:
        """The offsets in :attr:`original` of ``text[start:end]`` (clamped to the text)."""
        size = len(self.text)
        start = max(0, min(start, size))
        end = max(start, min(end, size))
        if self.starts is None or self.ends is None:
            return start, end
        if start == end:
            at = self.starts[start] if start < size else len(self.original)
            return at, at
        return self.starts[start], self.ends[end - 1]


def fold_width(text: str) -> FoldedText:
    """Fold ``text`` to NFKC (full-width ``２０２４``, ``，``, ``（`` → ``2024``, ``,``, ``(``; ``㈱`` →
    ``(株)``; half-width katakana → full-width), and typographic dashes and quotes to ASCII.

    Folding is done character by character so that every folded character knows the original character it
    came from; a combining voiced mark is composed with the character before it, as NFKC would.
    """
    if text.isascii() or (unicodedata.is_normalized("NFKC", text) and not _HAS_EXTRA.search(text)):
        return FoldedText(text, text)
    out: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    for index, ch in enumerate(text):
        folded = ch if ch.isascii() else _fold_char(ch)
        for c in folded:
            if out and unicodedata.combining(c):
                composed = unicodedata.normalize("NFC", out[-1] + c)
                if len(composed) == 1:
                    out[-1] = composed
                    ends[-1] = index + 1
                    continue
            out.append(c)
            starts.append(index)
            ends.append(index + 1)
    return FoldedText("".join(out), text, tuple(starts), tuple(ends))


def _fold(text: str) -> str:
    return fold_width(text).text


_NOT_WRAPPED_BEFORE = frozenset("。.:：)）」』!?！？ \t\u3000")
# A line that starts like this begins a new unit, however full the line before it was.
_UNIT_START = re.compile(
    r"[ \t\u3000]*(?:第[0-9０-９〇一二三四五六七八九十百]+条|[0-9０-９]{1,2}[ \t\u3000.．]"
    r"|[(（][0-9０-９一二三四五六七八九十]{1,3}[)）]"
    r"|[①-⑳]|[甲乙丙丁][ \t\u3000:：]|以上|記$)"
)


def unwrap_lines(folded: FoldedText) -> FoldedText:
    """``folded`` with the line breaks that a PDF's layout put inside Japanese sentences taken out.

    Text read from a PDF breaks wherever the line was full, in the middle of a word (``期間満\\n了``), and
    Japanese has no spaces to stand in for the break. A break is taken out when the line before it is as
    wide as the page's full lines, give or take two characters (the 90th percentile of line widths, non-ASCII
    counted double), and does not end a sentence; when the next line does not start an article, a numbered
    paragraph or a signature block; and when a kana or kanji stands on at least one side (English words
    keep their break, which patterns read as a space). Offsets still lead back to
    :attr:`FoldedText.original`.
    """
    original_lines = folded.original.split("\n")
    if len(original_lines) < 3:
        return folded
    # Kana, kanji and full-width forms take two columns; counting every non-ASCII character so is close.
    widths = [2 * len(line) - len(line.encode("ascii", "ignore")) for line in original_lines]
    ranked = sorted(w for w in widths if w)
    if not ranked:
        return folded
    full = ranked[min(len(ranked) - 1, int(len(ranked) * 0.9))]
    text = folded.text
    drop: list[int] = []
    newline = -1
    for index, width in enumerate(widths[:-1]):
        newline = text.find("\n", newline + 1)
        if newline <= 0 or newline + 1 >= len(text) or width < full - 4 or width < 20:
            continue
        before, after = text[newline - 1], text[newline + 1]
        if before in _NOT_WRAPPED_BEFORE or after.isspace() or (before.isascii() and after.isascii()):
            continue
        if not _UNIT_START.match(original_lines[index + 1]):
            drop.append(newline)
    if not drop:
        return folded
    keep = [True] * len(text)
    for position in drop:
        keep[position] = False
    starts = folded.starts or tuple(range(len(text)))
    ends = folded.ends or tuple(range(1, len(text) + 1))
    return FoldedText(
        "".join(c for c, k in zip(text, keep, strict=True) if k),
        folded.original,
        tuple(s for s, k in zip(starts, keep, strict=True) if k),
        tuple(e for e, k in zip(ends, keep, strict=True) if k),
    )


# ------------------------------------------------------------------------------------------- numerals

_KANJI_DIGITS = {
    "〇": 0,
    "○": 0,
    "零": 0,
    "一": 1,
    "壱": 1,
    "壹": 1,
    "二": 2,
    "弐": 2,
    "貳": 2,
    "三": 3,
    "参": 3,
    "參": 3,
    "四": 4,
    "肆": 4,
    "五": 5,
    "伍": 5,
    "六": 6,
    "陸": 6,
    "七": 7,
    "漆": 7,
    "八": 8,
    "捌": 8,
    "九": 9,
    "玖": 9,
}
_SMALL_UNITS = {"十": 10, "拾": 10, "百": 100, "佰": 100, "陌": 100, "千": 1000, "仟": 1000, "阡": 1000}
_BIG_UNITS = {"万": 10**4, "萬": 10**4, "億": 10**8, "兆": 10**12}
KANJI_NUMERAL_CHARS = "".join([*_KANJI_DIGITS, *_SMALL_UNITS, *_BIG_UNITS])
"""Every character :func:`kanji_to_int` reads besides ASCII digits, ``,`` and ``.``."""

_THOUSANDS_COMMA = re.compile(r"(?<=[0-9]),(?=[0-9]{3}(?![0-9]))")
_DIGIT_RUN_CHARS = frozenset("0123456789.") | frozenset(_KANJI_DIGITS)


def kanji_to_int(numeral: str) -> int | None:
    """The value of a Japanese numeral: kanji (``四十五万``), formal kanji (``壱千弐百八拾萬``), digits with
    kanji units (``1千2百万``, ``1,280万``, ``1.5万``, full-width ``１，２８０万``), or kanji written digit by
    digit (``二〇二四``). None when it is not a well-formed non-negative whole number.
    """
    s = _THOUSANDS_COMMA.sub("", "".join(_fold(numeral).split()))
    if not s:
        return None
    total = Decimal(0)
    section = Decimal(0)  # the part below the current 万/億 unit
    pending: Decimal | None = None
    last_small = 10**4
    last_big = 10**16
    i = 0
    while i < len(s):
        ch = s[i]
        if ch in _DIGIT_RUN_CHARS:
            if pending is not None:
                return None
            j = i
            while j < len(s) and s[j] in _DIGIT_RUN_CHARS:
                j += 1
            run = "".join(str(_KANJI_DIGITS[c]) if c in _KANJI_DIGITS else c for c in s[i:j])
            try:
                pending = Decimal(run)
            except InvalidOperation:
                return None
            i = j
            continue
        if ch in _SMALL_UNITS:
            unit = _SMALL_UNITS[ch]
            if unit >= last_small:  # 十百 or 千千: not a numeral
                return None
            section += (Decimal(1) if pending is None else pending) * unit
            last_small = unit
        elif ch in _BIG_UNITS:
            unit = _BIG_UNITS[ch]
            value = section + (pending or 0)
            if unit >= last_big or value == 0:
                return None
            total += value * unit
            section = Decimal(0)
            last_small = 10**4
            last_big = unit
        else:
            return None
        pending = None
        i += 1
    total += section + (pending or 0)
    if total != total.to_integral_value() or total < 0:
        return None
    return int(total)


_EN_SMALL = {
    "zero": 0,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "sixteen": 16,
    "seventeen": 17,
    "eighteen": 18,
    "nineteen": 19,
}
_EN_TENS = {
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fourty": 40,
    "fifty": 50,
    "sixty": 60,
    "seventy": 70,
    "eighty": 80,
    "ninety": 90,
}
_EN_HUNDRED = frozenset({"hundred"})
_EN_SCALES = {"thousand": 10**3, "million": 10**6, "billion": 10**9}
_EN_WORD = "|".join(sorted([*_EN_SMALL, *_EN_TENS, "hundred", *_EN_SCALES], key=len, reverse=True))
# English text filed as plain text (an EDGAR exhibit) is hard-wrapped: wherever English puts a space, the
# line may break instead, and the next line may be indented.
_EN_SPACE = r"(?:[ \t]+|[ \t]*\n[ \t]*)"
"""One space between English words: a run of blanks, or a line break with the next line's indentation."""
_EN_SPACE_OPT = r"[ \t]*(?:\n[ \t]*)?"
"""No space, or :data:`_EN_SPACE`."""
# Bounded: "one hundred and twenty-five thousand" is seven words, and an unbounded run backtracks badly.
# The lookahead is a cheap first-letter test: most words fail it before the alternation is tried.
EN_NUMBER_WORDS_PATTERN = (
    rf"\b(?=[zotfsenhmbZOTFSENHMB])(?:{_EN_WORD})"
    rf"(?:(?:{_EN_SPACE}|-)(?:and{_EN_SPACE})?(?:{_EN_WORD})){{0,7}}\b"
)
"""A run of English number words (``ninety``, ``twenty-four``, ``one hundred and twenty``), no groups."""


def english_number(words: str) -> int | None:
    """The value of English number words: ``ninety`` → 90, ``twenty-four`` → 24, ``one hundred and
    twenty`` → 120, ``fifty thousand`` → 50000, ``a``/``an`` → 1. None for anything else."""
    tokens = [tok for tok in re.split(r"[\s\-]+", words.strip().lower()) if tok and tok != "and"]
    if not tokens:
        return None
    if tokens in (["a"], ["an"]):
        return 1
    total = 0
    current = 0
    for word in tokens:
        if word in _EN_SMALL:
            if current % 10:  # "one two", "twelve three"
                return None
            current += _EN_SMALL[word]
        elif word in _EN_TENS:
            if current % 100:
                return None
            current += _EN_TENS[word]
        elif word in _EN_HUNDRED:
            current = (current or 1) * 100
        elif word in _EN_SCALES:
            total += (current or 1) * _EN_SCALES[word]
            current = 0
        else:
            return None
    return total + current


# ---------------------------------------------------------------------------------------------- dates


class DateMatch(NamedTuple):
    """A date found in a text, and where it is written."""

    value: date
    start: int
    end: int


# Eras begin mid-year; a date before its era's first day was never written by anyone who meant it.
_ERAS = {
    "令和": date(2019, 5, 1),
    "平成": date(1989, 1, 8),
    "昭和": date(1926, 12, 25),
    "大正": date(1912, 7, 30),
}
_ERA_LETTERS = {"R": "令和", "H": "平成", "S": "昭和", "T": "大正"}
_SP = r"[ \t]{0,2}"
_JA_MD = r"(?:[0-9]{1,2}|[〇○一二三四五六七八九十]{1,3})"
_ERA_KANJI = re.compile(
    rf"(?P<era>令和|平成|昭和|大正){_SP}(?P<y>元|[0-9]{{1,2}}|[〇一二三四五六七八九十]{{1,4}}){_SP}年"
    rf"{_SP}(?P<m>{_JA_MD}){_SP}月{_SP}(?P<d>{_JA_MD}){_SP}日"
)
_ERA_NUMERIC = re.compile(
    r"(?=[令平昭大RHST])"
    r"(?:(?P<era>令和|平成|昭和|大正)[ \t]?(?P<y1>元|[0-9]{1,2})|(?<![A-Za-z0-9])(?P<letter>[RHST])[ \t]?"
    r"(?P<y2>[0-9]{1,2}))(?P<sep>[./-])(?P<m>[0-9]{1,2})(?P=sep)(?P<d>[0-9]{1,2})(?![0-9])"
)
_JA_WESTERN = re.compile(
    rf"(?=[0-9〇○零一二三四五六七八九十百千])(?<![0-9])(?P<y>[0-9]{{4}}|[〇○零一二三四五六七八九十百千]{{2,7}}){_SP}年{_SP}(?P<m>{_JA_MD}){_SP}月"
    rf"{_SP}(?P<d>{_JA_MD}){_SP}日"
)
_NUMERIC = re.compile(
    r"(?=[12])(?<![0-9./-])(?P<y>(?:19|20|21)[0-9]{2})(?P<sep>[./-])(?P<m>[0-9]{1,2})(?P=sep)(?P<d>[0-9]{1,2})"
    r"(?![0-9]|[./-][0-9])"
)
_MONTHS = {
    "jan": 1,
    "feb": 2,
    "mar": 3,
    "apr": 4,
    "may": 5,
    "jun": 6,
    "jul": 7,
    "aug": 8,
    "sep": 9,
    "oct": 10,
    "nov": 11,
    "dec": 12,
}
_MON = (
    r"(?P<mon>jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
_EN_ORDINAL_UNITS = ("first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth")
_EN_ORDINAL_TEENS = (
    "tenth",
    "eleventh",
    "twelfth",
    "thirteenth",
    "fourteenth",
    "fifteenth",
    "sixteenth",
    "seventeenth",
    "eighteenth",
    "nineteenth",
    "twentieth",
)
_EN_ORDINALS = {
    **{word: n for n, word in enumerate(_EN_ORDINAL_UNITS, start=1)},
    **{word: n for n, word in enumerate(_EN_ORDINAL_TEENS, start=10)},
    **{f"twenty-{word}": 20 + n for n, word in enumerate(_EN_ORDINAL_UNITS, start=1)},
    "thirtieth": 30,
    "thirty-first": 31,
}
_EN_ORDINAL = "|".join(sorted(_EN_ORDINALS, key=len, reverse=True)).replace("-", "[ -]")
EN_ORDINAL_PATTERN = rf"(?:{_EN_ORDINAL}|[0-9]{{1,2}}(?:st|nd|rd|th))"
"""An English ordinal up to the 31st in words or figures (``fifth``, ``twenty-first``, ``5th``); no groups."""


def english_ordinal(text: str) -> int | None:
    """The value of an English ordinal: ``fifth`` → 5, ``twenty-first`` → 21, ``5th`` → 5; None otherwise."""
    word = re.sub(r"\s+", "-", text.strip().lower())
    figure = re.fullmatch(r"([0-9]{1,2})(?:st|nd|rd|th)", word)
    return int(figure[1]) if figure else _EN_ORDINALS.get(word)


# A date is one phrase, but a hard-wrapped text may break it anywhere a space stands ("March\n   15, 2024").
_SPC = r"(?:[ \t]{1,3}|[ \t]*\n[ \t]*)"
_SPC_OPT = r"(?:[ \t]{0,3}|[ \t]*\n[ \t]*)"
# An ordinal in words is looked for only before "day": the lookahead saves trying every word.
_WORD_BEFORE_DAY = r"[a-z]+(?:[ -][a-z]+)?"
_EN_MDY = re.compile(
    rf"(?=[ADFJMNOSadfjmnos])\b{_MON}{_SPC}(?P<d>[0-9]{{1,2}})(?:st|nd|rd|th)?(?![0-9])[ \t]*,?{_SPC_OPT}"
    r"(?P<y>[0-9]{4})\b",
    re.IGNORECASE,
)
_EN_DMY = re.compile(
    rf"(?=[0-9TtFfSsEeNn])\b(?:(?:the|this){_SPC}(?=(?:[0-9]{{1,2}}(?:st|nd|rd|th)?|{_WORD_BEFORE_DAY}){_SPC}day\b))?"
    rf"(?:(?P<d>[0-9]{{1,2}})(?:st|nd|rd|th)?|(?={_WORD_BEFORE_DAY}{_SPC}day\b)(?P<dw>{_EN_ORDINAL})){_SPC}"
    rf"(?:(?:day{_SPC})?of{_SPC})?{_MON}(?![a-z])[ \t]*,?"
    rf"{_SPC_OPT}(?:in\s+the\s+year\s+)?(?P<y>[0-9]{{4}})\b",
    re.IGNORECASE,
)
_DATE_PATTERNS = (_ERA_KANJI, _ERA_NUMERIC, _JA_WESTERN, _NUMERIC, _EN_MDY, _EN_DMY)
"""Each opens with a one-character lookahead naming what a date can begin with: most places fail at once."""


def _safe_date(year: int | None, month: int | None, day: int | None) -> date | None:
    if year is None or month is None or day is None:
        return None
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _date_of(match: re.Match[str]) -> date | None:
    groups = match.groupdict()
    month = kanji_to_int(groups["m"]) if groups.get("m") else _MONTHS.get(groups["mon"][:3].lower())
    day = english_ordinal(groups["dw"]) if groups.get("dw") else kanji_to_int(groups["d"])
    era = groups.get("era") or _ERA_LETTERS.get(groups.get("letter") or "")
    if era:
        raw_year = groups.get("y") or groups.get("y1") or groups.get("y2") or ""
        year_of_era = 1 if raw_year == "元" else kanji_to_int(raw_year)
        if year_of_era is None or year_of_era < 1:
            return None
        first_day = _ERAS[era]
        value = _safe_date(first_day.year + year_of_era - 1, month, day)
        # No upper bound: forms printed before an era ended kept the old era's years (平成32年).
        return value if value is not None and value >= first_day else None
    year = kanji_to_int(groups["y"])
    if year is None or not 1900 <= year <= 2200:
        return None
    return _safe_date(year, month, day)


def find_dates(text: str) -> list[DateMatch]:
    """Every date written in ``text``, in order, with its offsets in ``text``.

    Read: Japanese eras (``令和6年4月1日``, ``令和元年``, ``平成31年``, ``R6.4.1``), Western dates in Japanese
    (``2024年3月15日``, ``二〇二四年三月十五日``), ``2024/3/15``, ``2024-03-15``, ``2024.3.15``, English
    (``March 15, 2024``, ``15 March 2024``, ``15th day of March, 2024``), all in full width too. Dates
    that do not exist (``2月30日``, ``令和元年4月1日``) are left out. Numeric day/month orders
    (``03/15/2024``) are ambiguous and are not read.
    """
    folded = fold_width(text)
    found: list[tuple[int, int, date]] = []
    for pattern in _DATE_PATTERNS:
        for match in pattern.finditer(folded.text):
            value = _date_of(match)
            if value is not None:
                found.append((match.start(), match.end(), value))
    found.sort(key=lambda item: (item[0], -item[1]))
    result: list[DateMatch] = []
    covered = -1
    for start, end, value in found:
        if start >= covered:
            original_start, original_end = folded.span(start, end)
            result.append(DateMatch(value, original_start, original_end))
            covered = end
    return result


def parse_date(text: str) -> date | None:
    """The date that ``text`` is (surrounding whitespace aside), or None."""
    stripped = text.strip()
    for match in find_dates(stripped):
        if match.start == 0 and match.end == len(stripped):
            return match.value
    return None


# ------------------------------------------------------------------------------------------ durations

DurationUnit = Literal["days", "weeks", "months", "years"]


class Duration(NamedTuple):
    """A length of time as a contract writes it: ``3か月`` → ``Duration(3, "months")``."""

    n: int
    unit: DurationUnit
    business: bool = False
    """Counted in business days (``営業日``, ``business days``): not calendar days."""

    @property
    def period(self) -> str:
        """The model's notice-period form: ``"3 months"``, ``"30 days"`` (the unit is always plural)."""
        return f"{self.n} {self.unit}"


_JA_COUNT = r"(?:[0-9]{1,3}|[〇一二三四五六七八九十百壱弐参拾]{1,5})"
JA_DURATION_PATTERN = (
    rf"(?:(?<![0-9〇一二三四五六七八九十百千]){_JA_COUNT}[ \t]*"
    r"(?:[かカヵヶケ箇个][ \t]*月|[かカヵヶケ箇]?[ \t]*年|週|営業日|日)(?:[ \t]*間)?|半[ \t]*年(?:[ \t]*間)?)"
)
"""A Japanese duration (``3か月``, ``3ヶ月間``, ``1年間``, ``30日``, ``2週間``, ``10営業日``, ``半年``).

No groups: embed it in larger patterns and read the match with :func:`parse_duration`."""
_JA_DURATION = re.compile(
    rf"(?P<n>{_JA_COUNT})[ \t]*(?:(?P<months>[かカヵヶケ箇个][ \t]*月)|(?P<years>[かカヵヶケ箇]?[ \t]*年)"
    r"|(?P<weeks>週)|(?P<business>営業日)|(?P<days>日))(?:[ \t]*間)?|(?P<half>半[ \t]*年)(?:[ \t]*間)?"
)
_EN_UNIT = rf"(?:(?:calendar|business|working|consecutive|full){_EN_SPACE})?(?:day|week|month|year)s?\b"
EN_DURATION_PATTERN = (
    rf"(?:{EN_NUMBER_WORDS_PATTERN}{_EN_SPACE_OPT}(?:\([ \t]*[0-9]{{1,4}}[ \t]*\){_EN_SPACE_OPT})?-?"
    rf"|\b[0-9]{{1,4}}{_EN_SPACE_OPT}-?|\ban?{_EN_SPACE}){_EN_UNIT}"
)
"""An English duration (``ninety (90) days``, ``60 days``, ``twelve months``, ``a year``), no groups; it may
run over a line break."""
_EN_DURATION = re.compile(
    rf"(?:(?P<words>{EN_NUMBER_WORDS_PATTERN}){_EN_SPACE_OPT}"
    rf"(?:\([ \t]*(?P<digits>[0-9]{{1,4}})[ \t]*\){_EN_SPACE_OPT})?-?"
    rf"|(?P<bare>\b[0-9]{{1,4}}){_EN_SPACE_OPT}-?|(?P<article>\ban?){_EN_SPACE})"
    rf"(?:(?P<kind>calendar|business|working|consecutive|full){_EN_SPACE})?(?P<unit>day|week|month|year)s?\b",
    re.IGNORECASE,
)
# Longer than any contract means: "二〇二四年" is a year, not a duration of 2024 years.
_MOST: dict[DurationUnit, int] = {"days": 9999, "weeks": 520, "months": 1200, "years": 100}
_EN_UNITS: dict[str, DurationUnit] = {"day": "days", "week": "weeks", "month": "months", "year": "years"}


def parse_duration(text: str) -> Duration | None:
    """The duration that ``text`` is: ``3か月`` / ``３ヶ月間`` / ``三箇月`` → 3 months, ``1年間`` → 1 year,
    ``30日`` → 30 days, ``半年`` → 6 months, ``ninety (90) days`` → 90 days, ``one year`` → 1 year.

    When words and figures disagree (``ninety (60) days``) the words are taken, as the law reads them.
    None when ``text`` is not a positive duration.
    """
    s = _fold(text).strip()
    match = _JA_DURATION.fullmatch(s)
    if match:
        if match["half"]:
            return Duration(6, "months")
        n = kanji_to_int(match["n"])
        unit: DurationUnit
        if match["months"]:
            unit = "months"
        elif match["years"]:
            unit = "years"
        elif match["weeks"]:
            unit = "weeks"
        else:
            unit = "days"
        return Duration(n, unit, bool(match["business"])) if n and n <= _MOST[unit] else None
    match = _EN_DURATION.fullmatch(s)
    if not match:
        return None
    if match["words"]:
        n = english_number(match["words"])
        if n is None and match["digits"]:
            n = int(match["digits"])
    elif match["bare"]:
        n = int(match["bare"])
    else:
        n = 1
    en_unit = _EN_UNITS[match["unit"].lower()]
    if not n or n > _MOST[en_unit]:
        return None
    business = (match["kind"] or "").lower() in ("business", "working")
    return Duration(n, en_unit, business)


def period_end(start: date, duration: Duration) -> date | None:
    """The last day of a period that begins on ``start`` and lasts ``duration``, the first day counted.

    Calendar periods end the day before the corresponding day (2024-04-01 + 1 year → 2025-03-31); when the
    last month has no corresponding day, on that month's last day (2024-01-31 + 1 month → 2024-02-29), as
    民法 143 reckons them. None when the end falls outside the calendar.
    """
    try:
        if duration.unit == "days":
            return start + timedelta(days=duration.n - 1)
        if duration.unit == "weeks":
            return start + timedelta(days=7 * duration.n - 1)
        months = duration.n * (12 if duration.unit == "years" else 1)
        year, month0 = divmod(start.year * 12 + start.month - 1 + months, 12)
        last_day = calendar.monthrange(year, month0 + 1)[1]
        if start.day > last_day:
            return date(year, month0 + 1, last_day)
        return date(year, month0 + 1, start.day) - timedelta(days=1)
    except (ValueError, OverflowError):
        return None
