"""Headless Chromium from the OS packages, driven by Selenium through the distro's chromedriver
(``make setup`` installs ``chromium`` and ``chromium-driver`` with apt-get where missing; no
browser is downloaded at run time). Screenshots go to the test's folder, and are copied to
RAYMAKER_CONSOLE_SCREENSHOTS when it names one (CI keeps them as artifacts)."""

from __future__ import annotations

import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path

import pytest

CHROMIUM, CHROMEDRIVER = shutil.which("chromium"), shutil.which("chromedriver")
# Chromium on a closed network: no background fetches, updates, sync or QUIC probes.
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1280,1000",
)


@contextmanager
def chromium(folder: Path):
    """A Selenium driver; its profile, HOME and logs under ``folder`` (a test's tmp_path)."""
    if not (CHROMIUM and CHROMEDRIVER):  # a missing browser fails the test, never skips it
        pytest.fail("no chromium / chromedriver on PATH: `make setup` installs them (apt-get)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    home = folder / "browser-home"
    home.mkdir()
    # Chromium's singleton socket lives in TMPDIR and a unix socket path must stay under 108
    # bytes: tmp_path is too deep, so a short folder in the (private) temp folder, removed after.
    temp = Path(tempfile.mkdtemp(prefix="chr-"))
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (*FLAGS, f"--user-data-dir={folder / 'chromium-profile'}"):
        options.add_argument(flag)
    service = Service(
        CHROMEDRIVER,
        log_output=str(folder / "chromedriver.log"),
        env={**os.environ, "HOME": str(home), "TMPDIR": str(temp)},
    )
    driver = webdriver.Chrome(options=options, service=service)
    try:
        driver.set_page_load_timeout(30)
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(temp, ignore_errors=True)


class Shots:
    """``shot(name)``: a numbered PNG of the page on screen."""

    def __init__(self, driver, folder: Path):
        self.driver, self.folder, self.taken = driver, folder, []
        folder.mkdir()

    def __call__(self, name: str) -> None:
        path = self.folder / f"{len(self.taken) + 1:02d}-{name}.png"
        assert self.driver.save_screenshot(str(path)), name
        self.taken.append(path)

    def keep(self) -> None:
        target = os.environ.get("RAYMAKER_CONSOLE_SCREENSHOTS")
        if target:
            Path(target).mkdir(parents=True, exist_ok=True)
            for path in self.taken:
                shutil.copy(path, Path(target) / path.name)


def navigate(driver, element, timeout_s: float = 20) -> None:
    """Click ``element`` (a link, a form's submit button) and wait for the next page: a click
    returns before a form's POST and its redirect have loaded, and the old page may hold the
    element the test looks for next (the same id, the old text)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    old = driver.find_element(By.TAG_NAME, "html")
    element.click()
    WebDriverWait(driver, timeout_s).until(expected_conditions.staleness_of(old))
