"""The console's login service: an OAuth 2.0 authorization server's endpoints over HTTP(S).

Cognito's managed login in the cloud (``https://<prefix>.auth.<region>.amazoncognito.com``), the local
runtime's own ``/oauth2/*`` on loopback: the same four endpoints, the same parameters. A user pool
given, the global sign-out is Cognito's ``AdminUserGlobalSignOut`` (every refresh token of the user,
the CLI's too).
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import requests
from botocore.exceptions import BotoCoreError, ClientError

from tachiai import names
from tachiai.domain.console import TokenSet
from tachiai.domain.errors import LoginFailed, LoginUnavailable
from tachiai.domain.events import Language

if TYPE_CHECKING:
    from mypy_boto3_cognito_idp import CognitoIdentityProviderClient

TIMEOUT_SECONDS = 10
_LOCALES = {"ja": "ja", "en": "en", "zh": "zh-CN"}
"""Cognito managed login's ``lang`` values (the local sign-in reads the first two letters)."""


class OAuthLogin:
    """:class:`~tachiai.services.ports.LoginService` over the authorization server at ``base_url``."""

    def __init__(
        self,
        base_url: str,
        client_id: str,
        pool: tuple[CognitoIdentityProviderClient, str] | None = None,
        session: requests.Session | None = None,
    ) -> None:
        self._base = base_url.rstrip("/")
        self._client_id = client_id
        self._pool = pool
        self._http = session or requests.Session()

    def authorize_url(self, *, state: str, challenge: str, redirect_uri: str, language: Language) -> str:
        query = {
            "response_type": "code",
            "client_id": self._client_id,
            "redirect_uri": redirect_uri,
            "scope": " ".join(names.LOGIN_SCOPES),
            "state": state,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            "lang": _LOCALES.get(language, "ja"),
        }
        return f"{self._base}/oauth2/authorize?{urlencode(query)}"

    def exchange(self, *, code: str, verifier: str, redirect_uri: str) -> TokenSet:
        """:raises LoginFailed: the code was refused. :raises LoginUnavailable: no (usable) answer."""
        body = self._post(
            "/oauth2/token",
            {
                "grant_type": "authorization_code",
                "client_id": self._client_id,
                "code": code,
                "code_verifier": verifier,
                "redirect_uri": redirect_uri,
            },
        )
        id_token = body.get("id_token")
        if not isinstance(id_token, str):
            raise LoginUnavailable("the token endpoint answered no id_token")
        refresh = body.get("refresh_token")
        return TokenSet(
            id_claims=_claims(id_token), refresh_token=refresh if isinstance(refresh, str) else None
        )

    def revoke(self, refresh_token: str) -> None:
        """:raises LoginUnavailable: the revocation endpoint did not answer."""
        self._post("/oauth2/revoke", {"token": refresh_token, "client_id": self._client_id})

    def logout_url(self, *, logout_uri: str) -> str:
        return f"{self._base}/logout?{urlencode({'client_id': self._client_id, 'logout_uri': logout_uri})}"

    def sign_out_everywhere(self, username: str) -> None:
        """:raises LoginUnavailable: Cognito did not answer (or refused)."""
        if self._pool is None:
            return  # the local sign-in: the console's revocations were all there is to end
        client, pool_id = self._pool
        try:
            client.admin_user_global_sign_out(UserPoolId=pool_id, Username=username)
        except ClientError as e:
            if e.response.get("Error", {}).get("Code") == "UserNotFoundException":
                return  # nobody left to sign out
            raise LoginUnavailable(e.response.get("Error", {}).get("Code", "")) from e
        except BotoCoreError as e:
            raise LoginUnavailable(type(e).__name__) from e

    def _post(self, path: str, form: dict[str, str]) -> dict[str, Any]:
        try:
            response = self._http.post(
                self._base + path,
                data=form,
                headers={"Accept": "application/json"},
                timeout=TIMEOUT_SECONDS,
                allow_redirects=False,
            )
        except requests.RequestException as e:
            raise LoginUnavailable(f"{path}: {type(e).__name__}") from e
        if response.status_code in (400, 401):
            # invalid_grant & co.: the code (or token) is refused, not the service down.
            error = _json(response).get("error") or f"HTTP {response.status_code}"
            raise LoginFailed(f"{path}: {error}", error=str(error))
        if response.status_code != 200:
            raise LoginUnavailable(f"{path}: HTTP {response.status_code}")
        return _json(response) if response.content else {}


def _json(response: requests.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _claims(id_token: str) -> dict[str, Any]:
    """The claims of an ID token, read WITHOUT checking its signature, on purpose.

    The token comes straight from the token endpoint, over TLS to the login domain (loopback for
    ``tachiai local``), in answer to this server's own code exchange: OpenID Connect Core 1.0 §3.1.3.7
    (6) lets a client use TLS server validation in place of the token's signature in exactly this
    case. Nobody else handed us this token, so there is no one whose forgery a signature check would
    catch.

    :raises LoginUnavailable: the token is not a JWT with a JSON claims part.
    """
    try:
        payload = id_token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, binascii.Error, ValueError, UnicodeDecodeError) as e:
        raise LoginUnavailable("the token endpoint answered an unreadable id_token") from e
    if not isinstance(claims, dict):
        raise LoginUnavailable("the id_token's claims are not an object")
    return claims
