"""The recipient's page in a real browser (headless Chromium), as the person who got the mail uses it.

The page works without JavaScript (forms and 303 redirects), so the flow tests run Chromium with
JavaScript turned off: if any step needed a script, they would fail. The layout test turns it on only
to measure the page on a phone-sized window. Chromium comes from Debian (`chromium`,
`chromium-driver`); `.ci/run` installs both.
"""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from pyhanko.pdf_utils.reader import PdfFileReader
from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait
from tachiai.local.client import Party, SenderClient
from tachiai.local.runtime import LocalRuntime
from tachiai.local.samples import sample_nda_pdf

from tests.conftest import require_tool

SENDER_EMAIL = "keiyaku@tachiai-tech.example"
HANAKO = Party("山﨑花子", "hanako@yamazaki.example", "山﨑商事株式会社", access_code="4729")
ALICE = Party("Alice Smith", "alice@example.com", "Example Inc.", language="en")
WANG = Party("王小明", "xiaoming.wang@example.cn", "上海示例科技有限公司", language="zh")
# Chromium as root in a sandbox with no internet: no sandbox, no background connections.
CHROMIUM_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


def _chromium(*, javascript: bool, width: int = 1280, height: int = 900) -> WebDriver:
    binary = require_tool("chromium", "chromium")
    driver_path = require_tool("chromedriver", "chromium-driver")
    options = Options()
    options.binary_location = binary
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--window-size={width},{height}")
    options.add_argument("--lang=ja")
    if not javascript:
        options.add_experimental_option("prefs", {"profile.managed_default_content_settings.javascript": 2})
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    driver.implicitly_wait(5)
    return driver


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRuntime]:
    with LocalRuntime(tmp_path_factory.mktemp("browser")) as running:
        yield running


@pytest.fixture(scope="module")
def sender(runtime: LocalRuntime) -> SenderClient:
    return SenderClient(runtime.url, runtime.token(SENDER_EMAIL, "契約 担当"))


@pytest.fixture
def browser() -> Iterator[WebDriver]:
    driver = _chromium(javascript=False)
    yield driver
    driver.quit()


def _send(sender: SenderClient, title: str, *parties: Party, language: str = "ja") -> str:
    created = sender.create(
        title,
        parties,
        [("秘密保持契約書.pdf", sample_nda_pdf())],
        message="ご確認ください。",
        language=language,
    )
    sender.send(created["id"])
    return str(created["id"])


def _link(runtime: LocalRuntime, address: str, title: str, timeout: float = 30.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for mail in runtime.outbox.to(address):
            if title in mail.subject:
                return next(link for link in mail.links if "/s/" in link)
        time.sleep(0.05)
    raise AssertionError(f"no mail to {address} about {title}")


def _text(driver: WebDriver) -> str:
    return str(driver.find_element(By.TAG_NAME, "body").text)


def _submit(driver: WebDriver, by: str, selector: str) -> None:
    """Click a form's button and wait for the next page (click() returns before the navigation)."""
    page = driver.find_element(By.TAG_NAME, "html").id
    driver.find_element(by, selector).click()
    # A new document has a new root element. (Not staleness_of: asking the old element, chromedriver may
    # answer "node does not belong to the document" instead of a stale reference.)
    WebDriverWait(driver, 15, ignored_exceptions=(WebDriverException,)).until(
        lambda d: d.find_element(By.TAG_NAME, "html").id != page
    )


def test_a_recipient_opens_with_the_access_code_and_agrees_with_javascript_off(runtime, sender, browser):
    title = "秘密保持契約書（ブラウザ）"
    envelope_id = _send(sender, title, HANAKO, ALICE)
    browser.get(_link(runtime, HANAKO.email, title))
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "ja"
    assert title in _text(browser)
    # A wrong access code: the same page again, with a notice
    browser.find_element(By.ID, "access_code").send_keys("0000")
    browser.find_element(By.ID, "accept_terms").click()
    _submit(browser, By.CSS_SELECTOR, "form button[type=submit]")
    assert "アクセスコードが違います" in _text(browser)
    # The right one opens the documents, then agree
    browser.find_element(By.ID, "access_code").send_keys("4729")
    browser.find_element(By.ID, "accept_terms").click()
    _submit(browser, By.CSS_SELECTOR, "form button[type=submit]")
    document = browser.find_element(By.PARTIAL_LINK_TEXT, "秘密保持契約書.pdf")
    assert document.get_attribute("href").endswith("/documents/d1")
    _submit(browser, By.XPATH, "//button[contains(., '同意する')]")
    assert browser.find_element(By.TAG_NAME, "h1").text == "同意が完了しました"

    # The next party reads the page in English, and agreeing completes the envelope
    browser.get(_link(runtime, ALICE.email, title))
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "en"
    browser.find_element(By.ID, "accept_terms").click()
    _submit(browser, By.CSS_SELECTOR, "form button[type=submit]")
    _submit(browser, By.XPATH, "//button[contains(., 'I have read and agree')]")
    assert browser.find_element(By.TAG_NAME, "h1").text == "You have agreed"
    assert sender.wait_for(envelope_id, "completed")["status"] == "completed"


def test_another_browser_with_the_same_link_must_give_the_access_code_again(runtime, sender, browser):
    title = "秘密保持契約書（別のブラウザ）"
    _send(sender, title, HANAKO)
    link = _link(runtime, HANAKO.email, title)
    browser.get(link)
    browser.find_element(By.ID, "access_code").send_keys("4729")
    browser.find_element(By.ID, "accept_terms").click()
    _submit(browser, By.CSS_SELECTOR, "form button[type=submit]")
    assert browser.find_elements(By.XPATH, "//button[contains(., '同意する')]")
    # Someone else who got hold of the URL (another browser, no cookie) sees the code form, not the
    # documents, and cannot download them by their address either
    other = _chromium(javascript=False)
    try:
        other.get(link)
        assert other.find_elements(By.ID, "access_code")
        assert not other.find_elements(By.XPATH, "//button[contains(., '同意する')]")
        assert not other.find_elements(By.PARTIAL_LINK_TEXT, "秘密保持契約書.pdf")
        other.get(f"{link}/documents/d1")
        assert other.find_elements(By.ID, "access_code")
    finally:
        other.quit()
    # The first browser still reads the document
    assert browser.find_element(By.PARTIAL_LINK_TEXT, "秘密保持契約書.pdf")


def test_a_recipient_declines_with_a_reason_from_the_folded_section(runtime, sender, browser):
    title = "業務委託契約書（ブラウザ却下）"
    envelope_id = _send(sender, title, ALICE)
    browser.get(_link(runtime, ALICE.email, title))
    browser.find_element(By.ID, "accept_terms").click()
    _submit(browser, By.CSS_SELECTOR, "form button[type=submit]")
    browser.find_element(By.XPATH, "//summary[contains(., 'Decline')]").click()  # <details>: no script
    browser.find_element(By.ID, "reject_reason").send_keys("The fee in section 2 is wrong.")
    _submit(browser, By.XPATH, "//button[normalize-space()='Decline']")
    assert browser.find_element(By.TAG_NAME, "h1").text == "You have declined"
    envelope = sender.wait_for(envelope_id, "rejected")
    assert envelope["outcome_reason"] == "The fee in section 2 is wrong."


def test_the_page_fits_a_phone_screen_and_the_browser_reports_no_error(runtime, sender):
    title = "秘密保持契約書（スマートフォン）"
    _send(sender, title, HANAKO)
    phone = _chromium(javascript=True, width=375, height=812)
    try:
        phone.get(_link(runtime, HANAKO.email, title))
        viewport = phone.execute_script("return window.innerWidth")
        assert phone.execute_script("return document.documentElement.scrollWidth") <= viewport
        button = phone.find_element(By.CSS_SELECTOR, "form button[type=submit]")
        assert button.size["height"] >= 40  # a thumb can hit it
        errors = [entry for entry in phone.get_log("browser") if entry["level"] == "SEVERE"]
        assert errors == []  # no CSP violation, no missing resource
    finally:
        phone.quit()


# --- Chinese (issue 11 §5) ----------------------------------------------------------------------


def _fonts(driver: WebDriver, selector: str) -> dict[str, int]:
    """The fonts Chromium really drew the text of ``selector`` with: family → glyphs (DevTools)."""
    driver.execute_cdp_cmd("DOM.enable", {})
    driver.execute_cdp_cmd("CSS.enable", {})
    root = driver.execute_cdp_cmd("DOM.getDocument", {})["root"]["nodeId"]
    node = driver.execute_cdp_cmd("DOM.querySelector", {"nodeId": root, "selector": selector})["nodeId"]
    fonts = driver.execute_cdp_cmd("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]
    return {font["familyName"]: font["glyphCount"] for font in fonts}


def _seal_reasons(sender: SenderClient, envelope_id: str) -> list[str]:
    sealed = next(d for d in sender.downloads(envelope_id) if d["name"] == "秘密保持契約書.pdf")
    reader = PdfFileReader(io.BytesIO(sender.fetch(sealed["url"])))
    return [str(s.sig_object["/Reason"]) for s in reader.embedded_signatures if "/Reason" in s.sig_object]


def test_a_chinese_recipient_agrees_on_a_chinese_page_and_the_envelope_seals_in_chinese(
    runtime, sender, browser
):
    title = "保密协议（浏览器）"
    envelope_id = _send(sender, title, WANG, language="zh")
    browser.get(_link(runtime, WANG.email, title))
    (mail,) = [m for m in runtime.outbox.to(WANG.email) if title in m.subject]
    assert mail.subject == "【契約 担当】邀请您签署《保密协议（浏览器）》"
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "zh"
    assert browser.find_element(By.TAG_NAME, "h1").text == "您有一份待签署的文件"
    browser.find_element(By.ID, "accept_terms").click()
    _submit(browser, By.CSS_SELECTOR, "form button[type=submit]")
    assert browser.find_element(By.TAG_NAME, "h1").text == "请查看文件内容"
    _submit(browser, By.XPATH, "//button[contains(., '我已阅读并同意')]")
    assert browser.find_element(By.TAG_NAME, "h1").text == "您已同意"

    assert sender.wait_for(envelope_id, "completed")["status"] == "completed"
    reasons = _seal_reasons(sender, envelope_id)
    assert any("于" in r and "批准了文件" in r and WANG.name in r for r in reasons), reasons


def test_the_language_switch_turns_the_page_chinese_and_it_stays_chinese_after_the_form(
    runtime, sender, browser
):
    title = "秘密保持契約書（言語切替）"
    _send(sender, title, HANAKO)
    browser.get(_link(runtime, HANAKO.email, title))
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "ja"
    browser.find_element(By.LINK_TEXT, "简体中文").click()
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "zh"
    assert browser.find_element(By.TAG_NAME, "h1").text == "您有一份待签署的文件"
    # A wrong code, then the right one: every page after the form is still Chinese
    browser.find_element(By.ID, "access_code").send_keys("0000")
    browser.find_element(By.ID, "accept_terms").click()
    _submit(browser, By.CSS_SELECTOR, "form button[type=submit]")
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "zh"
    browser.find_element(By.ID, "access_code").send_keys("4729")
    browser.find_element(By.ID, "accept_terms").click()
    _submit(browser, By.CSS_SELECTOR, "form button[type=submit]")
    assert browser.find_element(By.TAG_NAME, "h1").text == "请查看文件内容"
    # And back to Japanese with the same switch
    browser.find_element(By.LINK_TEXT, "日本語").click()
    assert browser.find_element(By.TAG_NAME, "h1").text == "書類の内容をご確認ください"


@pytest.mark.parametrize(
    ("language", "heading", "font"),
    [
        ("ja", "署名依頼が届いています", "Noto Sans CJK JP"),
        ("zh", "您有一份待签署的文件", "Noto Sans CJK SC"),
    ],
)
def test_the_page_draws_japanese_and_chinese_with_a_real_font_of_that_language(
    runtime, sender, browser, tmp_path: Path, language, heading, font
):
    # fonts-noto-cjk draws both; the Chinese page must take the Chinese (SC) glyph shapes, the Japanese
    # page the Japanese ones, and no character may fall back to an empty box. The screenshots (in
    # tmp_path) are for a person to look at; the test itself asks Chromium which fonts it used.
    title = f"秘密保持契約書（字体 {language}）"
    _send(sender, title, HANAKO)
    browser.get(_link(runtime, HANAKO.email, title) + f"?lang={language}")
    assert browser.find_element(By.TAG_NAME, "h1").text == heading

    fonts = _fonts(browser, "h1")
    assert fonts == {font: len(heading)}, fonts
    # The switch names Chinese in Chinese glyphs on every page, a Japanese one included
    assert _fonts(browser, "nav [lang=zh]") == {"Noto Sans CJK SC": len("简体中文")}
    assert browser.save_screenshot(str(tmp_path / f"signing_page_{language}.png"))
