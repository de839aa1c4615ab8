"""The console's sign-in and server-side sessions.

Sign-in is the OAuth 2.0 authorization code flow with PKCE (RFC 7636) against the login service
(:class:`~tachiai.services.ports.LoginService`): :func:`begin_sign_in` makes the ``state`` and the
code verifier, which the browser keeps for ten minutes in an HttpOnly cookie bound to that state
(:class:`PendingSignIn`); :func:`finish_sign_in` checks the ``state`` the login service sent back
against it, exchanges the code, and opens a session for the person the ID token names.

A session lives on the server (:class:`~tachiai.services.ports.ConsoleSessions`): the browser holds
only a random 256-bit id, the store only its SHA-256, and the refresh token never leaves the server
(it is kept to be revoked at sign-out). A session ends after :data:`IDLE_TIMEOUT` without a request,
and in any case :data:`ABSOLUTE_LIFETIME` after sign-in. Every :data:`RECHECK_INTERVAL` of use the
person is looked up in the user directory again: a disabled user is out within that time, and a
changed role takes effect (as the API's access tokens would after their hour).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import hmac
import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from tachiai.domain.console import ABSOLUTE_LIFETIME, IDLE_TIMEOUT, ConsoleSession, TokenSet
from tachiai.domain.errors import (
    ConsoleSignInMismatch,
    Forbidden,
    LoginFailed,
    SignInRequired,
    TachiaiError,
    UnknownUser,
)
from tachiai.domain.events import Language
from tachiai.services.context import Services
from tachiai.services.identity import sender_from_claims
from tachiai.services.sending import SenderIdentity

__all__ = [
    "ABSOLUTE_LIFETIME",
    "IDLE_TIMEOUT",
    "RECHECK_INTERVAL",
    "SIGN_IN_LIFETIME",
    "ConsoleSession",
    "PendingSignIn",
    "TokenSet",
    "begin_sign_in",
    "current_session",
    "end_everywhere",
    "end_session",
    "finish_sign_in",
    "identity_of",
    "open_session",
    "pkce_challenge",
    "safe_next",
    "session_key",
]

RECHECK_INTERVAL = timedelta(minutes=5)
"""How often a session's activity is written and its person looked up again (not on every request:
the list and detail pages must stay as fast as the JSON calls that feed them)."""
SIGN_IN_LIFETIME = timedelta(minutes=10)
HOME = "/app"


def session_key(session_id: str) -> str:
    """What the store keys a session by: the SHA-256 of its id (hex)."""
    return hashlib.sha256(session_id.encode("utf-8", "replace")).hexdigest()


def identity_of(session: ConsoleSession) -> SenderIdentity:
    """The caller the services take, for a session."""
    return SenderIdentity(sub=session.sub, email=session.email, name=session.name, groups=session.groups)


def open_session(
    svc: Services, identity: SenderIdentity, username: str, refresh_token: str | None = None
) -> tuple[str, ConsoleSession]:
    """A new session for ``identity``: its id (for the cookie, never stored) and the stored session.

    :raises StorageUnavailable: the session store failed.
    """
    session_id = secrets.token_urlsafe(32)
    now = svc.now()
    session = ConsoleSession(
        key=session_key(session_id),
        username=username,
        sub=identity.sub,
        email=identity.email,
        name=identity.name,
        groups=identity.groups,
        csrf_token=secrets.token_urlsafe(32),
        created_at=now,
        last_seen_at=now,
        refresh_token=refresh_token,
    )
    svc.console_sessions.create(session)
    return session_id, session


def current_session(svc: Services, session_ids: tuple[str, ...]) -> ConsoleSession:
    """The live session among the ids the browser sent (a stale cookie may sit beside the live one).

    Ends a session past its idle or absolute limit, or whose person the directory no longer has
    enabled (checked every :data:`RECHECK_INTERVAL`, when the activity is recorded too).

    :raises SignInRequired: no live session.
    :raises StorageUnavailable: the session store failed.
    :raises DirectoryUnavailable: the user directory did not answer the periodic check.
    """
    now = svc.now()
    for session_id in session_ids:
        session = svc.console_sessions.get(session_key(session_id))
        if session is None:
            continue
        if now >= session.expires_at:
            svc.console_sessions.delete(session.key)
            continue
        if now - session.last_seen_at < RECHECK_INTERVAL:
            return session
        try:
            user = svc.directory.user(session.username)
        except (UnknownUser, Forbidden):
            user = None
        if user is None or not user.enabled:
            end_session(svc, session)
            continue
        groups = tuple(user.groups)
        svc.console_sessions.touch(session.key, now, groups)
        return replace(session, last_seen_at=now, groups=groups)
    raise SignInRequired("no live console session")


def end_session(svc: Services, session: ConsoleSession) -> None:
    """Sign this browser out: the session ends and its refresh token is revoked.

    :raises StorageUnavailable: the session store failed.
    """
    svc.console_sessions.delete(session.key)
    _revoke(svc, session)


def end_everywhere(svc: Services, session: ConsoleSession) -> int:
    """Sign the person out everywhere: every console session of theirs ends, each refresh token is
    revoked, and the login service ends every sign-in of theirs (the CLI's too). The number of
    console sessions ended.

    :raises StorageUnavailable: the session store failed.
    :raises LoginUnavailable: the login service did not answer the global sign-out.
    """
    ended = {session.key: session}
    ended.update({s.key: s for s in svc.console_sessions.for_user(session.username)})
    for each in ended.values():
        svc.console_sessions.delete(each.key)
        _revoke(svc, each)
    svc.login.sign_out_everywhere(session.username)
    return len(ended)


def _revoke(svc: Services, session: ConsoleSession) -> None:
    if session.refresh_token:
        # The session is over either way; a refresh token the login service did not hear about
        # expires on its own (and the global sign-out, when asked, ends it too).
        with contextlib.suppress(TachiaiError):
            svc.login.revoke(session.refresh_token)


# --- the sign-in ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class PendingSignIn:
    """A sign-in this browser started: kept in a short-lived HttpOnly cookie until the callback."""

    state: str
    verifier: str
    next: str
    started_at: datetime

    def to_cookie(self) -> str:
        data = {"s": self.state, "v": self.verifier, "n": self.next, "t": self.started_at.isoformat()}
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    @classmethod
    def from_cookie(cls, value: str) -> PendingSignIn | None:
        """The pending sign-in in a cookie value; None when it is not one (never an error: a stale or
        tampered cookie is simply no sign-in)."""
        try:
            data = json.loads(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)))
            return cls(
                state=str(data["s"]),
                verifier=str(data["v"]),
                next=safe_next(str(data["n"])),
                started_at=datetime.fromisoformat(str(data["t"])),
            )
        except (binascii.Error, ValueError, KeyError, TypeError, UnicodeDecodeError):
            return None


def pkce_challenge(verifier: str) -> str:
    """The S256 code challenge of a verifier (RFC 7636 §4.2)."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def safe_next(value: str | None) -> str:
    """Where to go after signing in: ``value`` when it is a path of the console (``/app``, ``/app/...``
    with an optional query), else the home page. Never another site (no scheme, no host, no ``//``,
    no backslash, which some browsers read as a slash), never the sign-in's own pages."""
    text = (value or "").strip()
    if not text or any(ord(c) < 0x21 or c == "\\" for c in text):
        return HOME
    parts = urlsplit(text)
    if parts.scheme or parts.netloc or parts.fragment or text.startswith("//"):
        return HOME
    if parts.path != HOME and not parts.path.startswith(HOME + "/"):
        return HOME
    if parts.path in ("/app/sign-in", "/app/callback", "/app/sign-out") or "/../" in parts.path + "/":
        return HOME
    return text


def begin_sign_in(
    svc: Services, next_path: str | None, redirect_uri: str, language: Language
) -> tuple[PendingSignIn, str]:
    """A new sign-in: what the browser keeps until the callback, and the login service's URL."""
    pending = PendingSignIn(
        state=secrets.token_urlsafe(32),
        verifier=secrets.token_urlsafe(48),
        next=safe_next(next_path),
        started_at=svc.now(),
    )
    url = svc.login.authorize_url(
        state=pending.state,
        challenge=pkce_challenge(pending.verifier),
        redirect_uri=redirect_uri,
        language=language,
    )
    return pending, url


def finish_sign_in(
    svc: Services,
    pending: PendingSignIn | None,
    *,
    state: str | None,
    code: str | None,
    error: str | None,
    redirect_uri: str,
) -> tuple[str, ConsoleSession, str]:
    """The callback: check the ``state``, exchange the code, open the session. The session id, the
    session, and where to go next.

    :raises ConsoleSignInMismatch: no sign-in pending in this browser, too old, or another ``state``.
    :raises LoginFailed: the login service answered an error, or refused the code.
    :raises LoginUnavailable: the login service did not answer.
    :raises Forbidden, EmailNotVerified: the ID token names nobody usable (as the API refuses them).
    :raises StorageUnavailable: the session store failed.
    """
    if (
        pending is None
        or not state
        or not hmac.compare_digest(pending.state.encode(), state.encode("utf-8", "replace"))
        or svc.now() - pending.started_at > SIGN_IN_LIFETIME
    ):
        raise ConsoleSignInMismatch("state missing, expired or not this browser's")
    if error or not code:
        raise LoginFailed(f"login service answered {error or 'no code'}", error=error or "no code")
    tokens = svc.login.exchange(code=code, verifier=pending.verifier, redirect_uri=redirect_uri)
    claims = _authorizer_form(tokens.id_claims)
    identity = sender_from_claims(svc, claims)
    username = str(claims.get("cognito:username") or claims.get("username") or "")
    if not username:
        raise Forbidden("an ID token without cognito:username")
    session_id, session = open_session(svc, identity, username, tokens.refresh_token)
    return session_id, session, pending.next


def _authorizer_form(claims: Mapping[str, Any]) -> dict[str, Any]:
    # sender_from_claims reads claims as API Gateway's authorizer passes them (lists comma-joined,
    # booleans as text); an ID token's JSON has real lists and booleans.
    shaped: dict[str, Any] = {}
    for name, value in claims.items():
        if isinstance(value, list | tuple):
            shaped[name] = ",".join(str(v) for v in value)
        elif isinstance(value, bool):
            shaped[name] = "true" if value else "false"
        else:
            shaped[name] = value
    return shaped
