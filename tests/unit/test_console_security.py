"""S1: what every console page carries — CSRF checks on forms, the strict CSP and headers, the language
switch, errors shown as pages, the static files."""

from __future__ import annotations

import re

import pytest
from tachiai.console import framework
from tachiai.console.framework import LANGUAGE_COOKIE, _nav_of

from tests.console_browser import ADMIN, MEMBER, ConsoleBrowser, Page
from tests.fakes import FakeWorld, fake_world


@pytest.fixture
def world() -> FakeWorld:
    return fake_world()


def csp(page: Page) -> dict[str, list[str]]:
    value = page.header("Content-Security-Policy") or ""
    return {d.split()[0]: d.split()[1:] for d in (part.strip() for part in value.split(";")) if d}


def assert_console_headers(page: Page) -> None:
    policy = csp(page)
    assert policy["default-src"] == ["'none'"]
    assert policy["script-src"] == ["'self'"] and policy["style-src"] == ["'self'"]
    assert policy["frame-ancestors"] == ["'none'"] and policy["base-uri"] == ["'none'"]
    assert policy["img-src"] == ["'self'", "data:"] and policy["connect-src"] == ["'self'"]
    assert policy["form-action"][0] == "'self'"
    assert page.header("X-Frame-Options") == "DENY"
    assert page.header("X-Content-Type-Options") == "nosniff"
    assert page.header("Referrer-Policy") == "same-origin"


@pytest.mark.parametrize(
    "path", ["/app", "/app?lang=zh", "/app/signed-out", "/app?cursor=not-a-cursor", "/app/static/console.css"]
)
def test_every_console_answer_has_the_strict_csp_and_security_headers(world, path):
    page = ConsoleBrowser(world, MEMBER).get(path)

    assert_console_headers(page)


def test_pages_are_never_stored_by_a_cache(world):
    page = ConsoleBrowser(world, MEMBER).get("/app")

    assert page.header("Cache-Control") == "no-store"


def test_pages_have_no_inline_script_or_style(world):
    page = ConsoleBrowser(world, ADMIN).get("/app")

    assert (
        not page.xpath("//script[not(@src)]") and not page.xpath("//style") and not page.xpath("//*[@style]")
    )
    assert not re.search(r"\son[a-z]+=", page.body)  # no event handler attributes


def test_a_page_may_add_an_origin_to_connect_src_for_a_direct_upload(world):
    browser = ConsoleBrowser(world, MEMBER)
    browser.get("/app")
    console = framework.Console(browser.app, lambda: world.svc)

    headers = console.security_headers(connect_src=["https://documents.s3.ap-northeast-1.amazonaws.com"])

    assert (
        "connect-src 'self' https://documents.s3.ap-northeast-1.amazonaws.com;"
        in headers["Content-Security-Policy"]
    )


def test_a_form_without_the_csrf_token_is_refused_with_a_403_page(world):
    browser = ConsoleBrowser(world, MEMBER)

    page = browser.post("/app/sign-out", {}, csrf=False)

    assert page.status == 403 and (page.header("Content-Type") or "").startswith("text/html")
    assert "このフォームは受け付けられませんでした" in page.text()
    assert world.console_sessions.sessions  # nothing was done


def test_a_form_with_another_sessions_csrf_token_is_refused(world):
    other = ConsoleBrowser(world, MEMBER)
    browser = ConsoleBrowser(world, MEMBER)

    page = browser.post("/app/sign-out", {"csrf": other.csrf_token() or ""})

    assert page.status == 403 and len(world.console_sessions.sessions) == 2


def test_a_form_posted_from_another_site_is_refused_even_with_the_token(world):
    browser = ConsoleBrowser(world, MEMBER, origin="https://evil.example")

    page = browser.post("/app/sign-out", {})

    assert page.status == 403 and world.console_sessions.sessions


def test_a_form_without_origin_is_judged_by_its_referer(world):
    browser = ConsoleBrowser(world, MEMBER)
    token = browser.csrf_token() or ""
    no_origin = {"Origin": ""}

    foreign = browser.post(
        "/app/sign-out", {"csrf": token}, headers={**no_origin, "Referer": "https://evil.example/app"}
    )
    silent = browser.post("/app/sign-out", {"csrf": token}, headers=no_origin)
    own = browser.post(
        "/app/sign-out", {"csrf": token}, headers={**no_origin, "Referer": "https://sign.example.co.jp/app"}
    )

    assert foreign.status == 403 and silent.status == 403
    assert own.status == 303


def test_a_post_signed_out_goes_to_the_sign_in(world):
    browser = ConsoleBrowser(world, person=None)

    page = browser.post("/app/sign-out", {"csrf": "x"})

    assert page.status == 303 and page.location == "/app/sign-in?next=%2Fapp"


def test_a_multipart_form_is_read_with_its_fields_and_files():
    body = (
        b'--XyZ\r\nContent-Disposition: form-data; name="title"\r\n\r\n\xe5\xa5\x91\xe7\xb4\x84\r\n'
        b'--XyZ\r\nContent-Disposition: form-data; name="file"; filename="a.pdf"\r\n'
        b"Content-Type: application/pdf\r\n\r\n%PDF-1.7\r\n\x00\xff binary\r\n"
        b'--XyZ\r\nContent-Disposition: form-data; name="empty"; filename=""\r\n'
        b"Content-Type: application/octet-stream\r\n\r\n\r\n--XyZ--\r\n"
    )

    fields, files = framework._multipart("multipart/form-data; boundary=XyZ", body)

    assert fields == {"title": ["契約"]}
    assert [(f.name, f.content_type, f.data) for f in files["file"]] == [
        ("a.pdf", "application/pdf", b"%PDF-1.7\r\n\x00\xff binary")
    ]
    assert "empty" not in files


def test_a_multipart_sign_out_form_is_checked_and_done(world):
    browser = ConsoleBrowser(world, MEMBER)

    page = browser.post(
        "/app/sign-out", {}, files={"note": ("n.txt", b"\x00\x01", "application/octet-stream")}
    )

    assert page.status == 303 and world.console_sessions.sessions == {}


def test_the_language_switch_is_remembered_in_a_cookie(world):
    browser = ConsoleBrowser(world, MEMBER)

    switched = browser.get("/app?lang=en")
    later = browser.get("/app")

    assert "Documents" in switched.text() and "Documents" in later.text()
    assert browser.cookie(LANGUAGE_COOKIE) == "en"
    assert later.tree.get("lang") == "en"


def test_without_a_choice_the_browsers_language_is_used_else_japanese(world):
    assert ConsoleBrowser(world, MEMBER, language="zh-CN,zh;q=0.9").get("/app").tree.get("lang") == "zh"
    assert ConsoleBrowser(world, MEMBER, language="fr").get("/app").tree.get("lang") == "ja"


def test_the_language_switch_keeps_the_pages_filters(world):
    page = ConsoleBrowser(world, MEMBER).get("/app?status=draft")

    links = page.xpath("//nav[@class='lang']//a/@href")

    assert "/app?status=draft&lang=en" in links and "/app?status=draft&lang=zh" in links


def test_an_error_a_page_raises_is_shown_in_the_layout_in_the_visitors_language(world):
    browser = ConsoleBrowser(world, MEMBER)

    page = browser.get("/app?cursor=not-a-cursor&lang=en")

    assert page.status == 400 and (page.header("Content-Type") or "").startswith("text/html")
    assert page.xpath("//header//nav") and "Traceback" not in page.body
    assert page.xpath("//*[contains(@class,'error')]") and "The request is invalid (cursor)." in page.text()


def test_the_style_sheet_is_linked_by_its_content_hash_and_cached_for_a_year(world):
    browser = ConsoleBrowser(world, MEMBER)
    href = browser.get("/app").xpath("//link[@rel='stylesheet']/@href")[0]
    assert re.fullmatch(r"/app/static/console\.css\?v=[0-9a-f]{12}", href)

    page = browser.get(href)

    assert page.status == 200 and (page.header("Content-Type") or "").startswith("text/css")
    assert "immutable" in (page.header("Cache-Control") or "")
    etag = page.header("ETag") or ""
    assert browser.get("/app/static/console.css", headers={"If-None-Match": etag}).status == 304


@pytest.mark.parametrize("name", ["nothing.css", "..%2Fbase.html.j2", "console.py"])
def test_only_the_consoles_own_static_files_are_served(world, name):
    assert ConsoleBrowser(world, MEMBER).get(f"/app/static/{name}").status == 404


@pytest.mark.parametrize(
    ("path", "entry"),
    [
        ("/app", "home"),
        ("/app/envelopes/env_1", "home"),
        ("/app/new", "new"),
        ("/app/ledger", "ledger"),
        ("/app/ledger.csv", "ledger"),
        ("/app/ledger/upcoming", "ledger"),
        ("/app/templates/tpl_1/edit", "templates"),
        ("/app/members", "members"),
    ],
)
def test_each_page_marks_the_navigation_entry_it_belongs_to(path: str, entry: str) -> None:
    assert _nav_of(path) == entry
