"""The mails of the envelope workflow, in Japanese and English, as plain text and HTML.

Each public function returns a :class:`MailMessage`: who it goes to, the subject, both bodies and the
links it carries. Nothing here talks to AWS; :func:`tachiai.mail.mime.build_mime` turns a message into
bytes and :class:`tachiai.adapters.ses.SesMailer` sends them.

A mail is assembled from a few blocks (greeting, paragraphs, facts, quotes, buttons, notes), and every
block renders itself twice — as plain text and as HTML — so the two bodies always say the same thing
and carry the same links (CloudSign Q&A: text-only mail clients must work too).

Values people typed (names, organizations, titles, messages, reasons) are untrusted:

* one-line values are flattened to one line, so a title cannot fake a second "link" paragraph in the
  plain text, and cannot break a header;
* multi-line values (the sender's message, a reason) are always shown quoted (``> `` in text, a
  ``<blockquote>`` in HTML), so they cannot pass for the service's own words;
* everything is HTML-escaped, and only links given by tachiai itself (http/https) become ``href``.

The access code of a participant is never a parameter: the sender tells it separately, so the mail can
only say that one is needed.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Protocol
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator

from tachiai.domain import text as text_rule
from tachiai.domain.errors import InvalidMailContent
from tachiai.domain.events import Language, Person

__all__ = [
    "DownloadLink",
    "MailKind",
    "MailMessage",
    "MailSettings",
    "cancelled",
    "completed",
    "deadline_alert",
    "expired",
    "failed",
    "format_mail_time",
    "forwarded",
    "link_locked",
    "multi_line",
    "rejected",
    "signing_request",
    "single_line",
]


class MailKind(StrEnum):
    SIGNING_REQUEST = "signing_request"
    REMINDER = "reminder"
    COMPLETED = "completed"
    REJECTED = "rejected"
    EXPIRED = "expired"
    CANCELLED = "cancelled"
    FORWARDED = "forwarded"
    FAILED = "failed"
    LOCKED = "locked"
    DEADLINE = "deadline"


class MailSettings(BaseModel):
    """What a tenant decides about its mails (validated once, when configuration is loaded)."""

    model_config = ConfigDict(frozen=True)

    from_address: EmailStr
    """The verified sending address, e.g. ``noreply@sign.example.co.jp``."""
    service_name: str = Field(default="tachiai", min_length=1, max_length=100)
    """The name of the service as the tenant presents it (From, footer)."""
    timezone: str = "Asia/Tokyo"
    """IANA zone every time in a mail is shown in."""
    sender_in_from: bool = True
    """Mails sent on a sender's behalf show ``{sender} via {service}`` in From; ``False``: the service
    name only. The address is always :attr:`from_address` (recipients check it: CloudSign Q&A 3)."""

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as e:
            raise ValueError(f"unknown time zone {value!r}") from e
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class MailMessage(BaseModel):
    """One mail, ready to be turned into MIME."""

    model_config = ConfigDict(frozen=True)

    kind: MailKind
    language: Language
    to: Person
    from_name: str
    """Display name of From."""
    from_address: str
    """Address of From (validated when the MIME message is built)."""
    reply_to: Person | None
    """Where replies go: the sender on mails sent on their behalf; ``None``: nowhere useful."""
    subject: str
    text: str
    html: str
    links: list[str]
    """Every URL the mail carries, in order (the same set in ``text`` and in ``html``)."""


class DownloadLink(BaseModel):
    """A sealed document offered for download in the completion mail."""

    model_config = ConfigDict(frozen=True)

    name: str
    """File name shown to the reader."""
    url: str


# --- untrusted text ---------------------------------------------------------------------------

# The one cleaning rule (Unicode Cc, Cf, Zl, Zp: controls, bidi overrides, zero-width characters,
# line separators) lives in tachiai.domain.text; a mail or a page also shows runs of spaces as one.
_SPACES = re.compile(r"\s+")


def single_line(value: str) -> str:
    """``value`` on one line (:func:`tachiai.domain.text.single_line`), runs of spaces as one space."""
    return _SPACES.sub(" ", text_rule.single_line(value))


def multi_line(value: str) -> str:
    """``value`` with ``\\n`` line breaks only, no other controls, no trailing spaces, at most one
    empty line in a row (:func:`tachiai.domain.text.multi_line`)."""
    return text_rule.multi_line(value)


def _link(url: str) -> str:
    # Links come from tachiai (signing page, downloads), never from a person; still, only a plain
    # http(s) URL may become an href. The URL carries a secret token: never put it in the error.
    try:
        parts = urlsplit(url)
    except ValueError as e:
        raise InvalidMailContent("unparseable link", reason="link") from e
    if (
        parts.scheme not in ("https", "http")
        or not parts.netloc
        or not re.fullmatch(r"[\x21-\x7e]+", url)
        or any(ch in url for ch in "\"'<>\\`")
    ):
        raise InvalidMailContent(f"link with scheme {parts.scheme!r} or unsafe characters", reason="link")
    return url


# --- times ------------------------------------------------------------------------------------

_MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _zone_label(local: datetime) -> str:
    name = local.tzname() or ""
    if name.isalpha():
        return name  # JST, UTC, CET ...
    offset = local.strftime("%z")  # zones without an abbreviation: "+04" → UTC+04:00
    return f"UTC{offset[:3]}:{offset[3:]}"


def format_mail_time(moment: datetime, zone: ZoneInfo, language: Language) -> str:
    """``2026年11月29日 23:59 (JST)`` / ``29 Nov 2026 23:59 JST``: minutes, in the tenant's zone.

    :raises InvalidMailContent: ``moment`` has no time zone.
    """
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise InvalidMailContent("naive datetime", reason="time without a time zone")
    local = moment.astimezone(zone)
    label = _zone_label(local)
    if language == "ja":
        return f"{local.year}年{local.month}月{local.day}日 {local:%H:%M} ({label})"
    return f"{local.day} {_MONTHS_EN[local.month - 1]} {local.year} {local:%H:%M} {label}"


# --- blocks -----------------------------------------------------------------------------------

_FONT = (
    "-apple-system,BlinkMacSystemFont,'Hiragino Sans','Hiragino Kaku Gothic ProN',Meiryo,"
    "'Segoe UI',Roboto,'Helvetica Neue',Arial,sans-serif"
)
_ACCENT = "#1d4ed8"
_MUTED = "#6b7280"


def _esc(value: str) -> str:
    return html.escape(value, quote=True)


def _esc_lines(value: str) -> str:
    return "<br>".join(_esc(line) for line in value.split("\n"))


class _Block(Protocol):
    def text(self, language: Language) -> str: ...

    def html(self, language: Language) -> str: ...


@dataclass(frozen=True)
class _Greeting:
    person: Person

    def _lines(self, language: Language) -> list[str]:
        name = single_line(self.person.name)
        if language == "en":
            return [f"Dear {name},"]
        organization = single_line(self.person.organization or "")
        return [*([organization] if organization else []), f"{name} 様"]

    def text(self, language: Language) -> str:
        return "\n".join(self._lines(language))

    def html(self, language: Language) -> str:
        return f'<p style="margin:0 0 20px;">{"<br>".join(_esc(x) for x in self._lines(language))}</p>'


@dataclass(frozen=True)
class _Paragraph:
    body: str
    """Lines separated by ``\\n``; already clean."""
    small: bool = False

    def text(self, language: Language) -> str:
        return self.body

    def html(self, language: Language) -> str:
        style = f"margin:0 0 16px;font-size:13px;color:{_MUTED};" if self.small else "margin:0 0 16px;"
        return f'<p style="{style}">{_esc_lines(self.body)}</p>'


@dataclass(frozen=True)
class _Facts:
    rows: Sequence[tuple[str, str]]
    """(label, value) pairs; a value may have several lines."""

    def text(self, language: Language) -> str:
        if language == "ja":
            return "\n\n".join(f"■ {label}\n{value}" for label, value in self.rows)
        lines: list[str] = []
        for label, value in self.rows:
            first, *rest = value.split("\n")
            lines.append(f"{label}: {first}")
            lines.extend(" " * (len(label) + 2) + line for line in rest)
        return "\n".join(lines)

    def html(self, language: Language) -> str:
        return "".join(
            f'<p style="margin:0 0 14px;">'
            f'<span style="display:block;font-size:13px;color:{_MUTED};">{_esc(label)}</span>'
            f'<span style="font-weight:bold;">{_esc_lines(value)}</span></p>'
            for label, value in self.rows
        )


@dataclass(frozen=True)
class _Quote:
    label: str
    body: str
    """What a person wrote (already :func:`multi_line`)."""

    def text(self, language: Language) -> str:
        quoted = "\n".join(f"> {line}".rstrip() for line in self.body.split("\n"))
        head = f"■ {self.label}" if language == "ja" else f"{self.label}:"
        return f"{head}\n{quoted}"

    def html(self, language: Language) -> str:
        return (
            f'<p style="margin:0 0 4px;font-size:13px;color:{_MUTED};">{_esc(self.label)}</p>'
            '<blockquote style="margin:0 0 16px;padding:10px 14px;border-left:4px solid #d1d5db;'
            f'background-color:#f9fafb;color:#111827;">{_esc_lines(self.body)}</blockquote>'
        )


@dataclass(frozen=True)
class _Button:
    label: str
    url: str
    """Already checked by :func:`_link`."""

    def text(self, language: Language) -> str:
        return f"▼ {self.label}\n{self.url}" if language == "ja" else f"{self.label}:\n{self.url}"

    def html(self, language: Language) -> str:
        fallback = (
            "ボタンが開けない場合は、次のURLをブラウザに貼り付けてください。"
            if language == "ja"
            else "If the button does not work, paste this address into your browser:"
        )
        url = _esc(self.url)
        return (
            '<table role="presentation" cellpadding="0" cellspacing="0" border="0" style="margin:4px 0 8px;">'
            f'<tr><td style="border-radius:6px;background-color:{_ACCENT};">'
            f'<a href="{url}" style="display:inline-block;padding:13px 28px;font-size:16px;font-weight:bold;'
            f'color:#ffffff;text-decoration:none;border-radius:6px;">{_esc(self.label)}</a>'
            "</td></tr></table>"
            f'<p style="margin:0 0 16px;font-size:12px;color:{_MUTED};word-break:break-all;">{_esc(fallback)}'
            f'<br><a href="{url}" style="color:{_ACCENT};">{url}</a></p>'
        )


@dataclass(frozen=True)
class _Heading:
    title: str

    def text(self, language: Language) -> str:
        return f"【{self.title}】" if language == "ja" else f"[{self.title}]"

    def html(self, language: Language) -> str:
        return f'<h2 style="margin:24px 0 8px;font-size:15px;line-height:1.5;">{_esc(self.title)}</h2>'


@dataclass(frozen=True)
class _Notes:
    items: Sequence[str]

    def text(self, language: Language) -> str:
        bullet = "・" if language == "ja" else "- "
        return "\n".join(f"{bullet}{item}" for item in self.items)

    def html(self, language: Language) -> str:
        items = "".join(f'<li style="margin:0 0 6px;">{_esc(item)}</li>' for item in self.items)
        return f'<ul style="margin:0 0 16px;padding-left:20px;font-size:13px;color:#374151;">{items}</ul>'


# --- assembly ---------------------------------------------------------------------------------


def _footer(settings: MailSettings, reply_to: Person | None, language: Language) -> list[str]:
    service = single_line(settings.service_name)
    if language == "ja":
        lines = [f"このメールは{service}（{settings.from_address}）から自動送信されています。"]
        if reply_to is not None:
            lines.append(
                f"このメールに返信すると、{single_line(reply_to.name)}様（{reply_to.email}）に届きます。"
            )
        else:
            lines.append("このメールは送信専用のため、ご返信いただいてもお答えできません。")
        return lines
    lines = [f"This email was sent automatically by {service} ({settings.from_address})."]
    if reply_to is not None:
        lines.append(f"Replies to this email go to {single_line(reply_to.name)} ({reply_to.email}).")
    else:
        lines.append("This address does not receive replies.")
    return lines


def _render_text(blocks: Sequence[_Block], footer: list[str], language: Language) -> str:
    parts: list[str] = []
    for i, block in enumerate(blocks):
        if i:
            # A heading sits directly on the text it introduces.
            parts.append("\n" if isinstance(blocks[i - 1], _Heading) else "\n\n")
        parts.append(block.text(language))
    body = "".join(parts)
    return f"{body}\n\n{'-' * 40}\n" + "\n".join(footer) + "\n"


_FRAME = 'role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0"'
_CARD_STYLE = "max-width:600px;background-color:#ffffff;border:1px solid #e5e7eb;border-radius:8px;"
_HEADER_STYLE = (
    f"padding:16px 24px;border-bottom:1px solid #e5e7eb;font-family:{_FONT};"
    "font-size:14px;font-weight:bold;color:#374151;"
)
_CONTENT_STYLE = (
    f"padding:24px;font-family:{_FONT};font-size:15px;line-height:1.7;color:#111827;word-break:break-word;"
)
_FOOTER_STYLE = (
    f"padding:16px 24px;border-top:1px solid #e5e7eb;font-family:{_FONT};"
    f"font-size:12px;line-height:1.6;color:{_MUTED};"
)


def _render_html(
    settings: MailSettings, subject: str, blocks: Sequence[_Block], footer: list[str], language: Language
) -> str:
    # Tables for the frame because Outlook ignores max-width on divs; inline styles only (many clients
    # strip <style>); no images, fonts or CSS from elsewhere; one column that narrows on a phone.
    content = "\n".join(block.html(language) for block in blocks)
    foot = "<br>".join(_esc(line) for line in footer)
    service = _esc(single_line(settings.service_name))
    return f"""<!DOCTYPE html>
<html lang="{language}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light">
<title>{_esc(subject)}</title>
</head>
<body style="margin:0;padding:0;background-color:#f3f4f6;">
<table {_FRAME} style="background-color:#f3f4f6;">
<tr><td align="center" style="padding:24px 12px;">
<table {_FRAME} style="{_CARD_STYLE}">
<tr><td style="{_HEADER_STYLE}">{service}</td></tr>
<tr><td style="{_CONTENT_STYLE}">
{content}
</td></tr>
<tr><td style="{_FOOTER_STYLE}">{foot}</td></tr>
</table>
</td></tr>
</table>
</body>
</html>
"""


def _message(
    settings: MailSettings,
    *,
    kind: MailKind,
    to: Person,
    language: Language,
    from_name: str,
    reply_to: Person | None,
    subject: str,
    blocks: Sequence[_Block],
) -> MailMessage:
    subject = single_line(subject)
    footer = _footer(settings, reply_to, language)
    links = list(dict.fromkeys(block.url for block in blocks if isinstance(block, _Button)))
    return MailMessage(
        kind=kind,
        language=language,
        to=to,
        from_name=from_name,
        from_address=settings.from_address,
        reply_to=reply_to,
        subject=subject,
        text=_render_text(blocks, footer, language),
        html=_render_html(settings, subject, blocks, footer, language),
        links=links,
    )


def _same_person(a: Person, b: Person) -> bool:
    return a.email.lower() == b.email.lower()


def on_behalf_of_name(settings: MailSettings, sender: Person) -> str:
    """The From name of a mail the service sends for ``sender`` to someone else (``{sender} via
    {service}``, or the service's name): envelope creation checks it can be mailed."""
    service = single_line(settings.service_name)
    return f"{single_line(sender.name)} via {service}" if settings.sender_in_from else service


def _on_behalf_of(settings: MailSettings, sender: Person, to: Person) -> tuple[str, Person | None]:
    """From name and Reply-To of a mail the service sends for ``sender``: replies reach the sender."""
    if _same_person(sender, to):
        return single_line(settings.service_name), None
    return on_behalf_of_name(settings, sender), sender


def _subject_party(person: Person) -> str:
    """The name in 【…】様より: the organization when known (as GMO Sign shows it), else the person."""
    return single_line(person.organization or "") or single_line(person.name)


def _inline(person: Person, language: Language) -> str:
    """``株式会社例の山田太郎様`` / ``Taro Yamada of Example Inc.``"""
    name = single_line(person.name)
    organization = single_line(person.organization or "")
    if language == "ja":
        return f"{organization}の{name}様" if organization else f"{name}様"
    return f"{name} of {organization}" if organization else name


def _card(person: Person, language: Language) -> str:
    """Two lines: name (organization), then the address."""
    name = single_line(person.name)
    organization = single_line(person.organization or "")
    if language == "ja":
        first = f"{name}様（{organization}）" if organization else f"{name}様"
    else:
        first = f"{name} ({organization})" if organization else name
    return f"{first}\n{person.email}"


def _quoted_title(title: str, language: Language) -> str:
    return f"「{single_line(title)}」" if language == "ja" else f"\u201c{single_line(title)}\u201d"


# --- the mails --------------------------------------------------------------------------------


def signing_request(
    settings: MailSettings,
    *,
    to: Person,
    language: Language,
    sender: Person,
    title: str,
    link: str,
    expires_at: datetime,
    access_code_required: bool = False,
    message: str | None = None,
    document_names: Sequence[str] = (),
    is_reminder: bool = False,
) -> MailMessage:
    """The request to the participant whose turn it is (``is_reminder``: the reminder of it).

    ``link`` is the participant's opaque signing URL; it is shown with its expiry in the tenant's zone.

    :raises InvalidMailContent: ``link`` is not http(s), or ``expires_at`` has no time zone.
    """
    link = _link(link)
    zone = settings.zone
    until = format_mail_time(expires_at, zone, language)
    from_name, reply_to = _on_behalf_of(settings, sender, to)
    party, doc_title = _subject_party(sender), single_line(title)
    names = [single_line(n) for n in document_names if single_line(n)]
    note = multi_line(message or "")
    blocks: list[_Block] = [_Greeting(to)]
    if language == "ja":
        subject = f"【{party}】様より{doc_title}への署名依頼が届いています"
        if is_reminder:
            subject = f"【リマインド】{subject}"
            intro = (
                f"{_inline(sender, language)}からの署名依頼について、お手続きがまだ完了していないため、"
                "再度ご案内いたします。\n内容をご確認のうえ、署名（同意）のお手続きをお願いいたします。"
            )
        else:
            intro = (
                f"{_inline(sender, language)}から、書類への署名依頼が届いています。\n"
                "内容をご確認のうえ、署名（同意）のお手続きをお願いいたします。"
            )
        rows = [("書類名", doc_title)]
        if len(names) > 1 or (names and names[0] != doc_title):
            rows.append(("ファイル", "\n".join(f"・{n}" for n in names)))
        rows.append(("送信者", _card(sender, language)))
        blocks += [_Paragraph(intro), _Facts(rows)]
        if note:
            blocks.append(_Quote("送信者からのメッセージ", note))
        blocks += [
            _Button("書類を確認する", link),
            _Paragraph(
                f"URL有効期限：{until}\n有効期限を過ぎた場合は、送信者に再送信をご依頼ください。", small=True
            ),
        ]
        if access_code_required:
            blocks += [
                _Heading("アクセスコードについて"),
                _Paragraph(
                    "書類を開く際に、送信者が設定したアクセスコードの入力が必要です。"
                    "アクセスコードはこのメールには記載しておりません。送信者から別途お知らせする方法でご確認ください。"
                ),
            ]
        blocks.append(
            _Notes(
                [
                    "書類の確認・署名にアカウント登録は不要です。",
                    f"このURLは{single_line(to.name)}様専用です。第三者への転送や共有はお控えください。"
                    "ご担当の方が異なる場合は、書類の確認画面から適切な方へ転送できます。",
                    "このメールにお心当たりがない場合は、URLを開かずにこのメールを破棄してください。",
                ]
            )
        )
    else:
        subject = f"Signature request from {party}: {doc_title}"
        if is_reminder:
            subject = f"Reminder: {subject}"
            intro = (
                f"This is a reminder that {_inline(sender, language)} is still waiting for your signature "
                "on the document below.\nPlease review it and sign if you agree."
            )
        else:
            intro = (
                f"{_inline(sender, language)} has sent you a document to sign.\n"
                "Please review it and sign if you agree."
            )
        rows = [("Document", doc_title)]
        if len(names) > 1 or (names and names[0] != doc_title):
            rows.append(("Files", "\n".join(f"- {n}" for n in names)))
        rows.append(("From", _card(sender, language)))
        blocks += [_Paragraph(intro), _Facts(rows)]
        if note:
            blocks.append(_Quote("Message from the sender", note))
        blocks += [
            _Button("Review document", link),
            _Paragraph(
                f"This link is valid until {until}.\n"
                "If it has expired, please ask the sender to send the document again.",
                small=True,
            ),
        ]
        if access_code_required:
            blocks += [
                _Heading("Access code"),
                _Paragraph(
                    "You will need the access code set by the sender to open the document. "
                    "For your security, the code is not included in this email: the sender will give it "
                    "to you separately."
                ),
            ]
        blocks.append(
            _Notes(
                [
                    "You do not need an account to review or sign the document.",
                    "This link is for you only. Please do not forward or share it. If someone else should "
                    "sign, you can forward the request to them from the document page.",
                    "If you were not expecting this email, do not open the link; simply delete this email.",
                ]
            )
        )
    return _message(
        settings,
        kind=MailKind.REMINDER if is_reminder else MailKind.SIGNING_REQUEST,
        to=to,
        language=language,
        from_name=from_name,
        reply_to=reply_to,
        subject=subject,
        blocks=blocks,
    )


def completed(
    settings: MailSettings,
    *,
    to: Person,
    language: Language,
    sender: Person,
    title: str,
    parties: Sequence[Person],
    completed_at: datetime,
    documents: Sequence[DownloadLink],
    certificate_url: str,
    downloads_expire_at: datetime,
) -> MailMessage:
    """To every party: all agreed; download the sealed PDFs and the 合意締結証明書 while the links last.

    :raises InvalidMailContent: a link is not http(s), or a time has no time zone.
    """
    zone = settings.zone
    downloads = [(single_line(d.name), _link(d.url)) for d in documents]
    certificate_url = _link(certificate_url)
    when = format_mail_time(completed_at, zone, language)
    until = format_mail_time(downloads_expire_at, zone, language)
    from_name, reply_to = _on_behalf_of(settings, sender, to)
    doc_title = _quoted_title(title, language)
    blocks: list[_Block] = [_Greeting(to)]
    if language == "ja":
        subject = f"{doc_title}の締結が完了しました"
        blocks += [
            _Paragraph(
                f"{doc_title}は、すべての当事者が同意し、締結が完了しました。\n"
                "締結済みの書類と合意締結証明書を、以下からダウンロードできます。"
            ),
            _Facts(
                [
                    ("書類名", single_line(title)),
                    ("締結日時", when),
                    ("当事者", "\n".join(_card(p, language).split("\n")[0] for p in parties)),
                ]
            ),
            *(_Button(f"{name} をダウンロード", url) for name, url in downloads),
            _Button("合意締結証明書をダウンロード", certificate_url),
            _Paragraph(
                f"ダウンロード有効期限：{until}\n"
                "期限を過ぎるとダウンロードできなくなります。必ずダウンロードのうえ、大切に保管してください。",
                small=True,
            ),
            _Heading("電子署名の確認方法"),
            _Paragraph(
                "ダウンロードしたPDFをAdobe Acrobat Reader（無料）で開き、署名パネルを表示してください。"
                "各当事者の同意ごとの電子署名（氏名・メールアドレス・日時）とタイムスタンプが表示され、"
                "署名後に書類が変更されていないことを確認できます。\n"
                "合意締結証明書には各書類のハッシュ値（SHA-256）が記載されており、"
                "お手元のファイルと照合できます。"
            ),
        ]
    else:
        subject = f"Completed: {single_line(title)}"
        blocks += [
            _Paragraph(
                f"All parties have agreed to {doc_title}, and the agreement is now complete.\n"
                "You can download the signed document and the certificate of agreement below."
            ),
            _Facts(
                [
                    ("Document", single_line(title)),
                    ("Completed", when),
                    ("Parties", "\n".join(_card(p, language).split("\n")[0] for p in parties)),
                ]
            ),
            *(_Button(f"Download {name}", url) for name, url in downloads),
            _Button("Download certificate of agreement", certificate_url),
            _Paragraph(
                f"These download links are valid until {until}.\n"
                "Please download the files and keep them in a safe place.",
                small=True,
            ),
            _Heading("How to verify the signatures"),
            _Paragraph(
                "Open the PDF in Adobe Acrobat Reader (free) and show the Signature Panel. "
                "It lists an electronic signature for each party's agreement (name, email address and time) "
                "with a timestamp, and shows that the document has not been changed since it was signed.\n"
                "The certificate of agreement lists the SHA-256 hash of each document, so you can check "
                "the files you keep."
            ),
        ]
    return _message(
        settings,
        kind=MailKind.COMPLETED,
        to=to,
        language=language,
        from_name=from_name,
        reply_to=reply_to,
        subject=subject,
        blocks=blocks,
    )


def rejected(
    settings: MailSettings,
    *,
    to: Person,
    language: Language,
    title: str,
    rejected_by: Person,
    rejected_at: datetime,
    reason: str,
    envelope_url: str | None = None,
) -> MailMessage:
    """To the sender: who sent the envelope back, when, and why. Replies go to that person.

    :raises InvalidMailContent: no reason, a link that is not http(s), or a time without a zone.
    """
    why = multi_line(reason)
    if not why:
        raise InvalidMailContent("empty rejection reason", reason="reason")
    when = format_mail_time(rejected_at, settings.zone, language)
    doc_title = _quoted_title(title, language)
    blocks: list[_Block] = [_Greeting(to)]
    if language == "ja":
        subject = f"{doc_title}が差し戻されました"
        blocks += [
            _Paragraph(
                f"{_inline(rejected_by, language)}が、{doc_title}を差し戻しました。"
                "この書類の署名手続きは終了しています。\n"
                "差し戻し理由をご確認のうえ、必要に応じて書類を修正し、あらためて送信してください。"
            ),
            _Facts(
                [
                    ("書類名", single_line(title)),
                    ("差し戻した方", _card(rejected_by, language)),
                    ("差し戻し日時", when),
                ]
            ),
            _Quote("差し戻し理由", why),
        ]
        if envelope_url:
            blocks.append(_Button("書類の状況を確認する", _link(envelope_url)))
    else:
        subject = f"Declined: {single_line(title)}"
        blocks += [
            _Paragraph(
                f"{_inline(rejected_by, language)} has declined {doc_title}. The signing process for this "
                "document has ended.\n"
                "Please review the reason, correct the document if needed, and send it again."
            ),
            _Facts(
                [
                    ("Document", single_line(title)),
                    ("Declined by", _card(rejected_by, language)),
                    ("Date", when),
                ]
            ),
            _Quote("Reason", why),
        ]
        if envelope_url:
            blocks.append(_Button("View the envelope", _link(envelope_url)))
    return _message(
        settings,
        kind=MailKind.REJECTED,
        to=to,
        language=language,
        from_name=single_line(settings.service_name),
        reply_to=None if _same_person(rejected_by, to) else rejected_by,
        subject=subject,
        blocks=blocks,
    )


def expired(
    settings: MailSettings,
    *,
    to: Person,
    language: Language,
    sender: Person,
    title: str,
    participant: Person,
    expired_at: datetime,
    envelope_url: str | None = None,
) -> MailMessage:
    """The envelope ended because ``participant``'s link expired: to the sender, or to that participant.

    The wording follows ``to``: the sender is told to send again (``envelope_url`` is shown to the
    sender only); the participant is told the old link no longer works and to ask the sender.

    :raises InvalidMailContent: a link that is not http(s), or a time without a zone.
    """
    when = format_mail_time(expired_at, settings.zone, language)
    doc_title = _quoted_title(title, language)
    for_sender = _same_person(to, sender)
    from_name, reply_to = _on_behalf_of(settings, sender, to)
    blocks: list[_Block] = [_Greeting(to)]
    if language == "ja":
        subject = f"{doc_title}の署名依頼が有効期限切れになりました"
        if for_sender:
            blocks += [
                _Paragraph(
                    f"{_inline(participant, language)}への{doc_title}の署名依頼は、"
                    f"URLの有効期限（{when}）までにお手続きがなかったため、終了しました。\n"
                    "引き続き締結が必要な場合は、あらためて書類を送信してください。"
                ),
                _Facts(
                    [("書類名", single_line(title)), ("期限切れになった宛先", _card(participant, language))]
                ),
            ]
        else:
            blocks += [
                _Paragraph(
                    f"{_inline(sender, language)}からの{doc_title}の署名依頼は、"
                    f"URLの有効期限（{when}）が過ぎたため終了しました。\n"
                    "以前のメールのURLからはお手続きできません。引き続きお手続きが必要な場合は、送信者にお問い合わせください。"
                ),
                _Facts([("書類名", single_line(title)), ("送信者", _card(sender, language))]),
            ]
        if for_sender and envelope_url:
            blocks.append(_Button("書類の状況を確認する", _link(envelope_url)))
    else:
        subject = f"Expired: {single_line(title)}"
        if for_sender:
            blocks += [
                _Paragraph(
                    f"The signature request for {doc_title} sent to {_inline(participant, language)} has "
                    f"ended: it was not completed before the link expired ({when}).\n"
                    "If you still need this agreement, please send the document again."
                ),
                _Facts([("Document", single_line(title)), ("Expired for", _card(participant, language))]),
            ]
        else:
            blocks += [
                _Paragraph(
                    f"The signature request for {doc_title} from {_inline(sender, language)} has ended "
                    f"because its link expired ({when}).\n"
                    "The link in the earlier email no longer works. "
                    "If you still need to sign, please contact the sender."
                ),
                _Facts([("Document", single_line(title)), ("From", _card(sender, language))]),
            ]
        if for_sender and envelope_url:
            blocks.append(_Button("View the envelope", _link(envelope_url)))
    return _message(
        settings,
        kind=MailKind.EXPIRED,
        to=to,
        language=language,
        from_name=from_name,
        reply_to=reply_to,
        subject=subject,
        blocks=blocks,
    )


def cancelled(
    settings: MailSettings,
    *,
    to: Person,
    language: Language,
    sender: Person,
    title: str,
    cancelled_at: datetime,
    reason: str | None = None,
) -> MailMessage:
    """To the participants already involved: the sender cancelled the envelope; nothing more to do.

    :raises InvalidMailContent: ``cancelled_at`` has no time zone.
    """
    when = format_mail_time(cancelled_at, settings.zone, language)
    doc_title = _quoted_title(title, language)
    why = multi_line(reason or "")
    from_name, reply_to = _on_behalf_of(settings, sender, to)
    blocks: list[_Block] = [_Greeting(to)]
    if language == "ja":
        subject = f"{doc_title}の署名依頼が取り消されました"
        blocks += [
            _Paragraph(
                f"{_inline(sender, language)}が、{doc_title}の署名依頼を取り消しました。\n"
                "以前のメールのURLからはお手続きできません。これ以上のご対応は不要です。"
            ),
            _Facts(
                [("書類名", single_line(title)), ("送信者", _card(sender, language)), ("取り消し日時", when)]
            ),
        ]
        if why:
            blocks.append(_Quote("取り消しの理由", why))
    else:
        subject = f"Cancelled: {single_line(title)}"
        blocks += [
            _Paragraph(
                f"{_inline(sender, language)} has cancelled the signature request for {doc_title}.\n"
                "The link in the earlier email no longer works, and no further action is needed."
            ),
            _Facts(
                [("Document", single_line(title)), ("From", _card(sender, language)), ("Cancelled", when)]
            ),
        ]
        if why:
            blocks.append(_Quote("Reason", why))
    return _message(
        settings,
        kind=MailKind.CANCELLED,
        to=to,
        language=language,
        from_name=from_name,
        reply_to=reply_to,
        subject=subject,
        blocks=blocks,
    )


def failed(
    settings: MailSettings,
    *,
    to: Person,
    language: Language,
    title: str,
    failed_at: datetime,
    error_code: str,
    envelope_url: str | None = None,
) -> MailMessage:
    """To the sender: the envelope stopped because its evidence could not be continued (a stored
    document changed between two seals, a seal that did not validate). Nothing was completed.

    :raises InvalidMailContent: a link that is not http(s), or a time without a zone.
    """
    when = format_mail_time(failed_at, settings.zone, language)
    doc_title = _quoted_title(title, language)
    code = single_line(error_code)
    blocks: list[_Block] = [_Greeting(to)]
    if language == "ja":
        subject = f"{doc_title}の締結処理を停止しました"
        blocks += [
            _Paragraph(
                f"{doc_title}の電子署名の付与中に、書類の真正性を確認できない問題が見つかったため、"
                "締結処理を停止しました。この書類は締結されていません。\n"
                "システム管理者に下記のエラーコードをお伝えください。"
            ),
            _Facts([("書類名", single_line(title)), ("停止日時", when), ("エラーコード", code)]),
        ]
        if envelope_url:
            blocks.append(_Button("書類の状況を確認する", _link(envelope_url)))
    else:
        subject = f"Stopped: {single_line(title)}"
        blocks += [
            _Paragraph(
                f"While sealing {doc_title}, tachiai found a problem that prevents it from vouching for the "
                "document, so the signing process was stopped. The document has NOT been concluded.\n"
                "Please give your administrator the error code below."
            ),
            _Facts([("Document", single_line(title)), ("Stopped", when), ("Error code", code)]),
        ]
        if envelope_url:
            blocks.append(_Button("View the envelope", _link(envelope_url)))
    return _message(
        settings,
        kind=MailKind.FAILED,
        to=to,
        language=language,
        from_name=settings.service_name,
        reply_to=None,
        subject=subject,
        blocks=blocks,
    )


def link_locked(
    settings: MailSettings,
    *,
    to: Person,
    language: Language,
    title: str,
    participant: Person,
    locked_at: datetime,
) -> MailMessage:
    """To the sender: a participant's link locked after too many wrong access codes.

    :raises InvalidMailContent: a time without a zone.
    """
    when = format_mail_time(locked_at, settings.zone, language)
    doc_title = _quoted_title(title, language)
    blocks: list[_Block] = [_Greeting(to)]
    if language == "ja":
        subject = f"{doc_title}のURLがロックされました"
        blocks += [
            _Paragraph(
                f"{_inline(participant, language)}宛ての{doc_title}のURLで、アクセスコードの誤入力が"
                "続いたため、URLをロックしました。\n"
                "ご本人からのアクセスであれば、正しいアクセスコードをお伝えのうえ、書類を送信し直してください。"
                "お心当たりがない場合は、第三者による不正なアクセスの可能性があります。"
            ),
            _Facts([("書類名", single_line(title)), ("宛先", _card(participant, language)), ("日時", when)]),
        ]
    else:
        subject = f"Link locked: {single_line(title)}"
        blocks += [
            _Paragraph(
                f"The link for {doc_title} sent to {_inline(participant, language)} was locked "
                "after too many wrong access codes.\n"
                "If it was them, tell them the right code and send the document again. If not, someone "
                "else may have tried to open it."
            ),
            _Facts(
                [
                    ("Document", single_line(title)),
                    ("Participant", _card(participant, language)),
                    ("When", when),
                ]
            ),
        ]
    return _message(
        settings,
        kind=MailKind.LOCKED,
        to=to,
        language=language,
        from_name=settings.service_name,
        reply_to=None,
        subject=subject,
        blocks=blocks,
    )


def forwarded(
    settings: MailSettings,
    *,
    to: Person,
    language: Language,
    title: str,
    forwarded_by: Person,
    forwarded_to: Person,
    forwarded_at: datetime,
    reason: str | None = None,
    envelope_url: str | None = None,
) -> MailMessage:
    """To the sender: ``forwarded_by`` handed their place to ``forwarded_to``. Replies go to the forwarder.

    :raises InvalidMailContent: a link that is not http(s), or a time without a zone.
    """
    when = format_mail_time(forwarded_at, settings.zone, language)
    doc_title = _quoted_title(title, language)
    why = multi_line(reason or "")
    blocks: list[_Block] = [_Greeting(to)]
    if language == "ja":
        subject = f"{doc_title}の署名依頼が転送されました"
        blocks += [
            _Paragraph(
                f"{_inline(forwarded_by, language)}が、{doc_title}の署名依頼を"
                f"{_inline(forwarded_to, language)}へ転送しました。\n"
                f"今後のお手続きは{single_line(forwarded_to.name)}様が行います。"
            ),
            _Facts(
                [
                    ("書類名", single_line(title)),
                    ("転送元", _card(forwarded_by, language)),
                    ("転送先", _card(forwarded_to, language)),
                    ("転送日時", when),
                ]
            ),
        ]
        if why:
            blocks.append(_Quote("転送の理由", why))
        if envelope_url:
            blocks.append(_Button("書類の状況を確認する", _link(envelope_url)))
        blocks.append(_Notes(["転送先にお心当たりがない場合は、書類の送信を取り消すことができます。"]))
    else:
        subject = f"Forwarded: {single_line(title)}"
        blocks += [
            _Paragraph(
                f"{_inline(forwarded_by, language)} has forwarded the signature request for {doc_title} to "
                f"{_inline(forwarded_to, language)}.\n"
                f"{single_line(forwarded_to.name)} will now review and sign in their place."
            ),
            _Facts(
                [
                    ("Document", single_line(title)),
                    ("Forwarded by", _card(forwarded_by, language)),
                    ("Forwarded to", _card(forwarded_to, language)),
                    ("Date", when),
                ]
            ),
        ]
        if why:
            blocks.append(_Quote("Reason", why))
        if envelope_url:
            blocks.append(_Button("View the envelope", _link(envelope_url)))
        blocks.append(_Notes(["If you do not recognise the new recipient, you can cancel the envelope."]))
    return _message(
        settings,
        kind=MailKind.FORWARDED,
        to=to,
        language=language,
        from_name=single_line(settings.service_name),
        reply_to=None if _same_person(forwarded_by, to) else forwarded_by,
        subject=subject,
        blocks=blocks,
    )


def deadline_alert(
    settings: MailSettings,
    *,
    to: Person,
    language: Language,
    title: str,
    kind: str,
    due: date,
    days_left: int,
    counterparties: Sequence[str] = (),
    auto_renewal: bool | None = None,
) -> MailMessage:
    """To a contract's owner: its notice deadline (``kind="notice"``) or its end (``"end"``) is near."""
    doc_title = _quoted_title(title, language)
    parties = single_line("、".join(counterparties) if language == "ja" else ", ".join(counterparties))
    blocks: list[_Block] = [_Greeting(to)]
    if language == "ja":
        what = "解約・更新拒絶の通知期限" if kind == "notice" else "契約期間の満了日"
        subject = f"【期限通知】{doc_title}の{what}まであと{days_left}日です"
        renewal = {True: "あり", False: "なし", None: "不明"}[auto_renewal]
        advice = (
            "更新しない場合は、この日までに相手方へ通知してください。"
            if kind == "notice"
            else "契約の更新・終了の手続きをご確認ください。"
        )
        blocks += [
            _Paragraph(f"{doc_title}の{what}が近づいています。{advice}"),
            _Facts(
                [
                    ("書類名", single_line(title)),
                    (what, f"{due:%Y年%m月%d日}（あと{days_left}日）"),
                    ("取引先", parties or "—"),
                    ("自動更新", renewal),
                ]
            ),
        ]
    else:
        what = "notice deadline" if kind == "notice" else "end of term"
        subject = f"Reminder: the {what} of {single_line(title)} is in {days_left} days"
        renewal = {True: "yes", False: "no", None: "unknown"}[auto_renewal]
        advice = (
            "If you do not want it renewed, notify the other party by this date."
            if kind == "notice"
            else "Please check whether it should be renewed or ended."
        )
        blocks += [
            _Paragraph(f"The {what} of {doc_title} is near. {advice}"),
            _Facts(
                [
                    ("Document", single_line(title)),
                    (what.capitalize(), f"{due:%B} {due.day}, {due.year} (in {days_left} days)"),
                    ("Counterparty", parties or "—"),
                    ("Automatic renewal", renewal),
                ]
            ),
        ]
    return _message(
        settings,
        kind=MailKind.DEADLINE,
        to=to,
        language=language,
        from_name=settings.service_name,
        reply_to=None,
        subject=subject,
        blocks=blocks,
    )
