"""`tachiai login` against `tachiai local`, then the staff commands with the cached profile: the sign-in
page driven over HTTP as a browser would, the tokens kept owner-only, whoami, users add/list/set-role/
disable, the refusals, and logout."""

from __future__ import annotations

import json
import re
import socket
import stat
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from tachiai.cli import main
from tachiai.local.runtime import LocalRuntime

ADMIN_EMAIL = "admin@example.co.jp"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


CALLBACK_PORT = _free_port()


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRuntime]:
    with LocalRuntime(
        tmp_path_factory.mktemp("login"),
        persist=False,
        login_redirect_uris=(f"http://localhost:{CALLBACK_PORT}/callback",),
    ) as running:
        yield running


@pytest.fixture(scope="module")
def admin_password(runtime: LocalRuntime) -> str:
    password = runtime.ensure_first_admin(ADMIN_EMAIL, "管理 太郎")
    assert password is not None
    assert runtime.ensure_first_admin(ADMIN_EMAIL, "again") is None  # printed once only
    return password


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("TACHIAI_LANGUAGE", "en")
    for name in ("TACHIAI_URL", "TACHIAI_TOKEN", "TACHIAI_PROFILE", "TACHIAI_CONFIG_DIR"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path / "config" / "tachiai"


def browser_sign_in(authorize_url: str, email: str, password: str) -> str:
    """What a person's browser does: open the sign-in page, post the form, and stop at the redirect
    (the address the browser is sent to, with the code)."""
    browser = requests.Session()
    page = browser.get(authorize_url, timeout=30)
    assert page.status_code == 200
    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', page.text))
    answer = browser.post(
        authorize_url.split("/oauth2/")[0] + "/login",
        data={**fields, "username": email, "password": password},
        allow_redirects=False,
        timeout=30,
    )
    assert answer.status_code == 302, answer.text
    return answer.headers["Location"]


def printed_url(text: str) -> str:
    return re.search(r"(http://\S+/oauth2/authorize\?\S+)", text).group(1)  # type: ignore[union-attr]


def login_no_browser(
    runtime: LocalRuntime,
    admin_password: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    def paste(prompt: str = "") -> str:
        return browser_sign_in(printed_url(capsys.readouterr().err), ADMIN_EMAIL, admin_password)

    monkeypatch.setattr("builtins.input", paste)
    assert main(["login", "--no-browser", "--url", runtime.url]) == 0


def test_login_without_a_browser_keeps_owner_only_tokens_and_whoami_answers(
    runtime: LocalRuntime,
    admin_password: str,
    config: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    login_no_browser(runtime, admin_password, monkeypatch, capsys)
    assert f"<{ADMIN_EMAIL}>" in capsys.readouterr().out
    credentials = config / "credentials.json"
    assert stat.S_IMODE(credentials.stat().st_mode) == 0o600
    assert stat.S_IMODE(config.stat().st_mode) == 0o700
    assert main(["whoami"]) == 0
    out = capsys.readouterr().out
    assert ADMIN_EMAIL in out and "admin" in out


def test_login_with_the_browser_receives_the_code_on_the_loopback_listener(
    runtime: LocalRuntime,
    admin_password: str,
    config: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    followed: list[int] = []

    def open_browser(url: str) -> bool:
        def browse() -> None:
            location = browser_sign_in(url, ADMIN_EMAIL, admin_password)
            followed.append(requests.get(location, timeout=30).status_code)  # to the CLI's listener

        threading.Thread(target=browse, daemon=True).start()
        return True

    monkeypatch.setattr("webbrowser.open", open_browser)
    assert main(["login", "--url", runtime.url, "--profile", "browser"]) == 0
    assert followed == [200]
    assert main(["whoami", "--profile", "browser", "--json"]) == 0
    assert ADMIN_EMAIL in capsys.readouterr().out


def test_a_forged_redirect_with_another_state_is_refused(
    runtime: LocalRuntime,
    admin_password: str,
    config: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    def paste(prompt: str = "") -> str:
        location = browser_sign_in(printed_url(capsys.readouterr().err), ADMIN_EMAIL, admin_password)
        return re.sub(r"state=[^&]+", "state=forged", location)

    monkeypatch.setattr("builtins.input", paste)
    assert main(["login", "--no-browser", "--url", runtime.url]) == 2
    assert "login_state_mismatch" in capsys.readouterr().err
    assert not (config / "credentials.json").exists()


def test_an_administrator_manages_users_with_the_signed_in_profile(
    runtime: LocalRuntime,
    admin_password: str,
    config: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    login_no_browser(runtime, admin_password, monkeypatch, capsys)
    capsys.readouterr()

    assert main(["users", "add", "hanako@example.co.jp", "--name", "担当 花子"]) == 0
    assert "hanako@example.co.jp" in capsys.readouterr().out
    invitation = runtime.outbox.to("hanako@example.co.jp")
    assert len(invitation) == 1
    assert "tachiai login --url" in invitation[0].text

    assert main(["users", "add", "HANAKO@example.co.jp", "--name", "again"]) == 2
    assert "user_exists" in capsys.readouterr().err

    assert main(["users", "list"]) == 0
    listed = capsys.readouterr().out
    assert ADMIN_EMAIL in listed and "hanako@example.co.jp" in listed and "担当 花子" in listed

    assert main(["users", "set-role", "hanako@example.co.jp", "approver"]) == 0
    assert main(["users", "disable", "hanako@example.co.jp", "--json"]) == 0
    capsys.readouterr()
    assert main(["users", "list", "--json"]) == 0
    users = {u["email"]: u for u in json.loads(capsys.readouterr().out)["users"]}
    assert users["hanako@example.co.jp"]["role"] == "approver"
    assert users["hanako@example.co.jp"]["enabled"] is False

    assert main(["users", "disable", ADMIN_EMAIL]) == 2
    assert "cannot_disable_self" in capsys.readouterr().err
    assert main(["users", "set-role", ADMIN_EMAIL, "member"]) == 2
    assert "last_admin" in capsys.readouterr().err
    assert main(["users", "enable", "nobody@example.co.jp"]) == 2
    assert "user_not_found" in capsys.readouterr().err


def test_a_member_is_refused_the_users_commands(
    runtime: LocalRuntime, config: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TACHIAI_URL", runtime.url)
    monkeypatch.setenv("TACHIAI_TOKEN", runtime.token("member@example.co.jp", "担当"))
    assert main(["users", "list"]) == 2
    assert "forbidden_admin_only" in capsys.readouterr().err


def test_logout_revokes_the_session_and_forgets_the_tokens(
    runtime: LocalRuntime,
    admin_password: str,
    config: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    login_no_browser(runtime, admin_password, monkeypatch, capsys)
    access_token = json.loads((config / "credentials.json").read_text())["profiles"]["default"][
        "access_token"
    ]
    assert main(["logout"]) == 0
    assert "default" not in json.loads((config / "credentials.json").read_text())["profiles"]
    capsys.readouterr()
    # The revoked session's access token is refused by the API too, not just forgotten here.
    answer = requests.get(
        f"{runtime.url}/v1/me", headers={"Authorization": f"Bearer {access_token}"}, timeout=30
    )
    assert answer.status_code == 401
    assert main(["whoami"]) == 2
    assert "not_signed_in" in capsys.readouterr().err


def test_a_profile_token_is_not_sent_to_another_api(
    runtime: LocalRuntime,
    admin_password: str,
    config: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    login_no_browser(runtime, admin_password, monkeypatch, capsys)
    capsys.readouterr()
    assert main(["whoami", "--url", "http://127.0.0.1:1"]) == 2
    assert "profile_url_mismatch" in capsys.readouterr().err


def test_the_sign_in_keeps_the_local_guard_other_sites_and_hosts_are_refused(runtime: LocalRuntime) -> None:
    posted = requests.post(
        f"{runtime.url}/login",
        data={"request": "x", "username": ADMIN_EMAIL, "password": "x"},
        headers={"Origin": "https://evil.example"},
        timeout=30,
    )
    assert posted.status_code == 403
    rebound = requests.get(
        f"{runtime.url}/oauth2/authorize", headers={"Host": "evil.example:8080"}, timeout=30
    )
    assert rebound.status_code == 421
