"""The recipient's link routes (the agree function): a plain HTML page that works in any browser, and
the same actions as JSON for API clients.

A browser posts forms (``application/x-www-form-urlencoded``) and gets a ``303`` back to the page,
which then shows what happened — an agreement, a wrong access code, an expired link. A client that
sends JSON gets JSON. Every failure is a page (or a JSON error) with a clear message in the
participant's language; nothing a visitor can send produces a stack trace.

The token is in the path, so every response says ``no-store`` and ``Referrer-Policy: same-origin``: the
URL never leaves for another site, while the page's own form posts still carry a real ``Origin`` (under
``no-referrer`` browsers send ``Origin: null``, which cannot be told apart from a sandboxed foreign page).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.shared.cookies import Cookie, SameSite
from pydantic import ValidationError

from tachiai import i18n
from tachiai.api.routing import RestResolver, error_response, json_response, parse_json_body, register_routes
from tachiai.domain.envelope import Envelope, EnvelopeStatus, Participant, ParticipantStatus
from tachiai.domain.errors import (
    AuthenticationRequired,
    Conflict,
    EnvelopeCancelled,
    EnvelopeClosed,
    EnvelopeRejected,
    InvalidRequest,
    LinkExpired,
    LinkInvalid,
    LinkLocked,
    NotYourTurn,
    TachiaiError,
)
from tachiai.domain.events import Language
from tachiai.mail.templates import format_mail_time
from tachiai.services import recipient
from tachiai.services.context import Services, services
from tachiai.services.recipient import ForwardRequest, IssuedSession, Visit
from tachiai.web.signing_page import (
    DocumentLink,
    PageState,
    SigningPage,
    negotiate_language,
    render_signing_page,
)

_SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
}

_STATE_OF_ERROR: dict[type[TachiaiError], PageState] = {
    LinkInvalid: PageState.INVALID,
    LinkExpired: PageState.EXPIRED,
    LinkLocked: PageState.LOCKED,
    EnvelopeCancelled: PageState.CANCELLED,
    EnvelopeRejected: PageState.CLOSED,
    EnvelopeClosed: PageState.CLOSED,
    NotYourTurn: PageState.NOT_YOUR_TURN,
}
_STATE_OF_PARTICIPANT = {
    ParticipantStatus.AGREED: PageState.AGREED,
    ParticipantStatus.REJECTED: PageState.REJECTED,
    ParticipantStatus.FORWARDED: PageState.FORWARDED,
}


def build_recipient_app() -> RestResolver:
    app = RestResolver()

    def wants_html() -> bool:
        content_type = (app.current_event.headers.get("content-type") or "").lower()
        return not content_type.startswith("application/json")

    def form() -> dict[str, str]:
        """The body as a flat dict, whether a form or JSON (values stringified, last one wins)."""
        body = app.current_event.decoded_body or ""
        if not wants_html():
            try:
                data = parse_json_body(body or "{}")
            except ValueError as e:
                raise InvalidRequest("body is not JSON", field="body") from e
            if not isinstance(data, dict):
                raise InvalidRequest("body is not a JSON object", field="body")
            return {k: v if isinstance(v, str) else json.dumps(v) for k, v in data.items()}
        return {k: v[-1] for k, v in parse_qs(body, keep_blank_values=True).items()}

    def visit() -> Visit:
        identity = app.current_event.request_context.identity
        sessions = session_cookies(app.current_event.headers.get("cookie"))
        return Visit(ip=identity.source_ip, user_agent=identity.user_agent, sessions=sessions)

    def language(envelope: Envelope | None = None, participant: Participant | None = None) -> Language:
        """The page's language: ``?lang=`` (the page's switch), else the participant's own choice, else
        the browser's ``Accept-Language`` (a visitor not known as a participant), else the envelope's."""
        query = (app.current_event.query_string_parameters or {}).get("lang")
        default: Language = (
            participant.language if participant else envelope.language if envelope else i18n.DEFAULT_LANGUAGE
        )
        if participant is None:
            return negotiate_language(app.current_event.headers.get("accept-language"), query, default)
        return negotiate_language(None, query, default)

    def language_chosen() -> bool:
        """The visitor chose the page's language with its switch (a valid ``?lang=``)."""
        query = (app.current_event.query_string_parameters or {}).get("lang")
        return (query or "").strip().lower() in i18n.LANGUAGES

    def act(token: str, action: Callable[[Services, dict[str, str]], IssuedSession | None]) -> Response[str]:
        """Run a POST action; a browser is sent back to the page (with a notice on failure). A new
        session (the access code was just given) goes back to the client as a cookie."""
        svc = services()
        try:
            session = action(svc, form())
        except TachiaiError as e:
            if not wants_html():
                return error_response(e)
            return page(token, notice=e)
        if not wants_html():
            view = recipient.lookup(svc, token)
            status = view.participant.status.value if view.participant else None
            response = json_response(200, {"envelope": view.envelope.status.value, "participant": status})
        else:
            # Back to the page, in the language the visitor chose (?lang= on the page the form was on).
            query = app.current_event.query_string_parameters or {}
            lang = query.get("lang")
            location = svc.link_url(token) + (f"?lang={lang}" if lang in i18n.LANGUAGES else "")
            response = Response(status_code=303, headers={"Location": location, **_SECURITY_HEADERS})
        if session is not None:
            response.cookies.append(session_cookie(svc, token, session))
        return response

    def page(token: str, notice: TachiaiError | None = None) -> Response[str]:
        svc = services()
        signing_page, status = build_page(svc, token, notice)
        return Response(
            status_code=status,
            content_type="text/html; charset=utf-8",
            body=render_signing_page(signing_page),
            headers=_SECURITY_HEADERS,
        )

    def build_page(svc: Services, token: str, notice: TachiaiError | None) -> tuple[SigningPage, int]:
        base = base_path(svc, token)
        try:
            view = recipient.lookup(svc, token)
        except LinkInvalid:
            return SigningPage(state=PageState.INVALID, language=language(), base_path=base), 404
        envelope, participant = view.envelope, view.participant
        lang = language(envelope, participant)
        common: dict[str, Any] = {
            "language": lang,
            "base_path": base,
            "title": envelope.title,
            "sender_name": envelope.sender.name,
            "sender_organization": envelope.sender.organization,
            "sender_email": envelope.sender.email,
            "service_name": svc.settings.service_name,
            "language_chosen": language_chosen(),
        }
        if participant is not None:
            common["recipient_name"] = participant.person.name
        if view.link.purpose == "download":
            return completed_page(svc, envelope, view.link.expires_at, common)
        assert participant is not None
        notice_text = notice.message(lang) if notice else None
        status = 200 if notice is None else notice.http_status
        try:
            recipient.resolve(svc, token)
        except Conflict as e:
            state = _STATE_OF_PARTICIPANT.get(participant.status) or _state_of(e)
            # Whom a forward went to is for the client that proved who it is, not for any URL holder.
            known = recipient.authenticated_methods(svc, participant, visit()) is not None
            return acted_page(svc, state, participant, envelope, common, notice_text, known), 200
        except TachiaiError as e:
            # The state's own page explains expiry, locks, cancellation...; only an unexpected error
            # needs its message as a notice.
            state = _state_of(e)
            text = notice_text if state == PageState.ERROR else None
            return SigningPage(state=state, notice=text, error_code=e.code, **common), e.http_status
        documents = tuple(DocumentLink(d.id, d.name, d.pages) for d in envelope.documents)
        expires = (
            format_mail_time(participant.link_expires_at, svc.settings.zone, lang)
            if participant.link_expires_at
            else None
        )
        state = PageState.TERMS
        if participant.status == ParticipantStatus.OPENED:
            if recipient.authenticated_methods(svc, participant, visit()) is not None:
                state = PageState.REVIEW
            elif notice_text is None:
                # Opened before, on another client or too long ago: the code again, and why.
                notice_text = AuthenticationRequired().message(lang)
        return (
            SigningPage(
                state=state,
                message=envelope.message or None,
                documents=documents,
                expires_at=expires,
                access_code_required=participant.requires_access_code,
                notice=notice_text,
                **common,
            ),
            status,
        )

    def acted_page(
        svc: Services,
        state: PageState,
        participant: Participant,
        envelope: Envelope,
        common: dict[str, Any],
        notice: str | None,
        authenticated: bool,
    ) -> SigningPage:
        lang = common["language"]
        acted = (
            format_mail_time(participant.acted_at, svc.settings.zone, lang) if participant.acted_at else None
        )
        newcomer = next((p for p in envelope.participants if p.forwarded_from == participant.id), None)
        forwarded_to = None
        if newcomer is not None and authenticated:
            forwarded_to = f"{newcomer.person.name} <{newcomer.person.email}>"
        return SigningPage(state=state, acted_at=acted, forwarded_to=forwarded_to, notice=notice, **common)

    def completed_page(
        svc: Services, envelope: Envelope, expires_at: datetime, common: dict[str, Any]
    ) -> tuple[SigningPage, int]:
        if envelope.status != EnvelopeStatus.COMPLETED:
            return SigningPage(state=PageState.INVALID, **common), 404
        if svc.now() >= expires_at:
            # Past its validity the link offers nothing: it says so, and whom to ask (the sender).
            until = format_mail_time(expires_at, svc.settings.zone, common["language"])
            return SigningPage(state=PageState.DOWNLOAD_EXPIRED, expires_at=until, **common), 410
        documents = tuple(DocumentLink(d.id, d.name, d.pages) for d in envelope.documents)
        return SigningPage(state=PageState.COMPLETED, documents=documents, **common), 200

    def show(token: str) -> Response[str]:
        return page(token)

    def open_(token: str) -> Response[str]:
        def run(svc: Services, data: dict[str, str]) -> IssuedSession | None:
            accepted = data.get("accept_terms", "").lower() in ("yes", "true", "on", "1")
            opened = recipient.open_documents(
                svc, token, accept_terms=accepted, access_code=data.get("access_code") or None, visit=visit()
            )
            return opened.session

        return act(token, run)

    def agree(token: str) -> Response[str]:
        def run(svc: Services, _: dict[str, str]) -> None:
            recipient.agree(svc, token, visit())

        return act(token, run)

    def reject(token: str) -> Response[str]:
        def run(svc: Services, data: dict[str, str]) -> None:
            reason = data.get("reason", "").strip()
            if not reason:
                raise InvalidRequest("a reason is required", field="reason")
            recipient.reject(svc, token, reason[:1000], visit())

        return act(token, run)

    def forward(token: str) -> Response[str]:
        def run(svc: Services, data: dict[str, str]) -> None:
            try:
                request = ForwardRequest.model_validate(
                    {k: data.get(k) or None for k in ("name", "email", "organization", "reason")}
                )
            except ValidationError as e:
                field = str(e.errors()[0]["loc"][0]) if e.errors() else "body"
                raise InvalidRequest(f"invalid {field}", field=field) from e
            recipient.forward(svc, token, request, visit())

        return act(token, run)

    def document(token: str, document_id: str) -> Response[str]:
        return redirect_or_page(token, lambda svc: recipient.document_url(svc, token, document_id, visit()))

    def certificate(token: str) -> Response[str]:
        return redirect_or_page(token, lambda svc: recipient.certificate_url(svc, token, visit()))

    def redirect_or_page(token: str, url_of: Callable[[Services], str]) -> Response[str]:
        try:
            url = url_of(services())
        except TachiaiError as e:
            return page(token, notice=e)
        return Response(status_code=302, headers={"Location": url, **_SECURITY_HEADERS})

    register_routes(
        app,
        "agree",
        {
            ("GET", "/s/{token}"): show,
            ("POST", "/s/{token}/open"): open_,
            ("GET", "/s/{token}/documents/{document_id}"): document,
            ("POST", "/s/{token}/agree"): agree,
            ("POST", "/s/{token}/reject"): reject,
            ("POST", "/s/{token}/forward"): forward,
            ("GET", "/s/{token}/certificate"): certificate,
        },
    )
    return app


def _state_of(error: TachiaiError) -> PageState:
    for cls in type(error).__mro__:
        if cls in _STATE_OF_ERROR:
            return _STATE_OF_ERROR[cls]
    return PageState.ERROR


def base_path(svc: Services, token: str) -> str:
    """The link's path as the browser sees it (behind API Gateway that includes the stage); a token
    that is not even well-formed is never echoed into the page."""
    prefix = urlsplit(svc.settings.public_url or "").path.rstrip("/")
    return f"{prefix}/s/{token if recipient.is_well_formed(token) else '-'}"


SESSION_COOKIE = "tachiai_session"
"""The cookie of a client that gave a participant's access code (:func:`recipient.open_documents`)."""
_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


def session_cookies(header: str | None) -> tuple[str, ...]:
    """The values of every session cookie in a ``Cookie`` header (a client may hold a stale one
    beside the live one; a repeated header arrives comma-joined, and no token contains a comma)."""
    values = []
    for pair in (header or "").replace(",", ";").split(";"):
        name, _, value = pair.strip().partition("=")
        if name == SESSION_COOKIE and value:
            values.append(value.strip('"'))
    return tuple(values)


def session_cookie(svc: Services, token: str, session: IssuedSession) -> Cookie:
    """The session as a cookie for this link only (its path), out of scripts' reach (HttpOnly), not
    sent by other sites' forms (SameSite=Lax: the mail's link, a top-level GET, still carries it),
    gone when the session ends. Secure, except where tachiai's own URL is plain HTTP on loopback
    (``tachiai local``): browsers and HTTP clients would never send a Secure cookie back there."""
    seconds = int((session.expires_at - svc.now()).total_seconds())
    return Cookie(
        name=SESSION_COOKIE,
        value=session.token,
        path=base_path(svc, token),
        secure=_needs_secure_cookies(svc.settings.public_url),
        http_only=True,
        max_age=max(seconds, 1),
        same_site=SameSite.LAX_MODE,
    )


def _needs_secure_cookies(public_url: str | None) -> bool:
    url = urlsplit(public_url or "")
    return not (url.scheme == "http" and url.hostname in _LOOPBACK_HOSTS)
