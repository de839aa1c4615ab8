"""The local runtime's sign-in: OAuth 2.0 authorization code + PKCE as Cognito's hosted login does it,
over the local user store (scrypt-hashed passwords, 0600), and its tokens as the local authorizer sees them."""

from __future__ import annotations

import base64
import re
import secrets
import stat
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from tachiai import names
from tachiai.domain.errors import UserExists
from tachiai.local.local_auth import LocalTokens, authorize_header
from tachiai.local.login_server import (
    CLI_CLIENT_ID,
    INTEGRATION_CLIENT_ID,
    LocalLogin,
    local_clients,
    pkce_challenge,
)
from tachiai.local.user_store import LocalUserStore
from werkzeug.test import Client, TestResponse

REDIRECT = "http://localhost:8976/callback"
PASSWORD = "Correct-horse-42!"


@dataclass
class Setup:
    login: LocalLogin
    client: Client
    users: LocalUserStore
    tokens: LocalTokens
    clock: list[datetime]
    state_dir: Path

    def authorize(self, **overrides: str) -> TestResponse:
        query = {
            "response_type": "code",
            "client_id": CLI_CLIENT_ID,
            "redirect_uri": REDIRECT,
            "state": "state-1",
            "code_challenge": pkce_challenge("v" * 64),
            "code_challenge_method": "S256",
            "scope": " ".join(names.LOGIN_SCOPES),
            **overrides,
        }
        return self.client.get("/oauth2/authorize", query_string={k: v for k, v in query.items() if v != "-"})

    def sign_in(
        self, username: str = "taro@example.co.jp", password: str = PASSWORD, **overrides: str
    ) -> TestResponse:
        page = self.authorize(**overrides)
        text = page.get_data(as_text=True)
        # What the browser posts: the page's hidden fields, and what the person typed.
        form = {"request": _hidden(text, "request"), "lang": _hidden(text, "lang")}
        return self.client.post("/login", data={**form, "username": username, "password": password})

    def code(self, **overrides: str) -> str:
        answer = self.sign_in(**overrides)
        assert answer.status_code == 302, answer.get_data(as_text=True)
        return parse_qs(urlsplit(answer.headers["Location"]).query)["code"][0]

    def exchange(self, code: str, verifier: str = "v" * 64, redirect_uri: str = REDIRECT) -> TestResponse:
        return self.client.post(
            "/oauth2/token",
            data={
                "grant_type": "authorization_code",
                "client_id": CLI_CLIENT_ID,
                "code": code,
                "redirect_uri": redirect_uri,
                "code_verifier": verifier,
            },
        )


def _hidden(page: str, name: str) -> str:
    marker = f'name="{name}" value="'
    start = page.index(marker) + len(marker)
    return page[start : page.index('"', start)]


@pytest.fixture
def setup(tmp_path: Path) -> Setup:
    users = LocalUserStore(tmp_path / "users.json")
    users.create("taro@example.co.jp", "山田 太郎", "admin", PASSWORD)
    tokens = LocalTokens(secrets.token_bytes(32))
    clock = [datetime.now(UTC)]
    login = LocalLogin(
        users, tokens, tmp_path / "sessions.json", local_clients(tmp_path, (REDIRECT,)), now=lambda: clock[0]
    )
    return Setup(login, Client(login), users, tokens, clock, tmp_path)


def test_pkce_challenge_is_rfc_7636_s256() -> None:
    # RFC 7636 Appendix B.
    assert (
        pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk")
        == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    )


def test_a_password_is_stored_as_an_scrypt_hash_in_an_owner_only_file(setup: Setup) -> None:
    text = (setup.state_dir / "users.json").read_text()
    assert PASSWORD not in text
    assert "scrypt$" in text
    assert stat.S_IMODE((setup.state_dir / "users.json").stat().st_mode) == 0o600


def test_a_second_account_for_the_same_address_is_refused(setup: Setup) -> None:
    with pytest.raises(UserExists):
        setup.users.create("TARO@example.co.jp", "x", "member", "Other-password-1!")


def test_the_authorize_page_asks_for_email_and_password_in_the_requested_language(setup: Setup) -> None:
    for language, word in (("ja", "パスワード"), ("en", "Password"), ("zh", "密码")):
        page = setup.authorize(lang=language)
        assert page.status_code == 200
        assert word in page.get_data(as_text=True)
        assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]


def test_the_page_language_follows_accept_language(setup: Setup) -> None:
    page = setup.client.get(
        "/oauth2/authorize",
        query_string={
            "response_type": "code",
            "client_id": CLI_CLIENT_ID,
            "redirect_uri": REDIRECT,
            "code_challenge": pkce_challenge("v" * 64),
            "code_challenge_method": "S256",
        },
        headers={"Accept-Language": "zh-CN,zh;q=0.9"},
    )
    assert '<html lang="zh">' in page.get_data(as_text=True)


def test_an_unregistered_redirect_uri_is_never_redirected_to(setup: Setup) -> None:
    page = setup.authorize(redirect_uri="http://localhost:8976/callback/../evil")
    assert page.status_code == 400
    assert "Location" not in page.headers


def test_an_unknown_client_gets_an_error_page(setup: Setup) -> None:
    assert setup.authorize(client_id="someone-else").status_code == 400


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"code_challenge_method": "plain"}, "invalid_request"),
        ({"code_challenge_method": "-"}, "invalid_request"),
        ({"code_challenge": "-"}, "invalid_request"),
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"scope": "openid admin.everything"}, "invalid_scope"),
    ],
    ids=["plain-pkce", "no-method", "no-challenge", "implicit", "foreign-scope"],
)
def test_a_request_without_s256_pkce_or_with_another_flow_is_sent_back_with_its_error(
    setup: Setup, overrides: dict[str, str], error: str
) -> None:
    answer = setup.authorize(**overrides)
    assert answer.status_code == 302
    query = parse_qs(urlsplit(answer.headers["Location"]).query)
    assert query["error"] == [error]
    assert query["state"] == ["state-1"]
    assert "code" not in query


def test_a_wrong_password_shows_the_page_again_without_a_code(setup: Setup) -> None:
    answer = setup.sign_in(password="wrong-password")
    assert answer.status_code == 401
    assert "Location" not in answer.headers


def test_an_unknown_address_is_answered_like_a_wrong_password(setup: Setup) -> None:
    unknown = setup.sign_in(username="nobody@example.co.jp", lang="en")
    wrong = setup.sign_in(password="wrong-password", lang="en")
    assert unknown.status_code == wrong.status_code == 401
    assert "The email address or the password is wrong." in unknown.get_data(as_text=True)


def test_signing_in_redirects_with_a_code_and_the_state(setup: Setup) -> None:
    answer = setup.sign_in()
    location = urlsplit(answer.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT
    query = parse_qs(location.query)
    assert query["state"] == ["state-1"]
    assert len(query["code"][0]) >= 32


def test_the_code_gives_tokens_with_the_claims_of_the_cognito_authorizer(setup: Setup) -> None:
    answer = setup.exchange(setup.code())
    assert answer.status_code == 200
    assert answer.headers["Cache-Control"] == "no-store"
    body = answer.get_json()
    assert {"access_token", "id_token", "refresh_token"} <= set(body)
    assert body["token_type"] == "Bearer"
    claims = authorize_header(setup.tokens, setup.login.refused)(f"Bearer {body['access_token']}")
    assert claims is not None
    assert claims["email"] == "taro@example.co.jp"
    assert claims["cognito:groups"] == "admin"
    assert claims["client_id"] == CLI_CLIENT_ID
    assert set(claims["scope"].split()) == set(names.LOGIN_SCOPES)
    # The ID token is not an access token: the API refuses it.
    assert setup.tokens.verify(body["id_token"]) is None


def test_a_wrong_code_verifier_gets_no_tokens(setup: Setup) -> None:
    answer = setup.exchange(setup.code(), verifier="w" * 64)
    assert answer.status_code == 400
    assert answer.get_json()["error"] == "invalid_grant"


def test_a_code_works_once(setup: Setup) -> None:
    code = setup.code()
    first = setup.exchange(code)
    assert first.status_code == 200
    second = setup.exchange(code)
    assert second.status_code == 400
    assert second.get_json()["error"] == "invalid_grant"


def test_a_code_used_twice_ends_the_session_it_opened(setup: Setup) -> None:
    code = setup.code()
    tokens = setup.exchange(code).get_json()
    setup.exchange(code)
    authorize = authorize_header(setup.tokens, setup.login.refused)
    assert authorize(f"Bearer {tokens['access_token']}") is None
    refreshed = setup.client.post(
        "/oauth2/token",
        data={
            "grant_type": "refresh_token",
            "client_id": CLI_CLIENT_ID,
            "refresh_token": tokens["refresh_token"],
        },
    )
    assert refreshed.status_code == 400


def test_a_code_expires_after_five_minutes(setup: Setup) -> None:
    code = setup.code()
    setup.clock[0] += timedelta(minutes=5, seconds=1)
    assert setup.exchange(code).status_code == 400


def test_the_token_request_must_name_the_same_redirect_uri(setup: Setup) -> None:
    assert setup.exchange(setup.code(), redirect_uri="http://localhost:9999/callback").status_code == 400


def test_a_refresh_gives_a_new_access_token_with_the_users_current_role(setup: Setup) -> None:
    tokens = setup.exchange(setup.code()).get_json()
    setup.users.set_role("taro@example.co.jp", "member")
    refreshed = setup.client.post(
        "/oauth2/token",
        data={
            "grant_type": "refresh_token",
            "client_id": CLI_CLIENT_ID,
            "refresh_token": tokens["refresh_token"],
        },
    )
    assert refreshed.status_code == 200
    claims = setup.tokens.verify(refreshed.get_json()["access_token"])
    assert claims is not None and claims["cognito:groups"] == "member"


def test_a_disabled_user_can_neither_refresh_nor_use_a_token(setup: Setup) -> None:
    tokens = setup.exchange(setup.code()).get_json()
    setup.users.set_enabled("taro@example.co.jp", False)
    refreshed = setup.client.post(
        "/oauth2/token",
        data={
            "grant_type": "refresh_token",
            "client_id": CLI_CLIENT_ID,
            "refresh_token": tokens["refresh_token"],
        },
    )
    assert refreshed.get_json()["error"] == "invalid_grant"
    assert authorize_header(setup.tokens, setup.login.refused)(f"Bearer {tokens['access_token']}") is None
    assert setup.sign_in().status_code == 401


def test_revoking_the_refresh_token_ends_the_session_and_its_access_tokens(setup: Setup) -> None:
    tokens = setup.exchange(setup.code()).get_json()
    revoked = setup.client.post(
        "/oauth2/revoke", data={"token": tokens["refresh_token"], "client_id": CLI_CLIENT_ID}
    )
    assert revoked.status_code == 200
    refreshed = setup.client.post(
        "/oauth2/token",
        data={
            "grant_type": "refresh_token",
            "client_id": CLI_CLIENT_ID,
            "refresh_token": tokens["refresh_token"],
        },
    )
    assert refreshed.status_code == 400
    assert authorize_header(setup.tokens, setup.login.refused)(f"Bearer {tokens['access_token']}") is None


def test_sessions_are_kept_owner_only_and_without_the_refresh_token_itself(setup: Setup) -> None:
    tokens = setup.exchange(setup.code()).get_json()
    sessions = setup.state_dir / "sessions.json"
    assert tokens["refresh_token"] not in sessions.read_text()
    assert stat.S_IMODE(sessions.stat().st_mode) == 0o600


def test_an_invited_user_chooses_a_password_before_the_code(setup: Setup) -> None:
    mailed: list[str] = []
    LocalUserStore(setup.users.path, invitation=lambda _, password: mailed.append(password)).invite(
        "hanako@example.co.jp", "花子", "member"
    )
    temporary = mailed[0]
    page = setup.sign_in(username="hanako@example.co.jp", password=temporary, lang="en")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Choose your password" in text
    form = {"request": _hidden(text, "request"), "challenge": _hidden(text, "challenge")}
    weak = setup.client.post("/login", data={**form, "new_password": "short"})
    assert weak.status_code == 400
    done = setup.client.post("/login", data={**form, "new_password": "My-own-password-9"})
    assert done.status_code == 302
    assert "code=" in done.headers["Location"]
    assert setup.users.authenticate("hanako@example.co.jp", "My-own-password-9") is not None
    assert setup.users.authenticate("hanako@example.co.jp", temporary) is None


def test_the_integration_client_gets_a_token_with_its_secret_only(setup: Setup) -> None:
    secret = (setup.state_dir / "integration-client-secret").read_text().strip()
    basic = base64.b64encode(f"{INTEGRATION_CLIENT_ID}:{secret}".encode()).decode()
    answer = setup.client.post(
        "/oauth2/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": f"Basic {basic}"},
    )
    assert answer.status_code == 200
    claims = setup.tokens.verify(answer.get_json()["access_token"])
    assert claims is not None and claims["sub"] == INTEGRATION_CLIENT_ID
    wrong = base64.b64encode(f"{INTEGRATION_CLIENT_ID}:not-it".encode()).decode()
    refused = setup.client.post(
        "/oauth2/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": f"Basic {wrong}"},
    )
    assert refused.status_code == 401
    assert refused.get_json()["error"] == "invalid_client"


def test_the_public_cli_client_cannot_use_client_credentials(setup: Setup) -> None:
    answer = setup.client.post(
        "/oauth2/token", data={"grant_type": "client_credentials", "client_id": CLI_CLIENT_ID}
    )
    assert answer.get_json()["error"] == "unsupported_grant_type"


def test_logout_goes_only_to_a_registered_logout_uri(setup: Setup) -> None:
    assert (
        setup.client.get(
            "/logout", query_string={"client_id": CLI_CLIENT_ID, "logout_uri": REDIRECT}
        ).status_code
        == 302
    )
    assert (
        setup.client.get(
            "/logout", query_string={"client_id": CLI_CLIENT_ID, "logout_uri": "https://evil.example"}
        ).status_code
        == 400
    )


def test_the_local_config_names_the_cli_client_and_its_redirect(setup: Setup) -> None:
    config = setup.client.get("/_local/config").get_json()
    assert config["client_id"] == CLI_CLIENT_ID
    assert config["redirect_uri"] == REDIRECT


def test_a_token_of_tachiai_local_token_still_works(setup: Setup) -> None:
    token = setup.tokens.issue(sub="local-x@example.co.jp", email="x@example.co.jp", name="x")
    assert authorize_header(setup.tokens, setup.login.refused)(f"Bearer {token}") is not None


def test_the_language_switch_of_a_page_shown_after_a_wrong_password_keeps_the_sign_in(setup: Setup) -> None:
    wrong = setup.sign_in(password="wrong-password", lang="en").get_data(as_text=True)
    link = next(
        href.replace("&amp;", "&")
        for href, code in re.findall(r'<a href="([^"]+)" lang="(\w+)">', wrong)
        if code == "ja"
    )
    switched = setup.client.get(link)
    assert switched.status_code == 200
    page = switched.get_data(as_text=True)
    assert '<html lang="ja">' in page
    answer = setup.client.post(
        "/login",
        data={"request": _hidden(page, "request"), "username": "taro@example.co.jp", "password": PASSWORD},
    )
    assert answer.status_code == 302
    assert "code=" in answer.headers["Location"]
