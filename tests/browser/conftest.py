"""Fixtures of the browser tests: one headless Chromium per module, a fresh context per test.

The tests skip only when no Chromium is installed (CI installs Debian's
``chromium``); the driver, the ``playwright`` Python package, is a hard
requirement.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from browser.glue import chromium_executable, launch_chromium

try:
    from playwright.sync_api import Browser, Page, sync_playwright
except ImportError as exc:  # pragma: no cover - a missing driver is an install error
    raise ImportError(
        "the browser tests drive Chromium with Playwright: pip install playwright "
        "(no browser download is needed; they use Debian's chromium)"
    ) from exc

CONNECT_TIMEOUT_MS = 20_000


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    executable = chromium_executable()
    if executable is None:
        pytest.skip("chromium is not installed (apt-get install chromium)")
    with launch_chromium(executable) as endpoint, sync_playwright() as playwright:
        browser = playwright.chromium.connect_over_cdp(endpoint, timeout=CONNECT_TIMEOUT_MS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(chromium: Browser) -> Iterator[Page]:
    context = chromium.new_context()
    context.set_default_timeout(15_000)
    try:
        yield context.new_page()
    finally:
        context.close()
