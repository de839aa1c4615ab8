"""S1: the console's sign-in end to end against ``tachiai local`` over HTTP — the real authorization
code + PKCE dance with the local login service, the session in the local DynamoDB, sign-out."""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from tachiai import names
from tachiai.local.runtime import LocalRuntime

ADMIN_EMAIL = "console-admin@example.co.jp"


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRuntime]:
    with LocalRuntime(tmp_path_factory.mktemp("console"), persist=False) as running:
        yield running


@pytest.fixture(scope="module")
def password(runtime: LocalRuntime) -> str:
    return runtime.console_admin(ADMIN_EMAIL, "管理 花子")


def sign_in(
    runtime: LocalRuntime, password: str, path: str = "/app"
) -> tuple[requests.Session, requests.Response]:
    """A browser: the console page, the sign-in, the local login form, the callback, the page."""
    browser = requests.Session()
    page = browser.get(runtime.url + path, allow_redirects=False, timeout=30)
    assert page.status_code == 303
    page = browser.get(runtime.url + page.headers["Location"], allow_redirects=False, timeout=30)
    assert page.status_code == 303
    authorize = page.headers["Location"]
    assert authorize.startswith(runtime.url + "/oauth2/authorize?")
    query = parse_qs(urlsplit(authorize).query)
    assert query["redirect_uri"] == [runtime.url + names.CONSOLE_CALLBACK_PATH]
    assert query["code_challenge_method"] == ["S256"]
    login = browser.get(authorize, timeout=30)
    assert login.status_code == 200
    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', login.text))
    answer = browser.post(
        runtime.url + "/login",
        data={**fields, "username": ADMIN_EMAIL, "password": password},
        headers={"Origin": runtime.url},
        allow_redirects=False,
        timeout=30,
    )
    assert answer.status_code == 302, answer.text
    callback = answer.headers["Location"]
    assert callback.startswith(runtime.url + names.CONSOLE_CALLBACK_PATH + "?")
    landed = browser.get(callback, allow_redirects=True, timeout=30)
    return browser, landed


def test_a_person_signs_in_through_the_local_login_and_lands_on_the_page_they_asked_for(runtime, password):
    browser, landed = sign_in(runtime, password, "/app?status=draft")

    assert landed.status_code == 200 and landed.url == runtime.url + "/app?status=draft"
    assert "管理 花子" in landed.text and "書類一覧" in landed.text
    assert "Content-Security-Policy" in landed.headers
    session = next(c for c in browser.cookies if c.name == "tachiai_console")
    assert session.has_nonstandard_attr("HttpOnly") and not session.secure  # plain-HTTP loopback
    assert session.path == "/app"


def test_the_style_sheet_is_served_with_the_page(runtime, password):
    browser, landed = sign_in(runtime, password)
    href = re.search(r'<link rel="stylesheet" href="([^"]+)"', landed.text).group(1)  # type: ignore[union-attr]

    css = browser.get(runtime.url + href.replace("&amp;", "&"), timeout=30)

    assert css.status_code == 200 and css.headers["Content-Type"].startswith("text/css")


def test_signing_out_ends_the_session_at_the_console_and_at_the_local_login(runtime, password):
    browser, landed = sign_in(runtime, password)
    token = re.search(r'name="csrf" value="([^"]+)"', landed.text).group(1)  # type: ignore[union-attr]

    out = browser.post(
        runtime.url + "/app/sign-out",
        data={"csrf": token},
        headers={"Origin": runtime.url},
        allow_redirects=True,
        timeout=30,
    )

    assert out.status_code == 200 and out.url == runtime.url + names.CONSOLE_SIGNED_OUT_PATH
    again = browser.get(runtime.url + "/app", allow_redirects=False, timeout=30)
    assert again.status_code == 303 and "/app/sign-in" in again.headers["Location"]
