"""The local stand-in for the Cognito user-pool authorizer: sender tokens for ``tachiai local token``.

In the cloud a caller sends a Cognito **access token**: a staff member's (scope
:data:`~tachiai.names.USER_SCOPE`, with ``username``) or an API integration's (client credentials:
``sub`` is the client id, scopes ``tachiai-api/envelopes.read|write``). API Gateway checks it and the
route's scopes (:attr:`tachiai.names.Route.scopes`) and hands the claims to the function. Locally there
is no user pool, so :class:`LocalTokens` issues tokens with the same claims, signed HS256 with a secret
kept in the runtime's state directory, and :func:`authorize_header` checks them the way the authorizer
does: the raw ``Authorization`` header in, the claims out, or ``None`` (401 without invoking the
function). A local staff token also carries ``email`` and ``name`` — as a pool with a pre-token-generation
trigger would — because there is no user pool to look them up in
(:class:`tachiai.adapters.cognito.UserDirectory` does that in the cloud).

The claims come out exactly as a REST API's Cognito authorizer passes them in
``requestContext.authorizer.claims``: every value a string. Lists are joined with commas (a user in
two groups has ``"cognito:groups": "admin,member"``), booleans are ``"true"``/``"false"``, ``exp`` and
``iat`` become Java ``Date.toString()`` text in UTC (``"Tue Apr 04 18:39:39 UTC 2023"``) while other
numbers such as ``auth_time`` stay epoch seconds (``"1680629979"``). Sources: a claims object logged by
a Lambda behind a REST API Cognito authorizer in repost.aws/questions/QUFJRBaEJRSmmqarNrvCWoQA ("AWS
Cognito Group"), the report that array claims arrive comma-joined (openillumi.com,
"api-gateway-cognito-jwt-claim-conversion"), and awsdocs/amazon-api-gateway-developer-guide#158 ("all
of the values ... are strings"). An HTTP API's JWT authorizer differs (``"[admin member]"``); tachiai's
API is a REST API.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import os
import re
import secrets
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from tachiai.domain.errors import ConfigurationError
from tachiai.names import RESOURCE_SERVER_ID, USER_SCOPE

__all__ = ["INTEGRATION_SCOPES", "ISSUER", "LocalTokens", "authorize_header", "load_or_create_secret"]

ISSUER: Final = "tachiai-local"
LOCAL_CLIENT_ID: Final = "tachiai-local-web"
"""The app client a local staff token says it came from (the web client in the cloud)."""
INTEGRATION_SCOPES: Final = (f"{RESOURCE_SERVER_ID}/envelopes.read", f"{RESOURCE_SERVER_ID}/envelopes.write")
SECRET_BYTES: Final = 32
_HEADER: Final = {"alg": "HS256", "typ": "JWT"}
_COMPACT_JWS: Final = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")
_DATE_CLAIMS: Final = frozenset({"exp", "iat", "nbf"})
_DAYS: Final = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS: Final = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    """base64url without padding (the caller has checked the alphabet)."""
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _json_object(segment: str) -> dict[str, Any]:
    value = json.loads(_b64decode(segment))
    if not isinstance(value, dict):
        raise ValueError("not a JSON object")
    return value


def _java_date(epoch: int) -> str:
    # java.util.Date.toString() in UTC, English names whatever the locale: "Tue Apr 04 18:39:39 UTC 2023".
    moment = datetime.fromtimestamp(epoch, UTC)
    return f"{_DAYS[moment.weekday()]} {_MONTHS[moment.month - 1]} {moment:%d %H:%M:%S} UTC {moment:%Y}"


def _claim_text(name: str, value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int) and name in _DATE_CLAIMS:
        return _java_date(value)
    if isinstance(value, list):
        return ",".join(_claim_text(name, item) for item in value)
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def _epoch(moment: datetime) -> int:
    return int(moment.timestamp())


class LocalTokens:
    """Issues and checks local sender tokens (compact JWS, HS256) with one secret."""

    def __init__(self, secret: bytes) -> None:
        if len(secret) < SECRET_BYTES:
            raise ConfigurationError(f"token secret of {len(secret)} bytes", name="token secret")
        self._secret = secret

    def _sign(self, signing_input: bytes) -> bytes:
        return hmac.new(self._secret, signing_input, hashlib.sha256).digest()

    def issue(
        self,
        sub: str,
        email: str,
        name: str,
        groups: Sequence[str] = ("member",),
        ttl_seconds: int = 12 * 3600,
        now: datetime | None = None,
        *,
        client_id: str = LOCAL_CLIENT_ID,
        scope: str = USER_SCOPE,
        origin_jti: str | None = None,
    ) -> str:
        """A staff member's access token (scope :data:`USER_SCOPE`), valid for ``ttl_seconds``.

        ``origin_jti``: the sign-in session (refresh token) it was issued from, as Cognito's tokens say;
        revoking the session refuses its access tokens too (:func:`authorize_header`'s ``refused``).
        """
        identity: dict[str, Any] = {
            "sub": sub,
            "username": sub,
            "email": email,
            # Whoever runs the local runtime vouches for the address, as a pool's verification would.
            "email_verified": True,
            "name": name,
            "cognito:groups": list(groups),
            "client_id": client_id,
            "scope": scope,
        }
        if origin_jti:
            identity["origin_jti"] = origin_jti
        return self._token(identity, ttl_seconds, now)

    def issue_id(
        self,
        sub: str,
        email: str,
        name: str,
        groups: Sequence[str],
        client_id: str,
        ttl_seconds: int = 3600,
        now: datetime | None = None,
    ) -> str:
        """A staff member's ID token (``token_use: id``, audience the client): who signed in, for the
        client; never accepted by the API (:meth:`verify` takes access tokens only)."""
        identity = {
            "sub": sub,
            "cognito:username": sub,
            "email": email,
            "email_verified": True,
            "name": name,
            "cognito:groups": list(groups),
            "aud": client_id,
        }
        return self._token(identity, ttl_seconds, now, token_use="id")  # noqa: S106 -- a claim, not a secret

    def issue_integration(
        self,
        client_id: str,
        scopes: Sequence[str] = INTEGRATION_SCOPES,
        ttl_seconds: int = 3600,
        now: datetime | None = None,
    ) -> str:
        """An API integration's access token (client credentials grant): the client is the subject."""
        return self._token(
            {"sub": client_id, "client_id": client_id, "scope": " ".join(scopes)}, ttl_seconds, now
        )

    def _token(
        self,
        identity: dict[str, Any],
        ttl_seconds: int,
        now: datetime | None,
        token_use: str = "access",  # noqa: S107 -- a claim, not a secret
    ) -> str:
        issued = _epoch(now or datetime.now(UTC))
        claims = {
            **identity,
            "iss": ISSUER,
            "token_use": token_use,
            "auth_time": issued,
            "iat": issued,
            "exp": issued + ttl_seconds,
            "jti": secrets.token_hex(16),
        }
        signing_input = ".".join(
            _b64encode(json.dumps(part, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))
            for part in (_HEADER, claims)
        ).encode("ascii")
        return f"{signing_input.decode('ascii')}.{_b64encode(self._sign(signing_input))}"

    def verify(self, token: str, now: datetime | None = None) -> dict[str, str] | None:
        """The claims as the REST API Cognito authorizer passes them (all strings), or ``None``.

        ``None`` for a malformed token, another algorithm than HS256 (``none`` included), a bad
        signature, another issuer or token use, or an expired token.
        """
        if not _COMPACT_JWS.fullmatch(token):
            return None
        header_segment, payload_segment, signature_segment = token.split(".")
        try:
            header = _json_object(header_segment)
            signature = _b64decode(signature_segment)
        except ValueError:
            return None
        if header.get("alg") != "HS256":
            return None
        expected = self._sign(f"{header_segment}.{payload_segment}".encode("ascii"))
        if not hmac.compare_digest(signature, expected):
            return None
        try:
            claims = _json_object(payload_segment)
        except ValueError:
            return None
        expires = claims.get("exp")
        if isinstance(expires, bool) or not isinstance(expires, int):
            return None
        if _epoch(now or datetime.now(UTC)) >= expires:
            return None
        if claims.get("iss") != ISSUER or claims.get("token_use") != "access":
            return None
        return {name: _claim_text(name, value) for name, value in claims.items()}


def authorize_header(
    tokens: LocalTokens, refused: Callable[[dict[str, str]], bool] | None = None
) -> Callable[[str | None], dict[str, str] | None]:
    """The authorizer for :class:`~tachiai.local.api_gateway.ApiGatewayAdapter`.

    Accepts ``Bearer <token>`` and the bare token (a Cognito authorizer of a REST API takes the raw
    token as the whole ``Authorization`` value; clients usually send the Bearer form). ``refused``:
    whether valid claims are nevertheless refused (a revoked sign-in, a disabled user: the local
    sign-in's :meth:`~tachiai.local.login_server.LocalLogin.refused`).
    """

    def authorize(header: str | None) -> dict[str, str] | None:
        if not header:
            return None
        scheme, _, rest = header.strip().partition(" ")
        token = rest.strip() if scheme.lower() == "bearer" else header.strip()
        claims = tokens.verify(token) if token else None
        if claims is None or (refused is not None and refused(claims)):
            return None
        return claims

    return authorize


def load_or_create_secret(path: Path) -> bytes:
    """The token secret kept at ``path``: 32 random bytes, created owner-only (0600) on first use.

    Kept across runs so that a token issued by ``tachiai local token`` still works after a restart.

    :raises ConfigurationError: the file exists but does not hold a secret (delete it to start over).
    :raises OSError: the file cannot be created or read.
    """
    if not path.exists():
        # Written whole under another name, then linked into place: link fails if the file exists,
        # so of two runtimes starting at once one secret wins and nobody reads a half-written file.
        draft = path.with_name(f".{path.name}.{secrets.token_hex(8)}")
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as file:
                file.write(secrets.token_bytes(SECRET_BYTES))
            with contextlib.suppress(FileExistsError):
                os.link(draft, path)
        finally:
            draft.unlink()
    secret = path.read_bytes()
    if len(secret) != SECRET_BYTES:
        raise ConfigurationError(f"{path} holds {len(secret)} bytes, not {SECRET_BYTES}", name=str(path))
    return secret
