"""The deterministic engine: contract metadata read with regular expressions, in Japanese and English.

The text is folded once (:func:`~tachiai.extract.normalize.fold_width`; for Japanese, the line breaks a
PDF's layout put inside sentences are taken out with :func:`~tachiai.extract.normalize.unwrap_lines`),
every pattern runs on the folded text, and each value's :class:`~tachiai.extract.model.Evidence` is
mapped back to the exact words and offsets of the text that was given. A field the contract does not
state clearly is left None: a wrong date in a ledger costs more than an empty one.

Conventions (the same in both languages):

* ``start_date`` + a duration: the term ends the day before the corresponding day (2024-04-01 for one
  year → 2025-03-31), as 民法 143 reckons periods and as contracts mean "from the Effective Date".
* A recurring fee (``月額10万円``, ``USD 10,000 per month``) is reported as written, with the recurring
  word in the evidence and a lower confidence; a total (``総額``, ``total``) in the same contract wins.
* ``notice_period`` is only the notice tied to the end of the term (non-renewal, expiry), never a notice
  to terminate mid-term; a contract that does not renew has none. A renewal that needs a party to act (an
  option or a right to renew) is no automatic renewal.
* Amounts that are not the price are passed over: deposits, liability caps and insurance minimums, late,
  transfer or set-up charges, reimbursed expenses, bonuses, list prices, thresholds (``10万円以上``, "orders
  of less than $7,500"), rates per hour or per unit when another fee is stated.
* An English exhibit is read as filed: hard-wrapped lines, a cover page and a table of contents before the
  preamble. A date in its recitals is neither the signing nor the term; one in a schedule after its
  signatures counts for less. A contract that takes effect "on the date of the last signature" is dated so.
* Party names are returned folded to half width (``ＡＢＣ株式会社`` → ``ABC株式会社``, ``㈱`` → ``(株)``)
  with runs of spaces made single; the evidence keeps them exactly as written.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Generic, Literal, TypeVar

from tachiai.extract.model import ContractMetadata, Evidence, FieldName, notice_deadline
from tachiai.extract.normalize import (
    EN_DURATION_PATTERN,
    EN_NUMBER_WORDS_PATTERN,
    EN_ORDINAL_PATTERN,
    JA_DURATION_PATTERN,
    KANJI_NUMERAL_CHARS,
    DateMatch,
    Duration,
    english_number,
    english_ordinal,
    find_dates,
    fold_width,
    kanji_to_int,
    parse_duration,
    period_end,
    unwrap_lines,
)

__all__ = ["RuleEngine"]

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)
Language = Literal["ja", "en"]

SENTENCE_REACH = 400
"""How far around a match its sentence is read for context words, at most (characters)."""
OTHER_LANGUAGE_WEIGHT = 0.8
"""A value found by the other language's patterns (an English clause in a Japanese contract) is less sure."""


@dataclass(frozen=True)
class _Hit(Generic[T_co]):
    """A value and where it was read, in folded-text offsets."""

    value: T_co
    start: int
    end: int
    confidence: float


def _best(hits: list[_Hit[T]]) -> _Hit[T] | None:
    """The most confident hit; the earliest among equals."""
    best: _Hit[T] | None = None
    for hit in sorted(hits, key=lambda h: h.start):
        if best is None or hit.confidence > best.confidence + 1e-9:
            best = hit
    return best


# ----------------------------------------------------------------------------------------- document

# A pattern searched through the whole text opens with a one-character lookahead, ``(?=[...])``, listing the
# characters a match can begin with: Python's engine would otherwise try every alternative at every position,
# and a 400-line exhibit has some 30,000 of them.

_LATIN = re.compile(r"[A-Za-z]")
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff]")
# A full stop ends an English sentence unless it ends an abbreviation that company names and citations use
# (or a single letter: "N.A.", "U.S.", "p.m.").
# The dot is matched first, then what stands before it: every other position fails at once.
_EN_FULL_STOP = (
    r"\.(?<!\bInc\.)(?<!\bLtd\.)(?<!\bCorp\.)(?<!\bCo\.)(?<!\bNo\.)(?<!\bMr\.)(?<!\bMs\.)(?<!\bDr\.)"
    r"(?<!\bSt\.)(?<!\bvs\.)(?<!\b[A-Za-z]\.)(?=\s+[A-Z\"(])"
)
_SENTENCE_END = re.compile(
    r"。(?![)」』])|\n[ \t]*\n|\f"
    r"|\n(?=[ \t]*(?:第[0-9〇一二三四五六七八九十百]+条|[0-9]{1,2}(?:\.[0-9]{1,2})*\.?[ \t]|\([0-9]{1,2}\)))"
    rf"|{_EN_FULL_STOP}"
)
# A hard-wrapped English line may start with "30 days" or "(60) days": only a numbered heading ("1.1 Term",
# "12. TERM") or an item after a colon or a semicolon ("(a) ...") starts a new sentence on the next line.
_EN_SENTENCE_END = re.compile(
    r"(?=[\s.])(?:\n[ \t]*\n|\f"
    r"|\n(?=[ \t]*(?:[0-9]{1,2}(?:\.[0-9]{1,2})+\.?|[0-9]{1,2}\.)[ \t]+[A-Z(\"])"
    r"|(?<=[.:;])[ \t]*\n(?=[ \t]*\((?:[0-9]{1,2}|[a-z]|[ivx]{1,4})\)[ \t])"
    rf"|{_EN_FULL_STOP})"
)


# Recitals ("WHEREAS, the parties entered into a Development Agreement dated ...") tell the background: a
# date there is neither the signing nor the term. They run from their heading or the first WHEREAS to the
# words that open the operative part.
_EN_RECITALS_HEAD = re.compile(
    r"(?m:^[ \t]*(?:RECITALS?|Recitals?|BACKGROUND|Background|PRELIMINARY[ \t]+STATEMENTS?"
    r"|W[ \t]?I[ \t]?T[ \t]?N[ \t]?E[ \t]?S[ \t]?S[ \t]?E[ \t]?T[ \t]?H)[ \t]*:?[ \t]*$)"
    r"|(?P<whereas>\bWHEREAS\b)"
)
_EN_RECITALS_END = re.compile(
    r"(?=[NnIiAaTt])(?:\bNOW,?\s+THEREFORE\b|\bIT\s+IS\s+(?:HEREBY\s+)?AGREED\b|\bAGREED\s+TERMS\b"
    r"|\bthe\s+parties\s+(?:hereto\s+)?(?:hereby\s+)?(?:mutually\s+)?agree\b)",
    re.I,
)
_EN_PREAMBLE_OPENING = re.compile(
    r"(?=[Tt])\bthis\s+(?:[\w,-]+\s+){0,8}?(?:agreement|lease|contract)\b[^.]{0,200}?\b(?:is|are)\s+"
    r"(?:made|entered\s+into|dated)\b",
    re.I,
)
RECITALS_REACH = 8000
"""How long recitals may run, at most (characters): past that, the closing words are another clause's."""
# Where the parties sign: the attestation clause, or a signature-page marker.
_EN_SIGNING = re.compile(
    r"(?=[IiAaHhSs\[ \t])(?:IN\s+WITNESS\s+WHEREOF|\[\s*signature\s+pages?\s+follows?\s*\]|\bAS\s+WITNESS\b"
    r"|\bhas\s+been\s+(?:entered\s+into|executed)\s+(?:on|as\s+of)\s+the\s+date"
    r"|(?m:^[ \t]*SIGNED\s+(?:for\s+and\s+)?(?:on\s+behalf|by)\b))",
    re.I,
)
# Columns of a two-column signature block ("Date: October 3, 2022        Date: October 11, 2022").
_COLUMN_GAP = re.compile(r"[ \t]{3,}|\t")
CELL_REACH = 160
"""How far a date's line may run on either side of it for the date to stand in a cell of its own."""


PREAMBLE_REACH = 8000
"""How far into a contract its preamble may start, at least (characters): a cover page and a table of contents
stand before it in an EDGAR exhibit."""


def _preamble_end(text: str) -> int:
    """Where the search for the preamble's date and parties stops."""
    return max(PREAMBLE_REACH, len(text) // 4)


def _language(text: str) -> Language:
    # Folded text is ASCII but for kana and kanji (and the odd "§"); one kanji carries about as much as a
    # short English word.
    wide = len(text) - len(text.encode("ascii", "ignore"))
    return "ja" if wide and wide * 4 >= len(_LATIN.findall(text)) else "en"


class _Doc:
    """The folded text of one contract and what every field extractor shares."""

    def __init__(self, text: str) -> None:
        self.original = text
        folded = fold_width(text)
        self.lang = _language(folded.text)
        # Without a kana or a kanji, no Japanese pattern can match: they are not run.
        self.cjk = not folded.text.isascii() and bool(_CJK.search(folded.text))
        self.folded = unwrap_lines(folded) if self.lang == "ja" else folded
        self.t = self.folded.text
        self.dates = find_dates(self.t)
        self._date_starts = [d.start for d in self.dates]
        self._date_ends = [d.end for d in self.dates]
        sentence_end = _SENTENCE_END if self.lang == "ja" else _EN_SENTENCE_END
        bounds = [(m.start(), m.end()) for m in sentence_end.finditer(self.t)]
        self._bound_starts = [s for s, _ in bounds]
        self._bound_ends = [e for _, e in bounds]
        self.recitals = self._recitals()
        # Where the attestation clause stands (after it: signature blocks, then exhibits).
        signing = _EN_SIGNING.search(self.t, len(self.t) // 3)
        self.signing = signing.start() if signing else None

    def weight(self, lang: Language) -> float:
        return 1.0 if lang == self.lang else OTHER_LANGUAGE_WEIGHT

    def sentence(self, start: int, end: int | None = None) -> tuple[int, int]:
        """The bounds of the sentence around ``t[start:end]``."""
        end = start if end is None else end
        i = bisect.bisect_right(self._bound_ends, start)
        j = bisect.bisect_left(self._bound_starts, end)
        sentence_start = self._bound_ends[i - 1] if i else 0
        sentence_end = self._bound_starts[j] if j < len(self._bound_starts) else len(self.t)
        # Text without full stops (a table, a run-on PDF page) is no sentence: looking no further than a
        # long sentence's length keeps every search linear.
        return max(sentence_start, start - SENTENCE_REACH), min(sentence_end, end + SENTENCE_REACH)

    def date_after(self, pos: int, gap: re.Pattern[str], limit: int = 40) -> DateMatch | None:
        """The first date at or after ``pos`` when all that stands between is ``gap``."""
        i = bisect.bisect_left(self._date_starts, pos)
        if i < len(self.dates):
            found = self.dates[i]
            if found.start - pos <= limit and gap.fullmatch(self.t, pos, found.start):
                return found
        return None

    def dates_from(self, pos: int, limit: int) -> list[DateMatch]:
        i = bisect.bisect_left(self._date_starts, pos)
        j = bisect.bisect_right(self._date_starts, pos + limit)
        return self.dates[i:j]

    def _recitals(self) -> tuple[int, int]:
        """Where the recitals stand: from their heading (the last one before the operative words: a table of
        contents may list "Recitals" too) or their first WHEREAS, to the operative words."""
        close = _EN_RECITALS_END.search(self.t, 0, max(6000, len(self.t) // 2))
        if close is None:
            return 0, 0
        heading: int | None = None
        whereas: int | None = None
        for head in _EN_RECITALS_HEAD.finditer(self.t, max(0, close.start() - RECITALS_REACH), close.start()):
            if not head["whereas"]:
                heading, whereas = head.start(), None
            elif whereas is None:
                whereas = head.start()
        if heading is not None and (whereas is None or whereas - heading <= 300):
            # A table of contents' "Recitals" line stands before the preamble, and no recitals say "This
            # Agreement is made ...": then the recitals, if any, open at a WHEREAS after the preamble.
            opening = _EN_PREAMBLE_OPENING.search(self.t, heading, close.start())
            if opening is None:
                return heading, close.start()
            whereas = whereas if whereas is not None and whereas > opening.end() else None
        # A heading far before the first WHEREAS is a table of contents' line: the recitals open there.
        return (whereas, close.start()) if whereas is not None else (0, 0)

    def in_recitals(self, pos: int) -> bool:
        return self.recitals[0] <= pos < self.recitals[1]

    def after_signing(self, pos: int) -> bool:
        """Whether ``pos`` is past the attestation clause: in the signature blocks or an exhibit."""
        return self.signing is not None and pos > self.signing

    def cell_of(self, start: int, end: int) -> tuple[str, str, bool] | None:
        """What stands before and after ``t[start:end]`` in its cell of a line whose columns are set apart by
        wide gaps, and whether other cells share the line; None when the line runs on too far."""
        t = self.t
        line_start = t.rfind("\n", max(0, start - CELL_REACH - 1), start) + 1
        line_end = t.find("\n", end, end + CELL_REACH + 1)
        if (line_start == 0 and start > CELL_REACH) or (line_end < 0 and len(t) - end > CELL_REACH):
            return None
        before, after = t[line_start:start], t[end : len(t) if line_end < 0 else line_end]
        gaps_before = list(_COLUMN_GAP.finditer(before))
        gap_after = _COLUMN_GAP.search(after)
        cell_before = before[gaps_before[-1].end() :] if gaps_before else before
        cell_after = after[: gap_after.start()] if gap_after else after
        shared = bool(
            (gaps_before and before[: gaps_before[-1].start()].strip())
            or (gap_after and after[gap_after.end() :].strip())
        )
        return cell_before, cell_after, shared

    def evidence(self, field: FieldName, hit: _Hit[object]) -> Evidence:
        start, end = self.folded.span(hit.start, hit.end)
        end = min(end, start + 500)
        confidence = round(min(max(hit.confidence, 0.0), 1.0), 2)
        return Evidence(
            field=field, text=self.original[start:end], start=start, end=end, confidence=confidence
        )


# ------------------------------------------------------------------------------------ contract date

_JA_DATE_LABEL = re.compile(r"契約締結日|締結日|契約日|契約年月日|締結年月日|作成日|契約成立日|調印日|署名日")
_JA_LABEL_GAP = re.compile(r"[ \t:は、]*\n?[ \t]*")
_JA_ATTEST = re.compile(r"証(?:として|するため|する為|とするため|すべく)")
_LINE_LABEL = re.compile(
    r"[ \t]*(?:(?:日付|作成日|締結日|契約日|date|dated|date\s+signed|signed\s+on|execution\s+date)"
    r"[ \t]*:?[ \t]*)?",
    re.I,
)
_LINE_REST = re.compile(r"[ \t]*(?:\([月火水木金土日]\))?[ \t]*")
_EN_MADE = re.compile(r"(?=[EeMmDd])\b(?:entered\s+into|made|dated|executed|effective)\b", re.I)
_EN_MADE_GAP = re.compile(r"[\s,]*(?:(?:and|is|are|effective|as|of|on|this|the|at)\b[\s,]*){0,5}", re.I)
_EN_EFFECTIVE_LABEL = re.compile(
    r"[ \t,]*\(\s*(?:hereinafter\s+)?(?:referred\s+to\s+as\s+)?(?:the|this)?\s*"
    r'"?(?:Effective|Commencement)\s+Date"?\s*\)',
    re.I,
)
_EN_EFFECTIVE_MEANS = re.compile(
    r'(?=["EeCc])"?(?:Effective|Commencement)\s+Date"?\s*(?:means|shall\s+mean|is|:)', re.I
)
_EN_ANY_GAP = re.compile(r"[\s,]*")
_EN_RECITALS = re.compile(r"\bwhereas\b|\brecitals?\b|\bpreviously\b|\bprior\b", re.I)
_EN_WITNESS = re.compile(r"IN\s+WITNESS\s+WHEREOF|EXECUTED\s+BY|SIGNATURES?\b", re.I)
# "IN WITNESS WHEREOF, the Parties have executed this Agreement on June 18, 2025": the signing, in words.
_EN_WITNESS_CLAUSE = re.compile(r"(?=[Ii])IN\s+WITNESS\s+WHEREOF\b", re.I)
_EN_WITNESS_SIGNED = re.compile(r"\b(?:executed|signed|entered\s+into|made)\b", re.I)
_EN_WITNESS_ON = re.compile(r"\b(?:on|as\s+of|dated)\s+(?:this\s+|the\s+)?$", re.I)
# "entered into as of the date of the last signature below", "effective on the date on which it has been
# signed by the last of the Parties", "effective upon execution by both parties": the last signature's date.
_EN_LAST_SIGNED = re.compile(
    r"(?=[LlSsEe])(?:\b(?:last|latest|later)\b[^.;()]{0,40}?\b(?:sign|signature|execut)\w*"
    r"|\b(?:signature|execution|signed|executed)\s+(?:hereof\s+|hereto\s+|below\s+)?(?:by|of)\s+(?:both|all)"
    r"\s+(?:of\s+)?(?:the\s+)?(?:parties|Parties|signatories)\b)",
    re.I,
)
# "amends the Supply Agreement dated March 1, 2020": another agreement's date, not this one's.
_EN_OTHER_AGREEMENT = re.compile(
    r"\b(?i:the|that|a|an|certain|said)\s+(?:[A-Z][\w&,.-]*\s+){0,6}"
    r"(?i:agreement|contract|lease|licen[cs]e|amendment|plan|note|indenture|order)\s*,?\s*(?:\([^()]{0,60}\)\s*,?\s*)?$"
)
_EN_DATE_DEFINED = re.compile(r"Effective\s+Date|\b(?:entered\s+into|made|dated|effective)\b")
_EN_NOT_DEFINING = re.compile(r"\bamend|\bmodif|\bwaive|\bcounterpart|\bnotice", re.I)
# 「甲と乙は、令和5年12月1日（付で）、次のとおり契約を締結する。」: the date the preamble says the contract is
# made; not 「令和2年4月1日に締結した基本契約に基づき」, a contract made before.
_JA_CONCLUDES = re.compile(
    r"(?:[^。締]|。(?=[)」』])|締(?!結)){0,80}?締結(?:する|いたす|いたし|し[、,]|した(?=[ \t]*。))"
)
_JA_MADE_BEFORE = re.compile(r"[ \t]*(?:に|付け?で?)?[ \t]*(?:締結|調印|合意)(?:した|された|済み?の?)")
_JA_NOT_CONCLUSION = re.compile(r"[ \t]*(?:から|より|まで|迄|以降)")
_JA_FIRST_ARTICLE = re.compile(r"第[ \t]*(?:1|一)[ \t]*条")


_TERM_DATE_AFTER = re.compile(r"\s*(?:から|より|まで|迄|~|〜|-|至|\s(?:to|until|through)\b)", re.I)
_TERM_DATE_BEFORE = re.compile(
    r"(?:\bfrom|\buntil|\bthrough|\bcommenc\w*\s+on|\bexpir\w*\s+on|\bend\w*\s+on|\bbegin\w*\s+on|自)\s*$",
    re.I,
)


def _contract_dates(doc: _Doc) -> tuple[_Hit[date] | None, _Hit[date] | None]:
    """The contract date and the effective date (the contract date unless one is defined)."""
    t = doc.t
    hits: list[_Hit[date]] = []
    effective: list[_Hit[date]] = []
    ja, en = doc.weight("ja"), doc.weight("en")

    if doc.cjk:
        for m in _JA_DATE_LABEL.finditer(t):
            found = doc.date_after(m.end(), _JA_LABEL_GAP, limit=8)
            if found:
                hits.append(_Hit(found.value, m.start(), found.end, 0.9 * ja))
        for m in _JA_ATTEST.finditer(t):
            for found in doc.dates_from(m.end(), 250)[:1]:
                hits.append(_Hit(found.value, found.start, found.end, 0.85 * ja))
        first_article = _JA_FIRST_ARTICLE.search(t)
        preamble_ja = first_article.start() if first_article else min(len(t), 600)
        for found in doc.dates:
            if found.start >= preamble_ja:
                break
            if not _JA_NOT_CONCLUSION.match(t, found.end) and _JA_CONCLUDES.match(t, found.end):
                hits.append(_Hit(found.value, found.start, found.end, 0.85 * ja))

    preamble_end = _preamble_end(t)
    first_made = True
    for m in _EN_MADE.finditer(t, 0, preamble_end):
        found = doc.date_after(m.end(), _EN_MADE_GAP, limit=40)
        if not found:
            continue
        sentence_start, _ = doc.sentence(m.start())
        if doc.in_recitals(m.start()) or _EN_RECITALS.search(t, sentence_start, m.start()):
            continue
        if _EN_OTHER_AGREEMENT.search(t, max(sentence_start, m.start() - 100), m.start()):
            continue
        confidence = 0.8 if m.group().lower() == "effective" else (0.9 if first_made else 0.75)
        first_made = False
        hits.append(_Hit(found.value, m.start(), found.end, confidence * en))
    for found in doc.dates:
        label = _EN_EFFECTIVE_LABEL.match(t, found.end)
        if label:
            effective.append(_Hit(found.value, found.start, label.end(), 0.85 * en))
    for m in _EN_EFFECTIVE_MEANS.finditer(t):
        found = doc.date_after(m.end(), _EN_ANY_GAP, limit=4)
        if found:
            effective.append(_Hit(found.value, m.start(), found.end, 0.85 * en))
    hits.extend(_Hit(h.value, h.start, h.end, h.confidence - 0.05) for h in effective)

    for m in _EN_WITNESS_CLAUSE.finditer(t):
        sentence_start, sentence_end = doc.sentence(m.start())
        for found in doc.dates_from(m.end(), min(250, sentence_end - m.end()))[:1]:
            verb = _EN_WITNESS_SIGNED.search(t, m.end(), found.start)
            if verb and _EN_WITNESS_ON.search(t, max(verb.end(), found.start - 20), found.start):
                # Below a date the preamble gives: that one is written where the contract is named.
                hits.append(_Hit(found.value, m.start(), found.end, 0.85 * en))

    witness = _EN_WITNESS.search(t)
    standalone: list[DateMatch] = []
    for found in doc.dates:
        cell = doc.cell_of(found.start, found.end)
        if cell is None:
            continue
        before, after, shared = cell
        # Beside another column, only a labelled date ("Date: …") is a signature's.
        if _LINE_LABEL.fullmatch(before) and _LINE_REST.fullmatch(after) and (before.strip() or not shared):
            standalone.append(found)
    if standalone:
        if doc.lang == "en":
            # Each party may date its signature; the contract is made when the last one signs.
            signed = [d for d in standalone if witness is None or d.start > witness.start()] or standalone
            last = max(signed, key=lambda d: (d.value, d.start))
            hits.append(_Hit(last.value, last.start, last.end, 0.7))
            for m in _EN_LAST_SIGNED.finditer(t):
                sentence_start, sentence_end = doc.sentence(m.start())
                if (
                    m.start() < last.start
                    and _EN_DATE_DEFINED.search(t, sentence_start, sentence_end)
                    and not _EN_NOT_DEFINING.search(t, sentence_start, sentence_end)
                ):
                    # The contract defines its date as the last signature's: that date, as surely as a
                    # date written in the preamble.
                    signed_hit = _Hit(last.value, last.start, last.end, 0.9 * en)
                    hits.append(signed_hit)
                    effective.append(signed_hit)
                    break
        else:
            last = standalone[-1]
            late = last.start >= len(t) * 0.6
            hits.append(_Hit(last.value, last.start, last.end, 0.7 if late else 0.6))

    if not hits and len({d.value for d in doc.dates}) == 1:
        only = doc.dates[0]
        sentence_start, _ = doc.sentence(only.start)
        in_recitals = (
            _EN_RECITALS.search(t, sentence_start, only.start)
            or doc.in_recitals(only.start)
            or _JA_MADE_BEFORE.match(t, only.end)  # 「令和2年4月1日に締結した基本契約」
            or _EN_OTHER_AGREEMENT.search(t, max(sentence_start, only.start - 110), only.start)
        )
        # A lone date that opens or closes a term is the term's, not the signing's.
        in_term = _TERM_DATE_AFTER.match(t, only.end) or _TERM_DATE_BEFORE.search(
            t, max(sentence_start, only.start - 30), only.start
        )
        if not in_recitals and not in_term:
            hits.append(_Hit(only.value, only.start, only.end, 0.45))
    contract = _best(hits)
    return contract, (_best(effective) or contract)


# ------------------------------------------------------------------------------------------- term


@dataclass(frozen=True)
class _Term:
    """A candidate for the contract's term."""

    start: _Hit[date] | None
    end: _Hit[date] | None
    rank: float
    """How surely this clause states the contract's term (the hits say how sure their dates are)."""
    position: int
    complete: bool = False
    """The term as the contract states it, even with a half missing: nothing to add from elsewhere."""
    implied_start: _Hit[date] | None = None
    """The start to take when no clause states one ("This Agreement shall remain in effect until …" runs
    from the effective date)."""


_JA_TERM_STRONG = re.compile(
    r"契約期間|有効期間|存続期間|本契約の期間|委託期間|賃貸借期間|許諾期間|ライセンス期間|実施期間|派遣期間|利用期間"
    r"|使用期間|工[ \t]*期"
)
_JA_TERM_WEAK = re.compile(r"期間")
_JA_RANGE_GAP = re.compile(
    r"[ \t]*(?:から|より|~|〜|-|ー|至)[ \t]*(?:起算して)?[ \t、,]*(?:至[ \t]*)?"
    r"|\s*(?:至|完成|竣工|完了|終了|満了)(?:日|予定日|期限)?[ \t:]*"
)
_JA_UNTIL = re.compile(r"[ \t]*(?:まで|迄)(?!に)")
_JA_FROM = re.compile(r"[ \t]*(?:から|より)[ \t]*(?:起算して)?[ \t、,]*満?")
_JA_DURATION = re.compile(JA_DURATION_PATTERN)
_JA_CONTRACT_DAY_FROM = re.compile(
    r"(?:本契約|本書)?の?(?:契約)?(?:締結日|締結の日|契約日|効力発生日|締結時)(?:当日)?[ \t]*(?:から|より)"
    r"[ \t]*(?:起算して)?[ \t、,]*満?"
)
_JA_TERM_IS_DURATION = re.compile(
    r"(?:契約期間|有効期間|存続期間|本契約の期間)(?:は|を)[、,]?[ \t]*満?"
    rf"(?P<dur>{JA_DURATION_PATTERN})(?!前)"
)
_BLANKS = re.compile(r"[ \t]*")
_JA_TAKES_EFFECT = re.compile(r"[ \t]*(?:から|より)[ \t、,]*(?:効力を(?:生|有|発)|発効|施行|適用|開始)")

_EN_TERM_WORD = re.compile(r"\bterm\b|commenc|\beffective\b|\bperiod\b|\bbegin|\bstart|\bremain\s+in", re.I)
_EN_THIS_CONTRACT = r"this\s+(?:agreement|lease|contract|licen[cs]e)"
# "until 11:59 p.m. Pacific Time on December 31, 2026", "through 5:00 p.m. (EST) on ...".
_EN_TIME_OF_DAY = (
    r"(?:(?:[0-9]{1,2}(?::[0-9]{2})?\s*[ap]\.?\s?m\.?|midnight|noon|the\s+close\s+of\s+business)"
    r"(?:\s*\(?[A-Z][A-Za-z.]*(?:\s+[A-Z][A-Za-z.]*){0,2}\)?)?,?\s+(?:on\s+)?)"
)
_EN_RANGE_GAP = re.compile(
    r"[\s,]*(?:\([^()]{1,60}\)[\s,]*)?(?:"
    r"(?:and\s+)?(?:(?:shall|will)\s+)?(?:continue|remain)(?:\s+in\s+(?:full\s+force\s+and\s+)?(?:effect|force))?\s+"
    r"(?:until|through|to)"
    r"|(?:and\s+)?(?:(?:shall|will)\s+)?(?:end|ending|expire|expiring|terminate|terminating)\s+on"
    r"|until|through|thru|to|up\s+to\s+and\s+including|-"
    rf")\s*(?:and\s+including\s+)?{_EN_TIME_OF_DAY}?",
    re.I,
)
_EN_TERM_DURATION = re.compile(
    rf"(?=[IiTtPpRrCcBbEe])\b(?:(?:initial\s+)?term(?:\s+of\s+{_EN_THIS_CONTRACT})?(?:\s*\([^()]{{1,40}}\))?\s+(?:of|shall\s+be|is|will\s+be)"
    r"|period\s+of"
    r"|(?:remain|continue)\s+in\s+(?:full\s+force\s+and\s+)?(?:effect|force)\s+for|continue\s+for"
    r"|be\s+(?:effective|in\s+force)\s+for"
    r"|(?P<expires>(?:expir(?:es|e|ing)|end(?:s|ing)?|terminat(?:es|e|ing))"
    r"(?:\s+on\s+the\s+(?:date|day)(?:\s+(?:that|which)\s+is)?)?))"
    rf"\s+(?:an?\s+(?:(?:fixed|initial|original)\s+)?(?:term|period)\s+of\s+)?(?P<dur>{EN_DURATION_PATTERN})",
    re.I,
)
# "one (1) additional term of ten (10) years", "each Renewal Period of twelve (12) months": not the term.
_EN_RENEWAL_TERM = re.compile(
    r"\b(?:additional|renewal|renewed|successive|extension|extended|successor|further|subsequent|consecutive)"
    r"\s+(?:initial\s+)?$",
    re.I,
)
# "commence on the Service Commencement Date", "beginning on the Launch Date": the term starts on a date
# the contract names; "from the Effective Date" after a duration.
_DATE_NAME = r"(?P<name>(?:[A-Z][\w-]*\s+){0,4}Date)\b"
_EN_COMMENCES_ON = re.compile(
    r"(?=[CcBbSs])(?i:\b(?:commenc|begin|beginning|start)\w*\s+(?:on|as\s+of|from|with|upon)\s+(?:and\s+including\s+)?)"
    rf"the\s+{_DATE_NAME}"
)
_EN_DATE_NAME = re.compile(_DATE_NAME)
# A date the contract names: 'March 1, 2024 (the "Launch Date")', '"Launch Date" means March 1, 2024'.
_EN_DATE_LABEL = re.compile(
    r'[ \t,]*\(\s*(?:hereinafter\s+)?(?:referred\s+to\s+as\s+)?(?:the|this)?\s*"'
    r'(?P<name>(?:[A-Z][\w-]*\s+){0,4}Date)"\s*\)'
)
_EN_DATE_MEANS = re.compile(r'"(?P<name>(?:[A-Z][\w-]*\s+){0,4}Date)"\s*(?:means|shall\s+mean|is|:)\s*')
_EN_EFFECTIVE_NAMES = frozenset({"effective date", "commencement date"})
# "This Agreement shall commence on the Effective Date and remain in effect until terminated": a start,
# whatever the end.
_EN_TERM_COMMENCES = re.compile(
    r"(?=[TtIi])(?:\b(?:the\s+)?(?:initial\s+)?term(?:\s+of\s+this\s+agreement)?|\bthis\s+agreement)"
    r"(?:\s*\([^()]{1,40}\))?\s+(?:shall|will)\s+(?:commence|begin|start|become\s+effective)\s+"
    r"(?:on|as\s+of|upon)\s+the\s+(?:Effective|Commencement)\s+Date",
    re.I,
)
# "ending on the date that is three (3) years thereafter": counted from the start the sentence named.
_EN_THEREAFTER = re.compile(r"\s*(?:thereafter|after\s+(?:such|that)\s+date|later)\b", re.I)
# "shall expire on the fifth (5th) anniversary of the Effective Date": that anniversary is the last day.
_EN_ANNIVERSARY = re.compile(
    r"(?=[EeTtUuCc])(?i:\b(?:expir\w*|end\w*|terminat\w*|until|through|continu\w*\s+(?:until|through))\s+(?:on\s+)?"
    rf"(?:the\s+)?(?:date\s+of\s+the\s+)?(?P<ord>{EN_ORDINAL_PATTERN})"
    r"(?:\s*\(\s*[0-9]{1,2}(?:st|nd|rd|th)?\s*\))?\s+anniversary\s+of\s+)the\s+" + _DATE_NAME
)
_EN_TERM_TAIL = re.compile(
    r"\s*,?\s*(?:commencing|beginning|starting|from|after|following|as\s+of)(?:\s+(?:on|from|with))?\s+"
    r"(?:and\s+including\s+)?(?:the\s+)?",
    re.I,
)
_EN_CONTRACT_ANCHOR = re.compile(
    r"date\s+(?:hereof|of\s+(?:this|the)\s+Agreement|of\s+execution)|execution\s+(?:date|of\s+this)", re.I
)
_EN_SURVIVAL = re.compile(
    r"surviv|after\s+(?:the\s+)?(?:termination|expiration|expiry)|following\s+(?:the\s+)?"
    r"(?:termination|expiration|expiry|disclosure)|from\s+the\s+date\s+of\s+disclosure",
    re.I,
)
_EN_AGREEMENT = re.compile(rf"\b{_EN_THIS_CONTRACT}\b|\bterm\b", re.I)
_EN_ENDS_ON = re.compile(
    r"(?:expire[sd]?|expiring|terminate[sd]?|terminating|end[sd]?|ending|until|through)\s+(?:on\s+)?"
    rf"(?:and\s+including\s+)?{_EN_TIME_OF_DAY}?$",
    re.I,
)
_EN_BEGINS_ON = re.compile(
    r"(?:commence[sd]?|commencing|begin(?:s|ning)?|start(?:s|ing)?)\s+(?:on\s+|as\s+of\s+|from\s+)?$", re.I
)
_EN_BEGINS_AT_EFFECTIVE = re.compile(
    r"(?:(?:commence[sd]?|commencing|begin(?:s|ning)?|start(?:s|ing)?)\s+(?:on|as\s+of|from)|\bfrom)\s+the\s+"
    r"(?:Effective|Commencement)\s+Date",
    re.I,
)


# A labelled row of a cover sheet or an order form: "Subscription Start Date:", "Term End Date:", "Expiration
# Date:", with the date the only thing on its line after the label.
_EN_TERM_ROW = re.compile(
    r"[ \t]*(?P<label>(?:(?:Initial|Subscription|Service|Contract|Agreement|Lease|License|Term)[ \t]+){0,2}"
    r"(?:(?:Term[ \t]+)?(?:Start|Commencement|Begin)(?:[ \t]+Date)?"
    r"|(?:Term[ \t]+)?(?P<end>End|Expiration|Expiry|Termination)(?:[ \t]+Date)?))[ \t]*:[ \t]*"
)


def _pair(first: DateMatch, second: DateMatch, confidence: float) -> _Term:
    return _Term(
        _Hit(first.value, first.start, first.end, confidence),
        _Hit(second.value, second.start, second.end, confidence),
        confidence,
        first.start,
    )


def _derived(anchor: _Hit[date], duration: Duration, start: int, end: int, cap: float) -> _Term | None:
    """A term that starts on ``anchor``'s date and lasts ``duration`` (the clause is ``t[start:end]``)."""
    if duration.business:
        return None
    last_day = period_end(anchor.value, duration)
    if last_day is None:
        return None
    confidence = min(anchor.confidence, cap)
    return _Term(
        _Hit(anchor.value, start, end, confidence), _Hit(last_day, start, end, confidence), cap, start
    )


def _ja_terms(doc: _Doc, contract: _Hit[date] | None) -> list[_Term]:
    t, weight = doc.t, doc.weight("ja")
    if not doc.cjk:
        return []
    terms: list[_Term] = []
    paired: set[int] = set()

    def term_word(pos: int) -> float:
        """How surely the sentence before ``pos`` speaks of the contract's term (0 when it does not)."""
        sentence_start, _ = doc.sentence(pos)
        window = max(sentence_start, pos - 80), pos
        if _JA_TERM_STRONG.search(t, *window):
            return 0.9
        return 0.75 if _JA_TERM_WEAK.search(t, *window) else 0.0

    for first, second in zip(doc.dates, doc.dates[1:], strict=False):
        if second.start - first.end <= 40 and _JA_RANGE_GAP.fullmatch(t, first.end, second.start):
            paired.update((first.start, second.start))
            terms.append(_pair(first, second, (term_word(first.start) or 0.65) * weight))
    for found in doc.dates:
        gap = _JA_FROM.match(t, found.end)
        if gap is None:
            continue
        span = _JA_DURATION.match(t, gap.end())
        duration = parse_duration(span.group()) if span else None
        if span and duration:
            cap = min(term_word(found.start) or 0.6, 0.85) * weight
            term = _derived(
                _Hit(found.value, found.start, found.end, 1.0), duration, found.start, span.end(), cap
            )
            if term:
                terms.append(
                    _Term(_Hit(found.value, found.start, found.end, cap), term.end, cap, found.start)
                )
        elif _JA_TAKES_EFFECT.match(t, found.end) and found.start not in paired:
            confidence = 0.75 * weight
            terms.append(
                _Term(_Hit(found.value, found.start, found.end, confidence), None, confidence, found.start)
            )
    for m in _JA_CONTRACT_DAY_FROM.finditer(t):
        if contract is None:
            break
        span = _JA_DURATION.match(t, m.end())
        duration = parse_duration(span.group()) if span else None
        if span and duration:
            term = _derived(contract, duration, m.start(), span.end(), 0.85 * weight)
            if term:
                terms.append(term)
            continue
        confidence = min(contract.confidence, 0.85) * weight
        until = doc.date_after(m.end(), _BLANKS, limit=3)
        if until and _JA_UNTIL.match(t, until.end):
            paired.add(until.start)
            terms.append(
                _Term(
                    _Hit(contract.value, m.start(), until.end, confidence),
                    _Hit(until.value, until.start, until.end, confidence),
                    confidence,
                    m.start(),
                )
            )
        elif term_word(m.start()) >= 0.9:
            # 「本契約締結日から本件業務の検収完了日までとする」: a known start and an end that is no date.
            terms.append(
                _Term(
                    _Hit(contract.value, m.start(), m.end(), confidence), None, 0.85 * weight, m.start(), True
                )
            )
    for m in _JA_TERM_IS_DURATION.finditer(t):
        duration = parse_duration(m["dur"])
        if contract is not None and duration is not None:
            # 「本契約の有効期間は1年間とする」 counts from the day the contract is made.
            term = _derived(contract, duration, m.start(), m.end(), 0.7 * weight)
            if term:
                terms.append(term)
    for found in doc.dates:
        if found.start in paired or not _JA_UNTIL.match(t, found.end) or not term_word(found.start):
            continue
        confidence = 0.75 * weight
        start = None
        if contract is not None:
            # 「有効期間は2025年3月31日までとする」 runs from the day the contract is made.
            start = _Hit(contract.value, found.start, found.end, min(contract.confidence, 0.6) * weight)
        terms.append(
            _Term(start, _Hit(found.value, found.start, found.end, confidence), confidence, found.start)
        )
    return terms


def _anniversary(day: date, years: int) -> date:
    """The ``years``-th anniversary of ``day`` (February 29 falls on February 28)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def _defined_dates(doc: _Doc) -> dict[str, DateMatch]:
    """The dates the contract names ("Launch Date", "Service Commencement Date"), by lower-cased name."""
    t = doc.t
    named: dict[str, DateMatch] = {}
    for found in doc.dates:
        label = _EN_DATE_LABEL.match(t, found.end)
        if label:
            named.setdefault(" ".join(label["name"].lower().split()), found)
    for m in _EN_DATE_MEANS.finditer(t):
        meant = doc.date_after(m.end(), _EN_ANY_GAP, limit=4)
        if meant:
            named.setdefault(" ".join(m["name"].lower().split()), meant)
    return named


def _named_date(
    name: str, named: dict[str, DateMatch], effective: _Hit[date] | None
) -> tuple[bool, _Hit[date] | None]:
    """(whether ``name`` is a date the contract names, and its hit when the date is known)."""
    key = " ".join(name.lower().split())
    if key in named and key != "effective date":
        found = named[key]
        return True, _Hit(found.value, found.start, found.end, 0.85)
    if key in _EN_EFFECTIVE_NAMES:
        return True, effective
    # "the Launch Date", defined as an event: a start that is no known date. Other words ending in "Date"
    # ("the Termination Date") are not a start.
    return key.endswith(("launch date", "go-live date", "commencement date", "start date")), None


def _en_terms(doc: _Doc, contract: _Hit[date] | None, effective: _Hit[date] | None) -> list[_Term]:
    t, weight = doc.t, doc.weight("en")
    terms: list[_Term] = []
    paired: set[int] = set()
    named = _defined_dates(doc)

    def placed(confidence: float, pos: int) -> float:
        # A date range in an exhibit after the signatures (a fee schedule, a price list) is seldom the term.
        return confidence * (0.7 if doc.after_signing(pos) else 1.0)

    def commencement(sentence_start: int, pos: int) -> tuple[bool, _Hit[date] | None]:
        """The start the sentence before ``pos`` names ("shall commence on the Launch Date"), if any."""
        begins = None
        for begins in _EN_COMMENCES_ON.finditer(t, sentence_start, pos):  # noqa: B007 (the last one)
            pass
        if begins is None:
            return False, None
        known, hit = _named_date(begins["name"], named, effective)
        if not known:
            return False, None
        if hit is not None:
            hit = _Hit(hit.value, begins.start(), begins.end(), hit.confidence)
        return True, hit

    for first, second in zip(doc.dates, doc.dates[1:], strict=False):
        if doc.in_recitals(first.start):
            continue
        if second.start - first.end <= 90 and _EN_RANGE_GAP.fullmatch(t, first.end, second.start):
            sentence_start, _ = doc.sentence(first.start)
            near = _EN_TERM_WORD.search(t, max(sentence_start, first.start - 120), first.start)
            paired.update((first.start, second.start))
            terms.append(_pair(first, second, placed((0.9 if near else 0.65) * weight, first.start)))

    for m in _EN_TERM_DURATION.finditer(t):
        duration = parse_duration(m["dur"])
        if duration is None or doc.in_recitals(m.start()):
            continue
        if _EN_RENEWAL_TERM.search(t, max(0, m.start() - 30), m.start()):
            continue  # a renewal term's length, not the initial term's
        sentence_start, sentence_end = doc.sentence(m.start())
        tail = _EN_TERM_TAIL.match(t, m.end())
        anchor: _Hit[date] | None = None
        clause_end, cap = m.end(), 0.85
        found = doc.date_after(tail.end(), _EN_ANY_GAP, limit=4) if tail else None
        date_words = _EN_DATE_NAME.match(t, tail.end()) if tail else None
        contract_words = _EN_CONTRACT_ANCHOR.match(t, tail.end()) if tail else None
        if found:
            anchor, clause_end = _Hit(found.value, found.start, found.end, 1.0), found.end
        elif date_words and _named_date(date_words["name"], named, effective)[0]:
            anchor, clause_end = _named_date(date_words["name"], named, effective)[1], date_words.end()
        elif contract_words:
            anchor, clause_end = contract, contract_words.end()
        elif m["expires"]:
            if not _EN_THEREAFTER.match(t, m.end()):
                continue  # "may terminate 30 days after notice": no term
            anchor = commencement(sentence_start, m.start())[1]
        elif _EN_SURVIVAL.search(t, sentence_start, sentence_end) or not _EN_AGREEMENT.search(
            t, sentence_start, sentence_end
        ):
            continue  # "three years after termination": a survival period, not the term
        else:
            # "shall commence on the date hereof and continue for six (6) months"
            hereof = _EN_CONTRACT_ANCHOR.search(t, sentence_start, m.start())
            named_start, named_hit = commencement(sentence_start, m.start())
            # "shall commence on 1 July 2025 and shall continue for an initial period of two years"
            begun = [
                d
                for d in doc.dates_from(sentence_start, m.start() - sentence_start)
                if d.end <= m.start() and _EN_BEGINS_ON.search(t, max(sentence_start, d.start - 40), d.start)
            ]
            if begun:
                anchor = _Hit(begun[-1].value, begun[-1].start, begun[-1].end, 1.0)
            elif hereof:
                anchor, cap = contract, 0.75
            elif named_start:
                # "shall commence on the Effective Date and ... remain in effect for three (3) years"
                anchor = named_hit
            else:
                anchor, cap = effective, 0.75
        if anchor is None:
            continue
        term = _derived(anchor, duration, m.start(), clause_end, placed(cap * weight, m.start()))
        if term:
            terms.append(term)

    for m in _EN_TERM_COMMENCES.finditer(t):
        if effective is not None and not doc.in_recitals(m.start()):
            confidence = placed(min(effective.confidence, 0.6) * weight, m.start())
            terms.append(
                _Term(_Hit(effective.value, m.start(), m.end(), confidence), None, confidence, m.start())
            )

    for m in _EN_ANNIVERSARY.finditer(t):
        years = english_ordinal(m["ord"])
        known, anchor = _named_date(m["name"], named, effective)
        if not years or not known or anchor is None or doc.in_recitals(m.start()):
            continue
        last_day = _anniversary(anchor.value, years)
        confidence = placed(min(anchor.confidence, 0.85) * weight, m.start())
        terms.append(
            _Term(
                _Hit(anchor.value, m.start(), m.end(), confidence),
                _Hit(last_day, m.start(), m.end(), confidence),
                0.85 * weight,
                m.start(),
            )
        )

    for found in doc.dates:
        if found.start in paired or doc.in_recitals(found.start):
            continue
        line_start = t.rfind("\n", max(0, found.start - 60), found.start) + 1
        row = _EN_TERM_ROW.fullmatch(t, line_start, found.start)
        if row and (line_start > 0 or found.start <= 60):
            # "Subscription Start Date: July 1, 2025" / "Expiration Date: June 30, 2026" on an order form.
            confidence = placed(0.8 * weight, found.start)
            hit = _Hit(found.value, row.start("label"), found.end, confidence)
            if row["end"]:
                terms.append(_Term(None, hit, confidence, found.start))
            else:
                terms.append(_Term(hit, None, confidence, found.start))
            continue
        sentence_start, sentence_end = doc.sentence(found.start)
        before = t[max(sentence_start, found.start - 60) : found.start]
        if not _EN_AGREEMENT.search(t, sentence_start, sentence_end) or _EN_RECITALS.search(
            t, sentence_start, found.start
        ):
            continue
        confidence = placed(0.75 * weight, found.start)
        hit = _Hit(found.value, found.start, found.end, confidence)
        if _EN_ENDS_ON.search(before):
            start: _Hit[date] | None = None
            named_start, named_hit = commencement(sentence_start, found.start)
            implied = None
            if named_hit is not None:
                start = _Hit(
                    named_hit.value, named_hit.start, named_hit.end, min(named_hit.confidence, confidence)
                )
            elif not named_start:
                begins = _EN_BEGINS_AT_EFFECTIVE.search(t, sentence_start, found.start)
                if begins and effective is not None:
                    start = _Hit(
                        effective.value, begins.start(), begins.end(), min(effective.confidence, confidence)
                    )
                elif effective is not None:
                    # "shall remain in effect until December 31, 2025": the term runs from the Effective Date.
                    implied = _Hit(effective.value, found.start, found.end, min(effective.confidence, 0.6))
            terms.append(_Term(start, hit, confidence, found.start, implied_start=implied))
        elif _EN_BEGINS_ON.search(before):
            terms.append(_Term(hit, None, confidence, found.start))
    return terms


def _term(
    doc: _Doc, contract: _Hit[date] | None, effective: _Hit[date] | None
) -> tuple[_Hit[date] | None, _Hit[date] | None]:
    terms = _ja_terms(doc, contract) + _en_terms(doc, contract, effective)
    if not terms:
        return None, None
    terms.sort(key=lambda term: (-term.rank, term.position))
    best = terms[0]
    start, end = best.start, best.end
    if not best.complete:
        # A start and an end may be written in two sentences ("commences on …" / "expires on …"); a pair
        # found elsewhere (a delivery schedule) is not the other half of this term.
        halves = [term for term in terms if (term.start is None) != (term.end is None)]
        if start is None:
            start = next((term.start for term in halves if term.start is not None), None)
        if end is None:
            end = next((term.end for term in halves if term.end is not None), None)
        if start is None and end is not None:
            start = best.implied_start
    if start is not None and end is not None and end.value < start.value:
        return (start, None) if start.confidence >= end.confidence else (None, end)
    return start, end


# ---------------------------------------------------------------------------------------- parties

_JA_FORMS = (
    r"株式会社|有限会社|合同会社|合名会社|合資会社|一般社団法人|一般財団法人|公益社団法人|公益財団法人"
    r"|特定非営利活動法人|NPO法人|社会医療法人|医療法人(?:社団|財団)?|学校法人|社会福祉法人|宗教法人"
    r"|地方独立行政法人|独立行政法人|国立大学法人|公立大学法人|弁護士法人|税理士法人|監査法人|司法書士法人"
    r"|行政書士法人|社会保険労務士法人|弁理士法人|農業協同組合|事業協同組合|協同組合|有限責任事業組合"
    r"|投資事業有限責任組合"
)
_JA_FORM_ABBR = r"\((?:株|有|同|合|資|名|社|財|一社|一財|公社|公財|特非|医|学|福|宗)\)"
_JA_LEGAL_FORM = re.compile(rf"{_JA_FORMS}|{_JA_FORM_ABBR}")
_JA_NAME_CHAR = r"[^\s()「」『』。、,:;]"
_JA_NAME_TAIL = re.compile(
    rf"(?:{_JA_FORM_ABBR}|{_JA_NAME_CHAR})(?:{_JA_FORM_ABBR}|{_JA_NAME_CHAR}|[ \t]+)*?[ \t]*$"
)
_JA_DEFINED_AS = re.compile(
    r"\([ \t]*以下[、,]?[ \t]*(?:単に)?[ \t]*[「『\"]?(?P<label>[^」』\"()\n]{1,20}?)[」』\"]?[ \t]*"
    r"(?:と(?:いう|いい|称する|称し|呼ぶ|略す|する))"
    r"|\([ \t]*(?P<short>甲|乙|丙|丁)[ \t]*\)"
)
_JA_PARTY_LABELS = frozenset(
    [
        "甲",
        "乙",
        "丙",
        "丁",
        "戊",
        "甲社",
        "乙社",
        "丙社",
        "委託者",
        "受託者",
        "発注者",
        "受注者",
        "売主",
        "買主",
        "貸主",
        "借主",
        "賃貸人",
        "賃借人",
        "譲渡人",
        "譲受人",
        "開示者",
        "受領者",
        "開示当事者",
        "受領当事者",
        "ライセンサー",
        "ライセンシー",
        "許諾者",
        "被許諾者",
        "実施権者",
        "使用者",
        "販売店",
        "代理店",
        "供給者",
        "購入者",
        "委任者",
        "受任者",
        "注文者",
        "請負人",
        "当社",
        "貴社",
        "会社",
        "本人",
        "A社",
        "B社",
        "C社",
    ]
)
_JA_ROLE_LIKE = re.compile(
    r"(?:者|人|主|側|社|方)$|当事者|一方|他方|相手方|代表|取締役|社長|会長|理事長|弁護士|税理士|司法書士|行政書士"
    r"|社会保険労務士|公認会計士|弁理士|土地家屋調査士|不動産鑑定士|中小企業診断士|医師|薬剤師"
)
_JA_CONNECTOR = re.compile(r"^(?:及び|および|並びに|ならびに)")
# 「委託者（株）ライトハウス」: the role written against the name is no part of it.
_JA_ROLE_PREFIX = re.compile(
    r"^(?:委託者|受託者|発注者|受注者|売主|買主|貸主|借主|賃貸人|賃借人|譲渡人|譲受人|開示者|受領者|許諾者"
    r"|被許諾者|委任者|受任者|注文者|請負人|供給者|購入者|ライセンサー|ライセンシー)[ \t:]*(?=\S{2})"
)
# 「山本デザイン事務所こと山本彩」: a trade name (屋号), then こと, then the person who is the party.
_JA_TRADE_NAME = re.compile(r"^(?P<trade>\S{2,}?)こと(?P<person>\S+)$")
_JA_SIGNATURE_LABEL = re.compile(
    r"(?m)^[ \t]*(?:(?:委託者|受託者|発注者|受注者|売主|買主|貸主|借主|開示者|受領者"
    r"|ライセンサー|ライセンシー)[ \t]*)?"
    r"[(\[【]?(?P<label>甲|乙|丙|丁)[)\]】]?(?=[ \t]*(?::|[ \t]|$))[ \t]*:?"
)
_JA_TITLE = re.compile(r"代表|取締役|社長|理事長|会長|支店長|所長|印$")
# 「乙　鈴木　次郎　印」: an individual signs under the label with a family and a given name, and a seal.
_JA_KANA_KANJI = r"[\u3041-\u3096\u30a1-\u30fa\u30fc\u4e00-\u9fff々]"
_JA_PERSON_LINE = re.compile(
    rf"(?m:[ \t]*(?P<name>{_JA_KANA_KANJI}{{1,4}}[ \t]+{_JA_KANA_KANJI}{{1,4}}"
    rf"(?=[ \t]*(?:印|\(印\))?[ \t]*$)|{_JA_KANA_KANJI}{{2,6}}(?=[ \t]*(?:印|\(印\))[ \t]*$)))"
)
_JA_PERSON_LABEL = re.compile(r"(?:氏名|名前)[ \t]*:?[ \t]*(?P<name>[^\s印]{1,12}(?:[ \t][^\s印]{1,12})?)")

_EN_SUFFIX = (
    r"(?i:Inc\.?|Incorporated|L\.L\.C\.|LLC|P\.L\.L\.C\.|PLLC|L\.L\.L\.P\.|LLLP|L\.L\.P\.|LLP|L\.P\.|LP"
    r"|P\.C\.|P\.A\.|N\.A\.|Ltd\.?|Limited|Co\.,?\s*Ltd\.?|Corp\.?|Corporation|GmbH(?:\s+&\s+Co\.\s+KG)?|AG|KG"
    r"|S\.A\.S\.|S\.A\.\s+de\s+C\.V\.|S\.A\.|SAS|S\.p\.A\.|S\.r\.l\.|S\.a\s?r\.l\.|S\.\u00e0\s?r\.l\.|SARL"
    r"|S\.L\.U?\.?|S\.E\.|SE|B\.V\.|N\.V\.|A/S|ASA|AB|Oy|LTDA\.?|Sdn\.?\s+Bhd\.?|PLC"
    r"|Pty\.?\s+Ltd\.?|Pty\.?\s+Limited|Pte\.?\s+Ltd\.?|K\.K\.|KK|Kabushiki\s+Kaisha|G\.K\.|Godo\s+Kaisha)"
)
_EN_NAME_WORD = r"(?:[A-Z0-9][\w&'.\-]*|&)"
# A name may run over one line break (PDF text), but not into the next line's "By:" or heading.
_EN_GAP = (
    r"(?:[ \t]+|[ \t]*\n[ \t]*"
    r"(?!(?:By|Name|Title|Date|Address|Attn|Attention|Its|Signature|WHEREAS|RECITALS|NOW)\b))"
)
# "Kestrel Holdings plc": a legal form written in lower case, without a comma.
_EN_LOWER_SUFFIX = r"(?:[ \t]+(?:plc|p\.l\.c\.|llc|inc\.|ltd\.|limited)(?![\w]))"
_EN_NAME = re.compile(
    rf"{_EN_NAME_WORD}(?:{_EN_GAP}(?:(?:of|the|de|du|des|la|le|von|van|der|for){_EN_GAP})*{_EN_NAME_WORD})*"
    rf"(?:[ \t]*,{_EN_GAP}?{_EN_SUFFIX}(?![\w])|{_EN_LOWER_SUFFIX})?"
)
_EN_NAME_ONE_LINE = re.compile(
    rf"{_EN_NAME_WORD}(?:[ \t]+(?:(?:of|the|de|du|des|la|le|von|van|der|for)[ \t]+)*{_EN_NAME_WORD})*"
    rf"(?:[ \t]*,[ \t]*{_EN_SUFFIX}(?![\w])|{_EN_LOWER_SUFFIX})?"
)
# "... and Osprey Services Limited.\nTerm: ...": a full stop at the end of a line ends the name, unless a
# legal form follows on the next line ("Acme Holdings Co.\nLtd.").
_EN_LINE_END_STOP = re.compile(rf"(?<!\b[A-Za-z])\.[ \t]*\n[ \t]*(?!{_EN_SUFFIX}(?![\w]))")
_EN_HAS_SUFFIX = re.compile(rf"(?:^|[\s,]){_EN_SUFFIX}$")
_EN_BETWEEN = re.compile(
    r"\b(?i:(?:by\s+and\s+)?(?P<kind>between|among|amongst))\b[ \t]*:?\s*"
    r"|(?m:^[ \t]*(?P<heading>PARTIES|Parties)[ \t]*:?[ \t]*\n\s*)"
)
_EN_ENUMERATOR = re.compile(r"[ \t]*(?:\(\s*(?:[0-9]{1,2}|[a-e]|i{1,3}|iv)\s*\)|[0-9]{1,2}\.)?\s*")
_EN_LABEL = re.compile(
    r"\(\s*(?:hereinafter\s+)?(?:(?:referred\s+to\s+as|called)\s+)?(?:the\s+)?\"[^\"]{1,40}\"[^()]{0,80}\)"
)
_EN_SEPARATOR = re.compile(r"\s*[,;]?\s*(?:and[ \t]*:?\s+)?", re.I)
_EN_FULL_STOP_RE = re.compile(_EN_FULL_STOP)
_EN_CAPS_AND = re.compile(r"[ \t,]+(?:\n[ \t]*)?AND[ \t]+(?:\n[ \t]*)?")
# What follows a party's name in a preamble: its description or its defined term.
_EN_DESCRIBED = re.compile(r"[ \t]*(?:\(|,\s*(?:an?|the)\s)")
_EN_AND = re.compile(r"[,;]?\s*\band[ \t]*:?\s+", re.I)
_EN_ROLES = frozenset(
    [
        "licensor",
        "licensee",
        "company",
        "client",
        "customer",
        "provider",
        "supplier",
        "vendor",
        "contractor",
        "consultant",
        "party",
        "parties",
        "discloser",
        "recipient",
        "buyer",
        "seller",
        "purchaser",
        "employer",
        "employee",
        "lessor",
        "lessee",
        "landlord",
        "tenant",
        "distributor",
        "agent",
        "principal",
        "you",
        "we",
        "us",
        "agreement",
    ]
) | {"service provider", "disclosing party", "receiving party", "the parties", "each party"}
_EN_ABBREVIATION_END = re.compile(r"(?:\b[A-Za-z]\.|Inc\.|Ltd\.|Co\.|Corp\.|Bros\.|Jr\.|Sr\.)$", re.I)
_EN_ROLE_WORDS = (
    r"Licensor|Licensee|Provider|Service\s+Provider|Customer|Client|Supplier|Vendor|Buyer|Seller|Purchaser"
    r"|Contractor|Consultant|Company|Discloser|Recipient|Disclosing\s+Party|Receiving\s+Party|Landlord|Tenant"
    r"|Lessor|Lessee|Distributor|Party\s+[A-D1-4]"
)
_EN_ROLE_LINE = re.compile(rf"(?m)^[ \t]*(?:{_EN_ROLE_WORDS})[ \t]*:[ \t]*")
_EN_BY_LINE = re.compile(r"(?m)^[ \t]*By[ \t]*:")
_CELL = re.compile(r"\S+(?:[ \t]{1,2}\S+)*")


def _party_key(name: str) -> str:
    key = "".join(name.split()).casefold()
    for abbr, full in (("(株)", "株式会社"), ("(有)", "有限会社"), ("(同)", "合同会社")):
        key = key.replace(abbr, full)
    return key


def _is_name_part(token: str) -> bool:
    """A family or a given name: one to four kana or kanji."""
    return 1 <= len(token) <= 4 and all("\u3040" <= c <= "\u9fff" or c == "々" for c in token)


def _ja_name_before(doc: _Doc, pos: int) -> tuple[str, int, int] | None:
    """The name written just before ``pos`` (a 「以下」 definition), as its tokens allow."""
    t = doc.t
    window_start = max(0, pos - 80)
    tail = _JA_NAME_TAIL.search(t, window_start, pos)
    if tail is None:
        return None
    tokens = [
        (m.group(), tail.start() + m.start(), tail.start() + m.end())
        for m in re.finditer(r"\S+", tail.group())
    ]
    if not tokens:
        return None
    first, first_start, first_end = tokens[0]
    connector = _JA_CONNECTOR.match(first)
    if connector is None and first.startswith("と") and first_start > 0 and t[first_start - 1] in ")」』":
        connector = re.match("と", first)
    if connector:
        first = first[connector.end() :]
        tokens[0] = (first, first_start + connector.end(), first_end)
        if not first:
            tokens.pop(0)
    if not tokens:
        return None
    for index, (token, token_start, token_end) in enumerate(tokens):
        trade = _JA_TRADE_NAME.match(token)
        if trade and not _JA_LEGAL_FORM.search(trade["trade"]) and not _JA_LEGAL_FORM.search(trade["person"]):
            tokens[index] = (trade["person"], token_start + trade.start("person"), token_end)
            del tokens[:index]
            break
    role = _JA_ROLE_PREFIX.match(tokens[0][0])
    if role:
        tokens[0] = (tokens[0][0][role.end() :], tokens[0][1] + role.end(), tokens[0][2])
    chosen = [tokens[-1]]
    for prev in reversed(tokens[:-1]):
        head = chosen[0][0]
        joins = (
            _JA_LEGAL_FORM.fullmatch(prev[0])
            or (len(chosen) == 1 and _JA_LEGAL_FORM.fullmatch(head))
            or (prev[0].isascii() and head.isascii())
            # 「佐藤　健一」: a family and a given name, not a role word before a name.
            or (
                len(chosen) == 1
                and _is_name_part(prev[0])
                and _is_name_part(head)
                and prev[0] not in _JA_PARTY_LABELS
                and not _JA_ROLE_LIKE.search(prev[0])
            )
        )
        if not joins:
            break
        chosen.insert(0, prev)
    return " ".join(tok for tok, _, _ in chosen), chosen[0][1], chosen[-1][2]


def _ja_is_name(name: str, label: str) -> bool:
    if not name or len(name) > 60 or name in _JA_PARTY_LABELS:
        return False
    if _JA_LEGAL_FORM.search(name):
        return label in _JA_PARTY_LABELS or not label.startswith("本")
    # Without a legal form, only a party label makes it a party: 「本契約」「秘密情報」 are defined terms,
    # 「一方当事者（以下「開示者」という。）」 a role.
    return (
        label in _JA_PARTY_LABELS
        and len(name) <= 16
        and not name.startswith(("本", "が", "は", "を", "に"))
        and "契約" not in name
        and not _JA_ROLE_LIKE.search(name)
    )


def _ja_preamble_parties(doc: _Doc) -> list[_Hit[str]]:
    hits: list[_Hit[str]] = []
    if not doc.cjk:
        return hits
    for m in _JA_DEFINED_AS.finditer(doc.t):
        label = (m["label"] or m["short"] or "").strip()
        found = _ja_name_before(doc, m.start())
        if found is None:
            continue
        name, start, end = found
        if _ja_is_name(name, label):
            confidence = 0.9 if _JA_LEGAL_FORM.search(name) else 0.75
            hits.append(_Hit(name, start, end, confidence))
    return hits


def _ja_company_in(doc: _Doc, start: int, end: int) -> tuple[str, int, int] | None:
    """The company name among the words of a signature block (not its address, not its representative)."""
    tokens = [(m.group(), start + m.start(), start + m.end()) for m in re.finditer(r"\S+", doc.t[start:end])]
    for index, (token, token_start, token_end) in enumerate(tokens):
        form = _JA_LEGAL_FORM.search(token)
        if form is None:
            continue
        title = _JA_TITLE.search(token, form.end())
        if title and title.start() > 0:
            token, token_end = token[: title.start()], token_start + title.start()
        if token == form.group():
            following = tokens[index + 1] if index + 1 < len(tokens) else None
            same_line = following is not None and "\n" not in doc.t[token_end : following[1]]
            if following is not None and same_line and not _JA_TITLE.match(following[0]):
                return f"{token} {following[0]}", token_start, following[2]
            if index:
                previous = tokens[index - 1]
                return f"{previous[0]} {token}", previous[1], token_end
            return None
        return token, token_start, token_end
    return None


def _ja_signature_parties(doc: _Doc) -> list[_Hit[str]]:
    hits: list[_Hit[str]] = []
    labels = list(_JA_SIGNATURE_LABEL.finditer(doc.t))
    for index, m in enumerate(labels):
        block_end = min(labels[index + 1].start() if index + 1 < len(labels) else len(doc.t), m.end() + 200)
        company = _ja_company_in(doc, m.end(), block_end)
        if company:
            name, start, end = company
            hits.append(_Hit(name, start, end, 0.75))
            continue
        person = _JA_PERSON_LABEL.search(doc.t, m.end(), block_end)
        if person:
            hits.append(_Hit(" ".join(person["name"].split()), person.start("name"), person.end("name"), 0.6))
            continue
        # The first line of the block (or the label's own line) that is a name alone.
        line_start = m.end()
        while line_start < block_end:
            line_end = doc.t.find("\n", line_start, block_end)
            line_end = block_end if line_end < 0 else line_end
            alone = _JA_PERSON_LINE.match(doc.t, line_start, line_end)
            if alone and alone.end() <= line_end:
                name = alone["name"]
                first = name.split()[0]
                # 「東京都　港区芝」 is an address, not a family and a given name.
                address = first[-1] in "都道府県市区町村郡"
                if not _JA_TITLE.search(name) and not _JA_ROLE_LIKE.search(first) and not address:
                    hits.append(_Hit(" ".join(name.split()), alone.start("name"), alone.end("name"), 0.55))
                break
            line_start = line_end + 1
    return hits


def _en_trim(raw: str) -> str:
    """``raw`` without a trailing comma, or a full stop that ends the sentence rather than "Inc."."""
    raw = raw.rstrip(", \t")
    if raw.endswith(".") and not _EN_ABBREVIATION_END.search(raw):
        raw = raw[:-1]
    return raw


def _en_hit(match: re.Match[str], confidence: float) -> _Hit[str] | None:
    raw = match.group()
    stop = _EN_LINE_END_STOP.search(raw)
    raw = _en_trim(raw[: stop.start() + 1] if stop else raw)
    name = " ".join(raw.split())
    if not _en_is_name(name):
        return None
    return _Hit(name, match.start(), match.start() + len(raw), confidence)


def _en_is_name(name: str) -> bool:
    lowered = name.lower()
    lowered = lowered[4:] if lowered.startswith("the ") else lowered
    if not name or lowered in _EN_ROLES or len(name) > 100:
        return False
    return not re.match(r"(?:this|that|these|such|each|either|both|all|any)\b", lowered)


def _en_preamble_parties(doc: _Doc) -> list[_Hit[str]]:
    t = doc.t
    for between in _EN_BETWEEN.finditer(t, 0, _preamble_end(t)):
        limit = 2 if (between["kind"] or "").lower() == "between" else 6
        hits: list[_Hit[str]] = []
        pos = between.end()
        described = False
        while len(hits) < limit:
            enumerator = _EN_ENUMERATOR.match(t, pos)
            pos = enumerator.end() if enumerator else pos
            name_match = _EN_NAME.match(t, pos)
            if name_match is None and described:
                # 'ABC Inc. ("ABC"), with offices at 1 Main Street, and XYZ LLC': the next party follows the
                # next "and"; a name found there must look like one (a legal form, or its description).
                described = False
                joint = _EN_AND.search(t, pos, pos + 300)
                if joint is None or _EN_FULL_STOP_RE.search(t, pos, joint.start()):
                    break
                name_match = _EN_NAME.match(t, joint.end())
                if name_match is None or not (
                    _EN_HAS_SUFFIX.search(_en_trim(name_match.group()))
                    or _EN_DESCRIBED.match(t, name_match.end())
                ):
                    break
            if name_match is None:
                break
            joined = _EN_CAPS_AND.search(name_match.group())
            if joined and _EN_HAS_SUFFIX.search(_en_trim(name_match.group()[: joined.start()])):
                # "BY AND BETWEEN ACME CORP. AND BETA LLC": two names an upper-case AND joins.
                first = _EN_NAME.fullmatch(t, name_match.start(), name_match.start() + joined.start())
                if first is not None:
                    hit = _en_hit(first, 0.9)
                    if hit:
                        hits.append(hit)
                    pos = name_match.start() + joined.end()
                    continue
            hit = _en_hit(name_match, 0.9 if _EN_HAS_SUFFIX.search(_en_trim(name_match.group())) else 0.8)
            if hit:
                hits.append(hit)
            # Skip the description ("a Delaware corporation") to its defined term, then the "and".
            label = _EN_LABEL.search(t, name_match.end(), name_match.end() + 400)
            if label:
                separator = _EN_SEPARATOR.match(t, label.end())
                pos = separator.end() if separator else label.end()
                described = True
            else:
                joint = _EN_AND.search(t, name_match.end(), name_match.end() + 300)
                if joint is None or "." in t[name_match.end() : joint.start()].replace("Inc.", ""):
                    break
                pos = joint.end()
        if hits:
            return hits
    return []


def _en_signature_parties(doc: _Doc) -> list[_Hit[str]]:
    """Names on "Licensor: Acme Corporation" lines, or above a "By:" signature line."""
    hits: list[_Hit[str]] = []
    for m in _EN_ROLE_LINE.finditer(doc.t):
        name_match = _EN_NAME_ONE_LINE.match(doc.t, m.end())
        hit = _en_hit(name_match, 0.8) if name_match else None
        if hit:
            hits.append(hit)
    t = doc.t
    for by in _EN_BY_LINE.finditer(t):
        # The name stands on the line above "By:", or above one blank line.
        line_end = by.start() - 1
        line_start = t.rfind("\n", 0, max(0, line_end)) + 1
        if line_end > 0 and not t[line_start:line_end].strip():
            line_end = line_start - 1
            line_start = t.rfind("\n", 0, max(0, line_end)) + 1
        if line_end <= line_start or line_end - line_start > 170:
            continue
        # Two signature blocks side by side put two names on one line, set apart by a wide gap.
        for cell in _CELL.finditer(t, line_start, line_end):
            name_match = _EN_NAME_ONE_LINE.fullmatch(doc.t, cell.start(), cell.end())
            hit = _en_hit(name_match, 0.65) if name_match else None
            if hit and (_EN_HAS_SUFFIX.search(hit.value) or (hit.value.isupper() and len(hit.value) > 3)):
                hits.append(hit)
    return hits


def _parties(doc: _Doc) -> list[_Hit[str]]:
    ja = _ja_preamble_parties(doc)
    en = _en_preamble_parties(doc)
    primary, secondary = (ja, en) if doc.lang == "ja" else (en, ja)
    hits = primary or [_Hit(h.value, h.start, h.end, h.confidence * OTHER_LANGUAGE_WEIGHT) for h in secondary]
    if len(hits) < 2:
        signatures = _ja_signature_parties(doc) if doc.lang == "ja" else _en_signature_parties(doc)
        hits = hits + signatures
    result: list[_Hit[str]] = []
    seen: set[str] = set()
    for hit in sorted(hits, key=lambda h: h.start) if not primary else hits:
        key = _party_key(hit.value)
        if key not in seen:
            seen.add(key)
            result.append(hit)
    return result


# ----------------------------------------------------------------------------------- auto renewal

_JA_RENEWS = re.compile(
    r"(?P<auto>自動(?![車化運])(?:的に)?[^。、]{0,12}?(?:更新|延長|継続))"
    r"|(?P<same>(?:同一|同様|同じ)の?条件(?:で|にて|をもって)[^。]{0,20}?(?:更新|延長|継続))"
    r"|(?P<deemed>(?:更新|延長|継続)(?:された|される|する)ものと(?:し|する|みなす|みなし)"
    r"|(?:更新|延長|継続)(?:され|し)、?[^。]{0,4}?以[後降]も(?:また)?同様)"
)
_JA_NEGATION = re.compile(
    r"[ \t]*(?:は|を)?[ \t]*"
    r"(?:しない|されない|されず|せず|行わない|行われない|いたしません|しません|されません)"
)
_JA_NOT_RENEWED = re.compile(
    r"(?P<plain>更新(?:は|を)?[ \t]*(?:しない|行わない|されない|いたしません|しません|されません))"
    r"(?=[ \t]*(?:もの|こと)?[ \t]*(?:と(?:する|し)|。|$|\n))"
    r"|(?P<agreed>(?:協議|合意)[^。]{0,20}?(?:更新|延長)(?:する|できる|することができる)"
    r"|(?:更新|延長)(?:は|については)[^。]{0,20}?(?:協議|合意))"
    r"|(?P<ends>(?:期間|本契約)の?満了(?:を|に)?(?:もって|より|により|と同時に)[ \t、]*(?:当然に)?"
    r"終了(?:する|し))"
)
_JA_BY_AGREEMENT = re.compile(r"協議|合意")
_JA_MAY = re.compile(r"(?:する|される)?ことが(?:でき|可能)")
_JA_CONDITION = re.compile(r"とき|場合|限り|ない時")
_EN_RENEWS = re.compile(
    r"(?=[AaRrEeCc])(?:\bautomatic(?:ally)?\s+(?:be\s+)?(?:renew|extend|continue)|\bauto-?renew"
    r"|\b(?:renew|extend|continu)(?:ed|es|s)?\s+automatically"
    r"|\bautomatic\s+(?:renewal|extension)|\bevergreen\b"
    r"|\b(?:renew|extend)(?:ed|s)?\s+(?:thereafter\s+)?for\s+(?:successive|additional|consecutive|subsequent|further)\b"
    r"[^.]{0,80}?\bunless\b"
    r"|\bcontinue\s+(?:thereafter\s+)?(?:from\s+year\s+to\s+year|on\s+a\s+(?:year-to-year|month-to-month)\s+basis)"
    r"[^.]{0,80}?\bunless\b)",
    re.I,
)
_EN_NEGATED = re.compile(r"\b(?:not|no|never|nor|without)\s+(?:be\s+)?$", re.I)
_EN_NOT_RENEWED = re.compile(
    r"(?=[SsWwMmNnRrEe])(?:(?P<plain>\b(?:shall|will|may)\s+not\s+(?:be\s+)?(?:automatically\s+)?(?:renew|extend)(?:ed)?\b"
    r"|\bno\s+automatic\s+(?:renewal|extension)|\bnot\s+(?:be\s+)?subject\s+to\s+(?:automatic\s+)?renewal"
    r"|\bnon-?renewable\b|\bwithout\s+(?:any\s+)?(?:automatic\s+)?(?:renewal|extension)\b)"
    r"|(?P<agreed>\b(?:renew|extend|extension)\w*\b[^.;]{0,60}?\b(?:only\s+)?(?:by|upon|with|through|pursuant\s+to)"
    r"\s+(?:the\s+|a\s+)?(?:mutual\s+(?:written\s+)?(?:agreement|consent)|(?:mutual\s+)?written\s+(?:agreement|amendment)"
    r"|(?:the\s+)?(?:agreement|consent)\s+of\s+(?:both|all|the)\s+parties)))",
    re.I,
)
_EN_CONDITION = re.compile(r"\bunless\b|\bnotice\b|\bnotif|\belect", re.I)
# "Customer shall have the option to renew this Agreement for one additional term by giving notice": renewed
# only when a party acts, so not by itself; less sure than words that say so.
_EN_RENEWAL_OPTION = re.compile(
    r"(?=[OoRr])\b(?:option|right)\s+to\s+(?:renew|extend)\b(?![^.;]{0,80}?\bunless\b)", re.I
)


def _auto_renewal(doc: _Doc) -> _Hit[bool] | None:
    t = doc.t
    hits: list[_Hit[bool]] = []
    ja, en = doc.weight("ja"), doc.weight("en")
    for m in _JA_RENEWS.finditer(t) if doc.cjk else ():
        negated = _JA_NEGATION.match(t, m.end())
        if negated:
            hits.append(_Hit(False, m.start(), negated.end(), 0.9 * ja))
        elif not m["auto"] and (
            _JA_BY_AGREEMENT.search(t, max(0, m.start() - 15), m.start()) or _JA_MAY.match(t, m.end())
        ):
            continue  # 「協議の上、更新するものとする」「更新することができる」: not by itself
        else:
            confidence = 0.9 if m["auto"] else (0.85 if m["same"] else 0.8)
            hits.append(_Hit(True, m.start(), m.end(), confidence * ja))
    for m in _JA_NOT_RENEWED.finditer(t) if doc.cjk else ():
        if m["ends"]:
            sentence_start, _ = doc.sentence(m.start())
            if _JA_CONDITION.search(t, sentence_start, m.start()):
                continue  # 「更新しない旨の通知があったときは、期間満了により終了する」: a renewing contract
            hits.append(_Hit(False, m.start(), m.end(), 0.75 * ja))
        else:
            hits.append(_Hit(False, m.start(), m.end(), (0.85 if m["plain"] else 0.65) * ja))
    for m in _EN_RENEWS.finditer(t):
        if _EN_NEGATED.search(t, max(0, m.start() - 20), m.start()):
            hits.append(_Hit(False, m.start(), m.end(), 0.85 * en))
        else:
            hits.append(_Hit(True, m.start(), m.end(), 0.9 * en))
    for m in _EN_NOT_RENEWED.finditer(t):
        sentence_start, _ = doc.sentence(m.start())
        if m["plain"] and _EN_CONDITION.search(t, sentence_start, m.start()):
            continue  # "... unless either party gives notice that it shall not be renewed"
        hits.append(_Hit(False, m.start(), m.end(), (0.9 if m["plain"] else 0.65) * en))
    for m in _EN_RENEWAL_OPTION.finditer(t):
        if not _EN_NEGATED.search(t, max(0, m.start() - 20), m.start()):
            hits.append(_Hit(False, m.start(), m.end(), 0.6 * en))
    return _best(hits)


# ---------------------------------------------------------------------------------- notice period

_JA_NOTICE = re.compile(rf"(?P<dur>{JA_DURATION_PATTERN})[ \t]*(?:前|以前)(?:まで|迄)?")
_JA_TERM_END = re.compile(r"満了|期間の末日|終了日|期間終了")
_JA_RENEWAL_WORD = re.compile(r"更新")
_EN_NOTICE = re.compile(
    rf"(?P<dur>{EN_DURATION_PATTERN})(?:'s?)?\s*(?:(?:prior|advance)\s+)?(?:written\s+)?"
    r"(?:notice|prior|before|in\s+advance|preceding)",
    re.I,
)
_EN_NOTICE_AT_LEAST = re.compile(
    r"\b(?:at\s+least|not\s+less\s+than|no\s+less\s+than|no\s+fewer\s+than|not\s+fewer\s+than"
    r"|a\s+minimum\s+of|minimum\s+of)\s+$",
    re.I,
)
_EN_TERM_END = re.compile(
    r"renew|expir|end\s+of\s+(?:the\s+|any\s+|such\s+)?(?:then[- ]current\s+|initial\s+|renewal\s+)?term",
    re.I,
)
# "may terminate this Agreement for convenience upon sixty (60) days' notice, even before its expiration":
# a notice to end it mid-term, whatever else the sentence says, unless it speaks of renewal.
_EN_CONVENIENCE = re.compile(
    r"\bfor\s+(?:its\s+|their\s+)?(?:convenience|any\s+reason|no\s+reason)|\bwithout\s+cause\b|\bat\s+any\s+time\b",
    re.I,
)
_EN_RENEWAL_WORD = re.compile(r"renew", re.I)
# "Licensee may renew this Agreement for one additional term by notice given 180 days before expiration": a
# notice to renew, not one to stop a renewal.
_EN_OPTION_TO_RENEW = re.compile(
    r"\boption\s+to\s+(?:renew|extend)|(?<!not\s)\belect(?:s|ion)?\s+to\s+(?:renew|extend)"
    r"|\bmay\s+(?:renew|extend)\b|\bright\s+to\s+(?:renew|extend)",
    re.I,
)
_EN_STOPS_RENEWAL = re.compile(r"\bunless\b|non-?renewal|\bnot\s+to\s+renew|\bnot\s+be\s+renewed", re.I)


def _notice_period(doc: _Doc) -> _Hit[str] | None:
    t = doc.t
    hits: list[_Hit[str]] = []
    for m in _JA_NOTICE.finditer(t) if doc.cjk else ():
        duration = parse_duration(m["dur"])
        if duration is None:
            continue
        sentence_start, sentence_end = doc.sentence(m.start())
        ends = list(_JA_TERM_END.finditer(t, max(sentence_start, m.start() - 60), m.start()))
        if ends:
            start, confidence = ends[-1].start(), 0.9
        elif _JA_RENEWAL_WORD.search(t, sentence_start, sentence_end):
            start, confidence = max(sentence_start, m.start() - 40), 0.75
        else:
            continue  # a notice to cancel mid-term, not one tied to the end of the term
        confidence -= 0.2 if duration.business else 0.0
        hits.append(_Hit(duration.period, start, m.end(), confidence * doc.weight("ja")))
    for m in _EN_NOTICE.finditer(t):
        duration = parse_duration(m["dur"])
        if duration is None:
            continue
        sentence_start, sentence_end = doc.sentence(m.start())
        if not _EN_TERM_END.search(t, sentence_start, sentence_end):
            continue
        if _EN_CONVENIENCE.search(t, sentence_start, sentence_end) and not _EN_RENEWAL_WORD.search(
            t, sentence_start, sentence_end
        ):
            continue
        if _EN_OPTION_TO_RENEW.search(t, sentence_start, sentence_end) and not _EN_STOPS_RENEWAL.search(
            t, sentence_start, sentence_end
        ):
            continue
        confidence = 0.9 - (0.2 if duration.business else 0.0)
        at_least = _EN_NOTICE_AT_LEAST.search(t, max(sentence_start, m.start() - 30), m.start())
        start = at_least.start() if at_least else m.start()
        hits.append(_Hit(duration.period, start, m.end(), confidence * doc.weight("en")))
    return _best(hits)


# ----------------------------------------------------------------------------------------- amount

_K = KANJI_NUMERAL_CHARS
_JA_AMOUNT = re.compile(
    rf"(?:(?P<kin>金[ \t]*)|(?<![0-9,.{_K}]))(?P<num>[0-9{_K}][0-9,.{_K}]{{0,24}})[ \t]*円(?:也)?"
)
_PREFIX_CURRENCIES = {
    "US$": "USD",
    "U.S.$": "USD",
    "USD": "USD",
    "$": "USD",
    "A$": "AUD",
    "AU$": "AUD",
    "AUD": "AUD",
    "C$": "CAD",
    "CA$": "CAD",
    "CAD": "CAD",
    "S$": "SGD",
    "SGD": "SGD",
    "HK$": "HKD",
    "HKD": "HKD",
    "NZ$": "NZD",
    "NZD": "NZD",
    "EUR": "EUR",
    "€": "EUR",
    "GBP": "GBP",
    "£": "GBP",
    "JPY": "JPY",
    "¥": "JPY",
    "CHF": "CHF",
    "CNY": "CNY",
    "RMB": "CNY",
    "KRW": "KRW",
    "INR": "INR",
}
_FIGURE = r"[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]+)?|[0-9]+(?:\.[0-9]+)?"
_PREFIX_AMOUNT = re.compile(
    r"(?=[UACSHNEJGKIR$€£¥])(?<![A-Za-z])(?P<cur>"
    + "|".join(re.escape(code) for code in sorted(_PREFIX_CURRENCIES, key=len, reverse=True))
    + rf")[ \t]?(?P<num>{_FIGURE})(?![0-9])(?:[ \t]*(?P<mult>million|thousand|billion|万|億)\b)?"
)
_WORD_CURRENCIES = {"dollars": "USD", "yen": "JPY", "euros": "EUR"}
_SUFFIX_CURRENCIES = {
    "usd": "USD",
    "eur": "EUR",
    "jpy": "JPY",
    "gbp": "GBP",
    "chf": "CHF",
    **_WORD_CURRENCIES,
}
_SUFFIX_AMOUNT = re.compile(
    rf"(?=[0-9])(?<![0-9.,$€£¥])(?P<num>{_FIGURE})(?:[ \t]*(?P<mult>million|thousand|billion))?[ \t]*"
    r"(?P<cur>(?:Japanese|U\.S\.|US|United\s+States)\s+(?:dollars|yen)|USD|EUR|JPY|GBP|CHF|yen|dollars|euros)\b",
    re.I,
)
_WORDS_AMOUNT = re.compile(
    rf"(?P<words>{EN_NUMBER_WORDS_PATTERN})\s+(?P<cur>(?:Japanese\s+|U\.S\.\s+|US\s+|United\s+States\s+)?"
    r"(?:dollars|yen|euros))\b",
    re.I,
)
_WORDS_FIGURE = re.compile(r"[ \t]*\([^()\n\"]{0,10}[0-9][^()\n\"]{0,20}\)")
_MULTIPLIERS = {"thousand": 10**3, "million": 10**6, "billion": 10**9, "万": 10**4, "億": 10**8}
_AMOUNT_ANCHOR = re.compile(
    r"委託料|業務委託料|報酬|代金|売買代金|請負代金|契約金額|総額|合計|対価|ライセンス料|使用料|実施料|許諾料"
    r"|料金|費用|価格|金額|利用料|保守料|賃料|家賃|地代|\bfees?\b|\bprice\b|\bconsideration\b|\btotal\b"
    r"|\bcompensation\b|\bpayment\b|\bamount\b|\broyalt|\bsum\b|\brent\b|\bretainer\b|\bpay\b|\bcharges?\b",
    re.I,
)
_AMOUNT_PAID = re.compile(r"[^。\n]{0,12}?(?:支払|振り込|振込)|\s*(?:shall\s+be\s+)?(?:payable|paid)\b", re.I)
_AMOUNT_TOTAL = re.compile(
    r"総額|合計|契約金額|\btotal\b|\baggregate\b|\bcontract\s+price\b|\bpurchase\s+price\b", re.I
)
_PERIOD_WORD = r"(?:(?:contract|calendar|fiscal|lease|program|agreement)\s+)?(?:year|month|quarter|annum)s?\b"
_AMOUNT_PERIODIC = re.compile(
    rf"月額|毎月|月々|年額|毎年|\b(?:per|each|every|a)\s+{_PERIOD_WORD}|\bmonthly\b|\bannual(?:ly)?\b|\byearly\b"
    r"|\bquarterly\b",
    re.I,
)
# A rate per hour, per unit or per occasion is further from the contract price than a monthly fee.
_AMOUNT_RATE = re.compile(
    r"当たり|あたり|ごとに|毎に|都度|時給|単価|\bhourly\b"
    rf"|\bper\s+(?!{_PERIOD_WORD})[a-z]+|\beach\b(?!\s+{_PERIOD_WORD})",
    re.I,
)
# "The purchase price for each Unit shall be $12.50": a price per item, stated before the figure.
_AMOUNT_UNIT_PRICE = re.compile(r"\b(?:for\s+each|per)\s+(?!" + _PERIOD_WORD + r")[A-Za-z]+", re.I)
_AMOUNT_NOT_PRICE = re.compile(
    r"損害賠償|違約金|遅延損害金|上限|限度|印紙|罰金|保険|資本金|保証金|敷金|礼金|手数料|\bliabilit|\bdamages\b"
    r"|\bpenalt|\binterest\b|\bcap\b|\bexceed|\binsurance\b|\bcapital\b|\bdeposit\b"
    # Money that changes hands beside the price: costs repaid, incentives, charges for a given event.
    r"|\breimburs|\bexpenses?\b|\bbonus|\bcredits?\b|\bliquidated\b|\bspend\b|\bminimum\b|\bnon-?recurring\b"
    r"|\b(?:late|transfer|termination|set-?up|small-order|audit|renewal|training|cancellation|restocking"
    r"|installation)\s+(?:fee|charge)s?\b"
    # What goods are worth is not what the contract costs.
    r"|\blist\s+price|\b(?:retail|market|replacement)\s+value|\bvalued\s+at\b|\brevenue\s+target|\bnet\s+worth",
    re.I,
)
# "orders of less than $7,500", "up to EUR 6,000", "not to exceed $40,000": a threshold or a cap.
_AMOUNT_BOUND = re.compile(
    r"(?:\b(?:less|more|fewer|greater)\s+than|\bin\s+excess\s+of|\bup\s+to|\bnot\s+to\s+exceed|\bexceed(?:s|ing)?"
    r"|\bat\s+least|\b(?:minimum|maximum)\s+(?:amount\s+)?of|\bno\s+(?:more|less)\s+than|\bunder|\bover"
    r"|\bbelow|\babove)[ \t]*(?:\n[ \t]*)?$",
    re.I,
)
# "the then-current fee, currently $325 per month": a rate the contract lets change, not its price.
_AMOUNT_CURRENTLY = re.compile(r"\b(?:currently|presently|initially\s+set\s+at)[ \t,]*(?:\n[ \t]*)?$", re.I)
# 'a license fee of $1,250,000 (the "License Fee")', "In consideration of ...": the price, named as such.
_AMOUNT_NAMED = re.compile(
    r'[ \t]*(?:\n[ \t]*)?\((?:the\s+|each\s+)?"[^"()]{0,40}?'
    r'(?:Fee|Price|Charge|Payment|Compensation|Consideration|Rent|Royalty)s?"\)',
    re.I,
)
_AMOUNT_LIST_GAP = re.compile(r"[^.。]*", re.S)
# A row of a fee table ("Total Contract Value (Initial Term) .......  C$151,500", "月額利用料:"): its label is
# the figure's words, however far the leader dots or the column gap set them apart.
_AMOUNT_ROW_LABEL = re.compile(r"[ \t]*[^\s.][^\n]*?(?:[ \t]*\.{3,}|[ \t]{2,}|\t|[ \t]*:)[ \t]*")
ROW_REACH = 100
"""How long a fee table's row label may be, at most (characters)."""
_AMOUNT_IN_CONSIDERATION = re.compile(r"\bin\s+consideration\s+(?:of|for)\b", re.I)
# 「10万円以上の場合」, "orders of $5,000 or more": a threshold, not a price.
_AMOUNT_THRESHOLD = re.compile(
    r"[ \t]*(?:\([^()\n]{0,20}\)[ \t]*)?"
    r"(?:以上|未満|以下|を超え|超|or\s+more|or\s+less|and\s+above|in\s+excess)",
    re.I,
)
_TAX_NOTE = re.compile(
    r"[ \t]*\((?:[^()\n]{0,15}税[^()\n]{0,15}|(?:excluding|exclusive\s+of|including|inclusive\s+of|excl\."
    r"|incl\.|plus|net\s+of)[^()\n]{0,40})\)",
    re.I,
)


def _amount_value(figure: str, multiplier: str | None) -> tuple[int, bool] | None:
    """The whole units of a written figure, and whether a fraction was dropped."""
    value = kanji_to_int(figure.rstrip(".,"))
    if value is not None and multiplier is None:
        return value, False
    try:
        exact = Decimal(figure.replace(",", "")) * _MULTIPLIERS.get((multiplier or "").lower(), 1)
    except InvalidOperation:
        return None
    return int(exact), exact != int(exact)


def _amounts(doc: _Doc) -> list[tuple[int, str, int, int, float]]:
    """Every amount written with a currency: (value, currency, start, end, base confidence)."""
    t = doc.t
    found: list[tuple[int, str, int, int, float]] = []
    for m in _JA_AMOUNT.finditer(t) if doc.cjk else ():
        figure = m["num"]
        if not m["kin"] and len(figure) < 2 and not figure.isdigit():
            continue  # 「関東一円」: a place, not a yen
        value = kanji_to_int(figure.rstrip(".,"))
        if value:
            found.append((value, "JPY", m.start(), m.end(), 0.55 if m["kin"] else 0.5))
    for m in _PREFIX_AMOUNT.finditer(t):
        parsed = _amount_value(m["num"], m["mult"])
        if parsed and parsed[0]:
            code = _PREFIX_CURRENCIES[m["cur"]]
            # A bare "$" could be another dollar than the US one.
            base = 0.5 if m["cur"] == "$" else 0.55
            found.append((parsed[0], code, m.start(), m.end(), base - (0.1 if parsed[1] else 0.0)))
    for m in _SUFFIX_AMOUNT.finditer(t):
        parsed = _amount_value(m["num"], m["mult"])
        word = m["cur"].lower().split()[-1]
        code = _SUFFIX_CURRENCIES[word]
        if parsed and parsed[0]:
            found.append((parsed[0], code, m.start(), m.end(), 0.5 - (0.1 if parsed[1] else 0.0)))
    for m in _WORDS_AMOUNT.finditer(t):
        value = english_number(m["words"])
        if value:
            code = _WORD_CURRENCIES[m["cur"].lower().split()[-1]]
            found.append((value, code, m.start(), m.end(), 0.45))
    return found


def _near(match: re.Match[str] | None, end: int) -> re.Match[str] | None:
    """``match`` when it starts within 15 characters after a figure ending at ``end``."""
    return match if match is not None and match.start() <= end + 15 else None


def _amount(doc: _Doc) -> _Hit[tuple[int, str]] | None:
    t = doc.t
    hits: list[_Hit[tuple[int, str]]] = []
    # A figure listed after one that is no price ("not less than $1,000,000 per occurrence and $3,000,000 in
    # the aggregate", "EUR 25,000 for ...; EUR 50,000 for ...") is no price either.
    passed_over_end, passed_over_penalty = -1, 0.0
    previous_end = 0
    for value, currency, start, end, base in sorted(_amounts(doc), key=lambda a: (a[2], a[3])):
        sentence_start, sentence_end = doc.sentence(start)
        before_start = max(sentence_start, start - 40)
        line_start = t.rfind("\n", max(0, start - ROW_REACH - 1), start) + 1
        row = (line_start > 0 or start <= ROW_REACH) and _AMOUNT_ROW_LABEL.fullmatch(t, line_start, start)
        if row:
            before_start = min(before_start, line_start)
        score = base
        anchors = list(_AMOUNT_ANCHOR.finditer(t, before_start, start))
        evidence_start = start
        if anchors:
            score += 0.3
            evidence_start = anchors[-1].start()
        elif _AMOUNT_PAID.match(t, end):
            score += 0.25
        elif doc.lang == "en":
            score -= 0.1  # a bare figure in a table or a list: nothing says it is paid
        if value < 100 and currency != "JPY":
            score -= 0.2  # "$12.50": a unit price, a fee per item
        total = _AMOUNT_TOTAL.search(t, before_start, start)
        # Words within 15 characters either side; the text past them is read too, so that "for each" sees the
        # "Contract Year" that follows it.
        around = (line_start if row else max(sentence_start, start - 15)), min(sentence_end, end + 40)
        rate = _near(_AMOUNT_RATE.search(t, *around), end) or _AMOUNT_UNIT_PRICE.search(
            t, before_start, start
        )
        recurring = rate or _near(_AMOUNT_PERIODIC.search(t, *around), end)
        if recurring:
            score -= 0.3 if rate else 0.15
            evidence_start = min(evidence_start, recurring.start())
        penalty = 0.0
        # The words before the previous figure are that figure's ("a non-recurring charge of $5,000 and
        # monthly charges of $12,500"); a figure written twice ("Five Thousand Euros (EUR 5,000)") is one.
        context_start = max(sentence_start, start - 80, previous_end if previous_end < start - 2 else 0)
        previous_end = max(previous_end, end)
        context_end = min(sentence_end, end + 12)
        if row:
            # The next row of a fee table ("Setup Fee ..... $2,000") is another figure's.
            line_end = t.find("\n", end, context_end)
            context_end = line_end if line_end >= 0 else context_end
        if _AMOUNT_NOT_PRICE.search(t, context_start, context_end):
            penalty += 0.45
        if _AMOUNT_THRESHOLD.match(t, end) or _AMOUNT_BOUND.search(t, max(sentence_start, start - 25), start):
            penalty += 0.5
        if _AMOUNT_CURRENTLY.search(t, max(sentence_start, start - 20), start):
            penalty += 0.3
        if (
            not penalty
            and not anchors
            and passed_over_penalty
            and start - passed_over_end <= 80
            and _AMOUNT_LIST_GAP.fullmatch(t, passed_over_end, start)
        ):
            penalty = passed_over_penalty
        words_end = _WORDS_FIGURE.match(t, end)  # "One Hundred Thousand Dollars ($100,000)"
        named = _AMOUNT_NAMED.match(t, words_end.end() if words_end else end)
        if penalty:
            # "an aggregate list price of", "total liability ... $5,000,000": no total, no price.
            passed_over_end, passed_over_penalty = end, penalty
            score -= penalty
        else:
            score += 0.15 if total else 0.0
            score += 0.1 if named or _AMOUNT_IN_CONSIDERATION.search(t, sentence_start, start) else 0.0
        if doc.after_signing(start):
            score -= 0.05  # a schedule after the signatures repeats or details; the body states the price
        note = _TAX_NOTE.match(t, end)
        evidence_end = note.end() if note else end
        if t[start - 1 : start] == "(" and t[end : end + 1] == ")":
            evidence_end = max(evidence_end, end + 1)  # "Dollars ($100,000)": the whole parenthesis
        if named:
            evidence_end = max(evidence_end, named.end())
        elif recurring and recurring.start() >= end:
            evidence_end = max(evidence_end, recurring.end())
        score = min(score, 0.95)
        if score >= 0.4:
            hits.append(_Hit((value, currency), evidence_start, evidence_end, score))
    return _best(hits)


# ----------------------------------------------------------------------------------------- engine


class RuleEngine:
    """Reads contract metadata with deterministic rules: no network, no model, the same answer every time.

    Japanese and English are told apart by the share of kana and kanji (every non-ASCII character once
    folded); the other language's patterns still run, with less confidence, for bilingual contracts.
    Confidence is a calibrated guess per pattern: about 0.9 for a value under its label (締結日：…,
    "made and entered into as of …"), 0.7 for a value found by its place (the date line above the
    signatures), 0.45 for a last resort (the only date in the text).
    """

    name = "rules"

    def extract(self, text: str) -> ContractMetadata:
        """The metadata of a contract's text; every value comes with its evidence (offsets into ``text``).

        Never raises on odd text: what cannot be read is left None.
        """
        doc = _Doc(text)
        evidence: list[Evidence] = []
        values: dict[str, object] = {}

        def keep(field: FieldName, hit: _Hit[object] | None) -> None:
            if hit is not None:
                evidence.append(doc.evidence(field, hit))
                values[field] = hit.value

        contract, effective = _contract_dates(doc)
        keep("contract_date", contract)
        start, end = _term(doc, contract, effective)
        keep("start_date", start)
        keep("end_date", end)
        parties = _parties(doc)
        for party in parties:
            evidence.append(doc.evidence("parties", party))
        values["parties"] = [party.value for party in parties]
        renewal = _auto_renewal(doc)
        keep("auto_renewal", renewal)
        # A contract that ends with its term needs no notice to stop it: there, 「期間満了の1か月前までに
        # 協議する」 is no notice period.
        notice = None if renewal is not None and renewal.value is False else _notice_period(doc)
        keep("notice_period", notice)
        if notice is not None and end is not None:
            try:
                deadline = notice_deadline(end.value, notice.value)
            except ValueError:  # before the first year of the calendar
                deadline = None
            if deadline is not None:
                confidence = min(notice.confidence, end.confidence)
                keep("notice_deadline", _Hit(deadline, notice.start, notice.end, confidence))
        amount = _amount(doc)
        if amount is not None:
            values["amount"], values["currency"] = amount.value
            evidence.append(doc.evidence("amount", amount))
            evidence.append(doc.evidence("currency", amount))
        return ContractMetadata.model_validate({**values, "evidence": evidence, "engine": self.name})
