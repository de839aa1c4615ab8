"""S1: the console's front door — sign-in (authorization code + PKCE), server-side sessions, sign-out.

The console runs in-process on the fakes (tests/console_browser.py); the login service is the fake
one (tests/fakes.py FakeLogin), so each test plays the login service's part by hand: it reads the
authorize URL the console sent the browser to and comes back to the callback with a code.
"""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from tachiai.config import Settings
from tachiai.console import session as sessions
from tachiai.console.framework import SESSION_COOKIE, SIGN_IN_COOKIE

from tests.console_browser import ADMIN, MEMBER, OTHER_MEMBER, ConsoleBrowser, Page, add_person, id_claims
from tests.fakes import FakeWorld, fake_world

PUBLIC = "https://sign.example.co.jp/prod"


@pytest.fixture
def world() -> FakeWorld:
    return fake_world(
        settings=Settings(
            table="envelopes",
            bucket="documents",
            public_url=PUBLIC,
            mail_from="noreply@sign.example.co.jp",
            login_url="https://login.example.co.jp",
            login_client_id="console-client",
        )
    )


def start_sign_in(browser: ConsoleBrowser, path: str = "/prod/app") -> dict[str, str]:
    """Ask for ``path`` signed out and follow the console to the login service: its query."""
    page = browser.get(path)
    assert page.status == 303 and page.location is not None
    assert page.location.startswith("/prod/app/sign-in?next=")
    page = browser.follow()
    assert page.status == 303 and page.location is not None
    login = urlsplit(page.location)
    assert f"{login.scheme}://{login.netloc}" == "https://login.example.co.jp"
    return {k: v[-1] for k, v in parse_qs(login.query).items()}


def come_back(browser: ConsoleBrowser, world: FakeWorld, query: dict[str, str], person=MEMBER) -> Page:
    """The login service signs ``person`` in and sends the browser to the callback with a code."""
    add_person(world, person)
    world.login.codes["code-1"] = (id_claims(person), "refresh-1")
    return browser.get(f"{browser.base}/app/callback?code=code-1&state={query['state']}")


def set_cookie(page: Page, name: str) -> str:
    found = [c for c in page.headers.get("Set-Cookie", []) if c.startswith(f"{name}=")]
    assert found, f"no {name} cookie set"
    return found[-1]


def test_a_page_asked_for_signed_out_goes_to_the_sign_in_and_comes_back_to_the_same_page(world):
    browser = ConsoleBrowser(world, person=None)
    query = start_sign_in(browser, "/prod/app?status=draft")
    assert query["code_challenge"] and query["redirect_uri"] == f"{PUBLIC}/app/callback"

    page = come_back(browser, world, query)

    assert page.status == 303 and page.location == "/prod/app?status=draft"
    assert world.login.exchanged[0]["redirect_uri"] == f"{PUBLIC}/app/callback"
    home = browser.follow()
    assert home.status == 200 and "山田 太郎" in home.text()


def test_the_code_is_exchanged_with_the_verifier_whose_challenge_was_sent(world):
    browser = ConsoleBrowser(world, person=None)
    query = start_sign_in(browser)

    come_back(browser, world, query)

    assert sessions.pkce_challenge(world.login.exchanged[0]["verifier"]) == query["code_challenge"]


def test_a_callback_with_another_state_is_refused_and_its_code_never_exchanged(world):
    browser = ConsoleBrowser(world, person=None)
    start_sign_in(browser)

    page = come_back(browser, world, {"state": "forged-state"})

    assert page.status == 400
    assert "このサインインはこのブラウザーで始めたものではない" in page.text()
    assert world.login.exchanged == []
    assert browser.session_id is None


def test_a_callback_without_the_sign_in_cookie_is_refused(world):
    browser = ConsoleBrowser(world, person=None)
    query = start_sign_in(browser)
    browser.cookies = {k: v for k, v in browser.cookies.items() if k[0] != SIGN_IN_COOKIE}

    page = come_back(browser, world, query)

    assert page.status == 400 and world.login.exchanged == []


def test_a_sign_in_older_than_ten_minutes_is_refused(world):
    browser = ConsoleBrowser(world, person=None)
    query = start_sign_in(browser)
    world.clock.advance(timedelta(minutes=11))

    page = come_back(browser, world, query)

    assert page.status == 400 and world.login.exchanged == []


def test_the_sign_in_cookie_is_for_the_callback_only_and_used_once(world):
    browser = ConsoleBrowser(world, person=None)
    browser.get("/prod/app")
    started = browser.follow()
    cookie = set_cookie(started, SIGN_IN_COOKIE)
    assert "Path=/prod/app/callback" in cookie and "HttpOnly" in cookie and "Secure" in cookie
    query = {k: v[-1] for k, v in parse_qs(urlsplit(started.location or "").query).items()}

    page = come_back(browser, world, query)

    assert "Max-Age=0" in set_cookie(page, SIGN_IN_COOKIE)


@pytest.mark.parametrize(
    "wanted",
    [
        "https://evil.example/app",
        "//evil.example/app",
        "/\\evil.example",
        "/app/../v1/users",
        "javascript:alert(1)",
        "/appendix",
        "/v1/envelopes",
        "/app/callback?code=x",
        "/app\r\nLocation: https://evil.example",
    ],
)
def test_next_never_leads_off_the_console(wanted):
    assert sessions.safe_next(wanted) == "/app"


def test_next_keeps_a_console_page_and_its_query():
    assert sessions.safe_next("/app/ledger?counterparty=ACME") == "/app/ledger?counterparty=ACME"


def test_a_sign_in_asked_to_go_elsewhere_lands_on_the_home_page(world):
    browser = ConsoleBrowser(world, person=None)
    browser.get("/prod/app/sign-in?next=https%3A%2F%2Fevil.example%2F")
    query = {k: v[-1] for k, v in parse_qs(urlsplit(browser.last.location or "").query).items()}

    page = come_back(browser, world, query)

    assert page.location == "/prod/app"


def test_the_session_cookie_is_httponly_secure_lax_under_the_consoles_path(world):
    browser = ConsoleBrowser(world, person=None)
    page = come_back(browser, world, start_sign_in(browser))

    cookie = set_cookie(page, SESSION_COOKIE)

    assert "HttpOnly" in cookie and "Secure" in cookie and "SameSite=Lax" in cookie
    assert "Path=/prod/app" in cookie
    session_id = cookie.split(";")[0].split("=", 1)[1]
    stored = world.console_sessions.sessions
    assert session_id not in str(stored) and sessions.session_key(session_id) in stored


def test_the_refresh_token_stays_on_the_server(world):
    browser = ConsoleBrowser(world, person=None)
    page = come_back(browser, world, start_sign_in(browser))

    home = browser.follow()

    assert "refresh-1" not in page.body + home.body + str(page.headers) + str(home.headers)
    assert next(iter(world.console_sessions.sessions.values())).refresh_token == "refresh-1"


def test_on_plain_http_loopback_the_session_cookie_is_not_secure():
    world = fake_world(
        settings=Settings(table="t", bucket="b", public_url="http://127.0.0.1:8080", login_client_id="c")
    )
    browser = ConsoleBrowser(world, person=None)
    browser.get("/app")
    browser.follow()
    query = {k: v[-1] for k, v in parse_qs(urlsplit(browser.last.location or "").query).items()}

    page = come_back(browser, world, query)

    cookie = set_cookie(page, SESSION_COOKIE)
    assert "Secure" not in cookie and "HttpOnly" in cookie and "Path=/app" in cookie


def test_signing_out_ends_the_session_revokes_the_refresh_token_and_ends_the_login(world):
    browser = ConsoleBrowser(world, MEMBER)
    browser.get("/prod/app")

    page = browser.post("/prod/app/sign-out", {})

    assert page.status == 303
    logout = urlsplit(page.location or "")
    assert logout.netloc == "login.example.co.jp" and logout.path == "/logout"
    assert parse_qs(logout.query)["logout_uri"] == [f"{PUBLIC}/app/signed-out"]
    assert world.console_sessions.sessions == {}
    assert len(world.login.revoked) == 1
    assert browser.get("/prod/app").status == 303  # to the sign-in again


def test_the_signed_out_page_offers_to_sign_in_again(world):
    browser = ConsoleBrowser(world, person=None)

    page = browser.get("/prod/app/signed-out")

    assert page.status == 200 and "/prod/app/sign-in" in page.links()
    assert not page.xpath("//form[contains(@action, 'sign-out')]")


def test_signing_out_everywhere_ends_every_session_of_the_person_and_no_one_elses(world):
    laptop, phone = ConsoleBrowser(world, MEMBER), ConsoleBrowser(world, MEMBER)
    colleague = ConsoleBrowser(world, OTHER_MEMBER)
    laptop.get("/prod/app")

    page = laptop.post("/prod/app/sign-out", {"everywhere": "1"})

    assert page.status == 303 and "everywhere%3D1" in (page.location or "")
    assert phone.get("/prod/app").status == 303
    assert colleague.get("/prod/app").status == 200
    assert world.login.signed_out_everywhere == [MEMBER.username]
    assert len(world.login.revoked) == 2


def test_a_session_idle_for_an_hour_is_over(world):
    browser = ConsoleBrowser(world, MEMBER)
    world.clock.advance(timedelta(minutes=59))
    assert browser.get("/prod/app").status == 200

    world.clock.advance(timedelta(minutes=61))

    page = browser.get("/prod/app")
    assert page.status == 303 and "sign-in" in (page.location or "")
    assert world.console_sessions.sessions == {}


def test_a_session_in_use_is_over_twelve_hours_after_sign_in(world):
    browser = ConsoleBrowser(world, MEMBER)
    for _ in range(23):  # every half hour: never idle
        world.clock.advance(timedelta(minutes=30))
        assert browser.get("/prod/app").status == 200

    world.clock.advance(timedelta(minutes=31))

    assert browser.get("/prod/app").status == 303


def test_a_member_disabled_meanwhile_is_signed_out_at_the_next_check(world):
    browser = ConsoleBrowser(world, MEMBER)
    world.directory.set_enabled(MEMBER.username, False)
    world.clock.advance(sessions.RECHECK_INTERVAL)

    assert browser.get("/prod/app").status == 303
    assert world.console_sessions.sessions == {}


def test_a_role_changed_meanwhile_takes_effect_at_the_next_check(world):
    browser = ConsoleBrowser(world, MEMBER)
    assert "/prod/app/members" not in browser.get("/prod/app").links()
    world.directory.set_role(MEMBER.username, "admin")
    world.clock.advance(sessions.RECHECK_INTERVAL)

    assert "/prod/app/members" in browser.get("/prod/app").links()


def test_an_admin_sees_the_members_entry_and_a_member_does_not(world):
    assert "/prod/app/members" in ConsoleBrowser(world, ADMIN).get("/prod/app").links()
    assert "/prod/app/members" not in ConsoleBrowser(world, MEMBER).get("/prod/app").links()
