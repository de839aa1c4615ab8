"""The recipient's signing page (``/s/<token>``): one plain HTML document in the participant's language.

The page works in any browser, a phone included, without JavaScript: every action is a form that
posts ``application/x-www-form-urlencoded`` to ``{base_path}/open|agree|reject|forward``, and the server
answers with a ``303`` back to the page, which then shows the new state (:class:`PageState`).

Its layout is ``templates/page/*.html.j2`` and its words are the catalogs' ``page.*`` messages (see
:mod:`tachiai.rendering`); this module only cleans the values and picks the template of the state.
The server sends a CSP that allows inline styles and nothing else: the page has one ``<style>`` block,
no scripts and no external resources, and tells the browser not to send the URL (which carries the
token) as a referrer.

Every value comes from people (sender, recipient, forwardee) and is untrusted: one-line values are
flattened to one line (no bidi tricks, see :func:`tachiai.mail.templates.single_line`), the sender's
message keeps its line breaks but is always shown quoted under "message from the sender", so it cannot
pass for the service's own words, and the template escapes everything, attributes included.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import quote

from tachiai import i18n, rendering
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
    language_chosen: bool = False
    """The visitor picked :attr:`language` with the page's switch (``?lang=``): the forms carry it, so
    the page an action leads back to (or its error) is in that language too, not the participant's."""


# --- language ---------------------------------------------------------------------------------


def negotiate_language(
    accept_language: str | None, query_lang: str | None, default: Language = i18n.DEFAULT_LANGUAGE
) -> Language:
    """The page's language: ``?lang=ja|en|zh`` when given (the page's language switch), else the best
    of the catalog languages for the browser's ``Accept-Language`` (:func:`tachiai.i18n.negotiate`),
    else ``default``. Never raises."""
    chosen = (query_lang or "").strip().lower()
    for language in i18n.LANGUAGES:
        if chosen == language:
            return language
    return i18n.negotiate(accept_language, default)


# --- values -----------------------------------------------------------------------------------

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


def _one(value: str | None) -> str | None:
    """An untrusted one-line value, flattened; None when empty (the template escapes it)."""
    return single_line(value or "") or None


@dataclass(frozen=True)
class _Document:
    href: str
    name: str
    """The name shown on its link: the file name, else the id."""
    file_name: str | None
    """The file name (a document without one is left out of the list of files)."""
    pages: str
    """``PDF・3ページ`` / ``PDF, 3 pages``."""


class _View:
    """The page's values, cleaned once, and the phrases built from them in the page's language.
    Nothing here is escaped: the template does that, once, for every value."""

    def __init__(self, page: SigningPage) -> None:
        if page.language not in i18n.LANGUAGES:
            raise ValueError(f"language must be one of {', '.join(i18n.LANGUAGES)}")
        language = page.language
        self.path = _check_base_path(page.base_path)
        self.title = _one(page.title)
        self.sender_name = _one(page.sender_name)
        self.sender_organization = _one(page.sender_organization)
        self.sender_email = _one(page.sender_email)
        self.recipient = _one(page.recipient_name)
        self.message = multi_line(page.message or "") or None
        self.expires_at = _one(page.expires_at)
        self.acted_at = _one(page.acted_at)
        self.forwarded_to = _one(page.forwarded_to)
        self.error_code = _one(page.error_code)
        self.notice = _one(page.notice)
        self.service = _one(page.service_name) or "tachiai"
        self.access_code_required = page.access_code_required
        # Forms post to "{path}/{action}{form_query}"; the language is one of LANGUAGES (checked above).
        self.form_query = f"?lang={language}" if page.language_chosen else ""
        # The href needs the raw address, percent-encoded (the template escapes it for the attribute).
        self.mailto = f"mailto:{quote(single_line(page.sender_email or ''), safe='@+')}"
        self.sender_phrase = self._sender_phrase(language)
        self.sender_card = self._sender_card(language)
        self.documents = [
            _Document(
                href=f"{self.path}/documents/{quote(d.id, safe='')}",
                name=_one(d.name) or d.id,
                file_name=_one(d.name),
                pages=self._pages(d.pages, language),
            )
            for d in page.documents
        ]

    def _sender_phrase(self, language: Language) -> str | None:
        """``株式会社サンプル 佐藤一郎 様`` / ``Ichiro Sato of Sample Inc.``"""
        name, organization = self.sender_name, self.sender_organization
        if name and organization:
            return i18n.text("page.sender.inline", language, name=name, organization=organization)
        who = name or organization
        return i18n.text("page.sender.one", language, who=who) if who else None

    def _sender_card(self, language: Language) -> str | None:
        """The first line of the sender's card: name (organization)."""
        name, organization = self.sender_name, self.sender_organization
        if name and organization:
            return i18n.text("page.sender.card", language, name=name, organization=organization)
        who = name or organization
        return i18n.text("page.sender.one", language, who=who) if who else None

    @staticmethod
    def _pages(count: int | None, language: Language) -> str:
        if count is None:
            return i18n.text("page.pages.unknown", language)
        return i18n.text("page.pages.one" if count == 1 else "page.pages.other", language, count=count)


_TEMPLATES: dict[PageState, str] = {
    PageState.TERMS: "page/terms.html.j2",
    PageState.REVIEW: "page/review.html.j2",
    PageState.AGREED: "page/agreed.html.j2",
    PageState.REJECTED: "page/rejected.html.j2",
    PageState.FORWARDED: "page/forwarded.html.j2",
    PageState.EXPIRED: "page/ended.html.j2",
    PageState.CANCELLED: "page/ended.html.j2",
    PageState.CLOSED: "page/ended.html.j2",
    PageState.LOCKED: "page/ended.html.j2",
    PageState.NOT_YOUR_TURN: "page/ended.html.j2",
    PageState.INVALID: "page/invalid.html.j2",
    PageState.ERROR: "page/error.html.j2",
    PageState.COMPLETED: "page/completed.html.j2",
    PageState.DOWNLOAD_EXPIRED: "page/download_expired.html.j2",
}
_PERSONAL = frozenset({PageState.TERMS, PageState.REVIEW})
"""Pages that are the recipient's own: the footer reminds them not to share the URL."""


def render_signing_page(page: SigningPage) -> str:
    """The whole HTML document (``<!doctype html>`` …) of ``page``, in ``page.language``.

    :raises ValueError: ``base_path`` is not a plain absolute path (it must start with one ``/`` and
        hold no quotes, angle brackets, backslashes, spaces, ``?`` or ``#``), or the language is not
        one of :data:`tachiai.i18n.LANGUAGES`.
    """
    view = _View(page)
    return rendering.render(
        _TEMPLATES[page.state],
        page.language,
        state=page.state.value,
        v=view,
        personal=page.state in _PERSONAL,
    )
