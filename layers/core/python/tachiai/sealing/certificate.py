"""The agreement certificate (合意締結証明書 / Certificate of Agreement).

One bilingual (Japanese, with English under it) A4 PDF stating what was agreed, by whom, when and how
each person was authenticated, with the SHA-256 of every document before and after sealing — what a
lawyer expects from CloudSign's or GMO Sign's 合意締結証明書. It is rendered with the font shipped
in :mod:`tachiai.fonts`, embedded as a subset, and is byte-for-byte reproducible: the same
:class:`~tachiai.domain.events.AgreementRecord` always gives the same bytes (the PDF's dates come
from ``record.completed_at``). The result is an ordinary PDF with a classic cross-reference table,
ready to be sealed with incremental signatures.

Every label and sentence is the catalogs' ``certificate.*`` (and ``event.kind.*``, ``auth.method.*``),
in Japanese and in English, whatever the envelope's language: the font shipped for the PDF is a
Japanese one, which lacks most Simplified Chinese glyphs, so a Chinese envelope gets the same
Japanese + English certificate.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fpdf import FPDF
from fpdf.enums import TextMode

from tachiai import i18n
from tachiai.domain.errors import CertificateRenderError, TachiaiError
from tachiai.domain.events import (
    AgreementRecord,
    DocumentRecord,
    ParticipantEvent,
    ParticipantRecord,
    describe_auth,
)
from tachiai.fonts import FONT_FAMILY, break_lines, displayable, fully_displayable, japanese_font_path
from tachiai.sealing.reason import format_local_time

__all__ = ["render_agreement_certificate"]


def _ja_en(msgid: str, **values: object) -> tuple[str, str]:
    """The message ``msgid`` in the certificate's two languages: (Japanese, English)."""
    return i18n.text(msgid, "ja", **values), i18n.text(msgid, "en", **values)


# --- page geometry (mm) and type (pt) ---------------------------------------------------------

_MARGIN_X = 15.0
_MARGIN_TOP = 14.0
_BODY_TOP = 24.0
"""Where the body starts on pages after the first (below the running header)."""
_BODY_BOTTOM = 297.0 - 18.0
"""Lowest y the body may reach (the footer is below it)."""
_CONTENT_W = 210.0 - 2 * _MARGIN_X
_PAD_X = 1.8
_PAD_Y = 1.3
_LINE_FACTOR = 1.32
"""Line height in table cells, as a multiple of the font size."""
_PARAGRAPH_LINE_FACTOR = 1.55
_PT = 25.4 / 72

_BLACK = (0, 0, 0)
_GREY = (90, 90, 90)
_RULE = (140, 140, 140)
_LABEL_FILL = (240, 242, 245)
_HEAD_FILL = (222, 228, 236)
_ACCENT = (24, 52, 96)

_LABEL_W = 46.0
_SHORT_LABEL_W = 26.0
_EVENT_COLS = (22.0, 39.0, 40.0, 29.0, _CONTENT_W - 130.0)
"""Event, date and time, authentication, IP address, user agent."""

_JA = 8.5
_EN = 6.8
_SMALL_JA = 7.0
_SMALL_EN = 6.0


@dataclass(frozen=True)
class _Text:
    text: str
    size: float = _JA
    color: tuple[int, int, int] = _BLACK
    bold: bool = False
    align: str = "L"


@dataclass(frozen=True)
class _Cell:
    width: float
    texts: tuple[_Text, ...]
    fill: tuple[int, int, int] | None = None


_Row = tuple[_Cell, ...]
_Line = tuple[_Text, str]


def _label(msgid: str, *, small: bool = False) -> tuple[_Text, ...]:
    ja, en = _ja_en(msgid)
    return (
        _Text(ja, _SMALL_JA if small else _JA, bold=True),
        _Text(en, _SMALL_EN if small else _EN, _GREY),
    )


def _value(text: str, *, small: bool = False) -> tuple[_Text, ...]:
    return (_Text(text, _SMALL_JA if small else _JA),)


def _bilingual(ja: str, en: str, *, small: bool = False) -> tuple[_Text, ...]:
    """Two texts in the two languages, one under the other."""
    return (_Text(ja, _SMALL_JA if small else _JA), _Text(en, _SMALL_EN if small else _EN, _GREY))


def _local_time(moment: datetime, zone: ZoneInfo) -> str:
    """``2026-11-22 10:15:03 +09:00`` in ``zone``; a naive ``moment`` is taken as UTC."""
    return format_local_time(moment if moment.tzinfo else moment.replace(tzinfo=UTC), zone)


class _CertificatePdf(FPDF):
    """A4 pages with the running header and footer, and a row layout that never leaves the page."""

    def __init__(self, record: AgreementRecord, total_pages: int) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self.record = record
        self.total_pages = total_pages
        self.repeat_rows: list[_Row] = []
        """Rows drawn again at the top of each new page (a table's column headings)."""
        # No "{nb}" alias: user text must never be rewritten. The total comes from a first pass.
        self.alias_nb_pages(None)  # type: ignore[arg-type]  # None is documented to disable it
        self.set_auto_page_break(False)
        self.set_margins(_MARGIN_X, _MARGIN_TOP, _MARGIN_X)
        self.c_margin = 0
        self.add_font(FONT_FAMILY, fname=str(japanese_font_path()))
        self.set_font(FONT_FAMILY, size=_JA)
        self.set_draw_color(*_RULE)
        self.set_line_width(0.2)

    # --- running header and footer (called by fpdf2) ---------------------------------------------

    def header(self) -> None:
        if self.page_no() == 1:
            return
        self._line_of(
            _MARGIN_TOP,
            "  ".join(_ja_en("certificate.title")),
            f"{displayable(self.record.issuer)}",
        )
        self.line(_MARGIN_X, _MARGIN_TOP + 5.0, _MARGIN_X + _CONTENT_W, _MARGIN_TOP + 5.0)
        self.set_y(_BODY_TOP)

    def footer(self) -> None:
        y = _BODY_BOTTOM + 5.0
        self.line(_MARGIN_X, y, _MARGIN_X + _CONTENT_W, y)
        self._line_of(
            y + 1.5,
            f"{' / '.join(_ja_en('certificate.label.envelope_id'))}: {displayable(self.record.envelope_id)}",
            i18n.text("certificate.page", "en", page=self.page_no(), pages=self.total_pages),
        )

    def _line_of(self, y: float, left: str, right: str) -> None:
        with self.local_context(font_size_pt=_SMALL_EN, text_color=_GREY):
            right = self._fit(right, _CONTENT_W / 2)
            right_w = self.get_string_width(right) + 1.0
            self.set_xy(_MARGIN_X, y)
            self.cell(w=_CONTENT_W - right_w - 4.0, h=4.0, text=self._fit(left, _CONTENT_W - right_w - 4.0))
            self.set_xy(_MARGIN_X + _CONTENT_W - right_w, y)
            self.cell(w=right_w, h=4.0, text=right, align="R")

    def _fit(self, text: str, width: float) -> str:
        """``text`` cut with an ellipsis to fit on one line (only for the running header and footer)."""
        if self.get_string_width(text) <= width:
            return text
        text = text[:400]  # far more than a line holds; keeps the loop below short
        while text and self.get_string_width(text + "…") > width:
            text = text[:-1]
        return text + "…"

    # --- flowing content ---------------------------------------------------------------------

    def new_page(self) -> None:
        self.add_page()
        for row in self.repeat_rows:
            self._draw(row, [self._layout(c) for c in row])

    def room(self) -> float:
        return _BODY_BOTTOM - self.get_y()

    def fresh_room(self) -> float:
        """Room on a new page, below the repeated rows."""
        repeat = sum(self.row_height(r) for r in self.repeat_rows)
        return _BODY_BOTTOM - _BODY_TOP - repeat

    def keep(self, height: float) -> None:
        """Start a new page unless ``height`` fits here (or could not fit on any page anyway)."""
        if height > self.room() and height <= self.fresh_room():
            self.new_page()

    def line_height(self, text: _Text) -> float:
        return text.size * _LINE_FACTOR * _PT

    def _layout(self, cell: _Cell) -> list[_Line]:
        lines: list[_Line] = []
        for t in cell.texts:
            self.set_font_size(t.size)
            for line in break_lines(t.text, cell.width - 2 * _PAD_X, self.get_string_width):
                lines.append((t, line))
        return lines

    def _height(self, lines: Sequence[_Line]) -> float:
        return sum(self.line_height(t) for t, _ in lines) + 2 * _PAD_Y

    def row_height(self, row: _Row) -> float:
        return max(self._height(self._layout(c)) for c in row)

    def rows_height(self, rows: Sequence[_Row]) -> float:
        return sum(self.row_height(r) for r in rows)

    def row(self, row: _Row) -> None:
        """Draw a table row; a row taller than a page continues on the next ones, line by line."""
        laid = [self._layout(c) for c in row]
        while True:
            height = max(self._height(lines) for lines in laid)
            if height <= self.room():
                self._draw(row, laid)
                return
            if height <= self.fresh_room() or self.room() < 4 * _PAD_Y + 12 * _PT:
                self.new_page()
                continue
            # Taller than a whole page: fill this page, carry the remaining lines over.
            budget = self.room() - 2 * _PAD_Y
            heads: list[list[_Line]] = []
            tails: list[list[_Line]] = []
            for lines in laid:
                used, cut = 0.0, 0
                while cut < len(lines) and used + self.line_height(lines[cut][0]) <= budget:
                    used += self.line_height(lines[cut][0])
                    cut += 1
                heads.append(lines[:cut])
                tails.append(lines[cut:])
            self._draw(row, heads, height=self.room())
            self.new_page()
            laid = tails

    def _draw(self, row: _Row, laid: Sequence[Sequence[_Line]], height: float | None = None) -> None:
        top = self.get_y()
        if height is None:
            height = max(self._height(lines) for lines in laid)
        x = _MARGIN_X
        for cell, lines in zip(row, laid, strict=True):
            if cell.fill is not None:
                self.set_fill_color(*cell.fill)
                self.rect(x, top, cell.width, height, style="DF")
            else:
                self.rect(x, top, cell.width, height, style="D")
            y = top + _PAD_Y
            for t, text in lines:
                self.text_line(x + _PAD_X, y, cell.width - 2 * _PAD_X, t, text)
                y += self.line_height(t)
            x += cell.width
        self.set_xy(_MARGIN_X, top + height)

    def text_line(
        self, x: float, y: float, width: float, t: _Text, text: str, *, height: float | None = None
    ) -> None:
        self.set_xy(x, y)
        with self.local_context(
            font_size_pt=t.size,
            text_color=t.color,
            draw_color=t.color,
            line_width=0.1 if t.bold else 0.2,
            # Filled and stroked glyphs stand in for the bold face the font does not have.
            text_mode=TextMode.FILL_STROKE if t.bold else TextMode.FILL,
        ):
            self.cell(w=width, h=self.line_height(t) if height is None else height, text=text, align=t.align)

    def paragraph(self, texts: Sequence[_Text], *, gap: float = 1.0) -> None:
        """Unboxed text across the page, breaking pages between lines."""
        for t in texts:
            self.set_font_size(t.size)
            leading = t.size * _PARAGRAPH_LINE_FACTOR * _PT
            for line in break_lines(t.text, _CONTENT_W, self.get_string_width):
                if leading > self.room():
                    self.new_page()
                y = self.get_y()
                self.text_line(_MARGIN_X, y, _CONTENT_W, t, line, height=leading)
                self.set_xy(_MARGIN_X, y + leading)
            self.set_y(self.get_y() + gap)

    def heading(self, msgid: str, *, keep_with: float = 30.0) -> None:
        ja, en = _ja_en(msgid)
        self.repeat_rows = []
        self.set_y(self.get_y() + 3.0)
        self.keep(12.0 + keep_with)
        y = self.get_y()
        self.text_line(_MARGIN_X, y, _CONTENT_W, _Text(ja, 10.5, _ACCENT, bold=True), ja)
        self.text_line(_MARGIN_X, y + 5.0, _CONTENT_W, _Text(en, 7.5, _ACCENT), en)
        self.set_draw_color(*_ACCENT)
        self.line(_MARGIN_X, y + 9.0, _MARGIN_X + _CONTENT_W, y + 9.0)
        self.set_draw_color(*_RULE)
        self.set_xy(_MARGIN_X, y + 11.0)


class _Writer:
    def __init__(self, record: AgreementRecord, zone: ZoneInfo, total_pages: int) -> None:
        self.record = record
        self.zone = zone
        self.pdf = _CertificatePdf(record, total_pages)

    def t(self, text: str) -> str:
        return displayable(text)

    def time(self, moment: datetime) -> str:
        return _local_time(moment, self.zone)

    def render(self) -> _CertificatePdf:
        record, pdf = self.record, self.pdf
        pdf.set_title(self.t(f"{' '.join(_ja_en('certificate.title'))}: {record.title}"))
        pdf.set_subject(self.t(f"Envelope {record.envelope_id}"))
        pdf.set_author(self.t(record.issuer))
        pdf.set_creator("tachiai")
        pdf.set_producer("tachiai")
        pdf.set_lang("ja-JP")
        completed = record.completed_at
        pdf.set_creation_date(
            (completed if completed.tzinfo else completed.replace(tzinfo=UTC)).astimezone(self.zone)
        )

        pdf.add_page()
        self.title()
        self.summary()
        self.documents()
        self.participants()
        self.statement()
        return pdf

    def title(self) -> None:
        pdf = self.pdf
        title_ja, title_en = _ja_en("certificate.title")
        pdf.set_y(_MARGIN_TOP + 4.0)
        pdf.text_line(_MARGIN_X, pdf.get_y(), _CONTENT_W, _Text("", 20, _ACCENT, True, "C"), title_ja)
        pdf.text_line(
            _MARGIN_X,
            pdf.get_y() + 10.0,
            _CONTENT_W,
            _Text("", 11, _GREY, False, "C"),
            title_en,
        )
        pdf.set_xy(_MARGIN_X, pdf.get_y() + 19.0)
        intro_ja, intro_en = _ja_en("certificate.intro", issuer=self.t(self.record.issuer))
        pdf.paragraph([_Text(intro_ja), _Text(intro_en, _EN + 0.4, _GREY)], gap=0.6)

    def kv_row(self, msgid: str, value: str, *, value_size: float = _JA) -> _Row:
        return (
            _Cell(_LABEL_W, _label(msgid), _LABEL_FILL),
            _Cell(_CONTENT_W - _LABEL_W, (_Text(value, value_size),)),
        )

    def summary(self) -> None:
        record, pdf = self.record, self.pdf
        pdf.heading("certificate.heading.summary")
        zone_note = " / ".join(_ja_en("certificate.time_zone_note"))
        rows = [
            self.kv_row("certificate.label.issuer", self.t(record.issuer)),
            self.kv_row("certificate.label.envelope_id", self.t(record.envelope_id)),
            self.kv_row("certificate.label.title", self.t(record.title)),
            self.kv_row("certificate.label.completed_at", self.time(record.completed_at)),
            self.kv_row("certificate.label.time_zone", f"{self.t(record.timezone)}（{zone_note}）"),
            self.kv_row("certificate.label.counts", self.counts()),
        ]
        for row in rows:
            pdf.row(row)

    def counts(self) -> str:
        counts = {"documents": len(self.record.documents), "participants": len(self.record.participants)}
        return " / ".join(_ja_en("certificate.counts", **counts))

    def documents(self) -> None:
        pdf = self.pdf
        pdf.heading("certificate.heading.documents")
        for number, document in enumerate(self.record.documents, start=1):
            rows = self.document_rows(number, document)
            pdf.keep(pdf.rows_height(rows))
            for row in rows:
                pdf.row(row)
            pdf.set_y(pdf.get_y() + 2.0)

    def document_rows(self, number: int, document: DocumentRecord) -> list[_Row]:
        heading = _Cell(
            _CONTENT_W,
            (_Text(" / ".join(_ja_en("certificate.document", number=number)), _JA, _ACCENT, bold=True),),
            _HEAD_FILL,
        )
        rows: list[_Row] = [
            (heading,),
            self.kv_row("certificate.label.document_name", self.t(document.name)),
            self.kv_row("certificate.label.pages", str(document.pages)),
            self.kv_row("certificate.label.sha256_original", document.original_sha256),
        ]
        if document.normalized_sha256 is not None:
            rows.append(self.kv_row("certificate.label.sha256_normalized", document.normalized_sha256))
        rows.append(self.kv_row("certificate.label.sha256_sealed", document.sealed_sha256))
        return rows

    def participants(self) -> None:
        pdf = self.pdf
        pdf.heading("certificate.heading.participants")
        for participant in self.record.participants:
            self.participant(participant)

    def participant(self, participant: ParticipantRecord) -> None:
        pdf = self.pdf
        pdf.repeat_rows = []
        role_ja, role_en = _ja_en(f"certificate.role.{participant.role}")
        person = participant.person
        title = f"{participant.order}. {role_ja} / {role_en}: {self.t(person.name)}"
        heading = self.participant_heading(title)
        half = _CONTENT_W / 2 - _SHORT_LABEL_W
        details = [
            heading,
            (
                _Cell(_SHORT_LABEL_W, _label("certificate.label.name"), _LABEL_FILL),
                _Cell(half, _value(self.t(person.name))),
                _Cell(_SHORT_LABEL_W, _label("certificate.label.email"), _LABEL_FILL),
                _Cell(half, _value(self.t(str(person.email)))),
            ),
            (
                _Cell(_SHORT_LABEL_W, _label("certificate.label.organization"), _LABEL_FILL),
                _Cell(
                    _CONTENT_W - _SHORT_LABEL_W,
                    _value(self.t(person.organization) if person.organization else "—"),
                ),
            ),
        ]
        columns = self.event_columns()
        first_event = self.event_rows(participant.events[0]) if participant.events else []
        pdf.set_y(pdf.get_y() + 1.0)
        pdf.keep(pdf.rows_height([*details, columns, *first_event]))
        for row in details:
            pdf.row(row)
        if not participant.events:
            pdf.row((_Cell(_CONTENT_W, _bilingual(*_ja_en("certificate.no_actions"))),))
        else:
            pdf.row(columns)
            continued = " / ".join(_ja_en("certificate.continued"))
            pdf.repeat_rows = [self.participant_heading(f"{title}（{continued}）"), columns]
            for event in participant.events:
                rows = self.event_rows(event)
                pdf.keep(pdf.rows_height(rows))
                for row in rows:
                    pdf.row(row)
            pdf.repeat_rows = []
        pdf.set_y(pdf.get_y() + 3.0)

    def participant_heading(self, title: str) -> _Row:
        return (_Cell(_CONTENT_W, (_Text(title, _JA, _ACCENT, bold=True),), _HEAD_FILL),)

    def event_columns(self) -> _Row:
        columns = ("action", "time", "authentication", "ip_address", "user_agent")
        return tuple(
            _Cell(w, _label(f"certificate.column.{column}", small=True), _LABEL_FILL)
            for w, column in zip(_EVENT_COLS, columns, strict=True)
        )

    def event_rows(self, event: ParticipantEvent) -> list[_Row]:
        kind_ja, kind_en = _ja_en(f"event.kind.{event.kind.value}")
        if event.auth_methods:
            auth = _bilingual(
                describe_auth(event.auth_methods, "ja"), describe_auth(event.auth_methods, "en"), small=True
            )
        else:
            auth = _value("—", small=True)
        widths = _EVENT_COLS
        rows: list[_Row] = [
            (
                _Cell(widths[0], _bilingual(kind_ja, kind_en, small=True)),
                _Cell(widths[1], _value(self.time(event.at), small=True)),
                _Cell(widths[2], auth),
                _Cell(widths[3], _value(self.t(event.ip_address) if event.ip_address else "—", small=True)),
                _Cell(widths[4], _value(self.t(event.user_agent) if event.user_agent else "—", small=True)),
            )
        ]
        if event.note:
            rows.append(
                (
                    _Cell(widths[0], _label("certificate.label.note", small=True), _LABEL_FILL),
                    _Cell(_CONTENT_W - widths[0], _value(self.t(event.note), small=True)),
                )
            )
        return rows

    def statement(self) -> None:
        pdf = self.pdf
        issuer = self.t(self.record.issuer)
        pdf.heading("certificate.heading.statement", keep_with=40)
        seals_ja, seals_en = _ja_en("certificate.statement.seals", issuer=issuer)
        records_ja, records_en = _ja_en("certificate.statement.records")
        texts = [
            _Text(seals_ja),
            _Text(seals_en, _EN + 0.4, _GREY),
            _Text(records_ja),
            _Text(records_en, _EN + 0.4, _GREY),
        ]
        if self.has_undisplayable():
            undisplayable_ja, undisplayable_en = _ja_en("certificate.statement.undisplayable")
            texts += [_Text(undisplayable_ja), _Text(undisplayable_en, _EN + 0.4, _GREY)]
        pdf.paragraph(texts, gap=1.2)

    def has_undisplayable(self) -> bool:
        record = self.record
        texts: list[str | None] = [record.issuer, record.envelope_id, record.title, record.timezone]
        texts += [d.name for d in record.documents]
        for p in record.participants:
            texts += [p.person.name, str(p.person.email), p.person.organization]
            for e in p.events:
                texts += [e.ip_address, e.user_agent, e.note]
        return not all(fully_displayable(text) for text in texts if text)


def _zone(record: AgreementRecord) -> ZoneInfo:
    try:
        return ZoneInfo(record.timezone)
    except (ZoneInfoNotFoundError, ValueError, OSError) as e:
        raise CertificateRenderError(f"unknown time zone {record.timezone!r}") from e


_USUAL_PAGES = 2


def render_agreement_certificate(record: AgreementRecord) -> bytes:
    """Render the agreement certificate (合意締結証明書) of ``record`` as PDF bytes.

    The same record always gives the same bytes.

    :raises CertificateRenderError: the time zone is unknown, or the PDF could not be rendered.
    """
    zone = _zone(record)
    try:
        # The footer says "Page N / M". The first pass assumes the usual length (two pages: the
        # summary and documents, then one or two signers); only a certificate of another length is
        # rendered again with the count it found (layout is deterministic, so that pass has exactly
        # as many pages). Either way the same record gives the same bytes.
        pdf = _Writer(record, zone, _USUAL_PAGES).render()
        if pdf.pages_count != _USUAL_PAGES:
            pages = pdf.pages_count
            pdf = _Writer(record, zone, pages).render()
            if pdf.pages_count != pages:
                raise CertificateRenderError(
                    f"page count changed between passes: {pages} → {pdf.pages_count}"
                )
        return bytes(pdf.output())
    except TachiaiError:
        raise
    except Exception as e:
        raise CertificateRenderError(f"{type(e).__name__}: {e}") from e
