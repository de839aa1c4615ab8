"""The recipient's signing page (``/s/<token>``): one plain HTML document in Japanese or English.

The page works in any browser, a phone included, without JavaScript: every action is a form that
posts ``application/x-www-form-urlencoded`` to ``{base_path}/open|agree|reject|forward``, and the server
answers with a ``303`` back to the page, which then shows the new state (:class:`PageState`).

It is built for the Lambda behind the link, so it imports only the standard library, the domain and
the mail module's text cleaners (no template engine, no PDF library). The server sends a CSP that
allows inline styles and nothing else: the page has one ``<style>`` block, no scripts and no external
resources, and tells the browser not to send the URL (which carries the token) as a referrer.

Every value comes from people (sender, recipient, forwardee) and is untrusted: one-line values are
flattened to one line (no bidi tricks, see :func:`tachiai.mail.templates.single_line`), the sender's
message keeps its line breaks but is always shown quoted under "message from the sender", so it cannot
pass for the service's own words, and everything is HTML-escaped, attributes included.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import quote

from tachiai.domain.events import Language
from tachiai.mail.templates import multi_line, single_line

__all__ = [
    "DocumentLink",
    "Language",
    "PageState",
    "SigningPage",
    "negotiate_language",
    "render_signing_page",
]


class PageState(StrEnum):
    """What the page shows: one per situation a recipient can be in when opening the link."""

    TERMS = "terms"
    """First visit: accept the terms of use (and enter the access code if required) to open."""
    REVIEW = "review"
    """Opened: documents, then agree / reject / forward."""
    AGREED = "agreed"
    """This participant agreed (also shown on a repeated agree: agreeing is idempotent)."""
    REJECTED = "rejected"
    """This participant declined."""
    FORWARDED = "forwarded"
    """This participant handed their place over to someone else."""
    EXPIRED = "expired"
    """The link's validity ended."""
    CANCELLED = "cancelled"
    """The sender cancelled the envelope."""
    CLOSED = "closed"
    """The envelope ended otherwise (completed, rejected by someone else, failed)."""
    LOCKED = "locked"
    """Too many wrong access codes: the sender has been told."""
    NOT_YOUR_TURN = "not_your_turn"
    """Someone before this participant has not finished yet."""
    INVALID = "invalid"
    """Unknown, malformed or dead link (the page never says which)."""
    ERROR = "error"
    """Anything else: a calm message and a code, never a stack trace."""
    COMPLETED = "completed"
    """A completion (download) link: everyone agreed; the signed documents and the certificate."""
    DOWNLOAD_EXPIRED = "download_expired"
    """A completion (download) link past its validity: nothing is offered; the sender is named to ask."""


@dataclass(frozen=True)
class DocumentLink:
    id: str
    """The document's id: the page links to ``{base_path}/documents/{id}``."""
    name: str
    """The file name shown to the recipient."""
    pages: int | None
    """Number of pages, when known."""


@dataclass(frozen=True)
class SigningPage:
    state: PageState
    language: Language
    base_path: str
    """The link's path as the browser sees it, e.g. ``/s/<token>``: forms post to ``{base_path}/open``,
    ``/agree``, ``/reject``, ``/forward``; documents are at ``{base_path}/documents/{id}``."""
    title: str | None = None
    """The envelope's title."""
    sender_name: str | None = None
    sender_organization: str | None = None
    sender_email: str | None = None
    recipient_name: str | None = None
    message: str | None = None
    """The sender's message: several lines, untrusted, always shown quoted."""
    documents: tuple[DocumentLink, ...] = ()
    expires_at: str | None = None
    """The link's expiry, already formatted in the tenant's zone."""
    access_code_required: bool = False
    acted_at: str | None = None
    """When this participant agreed, declined or forwarded (formatted)."""
    forwarded_to: str | None = None
    """``Name <email>`` of the person this participant forwarded to (:attr:`PageState.FORWARDED`)."""
    notice: str | None = None
    """One line shown prominently at the top (a wrong access code, a form error), in the page's language."""
    error_code: str | None = None
    """The machine code shown small on :attr:`PageState.ERROR`."""
    service_name: str = "tachiai"


# --- language ---------------------------------------------------------------------------------

_LANGUAGES: dict[str, Language] = {"ja": "ja", "en": "en"}


def negotiate_language(
    accept_language: str | None, query_lang: str | None, default: Language = "ja"
) -> Language:
    """The page's language: ``?lang=ja|en`` when given, else the first of ja/en the browser prefers
    (``Accept-Language``, by q-value, then by order), else ``default``. Never raises."""
    if query_lang is not None and query_lang.strip().lower() in _LANGUAGES:
        return _LANGUAGES[query_lang.strip().lower()]
    ranked: list[tuple[float, int, Language]] = []
    for index, item in enumerate((accept_language or "").split(",")):
        tag, _, params = item.partition(";")
        language = _LANGUAGES.get(tag.strip().lower().split("-")[0])
        quality = _quality(params)
        if language is not None and quality > 0:
            ranked.append((-quality, index, language))
    return min(ranked)[2] if ranked else default


def _quality(params: str) -> float:
    """The ``q`` of one Accept-Language item (1 when absent, 0 when unreadable: not acceptable)."""
    for param in params.split(";"):
        key, _, value = param.partition("=")
        if key.strip().lower() == "q":
            try:
                quality = float(value.strip())
            except ValueError:
                return 0.0
            return quality if 0.0 <= quality <= 1.0 else 0.0  # also rules out nan
    return 1.0


# --- escaping ---------------------------------------------------------------------------------

# A path, not a URL: "//host" would make every form post to another site.
_UNSAFE_PATH = re.compile(r"[\"'<>`\\?#\s\x00-\x1f\x7f]")


def _check_base_path(base_path: str) -> str:
    # The path carries the token: never repeat it in the error.
    if not base_path.startswith("/") or base_path.startswith("//") or _UNSAFE_PATH.search(base_path):
        raise ValueError(
            "base_path must be an absolute path ('/…', not '//…') without quotes, angle brackets, "
            "backslashes, spaces, controls, '?' or '#'"
        )
    return base_path


def _esc(value: str) -> str:
    return html.escape(value, quote=True)


def _one(value: str | None) -> str | None:
    """An untrusted one-line value, flattened and escaped; None when empty."""
    clean = single_line(value or "")
    return _esc(clean) if clean else None


def _lines(value: str | None) -> str | None:
    """An untrusted multi-line value, escaped, line breaks as ``<br>``; None when empty."""
    clean = multi_line(value or "")
    return "<br>".join(_esc(line) for line in clean.split("\n")) if clean else None


# --- the page ---------------------------------------------------------------------------------

_FONT = (
    '-apple-system,BlinkMacSystemFont,"Hiragino Sans","Hiragino Kaku Gothic ProN","Yu Gothic UI",'
    '"Yu Gothic",YuGothic,"Noto Sans JP",Meiryo,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif'
)

_CSS = (
    "*,*::before,*::after{box-sizing:border-box}"
    "html{-webkit-text-size-adjust:100%;text-size-adjust:100%}"
    f"body{{margin:0;background:#f3f4f6;color:#111827;font-family:{_FONT};font-size:16px;line-height:1.7}}"
    ".bar{background:#fff;border-bottom:1px solid #e5e7eb}"
    ".bar>div{max-width:42rem;margin:0 auto;padding:.75rem 1rem;display:flex;justify-content:space-between;"
    "align-items:center;gap:1rem}"
    ".brand{font-weight:700;letter-spacing:.02em}"
    ".lang{font-size:.875rem;color:#6b7280}"
    "main{display:block;max-width:42rem;margin:1.25rem auto;padding:0 1rem}"
    ".card{background:#fff;border:1px solid #e5e7eb;border-radius:.5rem;padding:1.25rem 1.25rem 1.5rem}"
    "h1{font-size:1.375rem;line-height:1.45;margin:0 0 1rem}"
    "h2{font-size:1.0625rem;line-height:1.5;margin:1.75rem 0 .5rem}"
    "p{margin:0 0 .75rem}"
    "a{color:#1d4ed8}"
    ".notice{border:1px solid #d97706;background:#fffbeb;border-radius:.5rem;padding:.75rem 1rem;"
    "margin:0 0 1rem;font-weight:600}"
    ".facts{display:grid;grid-template-columns:max-content 1fr;gap:.25rem 1rem;margin:1rem 0}"
    ".facts dt{color:#6b7280}"
    ".facts dd{margin:0;overflow-wrap:anywhere}"
    "@media (max-width:32rem){.facts{grid-template-columns:1fr;gap:0}.facts dd{margin-bottom:.5rem}}"
    ".quote-label{color:#6b7280;font-size:.875rem;margin:1.25rem 0 .25rem}"
    "blockquote{margin:0 0 1rem;padding:.75rem 1rem;border-left:4px solid #d1d5db;background:#f9fafb;"
    "overflow-wrap:anywhere}"
    ".docs{list-style:none;padding:0;margin:.5rem 0 1rem}"
    ".docs li{border:1px solid #e5e7eb;border-radius:.375rem;padding:.625rem 1rem;margin:.5rem 0;"
    "overflow-wrap:anywhere}"
    ".docs a{font-weight:600}"
    ".meta,.small{color:#6b7280;font-size:.875rem}"
    "label{display:block;font-weight:600;margin:.875rem 0 .25rem}"
    ".hint{color:#6b7280;font-size:.875rem;margin:0 0 .25rem}"
    ".check{display:flex;gap:.625rem;align-items:flex-start;margin:1.25rem 0 0}"
    ".check input{width:1.25rem;height:1.25rem;margin:.25rem 0 0;flex:none}"
    ".check label{margin:0}"
    "input[type=text],input[type=email],textarea{display:block;width:100%;font:inherit;padding:.5rem .75rem;"
    "border:1px solid #9ca3af;border-radius:.375rem;background:#fff;color:inherit}"
    "textarea{min-height:6rem;resize:vertical}"
    "button{font:inherit;font-weight:700;width:100%;min-height:3rem;margin:1.25rem 0 0;"
    "padding:.625rem 1.5rem;border:0;border-radius:.375rem;background:#1d4ed8;color:#fff;cursor:pointer}"
    "button.danger{background:#b91c1c}"
    "button.plain{background:#374151}"
    "@media (min-width:36rem){button{width:auto;min-width:16rem}}"
    ":focus-visible{outline:3px solid #93c5fd;outline-offset:2px}"
    "details{border:1px solid #e5e7eb;border-radius:.375rem;padding:.75rem 1rem;margin:.75rem 0}"
    "summary{cursor:pointer;font-weight:600}"
    "details[open] summary{margin-bottom:.5rem}"
    "code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}"
    "footer{max-width:42rem;margin:0 auto 2rem;padding:0 1rem;color:#6b7280;font-size:.8125rem}"
)

_FORM = 'method="post" enctype="application/x-www-form-urlencoded"'


@dataclass(frozen=True)
class _Content:
    heading: str
    """The ``<h1>`` (and ``<title>``), already escaped."""
    body: str
    """What follows the heading."""
    personal: bool = False
    """The page is the recipient's own (remind them not to share the URL)."""


class _View:
    """The page's values, cleaned and escaped once, and the words for its language."""

    def __init__(self, page: SigningPage) -> None:
        if page.language not in _LANGUAGES:
            raise ValueError("language must be 'ja' or 'en'")
        self.page = page
        self.ja = page.language == "ja"
        self.path = _check_base_path(page.base_path)
        self.base = _esc(self.path)
        self.title = _one(page.title)
        self.sender_name = _one(page.sender_name)
        self.sender_organization = _one(page.sender_organization)
        self.sender_email = _one(page.sender_email)
        self.recipient = _one(page.recipient_name)
        self.expires_at = _one(page.expires_at)
        self.acted_at = _one(page.acted_at)

    def t(self, ja: str, en: str) -> str:
        return ja if self.ja else en

    # --- phrases ---

    def quoted_title(self) -> str | None:
        if self.title is None:
            return None
        return f"『{self.title}』" if self.ja else f"\u201c{self.title}\u201d"

    def sender_phrase(self) -> str | None:
        """``株式会社サンプル 佐藤一郎 様`` / ``Ichiro Sato of Sample Inc.``"""
        name, organization = self.sender_name, self.sender_organization
        if self.ja:
            who = " ".join(x for x in (organization, name) if x)
            return f"{who} 様" if who else None
        if name and organization:
            return f"{name} of {organization}"
        return name or organization

    def request_sentence(self) -> str:
        who, what = self.sender_phrase(), self.quoted_title()
        if self.ja:
            head = f"{who}から" if who else ""
            target = f"{what}への" if what else ""
            return f"{head}{target}署名依頼が届いています。"
        target = what or "a document"
        return f"{who} has sent you {target} to sign." if who else f"You have been asked to sign {target}."

    def sender_card(self) -> str | None:
        """Name (organization) and address, for the facts and the contact block."""
        name, organization, email = self.sender_name, self.sender_organization, self.sender_email
        first: str | None
        if name and organization:
            first = f"{name} 様（{organization}）" if self.ja else f"{name} ({organization})"
        elif name or organization:
            first = self.t(f"{name or organization} 様", name or organization or "")
        else:
            first = None
        lines = [x for x in (first, self._mailto(email) if email else None) if x]
        return "<br>".join(lines) if lines else None

    def _mailto(self, email: str) -> str:
        # ``email`` is escaped already; the href needs the raw address, percent-encoded.
        raw = single_line(self.page.sender_email or "")
        return f'<a href="mailto:{_esc(quote(raw, safe="@+"))}">{email}</a>'

    def pages(self, count: int | None) -> str:
        if count is None:
            return "PDF"
        if self.ja:
            return f"PDF・{count}ページ"
        return f"PDF, {count} page" if count == 1 else f"PDF, {count} pages"

    # --- blocks ---

    def greeting(self) -> str:
        if self.recipient is None:
            return ""
        return f"<p>{self.recipient} 様</p>" if self.ja else f"<p>Dear {self.recipient},</p>"

    def facts(self, rows: Sequence[tuple[str, str | None]]) -> str:
        items = "".join(f"<dt>{label}</dt><dd>{value}</dd>" for label, value in rows if value)
        return f'<dl class="facts">{items}</dl>' if items else ""

    def title_fact(self) -> tuple[str, str | None]:
        return (self.t("書類名", "Document"), self.title)

    def message_block(self) -> str:
        body = _lines(self.page.message)
        if body is None:
            return ""
        label = self.t("送信者からのメッセージ", "Message from the sender")
        return (
            f'<p class="quote-label" id="message-label">{label}</p>'
            f'<blockquote aria-labelledby="message-label">{body}</blockquote>'
        )

    def document_names(self) -> str | None:
        names = [
            f"{name}{self.t('（', ' (')}{self.pages(d.pages)}{self.t('）', ')')}"
            for d in self.page.documents
            if (name := _one(d.name))
        ]
        return "<br>".join(names) if names else None

    def document_links(self, *, download: bool = False, extra: str = "") -> str:
        """The documents as links (``extra``: more ``<li>`` items, e.g. the certificate)."""
        if not self.page.documents and not extra:
            return self.p(
                "表示できる書類がありません。送信者にお問い合わせください。",
                "There are no documents to show. Please contact the sender.",
            )
        action = self.t("ダウンロード", "Download") if download else self.t("開く", "Open")
        items = "".join(
            _document_item(
                f"{self.path}/documents/{quote(d.id, safe='')}",
                _one(d.name) or _esc(d.id),
                f"{self.pages(d.pages)}{self.t('・', ' · ')}{action}",
            )
            for d in self.page.documents
        )
        return f'<ul class="docs">{items}{extra}</ul>'

    def contact(self) -> str:
        card = self.sender_card()
        if card is None:
            return ""
        return (
            self.h2("お問い合わせ先", "Contact")
            + self.p(
                "ご不明な点は、送信者に直接お問い合わせください。",
                "If you have any questions, please contact the sender directly.",
            )
            + f"<p>{card}</p>"
        )

    # --- markup with words in both languages (literals: safe as they are) ---

    def p(self, ja: str, en: str, css: str | None = None, element_id: str | None = None) -> str:
        attributes = (f' class="{css}"' if css else "") + (f' id="{element_id}"' if element_id else "")
        return f"<p{attributes}>{self.t(ja, en)}</p>"

    def h2(self, ja: str, en: str) -> str:
        return f"<h2>{self.t(ja, en)}</h2>"

    def label(self, for_id: str, ja: str, en: str) -> str:
        return f'<label for="{for_id}">{self.t(ja, en)}</label>'

    def button(self, ja: str, en: str, css: str | None = None) -> str:
        kind = f' class="{css}"' if css else ""
        return f'<button type="submit"{kind}>{self.t(ja, en)}</button>'

    def form(self, action: str, *parts: str) -> str:
        return f'<form {_FORM} action="{self.base}/{action}">{"".join(parts)}</form>'


def _document_item(path: str, name: str, meta: str) -> str:
    """A document link (``name`` and ``meta`` escaped already); a new tab keeps this page open."""
    return (
        f'<li><a href="{_esc(path)}" target="_blank" rel="noopener noreferrer">{name}</a>'
        f'<br><span class="meta">{meta}</span></li>'
    )


# --- states -----------------------------------------------------------------------------------


def _terms(v: _View) -> _Content:
    code = ""
    if v.page.access_code_required:
        # Not inputmode=numeric: codes may hold letters.
        code = (
            v.label("access_code", "アクセスコード", "Access code")
            + v.p(
                "送信者から別途知らされたアクセスコードを入力してください（メールには記載されていません）。",
                "Enter the access code the sender gave you separately (it is not in the email).",
                "hint",
                "access_code_hint",
            )
            + '<input type="text" id="access_code" name="access_code" required maxlength="64" '
            'autocomplete="one-time-code" autocapitalize="none" autocorrect="off" spellcheck="false" '
            'aria-describedby="access_code_hint">'
        )
    accept = (
        '<div class="check">'
        '<input type="checkbox" id="accept_terms" name="accept_terms" value="yes" required>'
        + v.label("accept_terms", "利用規約に同意して書類を開く", "I accept the terms of use")
        + "</div>"
    )
    body = (
        v.greeting()
        + f"<p>{v.request_sentence()}</p>"
        + v.p(
            "内容を確認するには、利用規約に同意して書類を開いてください。アカウント登録は不要です。",
            "To read the documents, accept the terms of use and open them. You do not need an account.",
        )
        + v.facts(
            [
                v.title_fact(),
                (v.t("送信者", "From"), v.sender_card()),
                (v.t("ファイル", "Files"), v.document_names()),
                (v.t("URL有効期限", "Link valid until"), v.expires_at),
            ]
        )
        + v.message_block()
        + v.h2("書類を開く", "Open the documents")
        + v.form(
            "open",
            code,
            accept,
            v.p(
                "書類の開封や同意などの操作は、日時とともに記録されます。",
                "Opening, agreeing and other actions are recorded with the date and time.",
                "hint",
            ),
            v.button("書類を開く", "Open the documents"),
        )
    )
    return _Content(v.t("署名依頼が届いています", "You have a document to sign"), body, personal=True)


def _review(v: _View) -> _Content:
    agree = v.h2("同意する", "Agree") + v.p(
        "すべての書類の内容に問題がなければ、同意してください。同意は日時とともに記録され、"
        "書類に電子署名が付与されます。同意した後に取り消すことはできません。",
        "If everything in the documents is right, agree below. Your agreement is recorded with the "
        "date and time and the documents are signed electronically. You cannot undo it.",
    )
    agree += v.form("agree", v.button("内容を確認し、同意する", "I have read and agree"))
    reject = (
        f"<details><summary>{v.t('却下する（同意しない）', 'Decline (do not agree)')}</summary>"
        + v.p(
            "内容に誤りがある場合や同意できない場合は、理由を添えて却下してください。理由は送信者に伝えられ、"
            "訂正した書類が改めて送られることがあります。却下すると、この署名依頼は終了します。",
            "If something is wrong or you do not agree, decline and say why. The sender will see your "
            "reason and may send a corrected document. Declining ends this signing request.",
        )
        + v.form(
            "reject",
            v.label("reject_reason", "却下の理由（必須）", "Reason for declining (required)"),
            v.p("1000文字以内", "Up to 1,000 characters", "hint", "reject_reason_hint"),
            '<textarea id="reject_reason" name="reason" required maxlength="1000" rows="4" '
            'aria-describedby="reject_reason_hint"></textarea>',
            v.button("却下する", "Decline", "danger"),
        )
        + "</details>"
    )
    forward = (
        f"<details><summary>{v.t('別の担当者に転送する', 'Forward to someone else')}</summary>"
        + v.p(
            "ご担当が別の方の場合は、その方に署名依頼を転送できます。転送先の方には専用のリンクがメールで"
            "届き、このページのリンクは使えなくなります。転送したことは記録され、送信者にも通知されます。",
            "If someone else should handle this, forward the request to them. They will get their own "
            "link by email, and this link will stop working. The forward is recorded and the sender "
            "is told.",
        )
        + v.form(
            "forward",
            v.label("forward_name", "転送先の氏名（必須）", "Their name (required)"),
            '<input type="text" id="forward_name" name="name" required maxlength="200" autocomplete="off">',
            v.label("forward_email", "転送先のメールアドレス（必須）", "Their email address (required)"),
            '<input type="email" id="forward_email" name="email" required maxlength="254" '
            'autocomplete="off" autocapitalize="none" spellcheck="false">',
            v.label("forward_organization", "転送先の会社名（任意）", "Their organization (optional)"),
            '<input type="text" id="forward_organization" name="organization" maxlength="200" '
            'autocomplete="off">',
            v.label("forward_reason", "転送の理由（必須）", "Reason for forwarding (required)"),
            '<textarea id="forward_reason" name="reason" required maxlength="1000" rows="3"></textarea>',
            v.button("転送する", "Forward", "plain"),
        )
        + "</details>"
    )
    body = (
        v.greeting()
        + f"<p>{v.request_sentence()}</p>"
        + v.facts(
            [
                v.title_fact(),
                (v.t("送信者", "From"), v.sender_card()),
                (v.t("URL有効期限", "Link valid until"), v.expires_at),
            ]
        )
        + v.message_block()
        + v.h2("書類", "Documents")
        + v.p(
            "同意する前に、必ずすべての書類を開いて最後までお読みください。書類はダウンロードして保存できます。",
            "Before you agree, please open every document and read it to the end. "
            "You can download the documents to keep a copy.",
        )
        + v.document_links()
        + agree
        + v.h2("同意できない場合・担当が違う場合", "If you cannot agree, or someone else should")
        + reject
        + forward
    )
    return _Content(v.t("書類の内容をご確認ください", "Please review the documents"), body, personal=True)


def _agreed(v: _View) -> _Content:
    what = v.quoted_title()
    body = (
        v.greeting()
        + v.p(
            f"{what}への同意を受け付けました。" if what else "同意を受け付けました。",
            f"Your agreement to {what} has been recorded." if what else "Your agreement has been recorded.",
        )
        + v.p(
            "すべての当事者の同意が完了すると、締結済みのPDFと合意締結証明書がメールで届きます。",
            "Once everyone has agreed, you will receive the signed PDF and the certificate of agreement "
            "by email.",
        )
        + v.p("このページは閉じていただいて構いません。", "You can close this page.")
        + v.facts([v.title_fact(), (v.t("同意日時", "Agreed at"), v.acted_at)])
        + v.contact()
    )
    return _Content(v.t("同意が完了しました", "You have agreed"), body)


def _rejected(v: _View) -> _Content:
    what = v.quoted_title()
    body = (
        v.greeting()
        + v.p(
            f"{what}を却下しました。" if what else "書類を却下しました。",
            f"You declined {what}." if what else "You declined the document.",
        )
        + v.p("却下の理由は送信者に伝えられました。", "The sender has been told your reason.")
        + v.p(
            "内容を訂正した書類が改めて送られることがあります。ご不明な点は送信者にお問い合わせください。",
            "The sender may send you a corrected document. If you have questions, please contact the sender.",
        )
        + v.facts([v.title_fact(), (v.t("却下日時", "Declined at"), v.acted_at)])
        + v.contact()
    )
    return _Content(v.t("書類を却下しました", "You have declined"), body)


def _forwarded(v: _View) -> _Content:
    what = v.quoted_title()
    body = (
        v.greeting()
        + v.p(
            f"{what}の署名依頼を転送しました。" if what else "署名依頼を転送しました。",
            f"You forwarded the request to sign {what}." if what else "You forwarded the signing request.",
        )
        + v.p(
            "転送先の方に専用のリンクがメールで届きます。このリンクからは、お手続きできなくなりました。",
            "The person you forwarded it to will get their own link by email. "
            "This link can no longer be used to sign.",
        )
        + v.facts(
            [
                v.title_fact(),
                (v.t("転送先", "Forwarded to"), _one(v.page.forwarded_to)),
                (v.t("転送日時", "Forwarded at"), v.acted_at),
            ]
        )
        + v.contact()
    )
    return _Content(v.t("署名依頼を転送しました", "You have forwarded this request"), body)


def _ended(heading: tuple[str, str], *texts: tuple[str, str]) -> Callable[[_View], _Content]:
    """A state where nothing can be done here: what happened, what to do, whom to ask."""

    def content(v: _View) -> _Content:
        explanation = "".join(v.p(ja, en) for ja, en in texts)
        body = v.greeting() + explanation + v.facts([v.title_fact()]) + v.contact()
        return _Content(v.t(*heading), body)

    return content


_expired = _ended(
    ("リンクの有効期限が切れています", "This link has expired"),
    (
        "この署名依頼のリンクは有効期限を過ぎたため、ご利用いただけません。",
        "The validity of this signing link has ended, so it can no longer be used.",
    ),
    (
        "お手続きが必要な場合は、送信者に書類の再送信をご依頼ください。",
        "If you still need to sign, please ask the sender to send the document again.",
    ),
)
_cancelled = _ended(
    ("この署名依頼は取り消されました", "This signing request was cancelled"),
    (
        "送信者がこの書類の署名依頼を取り消したため、お手続きは不要です。",
        "The sender cancelled this signing request, so there is nothing for you to do.",
    ),
    ("ご不明な点は、送信者にお問い合わせください。", "If you have questions, please contact the sender."),
)
_closed = _ended(
    ("この書類の手続きは終了しています", "This signing request has ended"),
    (
        "この書類の手続きはすでに終了しているため、このリンクからは操作できません。",
        "This signing request has already ended, so nothing more can be done through this link.",
    ),
    ("詳しくは、送信者にお問い合わせください。", "Please contact the sender for details."),
)
_locked = _ended(
    ("このリンクはロックされています", "This link is locked"),
    (
        "アクセスコードの誤入力が続いたため、安全のためこのリンクをロックしました。"
        "送信者にはお知らせしています。",
        "The access code was entered wrongly too many times, so this link has been locked for your "
        "security. The sender has been told.",
    ),
    (
        "お手続きを続けるには、送信者に連絡して書類の再送信をご依頼ください。",
        "To continue, please contact the sender and ask them to send the document again.",
    ),
)
_not_your_turn = _ended(
    ("まだお手続きの順番ではありません", "It is not your turn yet"),
    (
        "この書類は、前の方のお手続きが終わってから確認していただく順番になっています。",
        "Other people need to finish before you can review this document.",
    ),
    (
        "順番が来ましたら、メールでお知らせします。それまでお待ちください。",
        "We will email you when it is your turn.",
    ),
)


def _invalid(v: _View) -> _Content:
    # Whatever the caller passed, nothing about an envelope is shown: the page must look the same
    # for an unknown token and for a dead one.
    body = (
        v.p(
            "リンクが正しくないか、すでに使えなくなっています。",
            "The link is not correct, or it can no longer be used.",
        )
        + v.p(
            "署名依頼のメールに記載された最新のリンクを開いてください。メールアプリでリンクが途中で切れて"
            "しまう場合は、URL全体をコピーしてブラウザに貼り付けてください。",
            "Please open the latest link in your signing request email. If your mail app breaks the link, "
            "copy the whole address and paste it into your browser.",
        )
        + v.p(
            "解決しない場合は、署名依頼の送信者にお問い合わせください。",
            "If that does not help, please contact the person who sent you the request.",
        )
    )
    return _Content(v.t("このリンクは無効です", "This link is not valid"), body)


def _error(v: _View) -> _Content:
    code = _one(v.page.error_code)
    body = (
        v.p(
            "申し訳ありません。処理を完了できませんでした。しばらくしてから、もう一度お試しください。",
            "Sorry, we could not complete this. Please try again in a little while.",
        )
        + (
            v.p(
                "問題が続く場合は、下のエラーコードを添えて送信者にお問い合わせください。",
                "If the problem continues, please contact the sender and mention the error code below.",
            )
            if code
            else v.p(
                "問題が続く場合は、送信者にお問い合わせください。",
                "If the problem continues, please contact the sender.",
            )
        )
        + f'<p><a href="{v.base}">{v.t("書類のページを開き直す", "Reload the document page")}</a></p>'
        + v.contact()
        + (f'<p class="small">{v.t("エラーコード", "Error code")}: <code>{code}</code></p>' if code else "")
    )
    return _Content(v.t("ページを表示できませんでした", "Something went wrong"), body)


def _completed(v: _View) -> _Content:
    what = v.quoted_title()
    certificate = _document_item(
        f"{v.path}/certificate",
        v.t("合意締結証明書", "Certificate of agreement"),
        v.t("PDF・ダウンロード", "PDF · Download"),
    )
    body = (
        v.greeting()
        + v.p(
            f"{what}は、すべての当事者が同意し、締結が完了しました。"
            if what
            else "すべての当事者が同意し、締結が完了しました。",
            f"All parties have agreed to {what}." if what else "All parties have agreed.",
        )
        + v.p(
            "締結済みの書類と合意締結証明書をダウンロードして、大切に保管してください。",
            "Please download the signed documents and the certificate of agreement, and keep them safe.",
        )
        + v.h2("締結済みの書類と合意締結証明書", "Signed documents and certificate")
        + v.document_links(download=True, extra=certificate)
        + v.p(
            "PDFをAdobe Acrobat Readerで開くと、電子署名とタイムスタンプを確認できます。",
            "Open the PDF in Adobe Acrobat Reader to see the electronic signatures and timestamps.",
            "small",
        )
        + v.contact()
    )
    return _Content(v.t("締結が完了しました", "The agreement is complete"), body)


def _download_expired(v: _View) -> _Content:
    what = v.quoted_title()
    who = v.sender_phrase()
    body = (
        v.greeting()
        + v.p(
            f"{what}の締結済み書類をダウンロードするためのリンクは、有効期限を過ぎたため使えなくなりました。"
            if what
            else "締結済み書類をダウンロードするためのリンクは、有効期限を過ぎたため使えなくなりました。",
            f"The link to download the signed {what} has expired and can no longer be used."
            if what
            else "The link to download the signed documents has expired and can no longer be used.",
        )
        + v.p(
            f"書類や合意締結証明書が必要な場合は、送信者の{who}にお問い合わせください。"
            if who
            else "書類や合意締結証明書が必要な場合は、送信者にお問い合わせください。",
            f"If you need the documents or the certificate of agreement, please ask the sender, {who}."
            if who
            else "If you need the documents or the certificate of agreement, please ask the sender.",
        )
        + v.facts([v.title_fact(), (v.t("有効期限", "Valid until"), v.expires_at)])
        + v.contact()
    )
    heading = v.t("ダウンロード用リンクの有効期限が切れています", "This download link has expired")
    return _Content(heading, body)


_STATES: dict[PageState, Callable[[_View], _Content]] = {
    PageState.TERMS: _terms,
    PageState.REVIEW: _review,
    PageState.AGREED: _agreed,
    PageState.REJECTED: _rejected,
    PageState.FORWARDED: _forwarded,
    PageState.EXPIRED: _expired,
    PageState.CANCELLED: _cancelled,
    PageState.CLOSED: _closed,
    PageState.LOCKED: _locked,
    PageState.NOT_YOUR_TURN: _not_your_turn,
    PageState.INVALID: _invalid,
    PageState.ERROR: _error,
    PageState.COMPLETED: _completed,
    PageState.DOWNLOAD_EXPIRED: _download_expired,
}


def _language_switch(v: _View) -> str:
    ja = f'<a href="{v.base}?lang=ja" hreflang="ja" lang="ja">日本語</a>'
    en = f'<a href="{v.base}?lang=en" hreflang="en" lang="en">English</a>'
    if v.ja:
        ja = '<strong lang="ja">日本語</strong>'
    else:
        en = '<strong lang="en">English</strong>'
    return f'<nav class="lang" aria-label="{v.t("言語", "Language")}">{en} / {ja}</nav>'


def render_signing_page(page: SigningPage) -> str:
    """The whole HTML document (``<!doctype html>`` …) of ``page``, in ``page.language``.

    :raises ValueError: ``base_path`` is not a plain absolute path (it must start with one ``/`` and
        hold no quotes, angle brackets, backslashes, spaces, ``?`` or ``#``), or the language is not
        ``ja``/``en``.
    """
    v = _View(page)
    content = _STATES[page.state](v)
    service = _one(page.service_name) or "tachiai"
    notice = _one(page.notice)
    alert = f'<div class="notice" role="alert">{notice}</div>' if notice else ""
    footer = f"<p>{service}</p>"
    if content.personal:
        footer = (
            "<p>"
            + v.t(
                "このページのURLはあなた専用です。他の人と共有しないでください。",
                "This page's address is yours alone. Please do not share it.",
            )
            + f"</p>{footer}"
        )
    return (
        "<!doctype html>\n"
        f'<html lang="{page.language}">\n'
        "<head>\n"
        '<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<meta name="referrer" content="same-origin">\n'
        '<meta name="robots" content="noindex">\n'
        '<meta name="format-detection" content="telephone=no">\n'
        # No favicon request: API Gateway answers a path it has no route for with 403, which the
        # browser reports as an error on every page.
        '<link rel="icon" href="data:,">\n'
        f"<title>{content.heading} | {service}</title>\n"
        f"<style>{_CSS}</style>\n"
        "</head>\n"
        "<body>\n"
        f'<header class="bar"><div><span class="brand">{service}</span>{_language_switch(v)}</div></header>\n'
        f'<main>\n{alert}<div class="card">\n<h1>{content.heading}</h1>\n{content.body}\n</div>\n</main>\n'
        f"<footer>{footer}</footer>\n"
        "</body>\n"
        "</html>\n"
    )
