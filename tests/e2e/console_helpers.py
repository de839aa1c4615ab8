"""What the console's browser tests share: a Chromium that downloads into a folder, signing in on the
local sign-in page by typing, waiting for the next page after a click, the recipient's clicks on the
signing page, the axe-core check and the screenshots of each step (tests/e2e/artifacts/, not committed).

axe-core comes from npm (package.json devDependencies: ``npm ci``), injected into the page with
``execute_script``; the console's CSP does not stop it (WebDriver scripts are not page scripts).
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait
from tachiai.local.outbox import OutboxMail
from tachiai.local.runtime import LocalRuntime

from tests.conftest import require_tool
from tests.e2e.test_recipient_page_in_chromium import CHROMIUM_FLAGS

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
WAIT = 30.0
"""Seconds a step may take before the test gives up (a bound, never an assertion on time)."""


def axe_source() -> str:
    """axe-core's script; fails in CI and skips elsewhere when ``npm ci`` was not run."""
    if not AXE.exists():
        message = f"{AXE} is missing: run `npm ci` (axe-core is a devDependency)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    return AXE.read_text(encoding="utf-8")


def serious_violations(driver: WebDriver) -> list[dict[str, Any]]:
    """The page's axe-core violations of impact serious or critical (rule, impact, elements)."""
    driver.execute_script(axe_source())
    result = driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document, {resultTypes: ['violations']}).then(r => done(r.violations), e => done(String(e)));"
    )
    assert isinstance(result, list), result
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]]}
        for v in result
        if v.get("impact") in ("serious", "critical")
    ]


def chromium(*, width: int = 1280, height: int = 900, downloads: Path | None = None) -> WebDriver:
    """Headless system Chromium with JavaScript on; PDFs (and every other file) it is sent to are saved
    in ``downloads`` instead of being shown."""
    binary = require_tool("chromium", "chromium")
    driver_path = require_tool("chromedriver", "chromium-driver")
    options = Options()
    options.binary_location = binary
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--window-size={width},{height}")
    options.add_argument("--lang=ja")
    if downloads is not None:
        options.add_experimental_option(
            "prefs",
            {
                "download.default_directory": str(downloads),
                "download.prompt_for_download": False,
                "plugins.always_open_pdf_externally": True,
            },
        )
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    if downloads is not None:
        # Headless Chromium ignores the download preference unless DevTools allows it too.
        behaviour = {"behavior": "allow", "downloadPath": str(downloads)}
        driver.execute_cdp_cmd("Browser.setDownloadBehavior", behaviour)  # type: ignore[attr-defined]
    driver.implicitly_wait(5)
    return driver


class Steps:
    """One screenshot per step of a test, ``artifacts/<test>/NN-step.png``, after checking the page with
    axe-core (no serious or critical violation on any page a step shows)."""

    def __init__(self, driver: WebDriver, test: str) -> None:
        self.driver = driver
        self.folder = ARTIFACTS / test
        shutil.rmtree(self.folder, ignore_errors=True)
        self.folder.mkdir(parents=True)
        self.count = 0

    def __call__(self, name: str) -> None:
        self.count += 1
        (self.folder / f"{self.count:02d}-{name}.png").write_bytes(full_page_png(self.driver))
        violations = serious_violations(self.driver)
        assert violations == [], f"{name} ({self.driver.current_url}): " + json.dumps(
            violations, ensure_ascii=False, indent=1
        )


def full_page_png(driver: WebDriver) -> bytes:
    """A screenshot of the whole page, below the fold too (DevTools; save_screenshot stops at the
    window's edge)."""
    size = driver.execute_cdp_cmd("Page.getLayoutMetrics", {})["cssContentSize"]  # type: ignore[attr-defined]
    clip = {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1}
    shot = driver.execute_cdp_cmd(  # type: ignore[attr-defined]
        "Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True, "clip": clip}
    )
    return base64.b64decode(shot["data"])


def text(driver: WebDriver) -> str:
    return str(driver.find_element(By.TAG_NAME, "body").text)


def heading(driver: WebDriver) -> str:
    return str(driver.find_element(By.TAG_NAME, "h1").text)


def submit(driver: WebDriver, by: str, selector: str) -> None:
    """Click a button or link and wait for the next page (click() returns before the navigation)."""
    page = driver.find_element(By.TAG_NAME, "html").id
    driver.find_element(by, selector).click()
    # A new document has a new root element. (Not staleness_of: asking the old element, chromedriver may
    # answer "node does not belong to the document" instead of a stale reference.)
    WebDriverWait(driver, WAIT, ignored_exceptions=(WebDriverException,)).until(
        lambda d: d.find_element(By.TAG_NAME, "html").id != page
    )


def until(driver: WebDriver, condition: Callable[[WebDriver], Any], timeout: float = WAIT) -> Any:
    return WebDriverWait(driver, timeout, ignored_exceptions=(WebDriverException,)).until(condition)


def type_into(driver: WebDriver, element_id: str, value: str) -> None:
    """Replace what a field holds with ``value``, as a person selects it and types."""
    field = driver.find_element(By.ID, element_id)
    field.clear()
    field.send_keys(value)


def choose(driver: WebDriver, element_id: str, value: str) -> None:
    """Pick the option whose value is ``value`` in a select."""
    driver.find_element(By.CSS_SELECTOR, f"#{element_id} option[value='{value}']").click()


def sign_in(
    driver: WebDriver,
    runtime: LocalRuntime,
    email: str,
    password: str,
    *,
    new_password: str | None = None,
    steps: Steps | None = None,
) -> None:
    """Open the console, be sent to the local sign-in page, type the address and password (and, on a
    first sign-in with a temporary password, choose ``new_password``), and land on the home page."""
    driver.get(runtime.console_url + "?lang=ja")  # headless Chromium asks for English whatever --lang says
    assert "/oauth2/authorize" in driver.current_url or "/login" in driver.current_url
    driver.find_element(By.ID, "username").send_keys(email)
    driver.find_element(By.ID, "password").send_keys(password)
    if steps is not None:
        steps("sign-in-page")
    submit(driver, By.CSS_SELECTOR, "button[type=submit]")
    if new_password is not None:
        field = driver.find_element(By.ID, "new_password")
        field.send_keys(new_password)
        if steps is not None:
            steps("choose-password")
        submit(driver, By.CSS_SELECTOR, "button[type=submit]")
    until(driver, lambda d: d.current_url.startswith(runtime.console_url))
    assert heading(driver) == "書類一覧"


def sign_out(driver: WebDriver) -> None:
    submit(driver, By.CSS_SELECTOR, "header form.who button[type=submit]")
    until(driver, lambda d: "/app/signed-out" in d.current_url)


def mail(runtime: LocalRuntime, address: str, subject_has: str, timeout: float = WAIT) -> OutboxMail:
    """The latest mail to ``address`` whose subject has ``subject_has`` (waits for it)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [m for m in runtime.outbox.to(address) if subject_has in m.subject]
        if found:
            return found[-1]
        time.sleep(0.1)
    raise AssertionError(f"no mail to {address} about {subject_has}")


def signing_link(runtime: LocalRuntime, address: str, title: str) -> str:
    """The signing page's link in the request mail to ``address`` about ``title``."""
    return next(link for link in mail(runtime, address, title).links if "/s/" in link)


def temporary_password(invitation: OutboxMail) -> str:
    """The temporary password an invitation mail gives."""
    found = re.search(r"(?:仮パスワード|Temporary password)\s*[:：]\s*(\S+)", invitation.text)
    assert found is not None, invitation.text
    return found.group(1)


def open_signing_page(driver: WebDriver, link: str, access_code: str | None) -> None:
    """Open the link from the mail, type the access code if one is asked, accept the terms: the
    documents and the agree button."""
    driver.get(link)
    if access_code is not None:
        driver.find_element(By.ID, "access_code").send_keys(access_code)
    driver.find_element(By.ID, "accept_terms").click()
    submit(driver, By.CSS_SELECTOR, "form button[type=submit]")


def agree(driver: WebDriver) -> None:
    submit(driver, By.XPATH, "//form[contains(@action, '/agree')]//button")


def reject(driver: WebDriver, reason: str) -> None:
    """Unfold the signing page's "reject" section (a <details>), give the reason and reject."""
    driver.find_element(By.XPATH, "//details[.//form[contains(@action, '/reject')]]/summary").click()
    driver.find_element(By.ID, "reject_reason").send_keys(reason)
    submit(driver, By.XPATH, "//form[contains(@action, '/reject')]//button")


def downloaded(folder: Path, suffix: str, timeout: float = WAIT) -> Path:
    """The file Chromium finished saving in ``folder`` (no ``.crdownload`` left)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = [p for p in folder.iterdir() if p.suffix == suffix]
        partial = [p for p in folder.iterdir() if p.suffix == ".crdownload"]
        if done and not partial:
            return done[0]
        time.sleep(0.1)
    raise AssertionError(f"nothing {suffix} downloaded into {folder}: {sorted(folder.iterdir())}")


def scrolls_sideways(driver: WebDriver) -> int:
    """How many pixels the page is wider than the viewport (0: no horizontal scroll)."""
    width = int(driver.execute_script("return document.documentElement.scrollWidth"))
    viewport = int(driver.execute_script("return window.innerWidth"))
    return max(0, width - viewport)


def as_phone(driver: WebDriver, on: bool) -> None:
    """Emulate a 375 px phone viewport in the same (signed-in) browser, or go back to the desktop."""
    if on:
        metrics = {"width": 375, "height": 812, "deviceScaleFactor": 1, "mobile": True}
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)  # type: ignore[attr-defined]
    else:
        driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})  # type: ignore[attr-defined]
