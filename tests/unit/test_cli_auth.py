"""`tachiai login`'s client side without a server: PKCE, the state check, where tokens are kept (owner
only), refreshing a token near its expiry, and never sending a profile's token to another API."""

from __future__ import annotations

import argparse
import os
import socket
import stat
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from tachiai.cli import main
from tachiai.cli_auth import (
    REFRESH_MARGIN_SECONDS,
    CredentialStore,
    LoginSettings,
    Profile,
    callback_listener,
    code_from_redirect,
    config_dir,
    fresh_profile,
    pkce_pair,
    profile_client,
    s256,
)
from tachiai.domain.errors import (
    LoginFailed,
    LoginPortInUse,
    LoginStateMismatch,
    NotSignedIn,
    ProfileUrlMismatch,
    SessionExpired,
)
from tachiai.local.user_store import LocalUserStore

NOW = 1_800_000_000.0


def a_profile(expires_at: float = NOW + 3600, api_url: str = "https://api.example.jp/v1") -> Profile:
    return Profile(
        api_url=api_url,
        login_url="https://login.example.jp",
        client_id="client",
        access_token="old-access",
        refresh_token="the-refresh",
        expires_at=expires_at,
    )


class FakeResponse:
    def __init__(self, status: int, body: dict[str, Any]) -> None:
        self.status_code = status
        self._body = body

    def json(self) -> dict[str, Any]:
        return self._body


class FakeTokenEndpoint:
    """Stands in for ``requests.Session``: records each form posted, answers ``answer``."""

    def __init__(self, status: int = 200, body: dict[str, Any] | None = None) -> None:
        self.answer = FakeResponse(status, body if body is not None else {})
        self.posted: list[tuple[str, dict[str, str]]] = []

    def post(self, url: str, data: dict[str, str], timeout: float) -> FakeResponse:
        self.posted.append((url, data))
        return self.answer


# --- PKCE and the authorization request ---------------------------------------------------------------


def test_s256_is_the_rfc_7636_appendix_b_example() -> None:
    assert (
        s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk") == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    )


def test_each_sign_in_gets_a_fresh_verifier_of_allowed_length_and_characters() -> None:
    (v1, c1), (v2, _) = pkce_pair(), pkce_pair()
    assert v1 != v2
    assert 43 <= len(v1) <= 128
    assert set(v1) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
    assert c1 == s256(v1)


def test_the_authorization_request_asks_for_a_code_with_s256_and_the_state() -> None:
    settings = LoginSettings("https://api.example.jp/v1", "https://login.example.jp", "client")
    query = parse_qs(urlsplit(settings.authorize_url("the-state", "the-challenge")).query)
    assert query["response_type"] == ["code"]
    assert query["code_challenge_method"] == ["S256"]
    assert query["code_challenge"] == ["the-challenge"]
    assert query["state"] == ["the-state"]
    assert query["redirect_uri"] == ["http://localhost:8976/callback"]
    assert "aws.cognito.signin.user.admin" not in query["scope"][0]


# --- the redirect --------------------------------------------------------------------------------------


def test_the_code_of_a_redirect_with_our_state_is_taken() -> None:
    assert code_from_redirect("http://localhost:8976/callback?code=abc&state=s1", "s1") == "abc"


def test_a_redirect_with_another_state_is_refused_before_its_code_is_used() -> None:
    with pytest.raises(LoginStateMismatch):
        code_from_redirect("http://localhost:8976/callback?code=abc&state=forged", "s1")


def test_a_redirect_without_a_state_is_refused() -> None:
    with pytest.raises(LoginStateMismatch):
        code_from_redirect("http://localhost:8976/callback?code=abc", "s1")


def test_an_error_redirect_is_a_login_failure_naming_the_error() -> None:
    with pytest.raises(LoginFailed) as raised:
        code_from_redirect("/callback?error=access_denied&error_description=no&state=s1", "s1")
    assert raised.value.code == "login_failed"
    assert "access_denied" in str(raised.value.detail)


def test_a_redirect_without_a_code_is_a_login_failure() -> None:
    with pytest.raises(LoginFailed):
        code_from_redirect("/callback?state=s1", "s1")


def test_a_taken_callback_port_is_its_own_refusal() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(LoginPortInUse), callback_listener(f"http://localhost:{port}/callback"):
            pass


# --- where the tokens are kept ----------------------------------------------------------------------


def test_the_config_directory_follows_xdg_and_tachiai_config_dir() -> None:
    assert config_dir({"XDG_CONFIG_HOME": "/x"}) == Path("/x/tachiai")
    assert config_dir({"XDG_CONFIG_HOME": "/x", "TACHIAI_CONFIG_DIR": "/t"}) == Path("/t")
    assert config_dir({}) == Path.home() / ".config" / "tachiai"


def test_the_credentials_file_is_owner_only_whatever_the_umask(tmp_path: Path) -> None:
    directory = tmp_path / "config" / "tachiai"
    previous = os.umask(0o000)
    try:
        CredentialStore(directory).put("default", a_profile())
    finally:
        os.umask(previous)
    assert stat.S_IMODE((directory / "credentials.json").stat().st_mode) == 0o600
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    assert [p.name for p in directory.iterdir()] == ["credentials.json"]  # no draft left behind


def test_profiles_are_kept_apart_and_deleted_one_by_one(tmp_path: Path) -> None:
    store = CredentialStore(tmp_path)
    store.put("default", a_profile())
    store.put("prod", a_profile(api_url="https://prod.example.jp/v1"))
    assert store.delete("default") is True
    assert store.get("default") is None
    assert store.get("prod") == a_profile(api_url="https://prod.example.jp/v1")
    assert store.delete("default") is False


def test_an_unreadable_credentials_file_counts_as_signed_out(tmp_path: Path) -> None:
    (tmp_path / "credentials.json").write_text("{not json")
    assert CredentialStore(tmp_path).get("default") is None


# --- refreshing -------------------------------------------------------------------------------------


def test_a_token_valid_for_a_while_yet_is_used_without_a_refresh(tmp_path: Path) -> None:
    store, endpoint = CredentialStore(tmp_path), FakeTokenEndpoint()
    store.put("default", a_profile(expires_at=NOW + REFRESH_MARGIN_SECONDS + 60))
    assert fresh_profile(store, "default", endpoint, now=NOW).access_token == "old-access"  # type: ignore[arg-type]
    assert endpoint.posted == []


def test_a_token_near_expiry_is_refreshed_and_saved_keeping_the_refresh_token(tmp_path: Path) -> None:
    store = CredentialStore(tmp_path)
    endpoint = FakeTokenEndpoint(body={"access_token": "new-access", "expires_in": 3600})
    store.put("default", a_profile(expires_at=NOW + 30))

    profile = fresh_profile(store, "default", endpoint, now=NOW)  # type: ignore[arg-type]

    assert endpoint.posted == [
        (
            "https://login.example.jp/oauth2/token",
            {"grant_type": "refresh_token", "client_id": "client", "refresh_token": "the-refresh"},
        )
    ]
    assert profile.access_token == "new-access"
    assert profile.expires_at == NOW + 3600
    saved = store.get("default")
    assert saved is not None
    assert saved.access_token == "new-access"
    assert saved.refresh_token == "the-refresh"


def test_a_refused_refresh_says_the_session_expired(tmp_path: Path) -> None:
    store = CredentialStore(tmp_path)
    store.put("default", a_profile(expires_at=NOW - 10))
    with pytest.raises(SessionExpired):
        fresh_profile(store, "default", FakeTokenEndpoint(400, {"error": "invalid_grant"}), now=NOW)  # type: ignore[arg-type]


def test_no_profile_is_not_signed_in(tmp_path: Path) -> None:
    with pytest.raises(NotSignedIn):
        fresh_profile(CredentialStore(tmp_path), "default", FakeTokenEndpoint(), now=NOW)  # type: ignore[arg-type]


def test_a_profiles_token_goes_only_to_its_own_api(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TACHIAI_CONFIG_DIR", str(tmp_path))
    monkeypatch.delenv("TACHIAI_PROFILE", raising=False)
    CredentialStore().put("default", a_profile(expires_at=9_999_999_999))
    args = argparse.Namespace(profile=None)
    client = profile_client(args, "https://api.example.jp/v1/")
    assert client.session.headers["Authorization"] == "Bearer old-access"
    with pytest.raises(ProfileUrlMismatch):
        profile_client(args, "https://elsewhere.example.jp/v1")


# --- `tachiai users add --local` ------------------------------------------------------------------------


def test_users_add_local_writes_the_local_store_and_prints_a_password_that_signs_in(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TACHIAI_LANGUAGE", "en")
    state = tmp_path / "state"
    argv = ["users", "add", "jiro@example.co.jp", "--name", "次郎", "--role", "admin", "--local"]
    assert main([*argv, "--state-dir", str(state)]) == 0
    printed = capsys.readouterr().out
    store = LocalUserStore(state / "users.json")
    (user,) = store.users()
    assert (user.email, user.name, user.role) == ("jiro@example.co.jp", "次郎", "admin")
    password = next(word for word in printed.split() if store.authenticate(user.email, word) is not None)
    assert password not in (state / "users.json").read_text()

    assert main([*argv, "--state-dir", str(state)]) == 2
    assert "user_exists" in capsys.readouterr().err
