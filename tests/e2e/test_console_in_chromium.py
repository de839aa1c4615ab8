"""S1, S4: the console in a real browser (headless Chromium) against ``tachiai local`` — sign in by
clicks on the local sign-in page, the home page, the language switch, sign out — with an axe-core
accessibility check (no serious or critical violation) and screenshots at 375 px and on a desktop,
saved under tests/e2e/artifacts/ (not committed).

axe-core and the check are in tests/e2e/console_helpers.py (shared with the click-through test).
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait
from tachiai.local.runtime import LocalRuntime

from tests.e2e.console_helpers import ARTIFACTS, serious_violations
from tests.e2e.test_recipient_page_in_chromium import _chromium

ADMIN_EMAIL = "console-admin@tachiai-tech.example"


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRuntime]:
    with LocalRuntime(tmp_path_factory.mktemp("console-browser"), persist=False) as running:
        yield running


@pytest.fixture(scope="module")
def password(runtime: LocalRuntime) -> str:
    return runtime.console_admin(ADMIN_EMAIL, "管理 花子")


@pytest.fixture
def desktop() -> Iterator[WebDriver]:
    driver = _chromium(javascript=True, width=1280, height=900)
    yield driver
    driver.quit()


@pytest.fixture
def phone() -> Iterator[WebDriver]:
    driver = _chromium(javascript=True, width=375, height=812)
    # A desktop window cannot be this narrow: the phone's viewport is emulated.
    metrics = {"width": 375, "height": 812, "deviceScaleFactor": 1, "mobile": True}
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)  # type: ignore[attr-defined]
    yield driver
    driver.quit()


def shoot(driver: WebDriver, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    driver.save_screenshot(str(ARTIFACTS / f"console-{name}.png"))


def sign_in_by_clicks(driver: WebDriver, runtime: LocalRuntime, password: str) -> None:
    driver.get(runtime.console_url + "?lang=ja")  # headless Chromium asks for English whatever --lang says
    # The console sent the browser to the local sign-in page.
    assert "/oauth2/authorize" in driver.current_url or "/login" in driver.current_url
    driver.find_element(By.ID, "username").send_keys(ADMIN_EMAIL)
    driver.find_element(By.ID, "password").send_keys(password)
    driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    WebDriverWait(driver, 30).until(lambda d: d.current_url.startswith(runtime.console_url))
    assert driver.current_url == runtime.console_url + "?lang=ja"  # back on the page asked for
    assert driver.find_element(By.TAG_NAME, "h1").text == "書類一覧"


def test_a_person_signs_in_by_clicks_switches_language_and_signs_out(desktop, runtime, password):
    sign_in_by_clicks(desktop, runtime, password)
    shoot(desktop, "home-desktop-ja")

    desktop.find_element(By.LINK_TEXT, "English").click()
    WebDriverWait(desktop, 30).until(lambda d: "lang=en" in d.current_url)
    assert desktop.find_element(By.TAG_NAME, "h1").text == "Documents"
    desktop.get(runtime.console_url)  # the choice is remembered
    assert desktop.find_element(By.TAG_NAME, "html").get_attribute("lang") == "en"
    shoot(desktop, "home-desktop-en")

    desktop.find_element(By.CSS_SELECTOR, "header form button[type=submit]").click()
    WebDriverWait(desktop, 30).until(lambda d: "/app/signed-out" in d.current_url)
    assert desktop.current_url.startswith(runtime.url + "/app/signed-out")
    assert desktop.find_element(By.TAG_NAME, "h1").text == "You are signed out"
    shoot(desktop, "signed-out")
    desktop.get(runtime.console_url)
    assert "/oauth2/authorize" in desktop.current_url or "/login" in desktop.current_url


def test_the_home_page_has_no_serious_accessibility_violation(desktop, runtime, password):
    sign_in_by_clicks(desktop, runtime, password)

    violations = serious_violations(desktop)

    assert violations == [], json.dumps(violations, ensure_ascii=False, indent=1)


def test_the_signed_out_page_has_no_serious_accessibility_violation(desktop, runtime):
    desktop.get(runtime.url + "/app/signed-out")

    assert serious_violations(desktop) == []


def test_the_home_page_is_usable_at_375_px(phone, runtime, password):
    sign_in_by_clicks(phone, runtime, password)
    shoot(phone, "home-375")

    assert phone.execute_script("return window.innerWidth") == 375
    width = phone.execute_script("return document.documentElement.scrollWidth")
    assert width <= 375, f"the page scrolls sideways ({width} px)"
    button = phone.find_element(By.LINK_TEXT, "新規作成")
    assert button.is_displayed()
    assert serious_violations(phone) == []
