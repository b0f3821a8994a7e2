"""The pages a lead sees — unsubscribe, a link that no longer works — in Chromium, offline, at
phone and desktop widths: the business's name, the console's look, nothing off the screen."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from playwright.sync_api import Browser, Page, expect

from agent.unsubscribe import token_for
from nudge.db import transaction
from nudge.models import Lead, OptOut
from tests.conftest import LiveNudge, live_nudge
from tests.support.browser import DESKTOP, PHONE, SCREENSHOTS, chromium, offline_context


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveNudge]:
    tmp: Path = tmp_path_factory.mktemp("public")
    with live_nudge(f"sqlite:///{tmp / 'nudge.db'}", tmp, twilio=False, workers=False) as nudge:
        yield nudge


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


def _token(live: LiveNudge, business: str) -> str:
    _, key = live.business(business, email_from="hi@clinic.example")
    lead = live.client.post("/v1/leads", headers=live.auth(key), json={"email": "ana@example.com", "name": "Ana"})
    assert lead.status_code == 201
    with transaction(live.runtime.sessions) as session:
        row = session.get(Lead, lead.json()["id"])
        assert row is not None
        return token_for(session, row, live.runtime.clock.now())


def _fits(page: Page) -> None:
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0
    box = page.locator(".card").bounding_box()
    assert box is not None and box["x"] >= 8, "the card touches the screen's edge"


def test_unsubscribing_on_a_phone(live: LiveNudge, browser: Browser) -> None:
    token = _token(live, "Bright <Smile> Dental")
    for viewport, suffix in ((DESKTOP, "desktop"), (PHONE, "phone")):
        with offline_context(browser, viewport) as ctx:
            page = ctx.context.new_page()
            page.goto(f"{live.url}/u/{token}")
            expect(page.locator(".brand")).to_have_text("Bright <Smile> Dental")
            expect(page.locator("main")).to_contain_text("Stop all follow-up messages from Bright <Smile> Dental")
            _fits(page)
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=SCREENSHOTS / f"unsubscribe-{suffix}.png")
            if suffix == "phone":
                button = page.get_by_role("button", name="Unsubscribe")
                width = (button.bounding_box() or {"width": 0})["width"]
                assert width > 300, "a thumb-sized button on a phone"
                button.click()
                expect(page.locator("h1")).to_have_text("You are unsubscribed")
                expect(page.locator("main")).to_contain_text("from Bright <Smile> Dental")
                _fits(page)
                page.screenshot(path=SCREENSHOTS / "unsubscribed-phone.png")
            assert ctx.blocked == []
    with transaction(live.runtime.sessions) as session:
        assert set(session.scalars(sa.select(OptOut.channel))) == {"all"}


def test_unknown_links_get_the_same_look(live: LiveNudge, browser: Browser) -> None:
    with offline_context(browser, PHONE) as ctx:
        page = ctx.context.new_page()
        for path, title in (
            ("/u/" + "x" * 40, "This unsubscribe link is not valid"),
            ("/r/nope", "This link is not valid"),
        ):
            answer = page.goto(f"{live.url}{path}")
            assert answer is not None and answer.status == 404
            expect(page.locator("h1")).to_have_text(title)
            _fits(page)
        page.screenshot(path=SCREENSHOTS / "link-not-found-phone.png")


def test_the_knowledge_page_lists_studies_and_tries_a_message(live: LiveNudge, browser: Browser) -> None:
    _, key = live.business("Know How", email_from="k@how.example")
    studies = [
        {"title": "Dental clinic <b>doubled</b> bookings", "industry": "dental", "body": "A dental clinic doubled."},
        {"title": "Law firm halved intake time", "industry": "legal", "body": "A law firm answered faster."},
    ]
    assert live.client.post("/v1/case-studies", headers=live.auth(key), json=studies).status_code == 201
    for viewport, suffix in ((DESKTOP, "desktop"), (PHONE, "phone")):
        with offline_context(browser, viewport) as ctx:
            page = ctx.context.new_page()
            page.goto(f"{live.url}/console/sign-in")
            page.keyboard.type(key)
            page.keyboard.press("Enter")
            page.get_by_role("link", name="Knowledge").click()
            expect(page.get_by_text("Dental clinic <b>doubled</b> bookings")).to_be_visible()
            page.get_by_label("What the lead wrote").fill("I run a dental clinic and need more patients")
            page.get_by_role("button", name="Find the case study").click()
            expect(page.locator("#match")).to_contain_text("Dental clinic <b>doubled</b> bookings")
            expect(page.locator("#match")).to_contain_text("dental")
            _fits(page)
            page.screenshot(path=SCREENSHOTS / f"knowledge-{suffix}.png", full_page=True)
            assert ctx.blocked == []
