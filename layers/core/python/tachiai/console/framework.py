"""What every console page is written against: who is visiting, the form they posted, the page's answer.

A page module exposes ``page_routes(console) -> {(method, path): handler}``; its handlers take the
route's path parameters (strings) and return :meth:`Console.render` or :meth:`Console.redirect`::

    def page_routes(console: Console) -> dict[RouteKey, Callable[..., Response[str]]]:
        def detail(envelope_id: str) -> Response[str]:
            visitor = console.visitor()                     # or the browser goes to the sign-in
            envelope, trail = sending.get_envelope(console.services(), visitor.identity, envelope_id)
            return console.render("console/detail.html.j2", envelope=envelope, trail=trail)

        def remind(envelope_id: str) -> Response[str]:
            console.form()                                  # checks the CSRF token and the Origin
            sending.remind(console.services(), console.visitor().identity, envelope_id)
            return console.redirect(f"/app/envelopes/{envelope_id}", notice="console.detail.reminded")

        return {("GET", "/app/envelopes/{envelope_id}"): detail,
                ("POST", "/app/envelopes/{envelope_id}/remind"): remind}

Paths are the route table's (``/app/...``); behind API Gateway the browser sees them under the stage
(``/prod/app/...``): templates write every link with ``url("/app/...")`` and every static file with
``static("name.js")``, and :meth:`Console.redirect` adds the prefix itself. A handler never catches
what it cannot handle: a :class:`~tachiai.domain.errors.TachiaiError` it lets out is shown as the
page's error in the visitor's language (:meth:`Console.error_page`, with the error's status), a
:class:`SignInRequired` sends the browser to the sign-in and back. A form that fails its own checks
renders itself again with the values and the errors (status 400, 409 or 422).

Every answer carries the console's headers: a strict Content-Security-Policy (scripts and styles only
from the console itself: no inline script, no ``eval``), ``no-store``, ``Referrer-Policy:
same-origin``, ``nosniff`` and ``X-Frame-Options: DENY``.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import inspect
import logging
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from email.message import Message
from email.parser import BytesParser
from email.policy import HTTP
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import parse_qs, urlencode, urlsplit

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.shared.cookies import Cookie, SameSite

from tachiai import i18n, names, rendering
from tachiai.console import session as sessions
from tachiai.domain.console import ConsoleSession
from tachiai.domain.errors import CsrfRefused, InvalidRequest, SignInRequired, TachiaiError
from tachiai.domain.events import Language
from tachiai.services import context
from tachiai.services.context import Services
from tachiai.services.sending import ADMIN_GROUP, SenderIdentity

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler.api_gateway import BaseRouter
    from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent

__all__ = [
    "LANGUAGE_COOKIE",
    "NOTICE_COOKIE",
    "SESSION_COOKIE",
    "SIGN_IN_COOKIE",
    "Console",
    "CsrfRefused",
    "PageHandler",
    "RouteKey",
    "SignInRequired",
    "UploadedFile",
    "Visitor",
    "static_file",
]

logger = logging.getLogger(__name__)

RouteKey = tuple[str, str]
"""(method, path as in the route table), as in :mod:`tachiai.api.routing`."""
PageHandler = Callable[..., Response[str]]

SESSION_COOKIE = "tachiai_console"
"""The session id (HttpOnly, Secure, SameSite=Lax, path ``<stage>/app``)."""
SIGN_IN_COOKIE = "tachiai_sign_in"
"""A sign-in in progress: its state, PKCE verifier and where to go after (path: the callback only)."""
LANGUAGE_COOKIE = "tachiai_lang"
"""The language the visitor chose with the switch."""
NOTICE_COOKIE = "tachiai_notice"
"""A notice (a catalog id) the next page shows once (post/redirect/get)."""
CSRF_FIELD = "csrf"
"""The hidden field of every console form (``<input type=hidden name=csrf value="{{ csrf_token }}">``)."""

MAX_FORM_BYTES = 6 * 1024 * 1024
"""A Lambda's request payload limit: a body over it never arrives anyway."""
LANGUAGE_COOKIE_SECONDS = 365 * 86400
_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
_NOTICE_ID = re.compile(r"console\.[a-z0-9_.]+")
_STATIC_NAME = re.compile(r"[a-z0-9][a-z0-9_-]*\.(css|js|svg)")
_STATIC_TYPES = {
    "css": "text/css; charset=utf-8",
    "js": "text/javascript; charset=utf-8",
    "svg": "image/svg+xml",
}
STATIC_PACKAGE_DIR = "templates/console/static"
"""Where the console's static files are, inside the ``tachiai`` package."""

NAVIGATION: tuple[tuple[str, str], ...] = (
    ("home", "/app"),
    ("new", "/app/new"),
    ("ledger", "/app/ledger"),
    ("templates", "/app/templates"),
    ("members", "/app/members"),
)
"""The header's entries: (name, path); their labels are ``console.nav.<name>``. ``members`` is shown
to administrators only."""


@dataclass(frozen=True)
class Visitor:
    """The signed-in staff member."""

    identity: SenderIdentity
    """What the services take as the caller (:mod:`tachiai.services.sending`)."""
    username: str
    """The user directory's name for them."""
    is_admin: bool
    language: Language
    """``?lang=`` (the switch; remembered in a cookie), else the cookie, else ``Accept-Language``, else ja."""
    csrf_token: str


@dataclass(frozen=True)
class UploadedFile:
    """A file part of a ``multipart/form-data`` form (the upload form's fallback without JavaScript)."""

    name: str
    """The file name the browser gave (as sent: clean it before showing or storing it)."""
    content_type: str
    data: bytes


@dataclass
class _Request:
    """What one request has been read into (parsed once, whatever the handler asks for)."""

    event: APIGatewayProxyEvent
    session: ConsoleSession | None = None
    fields: dict[str, list[str]] | None = None
    files: dict[str, list[UploadedFile]] | None = None
    set_cookies: list[Cookie] | None = None


class Console:
    """The console's side of one resolver: what page handlers close over.

    ``services`` gives the :class:`~tachiai.services.context.Services` of the process (the in-memory
    fakes in tests: ``tests/console_browser.py``).
    """

    def __init__(self, app: BaseRouter, services: Callable[[], Services] = context.services) -> None:
        self._app = app
        self._services = services
        self._request: _Request | None = None

    # --- the request ---------------------------------------------------------------------------

    @property
    def _current(self) -> _Request:
        event = cast("APIGatewayProxyEvent", self._app.current_event)
        if self._request is None or self._request.event is not event:
            self._request = _Request(event)
        return self._request

    def services(self) -> Services:
        return self._services()

    def path(self) -> str:
        """The page's path as in the route table (``/app/...``, without the stage)."""
        return str(self._current.event.path or "/app")

    def query(self, name: str) -> str | None:
        """The last value of query parameter ``name`` (None: absent)."""
        values = (self._current.event.multi_value_query_string_parameters or {}).get(name)
        if values:
            return str(values[-1])
        return (self._current.event.query_string_parameters or {}).get(name)

    def header(self, name: str) -> str | None:
        return self._current.event.headers.get(name.lower()) or self._current.event.headers.get(name)

    def cookies(self, name: str) -> tuple[str, ...]:
        """Every value of cookie ``name`` the browser sent (a stale one may sit beside the live one)."""
        values: list[str] = []
        raw = self._current.event.multi_value_headers or {}
        headers = [v for k, vs in raw.items() if k.lower() == "cookie" for v in vs] or [
            self.header("cookie") or ""
        ]
        for header in headers:
            for pair in header.split(";"):
                key, _, value = pair.strip().partition("=")
                if key == name and value:
                    values.append(value.strip('"'))
        return tuple(values)

    def base_path(self) -> str:
        """The stage's path the browser sees in front of ``/app`` (``/prod``; empty locally)."""
        return urlsplit(self.services().settings.public_url or "").path.rstrip("/")

    def url(self, path: str) -> str:
        """The browser's URL path of a console path (``/app/ledger`` → ``/prod/app/ledger``)."""
        return self.base_path() + path

    def absolute_url(self, path: str) -> str:
        """The full URL of a console path (the sign-in's redirect URI).

        :raises ConfigurationError: no public URL is configured.
        """
        return self.services().settings.require("public_url") + path

    def language(self) -> Language:
        """``?lang=`` when valid, else the switch's cookie, else ``Accept-Language``, else ja."""
        for chosen in (self.query("lang"), *reversed(self.cookies(LANGUAGE_COOKIE))):
            if chosen and chosen.strip().lower() in i18n.LANGUAGES:
                return _language(chosen)
        return i18n.negotiate(self.header("accept-language"))

    # --- who -------------------------------------------------------------------------------------

    def session(self) -> ConsoleSession:
        """The visitor's live session.

        :raises SignInRequired: none (never signed in, signed out, expired).
        :raises StorageUnavailable: the session store failed.
        :raises DirectoryUnavailable: the periodic look-up of the person failed.
        """
        request = self._current
        if request.session is None:
            request.session = sessions.current_session(self.services(), self.cookies(SESSION_COOKIE))
        return request.session

    def visitor(self) -> Visitor:
        """The signed-in staff member.

        :raises SignInRequired: nobody is signed in on this browser (the console sends it to sign in
            and back to this page).
        :raises StorageUnavailable: the session store failed.
        :raises DirectoryUnavailable: the periodic look-up of the person failed.
        """
        session = self.session()
        return Visitor(
            identity=sessions.identity_of(session),
            username=session.username,
            is_admin=ADMIN_GROUP in session.groups,
            language=self.language(),
            csrf_token=session.csrf_token,
        )

    def signed_in(self) -> Visitor | None:
        """The visitor when signed in, else None (pages anyone may see: the signed-out page, errors)."""
        try:
            return self.visitor()
        except SignInRequired:
            return None

    # --- the form ----------------------------------------------------------------------------------

    def form(self) -> dict[str, list[str]]:
        """The POSTed form's fields (``application/x-www-form-urlencoded`` or ``multipart/form-data``;
        the files of the latter in :meth:`form_files`), after the CSRF checks: the session's token in
        the ``csrf`` field (constant-time comparison) and an ``Origin`` (or, without it, ``Referer``)
        that is the console's own.

        :raises SignInRequired: nobody is signed in.
        :raises CsrfRefused: a missing or wrong token, or another site's page.
        :raises InvalidRequest: the body cannot be read as the form its type says.
        """
        request = self._current
        if request.fields is None:
            session = self.session()
            self._check_origin()
            fields, files = self._parse_body()
            given = (fields.get(CSRF_FIELD) or [""])[-1]
            if not hmac.compare_digest(given.encode("utf-8", "replace"), session.csrf_token.encode()):
                raise CsrfRefused("the form's csrf token is missing or wrong")
            fields.pop(CSRF_FIELD, None)
            request.fields, request.files = fields, files
        return request.fields

    def form_files(self) -> dict[str, list[UploadedFile]]:
        """The files of a ``multipart/form-data`` form (after the same checks as :meth:`form`).

        :raises SignInRequired, CsrfRefused, InvalidRequest: as :meth:`form`.
        """
        self.form()
        assert self._current.files is not None
        return self._current.files

    def field(self, name: str, default: str = "") -> str:
        """The last value of form field ``name`` (after :meth:`form`'s checks), stripped.

        :raises SignInRequired, CsrfRefused, InvalidRequest: as :meth:`form`.
        """
        values = self.form().get(name)
        return values[-1].strip() if values else default

    def own_origins(self) -> set[str]:
        """The origins the console's own pages have: the public URL's, and the one the request came to
        (the same host under another loopback name locally; a custom domain in front of the stage)."""
        public = urlsplit(self.services().settings.public_url or "")
        origins = {f"{public.scheme}://{public.netloc}"} if public.netloc else set()
        host = self.header("host")
        if host:
            scheme = self.header("x-forwarded-proto") or public.scheme or "https"
            origins.add(f"{scheme}://{host}")
        return origins

    def _check_origin(self) -> None:
        origin = self.header("origin")
        if not origin or origin == "null":
            referer = urlsplit(self.header("referer") or "")
            origin = f"{referer.scheme}://{referer.netloc}" if referer.netloc else None
        if origin is None or origin.rstrip("/") not in self.own_origins():
            raise CsrfRefused(f"a form posted from {origin!r}")

    def _parse_body(self) -> tuple[dict[str, list[str]], dict[str, list[UploadedFile]]]:
        event = self._current.event
        raw = event.body or ""
        body = _b64decode(raw) if event.is_base64_encoded else raw.encode("utf-8", "surrogateescape")
        if len(body) > MAX_FORM_BYTES:
            raise InvalidRequest("form body over the limit", field="body")
        header = Message()
        header["content-type"] = self.header("content-type") or "application/x-www-form-urlencoded"
        kind = header.get_content_type()
        if kind == "multipart/form-data":
            return _multipart(header["content-type"], body)
        if kind != "application/x-www-form-urlencoded":
            raise InvalidRequest(f"a form of type {kind}", field="body")
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as e:
            raise InvalidRequest("the form is not UTF-8", field="body") from e
        return parse_qs(text, keep_blank_values=True, max_num_fields=2000), {}

    # --- the answer ----------------------------------------------------------------------------

    def render(
        self,
        template: str,
        *,
        status: int = 200,
        connect_src: Sequence[str] = (),
        img_src: Sequence[str] = (),
        form_action: Sequence[str] = (),
        **values: object,
    ) -> Response[str]:
        """The page ``template`` (under ``tachiai/templates/``, extending ``console/base.html.j2``) as
        HTML with the console's headers.

        The template gets, besides ``values`` (which win): ``visitor`` (None when nobody is signed in),
        ``language``, ``t``, ``csrf_token`` (also ``csrf_field()``, the hidden input), ``nav`` (the
        current header entry), ``notice`` (a one-time notice's text, or None), ``path``, ``url(path)``,
        ``static(name)``, ``switch_url(language)``. ``connect_src``, ``img_src`` and
        ``form_action``: origins this page adds to the CSP's directives (a direct upload to S3).

        :raises tachiai.i18n.MissingMessage, jinja2.TemplateError: programming errors (tests catch them).
        """
        visitor = values.pop("visitor", None) if "visitor" in values else self._visitor_or_none()
        language = visitor.language if isinstance(visitor, Visitor) else self.language()
        notice = values.pop("notice", None)
        notice_text = self._notice_text(notice, language)
        context: dict[str, Any] = {
            "visitor": visitor,
            "csrf_token": visitor.csrf_token if isinstance(visitor, Visitor) else "",
            "nav": _nav_of(self.path()),
            "path": self.path(),
            "url": self.url,
            "static": self.static_url,
            "switch_url": self.switch_url,
            "navigation": NAVIGATION,
            "service_name": self.services().settings.service_name,
            "csrf_field_name": CSRF_FIELD,
            "notice": notice_text,
            **values,
        }
        body = rendering.render(template, language, **context)
        response = Response(
            status_code=status,
            content_type="text/html; charset=utf-8",
            body=body,
            headers=self.security_headers(connect_src=connect_src, img_src=img_src, form_action=form_action),
            cookies=self._pending_cookies(language),
        )
        return response

    def redirect(self, path: str, *, notice: str | None = None) -> Response[str]:
        """303 to the console path ``path`` (post/redirect/get); ``notice``: a ``console.*`` catalog id
        the next page shows once."""
        cookies = self._pending_cookies(None)
        if notice is not None:
            cookies.append(self._cookie(NOTICE_COOKIE, notice, max_age=300))
        return Response(
            status_code=303,
            headers={"Location": self.url(path), **self.security_headers()},
            cookies=cookies,
        )

    def redirect_away(self, location: str, *, cookies: Sequence[Cookie] = ()) -> Response[str]:
        """303 to a full URL elsewhere (the login service)."""
        return Response(
            status_code=303,
            headers={"Location": location, **self.security_headers()},
            cookies=[*self._pending_cookies(None), *cookies],
        )

    def error_page(self, error: TachiaiError) -> Response[str]:
        """The console's page for ``error``: its message in the visitor's language, with its status."""
        if error.http_status >= 500:
            logger.error("console page failed: %s", error, exc_info=error)
        else:
            logger.info("console page refused: %s %s", error.code, error.detail)
        visitor = self._visitor_or_none()
        language = visitor.language if visitor else self.language()
        return self.render(
            "console/error.html.j2",
            status=error.http_status,
            visitor=visitor,
            error_message=error.message(language),
            error_code=error.code,
        )

    def security_headers(
        self,
        *,
        connect_src: Sequence[str] = (),
        img_src: Sequence[str] = (),
        form_action: Sequence[str] = (),
    ) -> dict[str, str]:
        """The console's headers. ``form-action`` allows the login service's origin: the sign-out form
        is answered with a redirect there, and browsers hold a redirect after a form to the directive."""
        login = urlsplit(self._login_origin())
        login_origin = f"{login.scheme}://{login.netloc}" if login.netloc else ""

        def sources(*given: str) -> str:
            return " ".join(dict.fromkeys(s for s in ("'self'", *given) if s))

        policy = (
            "default-src 'none'; script-src 'self'; style-src 'self'; "
            f"img-src {sources('data:', *img_src)}; connect-src {sources(*connect_src)}; "
            f"form-action {sources(login_origin, *form_action)}; frame-ancestors 'none'; base-uri 'none'"
        )
        return {
            "Content-Security-Policy": policy,
            "Cache-Control": "no-store",
            "Referrer-Policy": "same-origin",
            "X-Content-Type-Options": "nosniff",
            "X-Frame-Options": "DENY",
        }

    def static_url(self, name: str) -> str:
        """The URL of static file ``name`` with its content's hash (cached for a year, never stale).

        :raises LookupError: no such static file (a programming error).
        """
        data, _ = static_file(name)
        return self.url(f"/app/static/{name}") + f"?v={_digest(data)[:12]}"

    def switch_url(self, language: str) -> str:
        """This page in ``language`` (the language switch; other query parameters kept)."""
        query = {k: v for k, v in (self.query_items()) if k != "lang"}
        return self.url(self.path()) + "?" + urlencode([*query.items(), ("lang", language)])

    def query_items(self) -> list[tuple[str, str]]:
        """The query parameters, the last value of each."""
        multi = self._current.event.multi_value_query_string_parameters or {}
        single = self._current.event.query_string_parameters or {}
        return [(k, str(v[-1])) for k, v in multi.items() if v] or list(single.items())

    def session_cookie(self, session_id: str | None) -> Cookie:
        """The session cookie (``None``: the cookie removed)."""
        return self._cookie(
            SESSION_COOKIE,
            session_id or "",
            max_age=int(sessions.ABSOLUTE_LIFETIME.total_seconds()) if session_id else 0,
        )

    def sign_in_cookie(self, value: str | None) -> Cookie:
        """A pending sign-in, for the callback only (``None``: removed)."""
        seconds = int(sessions.SIGN_IN_LIFETIME.total_seconds())
        return self._cookie(
            SIGN_IN_COOKIE,
            value or "",
            max_age=seconds if value else 0,
            path=self.url(names.CONSOLE_CALLBACK_PATH),
        )

    def add_cookie(self, cookie: Cookie) -> None:
        """A cookie for this request's answer (render or redirect)."""
        request = self._current
        request.set_cookies = [*(request.set_cookies or []), cookie]

    # --- internals -------------------------------------------------------------------------------

    def _cookie(self, name: str, value: str, *, max_age: int, path: str | None = None) -> Cookie:
        # HttpOnly: no script of any page reads them. SameSite=Lax: a mailed link (a top-level GET)
        # still carries the session; another site's form does not. Secure, except on plain-HTTP
        # loopback (tachiai local), where no browser would send a Secure cookie back.
        return Cookie(
            name=name,
            value=value,
            path=path or self.url("/app"),
            secure=_needs_secure_cookies(self.services().settings.public_url),
            http_only=True,
            max_age=max_age,
            same_site=SameSite.LAX_MODE,
        )

    def _pending_cookies(self, language: Language | None) -> list[Cookie]:
        cookies = list(self._current.set_cookies or [])
        chosen = (self.query("lang") or "").strip().lower()
        if chosen in i18n.LANGUAGES and chosen not in self.cookies(LANGUAGE_COOKIE):
            cookies.append(self._cookie(LANGUAGE_COOKIE, chosen, max_age=LANGUAGE_COOKIE_SECONDS))
        if language is not None and self.cookies(NOTICE_COOKIE):
            cookies.append(self._cookie(NOTICE_COOKIE, "", max_age=0))  # shown once
        return cookies

    def _notice_text(self, given: object, language: Language) -> str | None:
        if isinstance(given, TachiaiError):
            return given.message(language)
        candidates = [given] if isinstance(given, str) else list(reversed(self.cookies(NOTICE_COOKIE)))
        for notice in candidates:
            if isinstance(notice, str) and _NOTICE_ID.fullmatch(notice):
                try:
                    return i18n.text(notice, language)
                except (i18n.MissingMessage, KeyError, IndexError):
                    continue  # a notice from an older page, or one with values: not shown
        return None

    def _visitor_or_none(self) -> Visitor | None:
        try:
            return self.visitor()
        except TachiaiError:
            return None

    def _login_origin(self) -> str:
        settings = self.services().settings
        if settings.login_url:
            return settings.login_url
        return settings.public_url or ""

    def sign_in_location(self, next_path: str) -> str:
        """The sign-in page's path, coming back to ``next_path`` afterwards."""
        return "/app/sign-in?" + urlencode({"next": sessions.safe_next(next_path)})

    def wrap(self, method: str, path: str, handler: PageHandler) -> PageHandler:
        """``handler`` as the resolver calls it: a TachiaiError becomes the error page, nobody signed in
        a redirect to the sign-in (and back to this page after it, for a GET)."""
        parameters = re.findall(r"{(\w+)}", path)

        @functools.wraps(handler)
        def page(**arguments: str) -> Response[str]:
            try:
                return handler(**arguments)
            except SignInRequired:
                back = self.path()
                if method == "GET" and self.query_items():
                    back += "?" + urlencode(self.query_items())
                response = self.redirect(self.sign_in_location(back if method == "GET" else "/app"))
                response.cookies.append(self.session_cookie(None))
                return response
            except TachiaiError as e:
                return self.error_page(e)

        # Powertools reads the handler's parameters (and resolves annotations in the handler's module):
        # the wrapper declares exactly the path's, as plain strings, whatever the page module imports.
        page.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
            [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=str) for name in parameters]
        )
        del page.__wrapped__
        page.__annotations__ = dict.fromkeys(parameters, str)
        return page


def _language(value: str) -> Language:
    code = value.strip().lower()
    for language in i18n.LANGUAGES:
        if code == language:
            return language
    return i18n.DEFAULT_LANGUAGE


def _nav_of(path: str) -> str | None:
    """The navigation entry a page belongs to: the longest entry path it is, or is under (a file of an
    entry's path, ``/app/ledger.csv``, belongs to it too)."""
    best: tuple[int, str] | None = None
    for name, prefix in NAVIGATION:
        under = path == prefix or path.startswith((prefix + "/", prefix + "."))
        if under and (best is None or len(prefix) > best[0]):
            best = (len(prefix), name)
    return best[1] if best else None


def _needs_secure_cookies(public_url: str | None) -> bool:
    url = urlsplit(public_url or "")
    return not (url.scheme == "http" and url.hostname in _LOOPBACK_HOSTS)


def _b64decode(text: str) -> bytes:
    import base64
    import binascii

    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as e:
        raise InvalidRequest("the body is not base64", field="body") from e


def _multipart(content_type: str, body: bytes) -> tuple[dict[str, list[str]], dict[str, list[UploadedFile]]]:
    """The fields and files of a ``multipart/form-data`` body (RFC 7578), read with the standard
    library's MIME parser: no dependency, and nothing it reads is executed or written to disk."""
    message = BytesParser(policy=HTTP).parsebytes(
        b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body
    )
    if not message.is_multipart():
        raise InvalidRequest("a multipart form without parts", field="body")
    fields: dict[str, list[str]] = {}
    files: dict[str, list[UploadedFile]] = {}
    for part in message.iter_parts():
        if part.get_content_disposition() != "form-data":
            continue
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        filename = part.get_filename()
        if filename is not None:
            if filename or data:  # an empty file input sends a part without name or bytes
                files.setdefault(name, []).append(UploadedFile(filename, part.get_content_type(), data))
            continue
        try:
            fields.setdefault(name, []).append(data.decode(part.get_content_charset() or "utf-8"))
        except (UnicodeDecodeError, LookupError) as e:
            raise InvalidRequest(f"field {name} is not text", field=name) from e
    return fields, files


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@functools.cache
def static_file(name: str) -> tuple[bytes, str]:
    """The bytes and media type of the console's static file ``name`` (css, js or svg).

    :raises LookupError: no such file, or a name that is not a plain file name of those types.
    """
    match = _STATIC_NAME.fullmatch(name)
    if match is None:
        raise LookupError(name)
    from importlib.resources import files

    resource = files("tachiai").joinpath(STATIC_PACKAGE_DIR, name)
    if not resource.is_file():
        raise LookupError(name)
    return resource.read_bytes(), _STATIC_TYPES[match.group(1)]


def serve_static(console: Console, name: str) -> Response[str]:
    """A static file, with an ETag; cached for a year when asked for by its hashed URL.

    :raises NotFound: no such file.
    """
    from tachiai.domain.errors import NotFound

    try:
        data, media_type = static_file(name)
    except LookupError as e:
        raise NotFound(f"static {name}") from e
    digest = _digest(data)
    etag = f'"{digest[:32]}"'
    headers = {**console.security_headers(), "ETag": etag}
    headers["Cache-Control"] = (
        "public, max-age=31536000, immutable" if console.query("v") == digest[:12] else "no-cache"
    )
    if etag in (console.header("if-none-match") or ""):
        return Response(status_code=304, headers=headers)
    return Response(status_code=200, content_type=media_type, body=data.decode("utf-8"), headers=headers)


def mapping_of(values: Mapping[str, Sequence[str]]) -> dict[str, str]:
    """A form's fields with the last value of each (what a simple form's handler wants)."""
    return {name: items[-1] for name, items in values.items() if items}
