"""Headless Chromium for the browser tests, offline (no request leaves the machine)."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

import pytest

CHROMIUM = next((p for p in map(shutil.which, ("chromium", "chromium-browser")) if p), None)
CHROMEDRIVER = shutil.which("chromedriver")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--no-proxy-server")


@contextmanager
def offline_chromium(width: int, *, flags: Iterable[str] = (), logs: bool = False,
                     on_new_document: str | None = None) -> Iterator:
    """A Chromium driver with the network switched off, ``width`` x 900 px, its own
    profile; ``logs`` records the browser and performance logs, ``on_new_document`` is a
    script run before each page's own."""
    if CHROMEDRIVER is None:
        pytest.fail("chromium is installed but chromedriver is not: install the Debian "
                    "package 'chromium-driver'")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    profile = tempfile.mkdtemp(prefix="wb-chromium-")
    for flag in (*FLAGS, *flags, f"--user-data-dir={profile}", f"--window-size={width},900"):
        options.add_argument(flag)
    if logs:
        options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        driver.execute_cdp_cmd("Network.enable", {})
        driver.execute_cdp_cmd("Network.emulateNetworkConditions", {
            "offline": True, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1})
        if on_new_document:
            driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument",
                                   {"source": on_new_document})
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
