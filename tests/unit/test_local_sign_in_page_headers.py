"""The local sign-in page (``/oauth2/authorize`` of ``tachiai local``) tells the browser to send its
origin with the form: ``Referrer-Policy: same-origin``. Under ``no-referrer`` a browser posts the form
with ``Origin: null``, which the loopback guard refuses as a possibly foreign page, and nobody could
sign in to the console locally (until now only the selenium test saw it)."""

from __future__ import annotations

import secrets
from pathlib import Path

from tachiai import names
from tachiai.local.local_auth import LocalTokens
from tachiai.local.login_server import CLI_CLIENT_ID, LocalLogin, local_clients, pkce_challenge
from tachiai.local.user_store import LocalUserStore
from werkzeug.test import Client

REDIRECT = "http://localhost:8976/callback"
PASSWORD = "Correct-horse-42!"


def _login(tmp_path: Path) -> Client:
    users = LocalUserStore(tmp_path / "users.json")
    users.create("taro@example.co.jp", "山田 太郎", "member", PASSWORD)
    login = LocalLogin(
        users,
        LocalTokens(secrets.token_bytes(32)),
        tmp_path / "sessions.json",
        local_clients(tmp_path, (REDIRECT,)),
    )
    return Client(login)


def _authorize_query() -> dict[str, str]:
    return {
        "response_type": "code",
        "client_id": CLI_CLIENT_ID,
        "redirect_uri": REDIRECT,
        "state": "state-1",
        "code_challenge": pkce_challenge("v" * 64),
        "code_challenge_method": "S256",
        "scope": " ".join(names.LOGIN_SCOPES),
    }


def test_the_sign_in_page_sends_its_origin_with_the_form(tmp_path: Path) -> None:
    page = _login(tmp_path).get("/oauth2/authorize", query_string=_authorize_query())

    assert page.status_code == 200
    assert page.headers["Referrer-Policy"] == "same-origin"


def test_the_sign_in_page_shown_again_after_a_wrong_password_sends_its_origin_too(tmp_path: Path) -> None:
    client = _login(tmp_path)
    text = client.get("/oauth2/authorize", query_string=_authorize_query()).get_data(as_text=True)
    marker = 'name="request" value="'
    start = text.index(marker) + len(marker)
    request = text[start : text.index('"', start)]

    again = client.post(
        "/login", data={"request": request, "username": "taro@example.co.jp", "password": "wrong-password"}
    )

    assert again.status_code in (200, 401) and 'name="password"' in again.get_data(as_text=True)
    assert again.headers["Referrer-Policy"] == "same-origin"
