"""A real headless Chromium (Debian's `chromium` package) driven by Playwright, for the console's
and the docs' browser tests. Offline like a machine without internet: every request that is not for
127.0.0.1/localhost is aborted and remembered, so a test can assert nothing tried to leave."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, BrowserContext, Route, sync_playwright

CHROMIUM = os.environ.get("NUDGE_CHROMIUM", "/usr/bin/chromium")
# Where the browser tests save their screenshots: a git-ignored folder (keep it as a CI artifact);
# NUDGE_SCREENSHOTS_DIR=docs/screenshots refreshes the ones the README shows.
_ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = _ROOT / os.environ.get("NUDGE_SCREENSHOTS_DIR", ".nudge/screenshots")
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
_LOCAL = {"127.0.0.1", "localhost", "::1"}


def chromium_path() -> str:
    found = CHROMIUM if os.path.exists(CHROMIUM) else shutil.which("chromium")
    if not found:
        pytest.skip("Chromium is not installed (.ci/run installs Debian's `chromium` package)")
    return found


@contextmanager
def chromium() -> Iterator[Browser]:
    """One browser for a test module: launching one costs about a second."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), headless=True)
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class Offline:
    context: BrowserContext
    blocked: list[str] = field(default_factory=list)


@contextmanager
def offline_context(browser: Browser, viewport: dict[str, int] = DESKTOP) -> Iterator[Offline]:
    context = browser.new_context(viewport={"width": viewport["width"], "height": viewport["height"]})
    offline = Offline(context)

    def guard(route: Route) -> None:
        url = route.request.url
        if urlsplit(url).scheme in ("data", "blob") or urlsplit(url).hostname in _LOCAL:
            route.continue_()
        else:
            offline.blocked.append(url)
            route.abort("internetdisconnected")

    context.route("**/*", guard)
    try:
        yield offline
    finally:
        context.close()
