"""A realistic sample contract for demos and tests: a two-page mutual NDA (秘密保持契約書).

Rendered with the font shipped in :mod:`tachiai.fonts` (embedded as a subset); the same arguments
always give the same bytes.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from fpdf import FPDF
from fpdf.enums import TextMode

from tachiai.domain.errors import ConfigurationError, TachiaiError
from tachiai.fonts import FONT_FAMILY, break_lines, displayable, japanese_font_path

__all__ = ["MAX_PARTY_NAME_LENGTH", "sample_nda_pdf", "wareki"]

MAX_PARTY_NAME_LENGTH = 60
"""Longest party name that still keeps the contract on two pages."""

_JST = ZoneInfo("Asia/Tokyo")
_ERAS = (
    (dt.date(2019, 5, 1), "令和", 2018),
    (dt.date(1989, 1, 8), "平成", 1988),
    (dt.date(1926, 12, 25), "昭和", 1925),
)

_MARGIN_X = 25.0
_MARGIN_TOP = 25.0
_BOTTOM = 297.0 - 22.0
_WIDTH = 210.0 - 2 * _MARGIN_X
_PT = 25.4 / 72
_BODY = 10.0
_LEADING = _BODY * 1.7 * _PT
_EM = _BODY * _PT


def wareki(date: dt.date) -> str:
    """``date`` in the Japanese era calendar, as contracts write it: ``令和8年11月22日`` (``令和元年…``)."""
    for start, era, offset in _ERAS:
        if date >= start:
            year = date.year - offset
            return f"{era}{'元' if year == 1 else year}年{date.month}月{date.day}日"
    return f"{date.year}年{date.month}月{date.day}日"


@dataclass(frozen=True)
class _Article:
    heading: str
    paragraphs: tuple[str, ...]
    """One paragraph is written without a number; several are numbered 1, 2, …"""
    items: tuple[str, ...] = ()
    """Numbered items (1), (2), … after the last paragraph."""


def _articles() -> tuple[_Article, ...]:
    return (
        _Article(
            "第1条（目的）",
            (
                "本契約は、甲及び乙が相互の業務提携の可能性を検討する目的（以下「本目的」という。）のために、"
                "甲又は乙（以下、秘密情報を開示する当事者を「開示者」、開示を受ける当事者を「受領者」という。）"
                "が相手方に開示する秘密情報の取扱いについて定めることを目的とする。",
            ),
        ),
        _Article(
            "第2条（秘密情報の定義）",
            (
                "本契約において「秘密情報」とは、本目的のために開示者が受領者に対し、書面、電磁的記録、口頭"
                "その他方法の如何を問わず開示した技術上、営業上その他一切の情報であって、開示の際に秘密である"
                "旨が明示されたものをいう。ただし、口頭その他有形の媒体によらずに開示された情報については、"
                "開示後14日以内に書面又は電磁的方法により秘密である旨を通知したものに限る。",
                "前項の定めにかかわらず、次の各号のいずれかに該当する情報は、秘密情報に含まれないものとする。",
            ),
            (
                "開示を受けた時点で既に公知であった情報",
                "開示を受けた後、受領者の責めに帰すべき事由によらずに公知となった情報",
                "開示を受けた時点で既に受領者が正当に保有していた情報",
                "正当な権限を有する第三者から秘密保持義務を負うことなく適法に取得した情報",
                "秘密情報によらずに受領者が独自に開発した情報",
            ),
        ),
        _Article(
            "第3条（秘密保持義務）",
            (
                "受領者は、秘密情報を善良な管理者の注意をもって厳に秘密として保持し、開示者の事前の書面による"
                "承諾なく、第三者に開示又は漏洩してはならない。",
                "前項の定めにかかわらず、受領者は、本目的のために秘密情報を知る必要のある自己の役員及び従業員"
                "並びに弁護士、公認会計士その他法令上守秘義務を負う専門家に限り、秘密情報を開示することができる。"
                "この場合、受領者は、当該開示先に本契約に定める義務と同等の義務を遵守させ、その違反について"
                "責任を負う。",
                "受領者は、法令又は裁判所、監督官庁その他公的機関の命令により秘密情報の開示を求められた場合には、"
                "開示者に対し速やかにその旨を通知したうえで、必要な範囲に限り秘密情報を開示することができる。",
            ),
        ),
        _Article(
            "第4条（目的外使用の禁止）",
            (
                "受領者は、秘密情報を本目的以外の目的のために使用してはならず、また、本目的に必要な範囲を超えて"
                "秘密情報を複製し、又は改変してはならない。",
            ),
        ),
        _Article(
            "第5条（返還・廃棄）",
            (
                "受領者は、本契約が終了した場合又は開示者から要求があった場合には、開示者の指示に従い、秘密情報"
                "（その複製物を含む。）を速やかに返還し、又は廃棄若しくは消去する。",
                "受領者は、開示者から求められたときは、前項に基づく返還、廃棄又は消去を証する書面を開示者に"
                "提出する。",
            ),
        ),
        _Article(
            "第6条（有効期間）",
            (
                "本契約の有効期間は、本契約締結日から1年間とする。ただし、期間満了日の1か月前までに甲乙いずれ"
                "からも書面による別段の申出がないときは、本契約は同一条件でさらに1年間自動的に更新されるものとし、"
                "以後も同様とする。",
                "前項の定めにかかわらず、第3条から第5条まで及び第7条の規定は、本契約の終了後も3年間有効に"
                "存続する。",
            ),
        ),
        _Article(
            "第7条（損害賠償）",
            (
                "甲又は乙は、本契約に違反して相手方に損害を与えた場合には、相手方に対し、その損害（合理的な"
                "弁護士費用を含む。）を賠償する責任を負う。",
            ),
        ),
        _Article(
            "第8条（協議）",
            (
                "本契約に定めのない事項又は本契約の解釈について疑義が生じた事項については、甲乙誠実に協議の"
                "うえ解決する。",
            ),
        ),
        _Article(
            "第9条（管轄裁判所）",
            ("本契約に関する一切の紛争については、東京地方裁判所を第一審の専属的合意管轄裁判所とする。",),
        ),
    )


class _ContractPdf(FPDF):
    def __init__(self) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self.alias_nb_pages(None)  # type: ignore[arg-type]  # None is documented to disable it
        self.set_auto_page_break(False)
        self.set_margins(_MARGIN_X, _MARGIN_TOP, _MARGIN_X)
        self.c_margin = 0
        self.add_font(FONT_FAMILY, fname=str(japanese_font_path()))
        self.set_font(FONT_FAMILY, size=_BODY)

    def footer(self) -> None:
        with self.local_context(font_size_pt=8, text_color=(90, 90, 90)):
            self.set_xy(_MARGIN_X, _BOTTOM + 8.0)
            self.cell(w=_WIDTH, h=4.0, text=f"{self.page_no()} / 2", align="C")

    def room(self) -> float:
        return _BOTTOM - self.get_y()

    def lines(self, text: str, *, indent: float = 0.0, label: str = "", size: float = _BODY) -> None:
        """``text`` wrapped at ``indent``; ``label`` (a paragraph or item number) hangs to its left."""
        self.set_font_size(size)
        leading = size * 1.7 * _PT
        for i, line in enumerate(break_lines(text, _WIDTH - indent, self.get_string_width)):
            if leading > self.room():
                self.add_page()
            y = self.get_y()
            if i == 0 and label:
                self.set_xy(_MARGIN_X + indent - 2 * _EM - 1.0, y)
                self.cell(w=2 * _EM, h=leading, text=label, align="R")
            self.set_xy(_MARGIN_X + indent, y)
            self.cell(w=_WIDTH - indent, h=leading, text=line)
            self.set_xy(_MARGIN_X, y + leading)
        self.set_font_size(_BODY)

    def bold_line(self, text: str, *, size: float = _BODY, align: str = "L") -> None:
        leading = size * 1.7 * _PT
        y = self.get_y()
        # Filled and stroked glyphs stand in for the bold face the font does not have.
        with self.local_context(font_size_pt=size, text_mode=TextMode.FILL_STROKE, line_width=0.12):
            self.set_xy(_MARGIN_X, y)
            self.cell(w=_WIDTH, h=leading, text=text, align=align)
        self.set_xy(_MARGIN_X, y + leading)

    def gap(self, height: float) -> None:
        self.set_y(min(self.get_y() + height, _BOTTOM))


def _render(disclosing: str, receiving: str, date: dt.date) -> bytes:
    pdf = _ContractPdf()
    pdf.set_title("秘密保持契約書")
    pdf.set_subject(f"秘密保持契約書（{disclosing}・{receiving}）")
    pdf.set_creator("tachiai")
    pdf.set_producer("tachiai")
    pdf.set_lang("ja-JP")
    pdf.set_creation_date(dt.datetime(date.year, date.month, date.day, 9, 0, tzinfo=_JST))
    pdf.add_page()

    pdf.gap(2.0)
    pdf.bold_line("秘密保持契約書", size=16, align="C")
    pdf.gap(6.0)
    pdf.lines(
        f"　{disclosing}（以下「甲」という。）と{receiving}（以下「乙」という。）とは、相互に開示する"
        "秘密情報の取扱いについて、次のとおり秘密保持契約（以下「本契約」という。）を締結する。"
    )
    for article in _articles():
        pdf.gap(2.5)
        if pdf.room() < 3 * _LEADING:  # keep a heading with the start of its text
            pdf.add_page()
        pdf.bold_line(article.heading)
        numbered = len(article.paragraphs) > 1
        for number, paragraph in enumerate(article.paragraphs, start=1):
            pdf.lines(paragraph, indent=2 * _EM, label=str(number) if numbered else "")
        for number, item in enumerate(article.items, start=1):
            pdf.lines(item, indent=4.5 * _EM, label=f"({number})")

    pdf.gap(5.0)
    pdf.lines(
        "　本契約の成立を証するため、本契約書を電磁的記録により作成し、甲乙合意の後、電子署名を施し、"
        "各自その電磁的記録を保管する。"
    )
    pdf.gap(5.0)
    pdf.lines(wareki(date), indent=2 * _EM)
    pdf.gap(4.0)
    for mark, address, name, representative in (
        ("甲", "東京都千代田区丸の内一丁目1番1号", disclosing, "代表取締役 山田 太郎"),
        ("乙", "大阪府大阪市北区梅田二丁目2番2号", receiving, "代表取締役 山﨑 健一"),
    ):
        _signature_block(pdf, mark, address, name, representative)
        pdf.gap(4.0)

    if pdf.pages_count != 2:
        raise TachiaiError(f"the sample contract has {pdf.pages_count} pages instead of 2")
    return bytes(pdf.output())


def _signature_block(pdf: _ContractPdf, mark: str, address: str, name: str, representative: str) -> None:
    x = _MARGIN_X + 60.0
    label_w = 16.0
    value_w = _MARGIN_X + _WIDTH - x - 8.0 - label_w
    rows = (("住所", address), ("名称", name), ("代表者", representative))
    pdf.set_font_size(_BODY)
    for i, (label, value) in enumerate(rows):
        lines = break_lines(value, value_w, pdf.get_string_width)
        for j, line in enumerate(lines):
            if pdf.room() < _LEADING:
                pdf.add_page()
            y = pdf.get_y()
            if i == 0 and j == 0:
                pdf.set_xy(x, y)
                pdf.cell(w=8.0, h=_LEADING, text=mark)
            if j == 0:
                pdf.set_xy(x + 8.0, y)
                pdf.cell(w=label_w, h=_LEADING, text=label)
            pdf.set_xy(x + 8.0 + label_w, y)
            pdf.cell(w=value_w, h=_LEADING, text=line)
            pdf.set_xy(_MARGIN_X, y + _LEADING)


def sample_nda_pdf(
    *,
    disclosing: str = "株式会社立会テクノロジー",
    receiving: str = "髙橋﨑商事株式会社",
    date: dt.date | None = None,
) -> bytes:
    """A two-page mutual non-disclosure agreement (秘密保持契約書) between ``disclosing`` (甲) and
    ``receiving`` (乙), dated ``date`` (today in Japan when not given) in the era calendar.

    The same arguments give the same bytes.

    :raises ConfigurationError: a party name is empty or longer than :data:`MAX_PARTY_NAME_LENGTH`.
    """
    names: list[str] = []
    for field, value in (("disclosing", disclosing), ("receiving", receiving)):
        name = " ".join(displayable(value).split())
        if not name or len(name) > MAX_PARTY_NAME_LENGTH:
            raise ConfigurationError(
                f"{field} must be 1 to {MAX_PARTY_NAME_LENGTH} characters (characters the font lacks "
                "count as their <U+XXXX> form)",
                name=field,
            )
        names.append(name)
    if date is None:
        date = dt.datetime.now(_JST).date()
    try:
        return _render(names[0], names[1], date)
    except TachiaiError:
        raise
    except Exception as e:
        raise TachiaiError(f"sample contract: {type(e).__name__}: {e}") from e
