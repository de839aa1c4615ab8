"""The local runtime's sign-in: an OAuth 2.0 authorization server that behaves like Cognito's managed
login for what tachiai uses, over the local user store (:mod:`tachiai.local.user_store`).

Endpoints (served by ``tachiai local`` beside the API, behind the same loopback guard):

* ``GET /oauth2/authorize`` — ``response_type=code``, a registered ``client_id``, a ``redirect_uri``
  registered for it exactly (else an error page: an unchecked redirect would hand the code to anyone),
  ``state``, ``code_challenge`` with ``code_challenge_method=S256`` (required: PKCE, RFC 7636; ``plain``
  is refused), ``scope``; ``lang`` (ja, en, zh) or ``Accept-Language`` for the page. Answers the sign-in
  page; the form posts to ``POST /login``, which redirects to ``redirect_uri?code=...&state=...``. A user
  invited with a temporary password chooses their own first, as in the pool (``FORCE_CHANGE_PASSWORD``).
  ``GET /login?request=...&lang=...`` shows the page of a pending request again (its language switch).
* ``POST /oauth2/token`` — ``authorization_code`` (with ``code_verifier`` and the same
  ``redirect_uri``; a code works once and for 5 minutes, and a code used twice ends the session it
  opened, RFC 6749 §4.1.2), ``refresh_token`` (the user's current role and state: a disabled user gets
  ``invalid_grant``), ``client_credentials`` for the integration client (HTTP Basic or form secret).
* ``POST /oauth2/revoke`` — ends a session (its refresh token); its access tokens are refused from then
  on (:meth:`LocalLogin.refused`, used by the local authorizer).
* ``GET /logout`` — to a registered ``logout_uri``, or a page saying the user is signed out.
* ``GET /_local/config`` — what ``tachiai login`` needs to sign in here (API and login URLs, client id).

Tokens are :class:`~tachiai.local.local_auth.LocalTokens` with the claims the REST API's Cognito
authorizer passes; access tokens live an hour, sessions (refresh tokens) 30 days, as the web client's.
Sessions are kept in the state directory (``sessions.json``, 0600, refresh tokens only as SHA-256), so a
restart does not sign anybody out; codes and pages in flight are kept in memory only.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import secrets
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import urlencode, urlsplit, urlunsplit

from werkzeug.wrappers import Request, Response

from tachiai import i18n, names
from tachiai.domain.users import DirectoryUser
from tachiai.local.local_auth import INTEGRATION_SCOPES, LocalTokens
from tachiai.local.user_store import FORCE_CHANGE_PASSWORD, MIN_PASSWORD_LENGTH, LocalUserStore

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

__all__ = [
    "CLI_CLIENT_ID",
    "INTEGRATION_CLIENT_ID",
    "LOGIN_PATHS",
    "LocalLogin",
    "OAuthClient",
    "load_or_create_client_secret",
    "pkce_challenge",
]

CLI_CLIENT_ID: Final = "tachiai-local-cli"
INTEGRATION_CLIENT_ID: Final = "tachiai-local-integration"
CODE_LIFETIME: Final = timedelta(minutes=5)
PAGE_LIFETIME: Final = timedelta(minutes=15)
ACCESS_SECONDS: Final = 3600
SESSION_LIFETIME: Final = timedelta(days=30)
LOGIN_PATHS: Final = ("/oauth2/", "/login", "/logout", "/_local/config")
"""The path prefixes :class:`LocalLogin` answers (the runtime routes them to it)."""
_PENDING_LIMIT: Final = 1000
_VERIFIER: Final = re.compile(r"[A-Za-z0-9._~-]{43,128}")
_CHALLENGE: Final = re.compile(r"[A-Za-z0-9_-]{43}")
_PAGE_SECURITY: Final = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; "
        "base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
    # same-origin, not no-referrer: under no-referrer a browser posts the sign-in form with
    # ``Origin: null``, which the loopback guard (rightly) refuses as a possibly foreign page.
    "Referrer-Policy": "same-origin",
}


def pkce_challenge(verifier: str) -> str:
    """The S256 code challenge of ``verifier``: base64url(SHA-256(verifier)) without padding."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class OAuthClient:
    """An app client: public with PKCE (``secret`` None, redirect URIs) or confidential (client
    credentials)."""

    client_id: str
    scopes: tuple[str, ...]
    redirect_uris: tuple[str, ...] = ()
    logout_uris: tuple[str, ...] = ()
    secret: str | None = None

    @property
    def confidential(self) -> bool:
        return self.secret is not None


def load_or_create_client_secret(path: Path) -> str:
    """The integration client's secret kept at ``path`` (created 0600 on first use).

    :raises OSError: the file cannot be created or read.
    """
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as file:
            file.write(secrets.token_urlsafe(32))
    return path.read_text(encoding="ascii").strip()


@dataclass
class _AuthRequest:
    client: OAuthClient
    redirect_uri: str
    state: str | None
    challenge: str
    scope: tuple[str, ...]
    nonce: str | None
    created: datetime


@dataclass
class _Code:
    username: str
    request: _AuthRequest
    expires: datetime
    used: bool = False
    session: str | None = None
    """The session (refresh token's jti) the code was exchanged for."""


@dataclass
class _Challenge:
    request_id: str
    username: str
    created: datetime


@dataclass
class _Sessions:
    """Refresh tokens (by SHA-256) and revoked session ids, persisted in ``path``."""

    path: Path
    lock: threading.Lock = field(default_factory=threading.Lock)

    def _read(self) -> dict[str, Any]:
        try:
            data: dict[str, Any] = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            data = {}
        data.setdefault("sessions", {})
        data.setdefault("revoked", {})
        return data

    def _write(self, data: dict[str, Any]) -> None:
        draft = self.path.with_name(f".{self.path.name}.{secrets.token_hex(8)}")
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            json.dump(data, file)
        os.replace(draft, self.path)

    def open(self, username: str, client_id: str, scope: str, now: datetime) -> tuple[str, str]:
        """A new session: (refresh token, session id)."""
        token, jti = secrets.token_urlsafe(48), secrets.token_hex(16)
        with self.lock:
            data = self._read()
            expires = now + SESSION_LIFETIME
            data["sessions"][_sha256(token)] = {
                "jti": jti,
                "username": username,
                "client_id": client_id,
                "scope": scope,
                "expires": expires.timestamp(),
            }
            self._prune(data, now)
            self._write(data)
        return token, jti

    def find(self, token: str, now: datetime) -> dict[str, Any] | None:
        session = self._read()["sessions"].get(_sha256(token))
        if session is None or session["expires"] <= now.timestamp():
            return None
        result: dict[str, Any] = session
        return result

    def revoke(self, *, token: str | None = None, jti: str | None = None, now: datetime) -> bool:
        """End the session of ``token`` (or id ``jti``): whether there was one."""
        with self.lock:
            data = self._read()
            sessions: dict[str, Any] = data["sessions"]
            keys = [
                key
                for key, session in sessions.items()
                if (token is not None and key == _sha256(token))
                or (jti is not None and session["jti"] == jti)
            ]
            for key in keys:
                # Its access tokens live an hour at most: remember the id that long, plus a margin.
                data["revoked"][sessions.pop(key)["jti"]] = now.timestamp() + 2 * ACCESS_SECONDS
            self._prune(data, now)
            self._write(data)
        return bool(keys)

    def revoked(self, jti: str, now: datetime) -> bool:
        until = self._read()["revoked"].get(jti)
        return until is not None and until > now.timestamp()

    @staticmethod
    def _prune(data: dict[str, Any], now: datetime) -> None:
        moment = now.timestamp()
        data["sessions"] = {k: v for k, v in data["sessions"].items() if v["expires"] > moment}
        data["revoked"] = {k: v for k, v in data["revoked"].items() if v > moment}


class _OAuthError(Exception):
    """An error answer of the token or revocation endpoint (RFC 6749 §5.2)."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status


class LocalLogin:
    """The authorization server (a WSGI application for the paths of :data:`LOGIN_PATHS`)."""

    def __init__(
        self,
        users: LocalUserStore,
        tokens: LocalTokens,
        sessions_path: Path,
        clients: Sequence[OAuthClient],
        *,
        service_name: str = "tachiai (local)",
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.users = users
        self.tokens = tokens
        self.clients = {client.client_id: client for client in clients}
        self.service_name = service_name
        self.now = now
        self._sessions = _Sessions(sessions_path)
        self._lock = threading.Lock()
        self._requests: dict[str, _AuthRequest] = {}
        self._codes: dict[str, _Code] = {}
        self._challenges: dict[str, _Challenge] = {}

    # --- for the authorizer -------------------------------------------------------------------------

    def refused(self, claims: dict[str, str]) -> bool:
        """Whether a valid access token is refused all the same: its session was revoked, or its user
        is disabled (a user of the store only; ``tachiai local token``'s users are not in it)."""
        jti = claims.get("origin_jti")
        if jti and self._sessions.revoked(jti, self.now()):
            return True
        username = claims.get("username")
        if not username:
            return False
        known = {u.username: u for u in self.users.users()}.get(username)
        return known is not None and not known.enabled

    # --- WSGI ---------------------------------------------------------------------------------------

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        request = Request(environ)
        routes: dict[tuple[str, str], Callable[[Request], Response]] = {
            ("GET", "/oauth2/authorize"): self._authorize,
            ("GET", "/login"): self._reopen,
            ("POST", "/login"): self._sign_in,
            ("POST", "/oauth2/token"): self._token,
            ("POST", "/oauth2/revoke"): self._revoke,
            ("GET", "/logout"): self._logout,
            ("GET", "/_local/config"): self._config,
        }
        handler = routes.get((request.method, request.path))
        if handler is None:
            response = Response(json.dumps({"message": "Not Found"}), 404, content_type="application/json")
        else:
            response = handler(request)
        return response(environ, start_response)

    # --- the sign-in page ---------------------------------------------------------------------------

    def _language(self, request: Request) -> i18n.Language:
        # The console asks in Cognito managed login's locales (zh-CN for Chinese): the first two letters.
        wanted = request.values.get("lang", "")[:2].lower()
        if wanted in i18n.LANGUAGES:
            return wanted
        return i18n.negotiate(request.headers.get("Accept-Language"))

    def _page(self, request: Request, status: int = 200, **context: Any) -> Response:
        from tachiai.rendering import render

        language = self._language(request)
        request_id = str(context.get("request_id") or "")
        # The language switch shows the same page again; a page answering a POST (a wrong password)
        # has no address of its own, so its switch reopens the sign-in of the same request instead.
        links: dict[str, str] = {}
        if request.method == "GET":
            links = {
                c: f"{request.path}?{urlencode({**request.args.to_dict(), 'lang': c})}"
                for c in i18n.LANGUAGES
            }
        elif request_id:
            links = {c: f"/login?{urlencode({'request': request_id, 'lang': c})}" for c in i18n.LANGUAGES}
        values: dict[str, Any] = {
            "stage": "message",
            "service": self.service_name,
            "error": "",
            "message": "",
            "request_id": "",
            "challenge": "",
            "username": "",
            "min_length": MIN_PASSWORD_LENGTH,
            "language_links": links,
            "language_names": {code: i18n.text("language.name", code) for code in i18n.LANGUAGES},
            **context,
        }
        body = render("local/sign_in.html.j2", language, **values)
        return Response(body, status, content_type="text/html; charset=utf-8", headers=_PAGE_SECURITY)

    def _error_page(self, request: Request, msgid: str, status: int = 400) -> Response:
        message = i18n.text(msgid, self._language(request))
        return self._page(request, status, error=message, message=message)

    def _authorize(self, request: Request) -> Response:
        args = request.args
        client = self.clients.get(args.get("client_id", ""))
        if client is None or client.confidential:
            return self._error_page(request, "login.error.unknown_client")
        redirect_uri = args.get("redirect_uri", "")
        if redirect_uri not in client.redirect_uris:
            # Never redirect to an address the client did not register: it would receive the code.
            return self._error_page(request, "login.error.unknown_redirect")
        state = args.get("state")

        def refuse(error: str, description: str) -> Response:
            return _redirect(redirect_uri, error=error, error_description=description, state=state)

        if args.get("response_type") != "code":
            return refuse("unsupported_response_type", "response_type must be code")
        challenge = args.get("code_challenge", "")
        if args.get("code_challenge_method") != "S256" or not _CHALLENGE.fullmatch(challenge):
            return refuse(
                "invalid_request", "PKCE is required: code_challenge with code_challenge_method=S256"
            )
        scope = tuple(args.get("scope", " ".join(client.scopes)).split())
        if not scope or not set(scope) <= set(client.scopes):
            return refuse("invalid_scope", f"scopes allowed: {' '.join(client.scopes)}")
        now = self.now()
        auth = _AuthRequest(client, redirect_uri, state, challenge, scope, args.get("nonce"), now)
        request_id = secrets.token_urlsafe(24)
        with self._lock:
            self._forget_expired(now)
            self._requests[request_id] = auth
        return self._page(request, stage="sign_in", request_id=request_id)

    def _reopen(self, request: Request) -> Response:
        """The sign-in page of a pending authorization request again (its language switch)."""
        request_id = request.args.get("request", "")
        with self._lock:
            self._forget_expired(self.now())
            pending = request_id in self._requests
        if not pending:
            return self._error_page(request, "login.error.page_expired")
        return self._page(request, stage="sign_in", request_id=request_id)

    def _sign_in(self, request: Request) -> Response:
        form = request.form
        now = self.now()
        with self._lock:
            self._forget_expired(now)
            auth = self._requests.get(form.get("request", ""))
        if auth is None:
            return self._error_page(request, "login.error.page_expired")
        request_id = form["request"]
        if "challenge" in form:
            return self._new_password(request, auth, request_id)
        login = form.get("username", "").strip()
        user = self.users.authenticate(login, form.get("password", ""))
        if user is None:
            error = i18n.text("login.error.wrong_password", self._language(request))
            return self._page(
                request, 401, stage="sign_in", request_id=request_id, username=login, error=error
            )
        if user.status == FORCE_CHANGE_PASSWORD:
            challenge = secrets.token_urlsafe(24)
            with self._lock:
                self._challenges[challenge] = _Challenge(request_id, user.username, now)
            return self._page(request, stage="new_password", request_id=request_id, challenge=challenge)
        return self._grant(auth, request_id, user)

    def _new_password(self, request: Request, auth: _AuthRequest, request_id: str) -> Response:
        form = request.form
        with self._lock:
            challenge = self._challenges.get(form.get("challenge", ""))
        if challenge is None or challenge.request_id != request_id:
            return self._error_page(request, "login.error.page_expired")
        password = form.get("new_password", "")
        if not _strong(password):
            error = i18n.text("login.new_password.too_weak", self._language(request), min=MIN_PASSWORD_LENGTH)
            return self._page(
                request,
                400,
                stage="new_password",
                request_id=request_id,
                challenge=form["challenge"],
                error=error,
            )
        with self._lock:
            self._challenges.pop(form["challenge"], None)
        user = self.users.change_password(challenge.username, password)
        return self._grant(auth, request_id, user)

    def _grant(self, auth: _AuthRequest, request_id: str, user: DirectoryUser) -> Response:
        code = secrets.token_urlsafe(32)
        with self._lock:
            self._requests.pop(request_id, None)  # one page, one code
            self._codes[_sha256(code)] = _Code(user.username, auth, self.now() + CODE_LIFETIME)
        return _redirect(auth.redirect_uri, code=code, state=auth.state)

    def _forget_expired(self, now: datetime) -> None:
        self._requests = {k: v for k, v in self._requests.items() if v.created + PAGE_LIFETIME > now}
        self._challenges = {k: v for k, v in self._challenges.items() if v.created + PAGE_LIFETIME > now}
        # A used code is kept until it would have expired: a second use must still be recognized.
        self._codes = {k: v for k, v in self._codes.items() if v.expires > now}
        while len(self._requests) > _PENDING_LIMIT:
            self._requests.pop(next(iter(self._requests)))

    def _logout(self, request: Request) -> Response:
        client = self.clients.get(request.args.get("client_id", ""))
        if client is None:
            return self._error_page(request, "login.error.unknown_client")
        logout_uri = request.args.get("logout_uri")
        if logout_uri is not None:
            if logout_uri not in client.logout_uris:
                return self._error_page(request, "login.error.unknown_redirect")
            return Response(status=302, headers={"Location": logout_uri, "Cache-Control": "no-store"})
        return self._page(request, message=i18n.text("login.signed_out", self._language(request)))

    def _config(self, request: Request) -> Response:
        base = request.host_url.rstrip("/")
        body = {
            "api_url": base,
            "login_url": base,
            "client_id": CLI_CLIENT_ID,
            "redirect_uri": self.clients[CLI_CLIENT_ID].redirect_uris[0],
            "scopes": list(names.LOGIN_SCOPES),
        }
        return Response(json.dumps(body), 200, content_type="application/json")

    # --- token and revocation endpoints ------------------------------------------------------------

    def _client(self, request: Request) -> OAuthClient:
        """The calling client, authenticated when it is confidential (Basic, or the form's secret)."""
        given_id, given_secret = request.form.get("client_id", ""), request.form.get("client_secret")
        basic = request.authorization
        if basic is not None and basic.type == "basic":
            given_id, given_secret = basic.username or "", basic.password
        client = self.clients.get(given_id)
        if client is None:
            raise _OAuthError("invalid_client", "unknown client", 401)
        if client.confidential:
            assert client.secret is not None
            if given_secret is None or not hmac.compare_digest(given_secret.encode(), client.secret.encode()):
                raise _OAuthError("invalid_client", "wrong client secret", 401)
        return client

    def _token(self, request: Request) -> Response:
        try:
            client = self._client(request)
            grant = request.form.get("grant_type", "")
            if grant == "authorization_code":
                body = self._exchange_code(request, client)
            elif grant == "refresh_token":
                body = self._refresh(request, client)
            elif grant == "client_credentials" and client.confidential:
                body = self._client_credentials(request, client)
            else:
                raise _OAuthError(
                    "unsupported_grant_type", f"{grant or 'no grant_type'} for {client.client_id}"
                )
        except _OAuthError as e:
            return _json({"error": e.error, "error_description": e.description}, e.status)
        return _json(body, 200)

    def _exchange_code(self, request: Request, client: OAuthClient) -> dict[str, Any]:
        form = request.form
        now = self.now()
        with self._lock:
            grant = self._codes.get(_sha256(form.get("code", "")))
            if grant is None or grant.expires <= now or grant.request.client.client_id != client.client_id:
                raise _OAuthError("invalid_grant", "unknown, expired or foreign code")
            if grant.used:
                # A code presented twice was stolen or replayed: end what it opened (RFC 6749 §4.1.2).
                if grant.session:
                    self._sessions.revoke(jti=grant.session, now=now)
                raise _OAuthError("invalid_grant", "code already used")
            grant.used = True
        if form.get("redirect_uri") != grant.request.redirect_uri:
            raise _OAuthError("invalid_grant", "redirect_uri differs from the authorization request's")
        verifier = form.get("code_verifier", "")
        if not _VERIFIER.fullmatch(verifier) or not hmac.compare_digest(
            pkce_challenge(verifier), grant.request.challenge
        ):
            raise _OAuthError("invalid_grant", "code_verifier does not match the code_challenge")
        user = self._enabled_user(grant.username)
        scope = " ".join(grant.request.scope)
        refresh, jti = self._sessions.open(user.username, client.client_id, scope, now)
        grant.session = jti
        body = self._user_tokens(user, client, scope, jti, grant.request.nonce)
        body["refresh_token"] = refresh
        return body

    def _refresh(self, request: Request, client: OAuthClient) -> dict[str, Any]:
        now = self.now()
        session = self._sessions.find(request.form.get("refresh_token", ""), now)
        if session is None or session["client_id"] != client.client_id:
            raise _OAuthError("invalid_grant", "unknown, expired or revoked refresh token")
        user = self._enabled_user(session["username"])
        return self._user_tokens(user, client, session["scope"], session["jti"], None)

    def _client_credentials(self, request: Request, client: OAuthClient) -> dict[str, Any]:
        scope = tuple(request.form.get("scope", " ".join(client.scopes)).split())
        if not scope or not set(scope) <= set(client.scopes):
            raise _OAuthError("invalid_scope", f"scopes allowed: {' '.join(client.scopes)}")
        token = self.tokens.issue_integration(client.client_id, scope, ACCESS_SECONDS, self.now())
        return {"access_token": token, "token_type": "Bearer", "expires_in": ACCESS_SECONDS}

    def _enabled_user(self, username: str) -> DirectoryUser:
        known = {u.username: u for u in self.users.users()}.get(username)
        if known is None or not known.enabled:
            raise _OAuthError("invalid_grant", "user unknown or disabled")
        return known

    def _user_tokens(
        self, user: DirectoryUser, client: OAuthClient, scope: str, jti: str, nonce: str | None
    ) -> dict[str, Any]:
        now = self.now()
        groups = list(user.groups)
        body: dict[str, Any] = {
            "access_token": self.tokens.issue(
                user.username,
                user.email,
                user.name,
                groups,
                ACCESS_SECONDS,
                now,
                client_id=client.client_id,
                scope=scope,
                origin_jti=jti,
            ),
            "token_type": "Bearer",
            "expires_in": ACCESS_SECONDS,
        }
        if "openid" in scope.split():
            body["id_token"] = self.tokens.issue_id(
                user.username, user.email, user.name, groups, client.client_id, ACCESS_SECONDS, now
            )
        del nonce  # accepted for compatibility; the CLI checks state, not the ID token's nonce
        return body

    def _revoke(self, request: Request) -> Response:
        try:
            client = self._client(request)
        except _OAuthError as e:
            return _json({"error": e.error, "error_description": e.description}, e.status)
        token = request.form.get("token", "")
        session = self._sessions.find(token, self.now())
        # RFC 7009 §2.2: an unknown or foreign token is answered 200 all the same (nothing to tell).
        if session is not None and session["client_id"] == client.client_id:
            self._sessions.revoke(token=token, now=self.now())
        return Response("", 200, headers={"Cache-Control": "no-store"})


def _strong(password: str) -> bool:
    """The user pool's password policy: length, lower, upper, digit and symbol."""
    return (
        len(password) >= MIN_PASSWORD_LENGTH
        and any(c.islower() for c in password)
        and any(c.isupper() for c in password)
        and any(c.isdigit() for c in password)
        and any(not c.isalnum() and not c.isspace() for c in password)
    )


def _redirect(uri: str, **params: str | None) -> Response:
    parts = urlsplit(uri)
    extra = urlencode({k: v for k, v in params.items() if v is not None})
    query = f"{parts.query}&{extra}" if parts.query else extra
    location = urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))
    return Response(status=302, headers={"Location": location, "Cache-Control": "no-store"})


def _json(body: dict[str, Any], status: int) -> Response:
    return Response(
        json.dumps(body),
        status,
        content_type="application/json",
        headers={"Cache-Control": "no-store", "Pragma": "no-cache"},
    )


def local_clients(
    state_dir: Path, redirect_uris: Sequence[str], logout_uris: Sequence[str] = ()
) -> list[OAuthClient]:
    """The local runtime's app clients: the people's (public, PKCE, ``redirect_uris``; ``tachiai login``
    and the console, as the deployed people's client) and the integration's (client credentials; its
    secret kept in ``state_dir``). ``logout_uris``: where ``/logout`` may send the browser back to,
    besides the redirect URIs."""
    return [
        OAuthClient(
            CLI_CLIENT_ID,
            scopes=names.LOGIN_SCOPES,
            redirect_uris=tuple(redirect_uris),
            logout_uris=(*redirect_uris, *logout_uris),
        ),
        OAuthClient(
            INTEGRATION_CLIENT_ID,
            scopes=INTEGRATION_SCOPES,
            secret=load_or_create_client_secret(state_dir / "integration-client-secret"),
        ),
    ]
