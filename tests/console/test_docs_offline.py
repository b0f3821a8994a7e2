"""/docs works without internet: its scripts, styles and icon come from the package."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from tests.conftest import LiveNudge, live_nudge
from tests.support.browser import DESKTOP, SCREENSHOTS, chromium, offline_context


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveNudge]:
    tmp: Path = tmp_path_factory.mktemp("docs")
    with live_nudge(f"sqlite:///{tmp / 'nudge.db'}", tmp, twilio=False, workers=False) as nudge:
        yield nudge


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


def test_the_page_names_no_outside_address(live: LiveNudge) -> None:
    page = live.client.get("/docs")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert re.findall(r"""(?:src|href)=["']?(https?:)?//""", page.text) == []
    for asset in re.findall(r"""(?:src|href)=["']?(/static/[^"' >]+)""", page.text):
        answer = live.client.get(asset)
        assert answer.status_code == 200, asset
    assert '"validatorUrl": null' in page.text  # else a badge image from validator.swagger.io
    assert live.client.get("/redoc").status_code == 404  # its bundle loads a logo from a CDN


def test_swagger_ui_renders_every_operation_with_the_network_cut(live: LiveNudge, browser: Browser) -> None:
    with offline_context(browser, DESKTOP) as offline:
        page = offline.context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(f"{live.url}/docs")
        expect(page.locator(".swagger-ui .info .title")).to_contain_text("Nudge", timeout=20_000)
        expect(page.locator('.opblock-summary-path[data-path="/v1/leads"]').first).to_be_visible(timeout=20_000)
        operations = page.locator(".opblock").count()
        assert operations >= 30, operations
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=SCREENSHOTS / "docs-desktop.png")
        assert offline.blocked == [] and errors == []
