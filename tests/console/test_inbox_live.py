"""The rep inbox in a real headless Chromium, live over SSE, on SQLite and PostgreSQL.

A signed hot WhatsApp message arrives through the Twilio webhook → the rep's open inbox shows it
without a reload → the rep claims → the team lead's open page shows it taken → the rep's reply
reaches the Twilio stand-in → the lead answers → it appears live → resolved as won → the
conversion is in the attribution report. Screenshots at 1280×800 and 390×844 go to
docs/screenshots/.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from playwright.sync_api import Browser, Dialog, Page, expect

from api.console.pipeline import COLUMNS
from nudge.db import transaction
from nudge.models import Handoff, Lead, Notification
from nudge.sim.sample import whatsapp_templates
from tests.conftest import LiveNudge, live_nudge, postgres_schema
from tests.support.browser import DESKTOP, PHONE, SCREENSHOTS, chromium, offline_context
from tests.support.twilio_stub import DEFAULT_AUTH_TOKEN, inbound_params, post_inbound

WA = "+14155550100"
LEAD = "+5511987650002"


@dataclass
class Shop:
    live: LiveNudge
    database: str
    key: str
    rita_key: str
    otto_key: str

    def say(self, text: str) -> None:
        params = inbound_params(f"whatsapp:{LEAD}", f"whatsapp:{WA}", text, profile_name="Lia Lead")
        answer = post_inbound(f"{self.live.url}/webhooks/twilio/inbound", params, DEFAULT_AUTH_TOKEN)
        assert answer.status_code == 200


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def shop(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shop]:
    tmp: Path = tmp_path_factory.mktemp("inbox")
    with ExitStack() as stack:
        url = f"sqlite:///{tmp / 'nudge.db'}" if request.param == "sqlite" else stack.enter_context(postgres_schema())
        live = stack.enter_context(live_nudge(url, tmp, NUDGE_RATE_LIMIT_PER_SECOND=0))
        _, key = live.business(
            "Acme Dental",
            whatsapp_from=WA,
            sms_from="+14155550101",
            email_from="Acme <hi@acme.example>",
            whatsapp_templates=whatsapp_templates("acme"),
        )
        keys = []
        for name, industries in (("Rita Rep", ["dental"]), ("Otto Rep", ["legal"])):
            rep = live.client.post(
                "/v1/reps",
                headers=live.auth(key),
                json={"name": name, "email": f"{name.split()[0].lower()}@acme.example", "industries": industries},
            )
            assert rep.status_code == 201, rep.text
            rep_key = {"kind": "rep", "rep_id": rep.json()["id"]}
            made = live.client.post("/v1/keys", headers=live.auth(key), json=rep_key)
            keys.append(made.json()["api_key"])
        yield Shop(live, request.param, key, keys[0], keys[1])


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


def _sign_in(page: Page, url: str, key: str) -> None:
    """As a person would: the key field has focus, type, press Enter."""
    page.goto(f"{url}/console/sign-in")
    page.keyboard.type(key)
    page.keyboard.press("Enter")
    page.wait_for_url("**/console/inbox")


def _no_overflow(page: Page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert width <= 0, f"the page scrolls sideways by {width}px"


def _shoot(page: Page, name: str, shop: Shop) -> None:
    _no_overflow(page)
    if shop.database == "sqlite":  # one set is enough
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=SCREENSHOTS / f"{name}.png", full_page=True)


def test_a_hot_whatsapp_lead_is_worked_live_from_arrival_to_won(shop: Shop, browser: Browser) -> None:
    live = shop.live
    assert live.twilio is not None
    with offline_context(browser, DESKTOP) as rita_ctx, offline_context(browser, PHONE) as lead_ctx:
        rita, boss = rita_ctx.context.new_page(), lead_ctx.context.new_page()
        dialogs: list[str] = []

        def dialog(shown: Dialog) -> None:  # an alert() would mean markup ran as script
            dialogs.append(shown.message)
            shown.dismiss()

        for page in (rita, boss):
            page.on("dialog", dialog)
        _sign_in(rita, live.url, shop.rita_key)
        _sign_in(boss, live.url, shop.key)
        expect(rita.locator("#handoffs .empty")).to_be_visible()
        rita.wait_for_function("document.documentElement.dataset.live === 'connected'")

        started = time.monotonic()
        shop.say("I want to book a demo today for my dental clinic, budget approved")
        row = rita.locator("#handoffs .row").first
        expect(row).to_be_visible(timeout=5000)  # no reload: SSE → fragment
        arrival = time.monotonic() - started
        expect(row).to_contain_text("open")
        expect(boss.locator("#handoffs .row").first).to_be_visible(timeout=5000)
        _shoot(rita, "inbox-desktop", shop)
        _shoot(boss, "inbox-phone", shop)

        # Both open the handoff; Rita claims; the team lead's page shows it taken, live.
        row.locator("a").click()
        boss.locator("#handoffs .row a").first.click()
        expect(boss.locator("#status")).to_have_text("open")
        rita.get_by_role("button", name="Claim").click()
        expect(rita.locator("#status")).to_have_text("claimed by Rita Rep")
        expect(boss.locator("#status")).to_have_text("claimed by Rita Rep", timeout=3000)
        expect(boss.get_by_role("button", name="Claim")).to_have_count(0)

        # Rita replies; it reaches the lead's WhatsApp through the Twilio stand-in.
        rita.get_by_label("Reply on the lead's channel").fill("Hi! Rita here, calling you in 5 minutes.")
        rita.get_by_role("button", name="Send").click()
        sent = live.twilio.wait_for_message(lambda m: "Rita here" in m["body"], timeout=5)
        assert sent["to"] == f"whatsapp:{LEAD}" and sent["from"] == f"whatsapp:{WA}"
        expect(rita.locator("#transcript")).to_contain_text("Rita here", timeout=5000)

        # The lead answers: it appears on both open pages without a reload.
        rita.get_by_label("Reply on the lead's channel").fill("half-typed")
        shop.say("Great, I'm free now. <b>call me</b>")
        expect(rita.locator("#transcript")).to_contain_text("Great, I'm free now. <b>call me</b>", timeout=5000)
        expect(boss.locator("#transcript")).to_contain_text("I'm free now", timeout=5000)
        assert rita.get_by_label("Reply on the lead's channel").input_value() == "half-typed"  # kept while live
        _shoot(rita, "handoff-desktop", shop)
        _shoot(boss, "handoff-phone", shop)

        rita.get_by_label("Resolve as").select_option("won")
        rita.get_by_role("button", name="Resolve").click()
        expect(rita.locator("#status")).to_have_text("resolved by Rita Rep · won")
        assert dialogs == [] and rita_ctx.blocked == [] and lead_ctx.blocked == []
    assert arrival < 5

    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        report = live.client.get("/v1/reports/attribution?model=last", headers=live.auth(shop.key)).json()
        if report["total"]["conversions"]:
            break
        time.sleep(0.1)
    assert report["total"]["conversions"] == 1.0
    # ... and in the console's reports, drawn from the same ledger.
    with offline_context(browser, DESKTOP) as ctx:
        page = ctx.context.new_page()
        _sign_in(page, live.url, shop.key)
        page.get_by_role("link", name="Reports").click()
        page.get_by_label("Attribution model").select_option("last")
        page.get_by_role("button", name="Show").click()
        chart = page.get_by_role("img", name="Attribution by touch and channel (last model)")
        expect(chart).to_be_visible()
        page.wait_for_function("Array.from(document.images).every(i => i.complete && i.naturalWidth > 0)")
        svg = page.request.get(f"{live.url}/console/reports/attribution.svg?model=last").text()
        assert "Attribution (last): 1 conversions" in svg
        _shoot(page, "reports-desktop", shop)
        assert ctx.blocked == []


def test_the_notification_link_opens_the_handoff_on_a_phone(shop: Shop, browser: Browser) -> None:
    with transaction(shop.live.runtime.sessions) as session:
        payloads = list(session.scalars(sa.select(Notification.payload).order_by(Notification.created_at)))
    links = [p["open_url"] for p in payloads if p.get("open_url")]
    assert links, payloads
    with offline_context(browser, PHONE) as phone:
        page = phone.context.new_page()
        page.goto(links[0])
        expect(page.locator("h1")).to_be_visible()
        assert "/console/handoffs/" in page.url
        expect(page.locator("#transcript")).to_contain_text("dental clinic")
        _shoot(page, "rep-link-phone", shop)


def test_once_whatsapps_window_closed_the_reply_box_offers_approved_templates(shop: Shop, browser: Browser) -> None:
    live = shop.live
    assert live.twilio is not None
    lead_phone = "+5511987650077"
    params = inbound_params(f"whatsapp:{lead_phone}", f"whatsapp:{WA}", "Need a dental demo today, budget approved")
    assert post_inbound(f"{live.url}/webhooks/twilio/inbound", params, DEFAULT_AUTH_TOKEN).status_code == 200
    deadline = time.monotonic() + 5
    handoff = None
    while handoff is None and time.monotonic() < deadline:
        with transaction(live.runtime.sessions) as session:
            handoff = session.scalar(
                sa.select(Handoff.id).join(Lead, Lead.id == Handoff.lead_id).where(Lead.phone == lead_phone)
            )
            if handoff is not None:  # the lead went quiet a day ago
                session.execute(
                    sa.update(Lead)
                    .where(Lead.phone == lead_phone)
                    .values(whatsapp_inbound_at=live.runtime.clock.now() - timedelta(hours=25))
                )
        time.sleep(0.05)
    assert handoff is not None
    with offline_context(browser, DESKTOP) as ctx:
        page = ctx.context.new_page()
        _sign_in(page, live.url, shop.rita_key)
        page.goto(f"{live.url}/console/handoffs/{handoff}")
        expect(page.locator("#window-closed")).to_be_visible()
        expect(page.get_by_label("Reply on the lead's channel")).to_have_count(0)
        options = page.locator("#template option").all_inner_texts()
        assert options and all("resource" not in o for o in options), options
        page.get_by_role("button", name="Claim").click()
        page.get_by_label("Approved template").select_option("qualification")
        page.get_by_role("button", name="Send").click()
        sent = live.twilio.wait_for_message(
            lambda m: m["to"] == f"whatsapp:{lead_phone}" and bool(m.get("content_sid")), timeout=5
        )
        assert (sent["content_sid"] or "").startswith("HX")
        expect(page.locator("#transcript")).to_contain_text("What would you most like to improve?", timeout=5000)


def test_markup_in_a_lead_name_is_text_everywhere_and_pages_fit_a_phone(shop: Shop, browser: Browser) -> None:
    if shop.database != "sqlite":
        pytest.skip("rendering does not depend on the database; test_sign_in covers PostgreSQL over HTTP")
    live = shop.live
    body = {"name": "<img src=x onerror=alert(1)>", "email": "xss@lead.example", "source": "<script>x</script>"}
    made = live.client.post("/v1/leads", headers=live.auth(shop.key), json=body)
    assert made.status_code == 201, made.text
    dialogs: list[str] = []
    for viewport, suffix in ((DESKTOP, "desktop"), (PHONE, "phone")):
        with offline_context(browser, viewport) as ctx:
            page = ctx.context.new_page()
            page.on("dialog", lambda shown: dialogs.append(shown.message))
            if suffix == "desktop":
                page.goto(f"{live.url}/console/sign-in")
                _shoot(page, "sign-in-desktop", shop)
            _sign_in(page, live.url, shop.key)
            page.goto(f"{live.url}/console/leads?q=xss")
            link = page.get_by_role("link", name="<img src=x onerror=alert(1)>")
            expect(link).to_be_visible()
            assert page.locator("main img").count() == 0
            _shoot(page, f"leads-{suffix}", shop)
            link.click()
            expect(page.locator("h1")).to_have_text("<img src=x onerror=alert(1)>")
            _shoot(page, f"lead-{suffix}", shop)
            page.get_by_role("link", name="Pipeline").click()
            expect(page.locator(".column").first).to_be_visible()
            expect(
                page.locator(".column").nth(0).get_by_role("link", name="<img src=x onerror=alert(1)>")
            ).to_be_visible()
            assert page.locator(".column").count() == len(COLUMNS)
            _shoot(page, f"pipeline-{suffix}", shop)
            page.get_by_role("link", name="Keys").click()
            expect(page.locator("h1")).to_have_text("API keys")
            _shoot(page, f"keys-{suffix}", shop)
            assert dialogs == [] and ctx.blocked == []
