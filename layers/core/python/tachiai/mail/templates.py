"""The mails of the envelope workflow, in every catalog language (ja, en, zh), as plain text and HTML.

Each public function returns a :class:`MailMessage`: who it goes to, the subject, both bodies and the
links it carries. Nothing here talks to AWS; :func:`tachiai.mail.mime.build_mime` turns a message into
bytes and :class:`tachiai.adapters.ses.SesMailer` sends them.

A mail is a list of blocks (greeting, paragraphs, facts, quotes, buttons, notes) whose words come from
the catalogs (:mod:`tachiai.i18n`, ids ``mail.*``); the two layouts, ``templates/mail/body.txt.j2`` and
``templates/mail/body.html.j2`` (:mod:`tachiai.rendering`), render the same blocks, so the two bodies
always say the same thing and carry the same links (CloudSign Q&A: text-only mail clients must work too).

Values people typed (names, organizations, titles, messages, reasons) are untrusted:

* one-line values are flattened to one line, so a title cannot fake a second "link" paragraph in the
  plain text, and cannot break a header;
* multi-line values (the sender's message, a reason) are always shown quoted (``> `` in text, a
  ``<blockquote>`` in HTML), so they cannot pass for the service's own words;
* everything is HTML-escaped in the HTML body (the template autoescapes), and only links given by
  tachiai itself (http/https) become ``href``.

The access code of a participant is never a parameter: the sender tells it separately, so the mail can
only say that one is needed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import ClassVar
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator

from tachiai import i18n, rendering
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
    INVITATION = "invitation"
    """A staff account's invitation (the local runtime's; in the cloud the user pool mails it)."""


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


def _zone_label(local: datetime) -> str:
    name = local.tzname() or ""
    if name.isalpha():
        return name  # JST, UTC, CET ...
    offset = local.strftime("%z")  # zones without an abbreviation: "+04" → UTC+04:00
    return f"UTC{offset[:3]}:{offset[3:]}"


def _date(day: date, language: Language) -> str:
    month = i18n.text(f"mail.month.{day.month}", language)
    return i18n.text("mail.date", language, year=day.year, month=month, day=day.day)


def format_mail_time(moment: datetime, zone: ZoneInfo, language: Language) -> str:
    """``2026年11月29日 23:59 (JST)`` / ``29 Nov 2026 23:59 JST`` / ``2026年11月29日 23:59（JST）``:
    minutes, in the tenant's zone, as the catalog of ``language`` writes a date and a time.

    :raises InvalidMailContent: ``moment`` has no time zone.
    """
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise InvalidMailContent("naive datetime", reason="time without a time zone")
    local = moment.astimezone(zone)
    return i18n.text(
        "mail.date_time",
        language,
        date=_date(local, language),
        time=f"{local:%H:%M}",
        zone=_zone_label(local),
    )


# --- blocks -----------------------------------------------------------------------------------
# What a mail says, in order; templates/mail/body.{txt,html}.j2 lay each kind out. Every text in a
# block is final: words from the catalog, untrusted values already cleaned.


@dataclass(frozen=True)
class _Greeting:
    kind: ClassVar[str] = "greeting"
    text: str
    """One or more lines (the organization above the name, where the language does that)."""


@dataclass(frozen=True)
class _Paragraph:
    kind: ClassVar[str] = "paragraph"
    body: str
    """Lines separated by ``\\n``; already clean."""
    small: bool = False


@dataclass(frozen=True)
class _Facts:
    kind: ClassVar[str] = "facts"
    rows: Sequence[tuple[str, str]]
    """(label, value) pairs; a value may have several lines."""


@dataclass(frozen=True)
class _Quote:
    kind: ClassVar[str] = "quote"
    label: str
    body: str
    """What a person wrote (already :func:`multi_line`)."""


@dataclass(frozen=True)
class _Button:
    kind: ClassVar[str] = "button"
    label: str
    url: str
    """Already checked by :func:`_link`."""


@dataclass(frozen=True)
class _Heading:
    kind: ClassVar[str] = "heading"
    title: str


@dataclass(frozen=True)
class _Notes:
    kind: ClassVar[str] = "notes"
    items: Sequence[str]


_Block = _Greeting | _Paragraph | _Facts | _Quote | _Button | _Heading | _Notes
_Words = Callable[..., str]
"""``t(msgid, **values)``: the catalog message ``msgid`` (a ``mail.*`` id) in the mail's language."""


def _words(language: Language) -> _Words:
    def t(msgid: str, /, **values: object) -> str:
        return i18n.text(msgid, language, **values)

    return t


# --- assembly ---------------------------------------------------------------------------------


def _footer(settings: MailSettings, reply_to: Person | None, t: _Words) -> list[str]:
    lines = [
        t("mail.footer.sent_by", service=single_line(settings.service_name), address=settings.from_address)
    ]
    if reply_to is not None:
        lines.append(t("mail.footer.replies_to", name=single_line(reply_to.name), email=reply_to.email))
    else:
        lines.append(t("mail.footer.no_replies"))
    return lines


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
    context = {
        "blocks": blocks,
        "footer": _footer(settings, reply_to, _words(language)),
        "subject": subject,
        "service": single_line(settings.service_name),
    }
    links = list(dict.fromkeys(block.url for block in blocks if isinstance(block, _Button)))
    return MailMessage(
        kind=kind,
        language=language,
        to=to,
        from_name=from_name,
        from_address=settings.from_address,
        reply_to=reply_to,
        subject=subject,
        text=rendering.render("mail/body.txt.j2", language, **context),
        html=rendering.render("mail/body.html.j2", language, **context),
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


def _greeting(person: Person, t: _Words) -> _Greeting:
    name = single_line(person.name)
    organization = single_line(person.organization or "")
    if organization:
        return _Greeting(t("mail.greeting.with_organization", name=name, organization=organization))
    return _Greeting(t("mail.greeting", name=name))


def _inline(person: Person, t: _Words) -> str:
    """``株式会社例の山田太郎様`` / ``Taro Yamada of Example Inc.``"""
    name = single_line(person.name)
    organization = single_line(person.organization or "")
    if organization:
        return t("mail.person.inline_with_organization", name=name, organization=organization)
    return t("mail.person.inline", name=name)


def _card(person: Person, t: _Words) -> str:
    """Two lines: name (organization), then the address."""
    return f"{_card_name(person, t)}\n{person.email}"


def _card_name(person: Person, t: _Words) -> str:
    name = single_line(person.name)
    organization = single_line(person.organization or "")
    if organization:
        return t("mail.person.card_with_organization", name=name, organization=organization)
    return t("mail.person.card", name=name)


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
    t = _words(language)
    link = _link(link)
    until = format_mail_time(expires_at, settings.zone, language)
    from_name, reply_to = _on_behalf_of(settings, sender, to)
    doc_title = single_line(title)
    names = [single_line(n) for n in document_names if single_line(n)]
    note = multi_line(message or "")
    subject = t("mail.signing_request.subject", party=_subject_party(sender), title=doc_title)
    if is_reminder:
        subject = t("mail.reminder.subject", subject=subject)
    intro = t(
        "mail.reminder.intro" if is_reminder else "mail.signing_request.intro", sender=_inline(sender, t)
    )
    rows = [(t("mail.label.document"), doc_title)]
    if len(names) > 1 or (names and names[0] != doc_title):
        rows.append((t("mail.label.files"), "\n".join(t("mail.text.item", item=n) for n in names)))
    rows.append((t("mail.label.sender"), _card(sender, t)))
    blocks: list[_Block] = [_greeting(to, t), _Paragraph(intro), _Facts(rows)]
    if note:
        blocks.append(_Quote(t("mail.label.sender_message"), note))
    blocks += [
        _Button(t("mail.signing_request.button"), link),
        _Paragraph(t("mail.signing_request.expiry", until=until), small=True),
    ]
    if access_code_required:
        blocks += [
            _Heading(t("mail.signing_request.access_code.heading")),
            _Paragraph(t("mail.signing_request.access_code.body")),
        ]
    notes = [
        t("mail.signing_request.note.no_account"),
        t("mail.signing_request.note.personal", name=single_line(to.name)),
        t("mail.signing_request.note.not_for_you"),
    ]
    blocks.append(_Notes(notes))
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
    t = _words(language)
    downloads = [(single_line(d.name), _link(d.url)) for d in documents]
    certificate_url = _link(certificate_url)
    when = format_mail_time(completed_at, settings.zone, language)
    until = format_mail_time(downloads_expire_at, settings.zone, language)
    from_name, reply_to = _on_behalf_of(settings, sender, to)
    doc_title = single_line(title)
    blocks: list[_Block] = [
        _greeting(to, t),
        _Paragraph(t("mail.completed.intro", title=doc_title)),
        _Facts(
            [
                (t("mail.label.document"), doc_title),
                (t("mail.label.completed_at"), when),
                (t("mail.label.parties"), "\n".join(_card_name(p, t) for p in parties)),
            ]
        ),
        *(_Button(t("mail.completed.download", name=name), url) for name, url in downloads),
        _Button(t("mail.completed.download_certificate"), certificate_url),
        _Paragraph(t("mail.completed.downloads_until", until=until), small=True),
        _Heading(t("mail.completed.verify.heading")),
        _Paragraph(t("mail.completed.verify.body")),
    ]
    return _message(
        settings,
        kind=MailKind.COMPLETED,
        to=to,
        language=language,
        from_name=from_name,
        reply_to=reply_to,
        subject=t("mail.completed.subject", title=doc_title),
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
    t = _words(language)
    why = multi_line(reason)
    if not why:
        raise InvalidMailContent("empty rejection reason", reason="reason")
    when = format_mail_time(rejected_at, settings.zone, language)
    doc_title = single_line(title)
    blocks: list[_Block] = [
        _greeting(to, t),
        _Paragraph(t("mail.rejected.intro", person=_inline(rejected_by, t), title=doc_title)),
        _Facts(
            [
                (t("mail.label.document"), doc_title),
                (t("mail.label.rejected_by"), _card(rejected_by, t)),
                (t("mail.label.rejected_at"), when),
            ]
        ),
        _Quote(t("mail.label.rejection_reason"), why),
    ]
    if envelope_url:
        blocks.append(_Button(t("mail.button.envelope"), _link(envelope_url)))
    return _message(
        settings,
        kind=MailKind.REJECTED,
        to=to,
        language=language,
        from_name=single_line(settings.service_name),
        reply_to=None if _same_person(rejected_by, to) else rejected_by,
        subject=t("mail.rejected.subject", title=doc_title),
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
    t = _words(language)
    when = format_mail_time(expired_at, settings.zone, language)
    doc_title = single_line(title)
    for_sender = _same_person(to, sender)
    from_name, reply_to = _on_behalf_of(settings, sender, to)
    blocks: list[_Block] = [_greeting(to, t)]
    if for_sender:
        blocks += [
            _Paragraph(
                t("mail.expired.to_sender", participant=_inline(participant, t), title=doc_title, when=when)
            ),
            _Facts(
                [(t("mail.label.document"), doc_title), (t("mail.label.expired_for"), _card(participant, t))]
            ),
        ]
        if envelope_url:
            blocks.append(_Button(t("mail.button.envelope"), _link(envelope_url)))
    else:
        blocks += [
            _Paragraph(
                t("mail.expired.to_participant", sender=_inline(sender, t), title=doc_title, when=when)
            ),
            _Facts([(t("mail.label.document"), doc_title), (t("mail.label.sender"), _card(sender, t))]),
        ]
    return _message(
        settings,
        kind=MailKind.EXPIRED,
        to=to,
        language=language,
        from_name=from_name,
        reply_to=reply_to,
        subject=t("mail.expired.subject", title=doc_title),
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
    t = _words(language)
    when = format_mail_time(cancelled_at, settings.zone, language)
    doc_title = single_line(title)
    why = multi_line(reason or "")
    from_name, reply_to = _on_behalf_of(settings, sender, to)
    blocks: list[_Block] = [
        _greeting(to, t),
        _Paragraph(t("mail.cancelled.intro", sender=_inline(sender, t), title=doc_title)),
        _Facts(
            [
                (t("mail.label.document"), doc_title),
                (t("mail.label.sender"), _card(sender, t)),
                (t("mail.label.cancelled_at"), when),
            ]
        ),
    ]
    if why:
        blocks.append(_Quote(t("mail.label.cancellation_reason"), why))
    return _message(
        settings,
        kind=MailKind.CANCELLED,
        to=to,
        language=language,
        from_name=from_name,
        reply_to=reply_to,
        subject=t("mail.cancelled.subject", title=doc_title),
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
    t = _words(language)
    when = format_mail_time(failed_at, settings.zone, language)
    doc_title = single_line(title)
    blocks: list[_Block] = [
        _greeting(to, t),
        _Paragraph(t("mail.failed.intro", title=doc_title)),
        _Facts(
            [
                (t("mail.label.document"), doc_title),
                (t("mail.label.stopped_at"), when),
                (t("mail.label.error_code"), single_line(error_code)),
            ]
        ),
    ]
    if envelope_url:
        blocks.append(_Button(t("mail.button.envelope"), _link(envelope_url)))
    return _message(
        settings,
        kind=MailKind.FAILED,
        to=to,
        language=language,
        from_name=settings.service_name,
        reply_to=None,
        subject=t("mail.failed.subject", title=doc_title),
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
    t = _words(language)
    when = format_mail_time(locked_at, settings.zone, language)
    doc_title = single_line(title)
    blocks: list[_Block] = [
        _greeting(to, t),
        _Paragraph(t("mail.locked.intro", participant=_inline(participant, t), title=doc_title)),
        _Facts(
            [
                (t("mail.label.document"), doc_title),
                (t("mail.label.participant"), _card(participant, t)),
                (t("mail.label.when"), when),
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
        subject=t("mail.locked.subject", title=doc_title),
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
    t = _words(language)
    when = format_mail_time(forwarded_at, settings.zone, language)
    doc_title = single_line(title)
    why = multi_line(reason or "")
    intro = t(
        "mail.forwarded.intro",
        by=_inline(forwarded_by, t),
        title=doc_title,
        to=_inline(forwarded_to, t),
        name=single_line(forwarded_to.name),
    )
    blocks: list[_Block] = [
        _greeting(to, t),
        _Paragraph(intro),
        _Facts(
            [
                (t("mail.label.document"), doc_title),
                (t("mail.label.forwarded_by"), _card(forwarded_by, t)),
                (t("mail.label.forwarded_to"), _card(forwarded_to, t)),
                (t("mail.label.forwarded_at"), when),
            ]
        ),
    ]
    if why:
        blocks.append(_Quote(t("mail.label.forward_reason"), why))
    if envelope_url:
        blocks.append(_Button(t("mail.button.envelope"), _link(envelope_url)))
    blocks.append(_Notes([t("mail.forwarded.note")]))
    return _message(
        settings,
        kind=MailKind.FORWARDED,
        to=to,
        language=language,
        from_name=single_line(settings.service_name),
        reply_to=None if _same_person(forwarded_by, to) else forwarded_by,
        subject=t("mail.forwarded.subject", title=doc_title),
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
    t = _words(language)
    doc_title = single_line(title)
    what_kind = "notice" if kind == "notice" else "end"
    what = t(f"mail.deadline.what.{what_kind}")
    parties = single_line(t("mail.list_separator").join(counterparties))
    renewal = {True: "yes", False: "no", None: "unknown"}[auto_renewal]
    blocks: list[_Block] = [
        _greeting(to, t),
        _Paragraph(
            t(
                "mail.deadline.intro",
                title=doc_title,
                what=what,
                advice=t(f"mail.deadline.advice.{what_kind}"),
            )
        ),
        _Facts(
            [
                (t("mail.label.document"), doc_title),
                (
                    t(f"mail.deadline.label.{what_kind}"),
                    t("mail.deadline.due", date=_date(due, language), days=days_left),
                ),
                (t("mail.label.counterparty"), parties or "—"),
                (t("mail.label.auto_renewal"), t(f"mail.deadline.renewal.{renewal}")),
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
        subject=t("mail.deadline.subject", title=doc_title, what=what, days=days_left),
        blocks=blocks,
    )
