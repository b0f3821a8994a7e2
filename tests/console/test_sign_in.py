"""Console sign-in, sessions, CSRF and tenancy over real HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from starlette.requests import Request

from agent.handoff import notify
from api.console.auth import COOKIE, secure_cookies
from nudge.db import transaction
from nudge.keys import prefix_of
from nudge.models import AuditEntry, Business, Conversion, Handoff, Notification, Rep, RepLink
from tests.console.world import XSS_NAME, World, console_world, csrf_of, sign_in


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    tmp: Path = tmp_path_factory.mktemp("console")
    with console_world(request.param, tmp) as made:
        yield made


def test_a_key_signs_in_once_and_gets_a_session_cookie(world: World) -> None:
    browser = world.browser()
    answer = sign_in(browser, world.a.key)
    assert answer.status_code == 303 and answer.headers["location"] == "/console"
    cookie = next(c for c in answer.headers.get_list("set-cookie") if c.startswith(f"{COOKIE}="))
    flags = {part.strip().lower() for part in cookie.split(";")[1:]}
    assert {"httponly", "samesite=lax", "path=/"} <= flags and "secure" not in flags  # plain http here
    assert world.a.key not in cookie  # the key itself never goes into the cookie
    inbox = browser.get("/console/inbox")
    assert inbox.status_code == 200 and "Alpha Dental" in inbox.text
    assert "default-src 'self'" in inbox.headers["content-security-policy"]
    assert inbox.headers["cache-control"] == "no-store"


def test_cookies_are_secure_under_https(world: World) -> None:
    def request(scheme: str) -> Request:
        return Request({"type": "http", "scheme": scheme, "path": "/", "headers": [], "server": ("x", 443)})

    assert secure_cookies(request("https"), world.live.runtime)
    assert not secure_cookies(request("http"), world.live.runtime)


@pytest.mark.parametrize("key", ["nope", "nk_live_" + "x" * 40, ""])
def test_a_bad_key_gets_the_form_again_with_the_reason(world: World, key: str) -> None:
    browser = world.browser()
    answer = sign_in(browser, key)
    assert answer.status_code in (401, 422) and 'role="alert"' in answer.text
    assert COOKIE not in answer.headers.get("set-cookie", "")
    assert browser.get("/console/inbox").headers["location"] == "/console/sign-in"


def test_the_sign_in_form_needs_its_csrf_token(world: World) -> None:
    browser = world.browser()
    answer = browser.post("/console/sign-in", data={"key": world.a.key})
    assert answer.status_code == 403 and COOKIE not in answer.headers.get("set-cookie", "")
    browser.get("/console/sign-in")  # the cookie half, but a forged field
    answer = browser.post("/console/sign-in", data={"key": world.a.key, "csrf": "forged"})
    assert answer.status_code == 403


def test_markup_in_a_lead_name_is_text(world: World) -> None:
    browser = world.sign_in(world.a.key)
    for path in ("/console/leads", f"/console/leads/{world.a.lead_id}"):
        page = browser.get(path)
        assert page.status_code == 200
        assert XSS_NAME not in page.text and "&lt;img src=x onerror=alert(1)&gt;" in page.text


def test_a_form_without_its_csrf_token_is_refused_and_changes_nothing(world: World) -> None:
    handoff = world.handoff(world.a.business_id, world.a.lead_id, world.a.rep_id)
    rep = world.sign_in(world.a.rep_key)
    for data, headers in (({}, {}), ({"csrf": "forged"}, {}), ({}, {"X-CSRF-Token": "forged"})):
        answer = rep.post(f"/console/handoffs/{handoff}/claim", data=data, headers=headers)
        assert answer.status_code == 403 and "did not come from this console" in answer.text
    assert world.handoff_status(handoff) == "open"
    token = csrf_of(rep.get(f"/console/handoffs/{handoff}").text)
    answer = rep.post(f"/console/handoffs/{handoff}/claim", data={"csrf": token})
    assert answer.status_code == 303 and world.handoff_status(handoff) == "claimed"
    page = rep.get(f"/console/handoffs/{handoff}")
    assert "claimed by Alpha Dental Rep 1" in page.text
    with transaction(world.live.runtime.sessions) as session:
        actions = set(session.scalars(sa.select(AuditEntry.action).where(AuditEntry.target_id == handoff)))
    assert "post /console/handoffs/{handoff_id}/claim" in actions  # audited like the API


def test_another_business_ids_are_not_found(world: World) -> None:
    browser = world.sign_in(world.a.key)
    for path in (
        f"/console/leads/{world.b.lead_id}",
        f"/console/handoffs/{world.b.handoff_id}",
        "/console/leads/" + "x" * 500,
        "/console/handoffs/nope",
    ):
        answer = browser.get(path)
        assert answer.status_code == 404, path
        assert world.b.lead_id not in answer.text and "Bruno" not in answer.text
    csrf = csrf_of(browser.get("/console/inbox").text)
    claim = browser.post(f"/console/handoffs/{world.b.handoff_id}/claim", data={"csrf": csrf, "rep_id": world.b.rep_id})
    assert claim.status_code == 404 and world.handoff_status(world.b.handoff_id) == "open"
    leads = browser.get("/console/leads?q=Bruno")
    assert "No leads match." in leads.text and world.b.lead_id not in leads.text


def test_a_rep_sees_its_handoffs_only(world: World) -> None:
    rep = world.sign_in(world.a.rep_key)
    assert rep.get("/console/leads").status_code == 404
    assert rep.get(f"/console/handoffs/{world.a.other_handoff_id}").status_code == 404
    inbox = rep.get("/console/inbox").text
    assert world.a.handoff_id in inbox and world.a.other_handoff_id not in inbox


def test_sign_out_ends_the_session_for_good(world: World) -> None:
    browser = world.sign_in(world.a.key)
    stolen = browser.cookies[COOKIE]
    csrf = csrf_of(browser.get("/console/inbox").text)
    answer = browser.post("/console/sign-out", data={"csrf": csrf})
    assert answer.status_code == 303 and answer.headers["location"] == "/console/sign-in"
    replay = httpx.Client(base_url=world.live.url, cookies={COOKIE: stolen}, follow_redirects=False)
    assert replay.get("/console/inbox").headers["location"] == "/console/sign-in"


def test_a_revoked_key_ends_its_sessions(world: World) -> None:
    headers = world.live.auth(world.a.key)
    made = world.live.client.post("/v1/keys", headers=headers, json={"kind": "business", "label": "temp"}).json()
    browser = world.sign_in(made["api_key"])
    assert browser.get("/console/inbox").status_code == 200
    assert world.live.client.delete(f"/v1/keys/{made['prefix']}", headers=headers).status_code == 204
    assert browser.get("/console/inbox").status_code == 303


def test_an_agency_switches_clients_and_never_sees_another_agencys(world: World) -> None:
    browser = world.sign_in(world.agency_key)
    page = browser.get("/console/agency")
    assert "Alpha Dental" in page.text and "Beta Legal" in page.text and "Foreign" not in page.text
    csrf = csrf_of(page.text)
    answer = browser.post("/console/agency/switch", data={"csrf": csrf, "business_id": world.b.business_id})
    assert answer.status_code == 303
    leads = browser.get("/console/leads").text
    assert "Bruno Beta" in leads and "&lt;img" not in leads
    assert browser.get(f"/console/leads/{world.a.lead_id}").status_code == 404
    foreign = browser.post("/console/agency/switch", data={"csrf": csrf, "business_id": world.foreign_business_id})
    assert foreign.status_code == 404
    assert "Bruno Beta" in browser.get("/console/leads").text
    other = world.sign_in(world.other_agency_key)
    assert "Bruno" not in other.get("/console/agency").text
    # Business and rep sessions have no agency pages.
    assert world.sign_in(world.a.key).get("/console/agency").status_code == 404


def test_a_rep_notification_carries_a_link_that_opens_that_handoff(world: World) -> None:
    runtime = world.live.runtime
    handoff_id = world.handoff(world.a.business_id, world.a.lead_id, world.a.rep_id)
    with transaction(runtime.sessions, business_id=world.a.business_id) as session:
        business = session.get(Business, world.a.business_id)
        handoff = session.get(Handoff, handoff_id)
        rep = session.get(Rep, world.a.rep_id)
        assert business is not None and handoff is not None and rep is not None
        notify(
            session,
            business=business,
            handoff=handoff,
            rep=rep,
            text="New hot lead",
            subject="Hot lead",
            now=runtime.clock.now(),
            public_url=world.live.url,
        )
        session.flush()
        payload = session.scalars(sa.select(Notification.payload).where(Notification.handoff_id == handoff_id)).one()
    url = payload["open_url"]
    assert url.startswith(f"{world.live.url}/console/open/") and payload["text"].endswith(f"Open: {url}")
    phone = world.browser()
    opened = phone.get(url.removeprefix(world.live.url))
    assert opened.status_code == 303 and opened.headers["location"] == f"/console/handoffs/{handoff_id}"
    page = phone.get(f"/console/handoffs/{handoff_id}")
    assert page.status_code == 200 and "Claim" in page.text
    # Signed in as that rep, for that handoff only.
    assert phone.get(f"/console/handoffs/{world.a.handoff_id}").status_code == 404
    assert phone.get("/console/leads").status_code == 404
    assert phone.get("/console").headers["location"] == f"/console/handoffs/{handoff_id}"


def test_an_expired_or_unknown_link_opens_nothing(world: World) -> None:
    url = world.link(world.a, world.a.handoff_id, world.a.rep_id)
    with transaction(world.live.runtime.sessions) as session:
        session.execute(sa.update(RepLink).values(expires_at=world.live.runtime.clock.now() - timedelta(seconds=1)))
    for path in (url.removeprefix(world.live.url), "/console/open/" + "A" * 32, "/console/open/short"):
        answer = world.browser().get(path)
        assert answer.status_code == 410 and COOKIE not in answer.headers.get("set-cookie", "")


def test_bad_form_input_is_a_readable_page_and_changes_nothing(world: World) -> None:
    handoff = world.handoff(world.a.business_id, world.a.lead_id, world.a.rep_id)
    rep = world.sign_in(world.a.rep_key)
    csrf = csrf_of(rep.get(f"/console/handoffs/{handoff}").text)
    cases = [
        ("reply", {"text": ""}, 422, "Text is required"),
        ("reply", {"text": "x" * 1601}, 422, "longer than 1600"),
        ("reply", {"text": "nul\x00here"}, 422, "Text:"),
        ("reply", {"template": "instant_reply"}, 422, "approved templates"),
        ("resolve", {"outcome": "maybe"}, 422, "won, lost or nurture"),
        ("resolve", {}, 422, "Outcome is required"),
    ]
    for action, data, status, words in cases:
        answer = rep.post(f"/console/handoffs/{handoff}/{action}", data={"csrf": csrf, **data})
        assert answer.status_code == status and words in answer.text, (action, data, answer.text[:300])
        assert answer.headers["content-type"].startswith("text/html")
    assert world.handoff_status(handoff) == "open"
    # A JSON body carries no form token: refused like any forged form.
    assert rep.post(f"/console/handoffs/{handoff}/claim", json={"csrf": csrf}).status_code == 403
    # Claimed by someone else first: the loser is told who holds it.
    boss = world.sign_in(world.a.key)
    boss_csrf = csrf_of(boss.get(f"/console/handoffs/{handoff}").text)
    taken = boss.post(f"/console/handoffs/{handoff}/claim", data={"csrf": boss_csrf, "rep_id": world.a.other_rep_id})
    assert taken.status_code == 303
    late = boss.post(f"/console/handoffs/{handoff}/claim", data={"csrf": boss_csrf, "rep_id": world.a.rep_id})
    assert late.status_code == 409 and "Already taken by Alpha Dental Rep 2" in late.text
    assert rep.get(f"/console/handoffs/{handoff}").status_code == 404  # no longer the rep's to see
    # Odd page parameters are a page, not a traceback.
    assert boss.get("/console/leads?cursor=garbage").status_code == 422
    assert boss.get("/console/leads?stage=nonsense&q=" + "y" * 500).status_code == 200


def test_the_pipeline_counts_and_values_only_the_business_own_leads(world: World) -> None:
    headers = world.live.auth(world.a.key)
    sale = {"type": "converted", "value": 1200, "currency": "USD", "external_id": "sale-1"}
    assert world.live.client.post(f"/v1/leads/{world.a.lead_id}/events", headers=headers, json=sale).status_code == 202
    other = {"type": "converted", "value": 999, "currency": "EUR", "external_id": "sale-2"}
    b_headers = world.live.auth(world.b.key)
    assert (
        world.live.client.post(f"/v1/leads/{world.b.lead_id}/events", headers=b_headers, json=other).status_code == 202
    )
    page = world.sign_in(world.a.key).get("/console/pipeline")
    assert page.status_code == 200
    assert "1,200 USD" in page.text and "EUR" not in page.text and "Bruno" not in page.text
    assert "&lt;img src=x onerror=alert(1)&gt;" in page.text
    assert world.sign_in(world.a.rep_key).get("/console/pipeline").status_code == 404


def _events(client: httpx.Client, until: str, headers: dict[str, str] | None = None) -> list[tuple[str, str]]:
    """Read the console's SSE stream until an event named `until`; (event, data) pairs."""
    seen: list[tuple[str, str]] = []
    name = ""
    with client.stream("GET", "/console/events", headers=headers or {}, timeout=15) as stream:
        assert stream.status_code == 200 and stream.headers["content-type"].startswith("text/event-stream")
        for line in stream.iter_lines():
            if line.startswith("event: "):
                name = line[7:]
            elif line.startswith("data: "):
                seen.append((name, line[6:]))
                if name == until:
                    return seen
    return seen


def test_the_live_stream_needs_a_session_and_ends_at_sign_out(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    import api.console.live as live_module

    assert world.browser().get("/console/events").status_code == 303  # no session: sign in first
    monkeypatch.setattr(live_module, "SESSION_CHECK_SECONDS", 0.0)
    monkeypatch.setattr(live_module, "HEARTBEAT_SECONDS", 0.3)
    browser = world.sign_in(world.a.key)
    first = _events(browser, "change", {"Last-Event-ID": "2026-01-01T00:00:00+00:00"})
    assert first[0][0] == "change" and '"connected": true' in first[0][1]
    csrf = csrf_of(browser.get("/console/inbox").text)
    cookie = browser.cookies[COOKIE]
    assert browser.post("/console/sign-out", data={"csrf": csrf}).status_code == 303
    # The stolen cookie of a signed-out session cannot open a stream.
    replay = httpx.Client(base_url=world.live.url, cookies={COOKIE: cookie}, follow_redirects=False)
    assert replay.get("/console/events").status_code == 303


def test_a_stream_open_when_its_key_is_revoked_says_signed_out(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    import api.console.live as live_module

    monkeypatch.setattr(live_module, "SESSION_CHECK_SECONDS", 0.0)
    monkeypatch.setattr(live_module, "HEARTBEAT_SECONDS", 0.3)
    headers = world.live.auth(world.a.key)
    made = world.live.client.post("/v1/keys", headers=headers, json={"kind": "business", "label": "stream"}).json()
    browser = world.sign_in(made["api_key"])
    names = []
    with browser.stream("GET", "/console/events", timeout=15) as stream:
        for line in stream.iter_lines():
            if line.startswith("event: "):
                names.append(line[7:])
                if names == ["change"]:  # the stream is open: now the key is revoked
                    revoked = world.live.client.delete(f"/v1/keys/{made['prefix']}", headers=headers)
                    assert revoked.status_code == 204
                if names[-1] == "signed-out":
                    break
    assert names[0] == "change" and names[-1] == "signed-out"


def test_reports_pages_check_the_model_and_the_key_kind(world: World) -> None:
    browser = world.sign_in(world.a.key)
    assert browser.get("/console/reports?model=markov").status_code == 200
    bad = browser.get("/console/reports?model=astrology")
    assert bad.status_code == 422 and "Model must be one of" in bad.text
    svg = browser.get("/console/reports/attribution.svg?model=linear")
    assert svg.status_code == 200 and svg.headers["content-type"].startswith("image/svg+xml")
    assert browser.get("/console/reports/attribution.svg?model=x").status_code == 422
    assert browser.get("/console/reports/funnel.svg").text.startswith("<svg")
    rep = world.sign_in(world.a.rep_key)
    for path in ("/console/reports", "/console/reports/funnel.svg", "/console/knowledge"):
        assert rep.get(path).status_code == 404, path


def test_the_leads_export_is_the_filtered_list_and_spreadsheet_safe(world: World) -> None:
    headers = world.live.auth(world.a.key)
    body = {"name": '=HYPERLINK("http://evil.example","Click")', "email": "formula@lead.io", "source": "@import"}
    assert world.live.client.post("/v1/leads", headers=headers, json=body).status_code == 201
    browser = world.sign_in(world.a.key)
    answer = browser.get("/console/leads.csv?q=formula")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
    assert "attachment" in answer.headers["content-disposition"]
    lines = answer.text.splitlines()
    assert lines[0].startswith("id,name,phone,email") and len(lines) == 2
    assert "'=HYPERLINK" in lines[1] and ",'@import," in lines[1]
    everything = browser.get("/console/leads.csv").text
    assert world.b.lead_id not in everything and "Bruno" not in everything
    assert world.sign_in(world.a.rep_key).get("/console/leads.csv").status_code == 404


def test_keys_are_created_shown_once_rotated_and_revoked_from_the_console(world: World) -> None:
    import re as re_

    browser = world.sign_in(world.a.key)
    page = browser.get("/console/keys")
    assert page.status_code == 200
    csrf = csrf_of(page.text)
    made = browser.post("/console/keys", data={"csrf": csrf, "kind": "rep", "rep_id": world.a.rep_id, "label": "t"})
    assert made.status_code == 200 and 'id="issued"' in made.text
    secret = re_.search(r'<code class="secret">([^<]+)</code>', made.text)
    assert secret
    api = world.live.client
    assert api.get("/v1/handoffs", headers=world.live.auth(secret.group(1))).status_code == 200
    assert secret.group(1) not in browser.get("/console/keys").text  # shown once
    prefix = prefix_of(secret.group(1))
    assert prefix and f'id="key-{prefix}"' in browser.get("/console/keys").text
    rotated = browser.post(f"/console/keys/{prefix}/rotate", data={"csrf": csrf})
    assert rotated.status_code == 200 and "stopped working" in rotated.text
    assert api.get("/v1/handoffs", headers=world.live.auth(secret.group(1))).status_code == 401
    new = re_.search(r'<code class="secret">([^<]+)</code>', rotated.text)
    assert new and api.get("/v1/handoffs", headers=world.live.auth(new.group(1))).status_code == 200
    replacement = prefix_of(new.group(1))  # a rotated key gets a new prefix
    assert browser.post(f"/console/keys/{replacement}/revoke", data={"csrf": csrf}).status_code == 303
    assert api.get("/v1/handoffs", headers=world.live.auth(new.group(1))).status_code == 401
    # Another business's key prefix is not found; bad input is a 4xx page.
    b_prefix = api.get("/v1/keys", headers=world.live.auth(world.b.key)).json()["keys"][0]["prefix"]
    assert browser.post(f"/console/keys/{b_prefix}/revoke", data={"csrf": csrf}).status_code == 404
    assert browser.post("/console/keys", data={"csrf": csrf, "kind": "agency"}).status_code == 422
    assert browser.post("/console/keys", data={"csrf": csrf, "kind": "rep", "rep_id": world.b.rep_id}).status_code in (
        404,
        422,
    )
    assert world.sign_in(world.a.rep_key).get("/console/keys").status_code == 404


def test_an_agency_creates_a_client_business(world: World) -> None:
    browser = world.sign_in(world.agency_key)
    csrf = csrf_of(browser.get("/console/agency").text)
    made = browser.post("/console/agency/businesses", data={"csrf": csrf, "name": "Gamma <Growth>"})
    assert made.status_code == 200 and "Gamma &lt;Growth&gt;" in made.text and 'id="issued"' in made.text
    assert browser.post("/console/agency/businesses", data={"csrf": csrf, "name": ""}).status_code == 422
    assert world.sign_in(world.a.key).post(
        "/console/agency/businesses", data={"csrf": "x", "name": "n"}
    ).status_code in (
        403,
        404,
    )


def test_a_lead_page_marks_won_with_a_value_exports_and_erases_with_confirmation(world: World) -> None:
    headers = world.live.auth(world.a.key)
    made = world.live.client.post("/v1/leads", headers=headers, json={"name": "Erin Erase", "email": "erin@lead.io"})
    lead_id = made.json()["id"]
    browser = world.sign_in(world.a.key)
    csrf = csrf_of(browser.get(f"/console/leads/{lead_id}").text)
    post = f"/console/leads/{lead_id}"
    for data, words in (
        ({"outcome": "won", "value": "12x"}, "number"),
        ({"outcome": "won", "value": "1200"}, "currency"),
        ({"outcome": "maybe"}, "type"),
        ({"outcome": "booked"}, "won or lost"),
        ({"outcome": "won", "value": "-5", "currency": "USD"}, "value"),
    ):
        answer = browser.post(f"{post}/outcome", data={"csrf": csrf, **data})
        assert answer.status_code == 422 and words in answer.text, (data, answer.text[-400:])
    won = browser.post(f"{post}/outcome", data={"csrf": csrf, "outcome": "won", "value": "1200", "currency": "usd"})
    assert won.status_code == 303
    with transaction(world.live.runtime.sessions) as session:
        values = list(session.scalars(sa.select(Conversion.value).where(Conversion.lead_id == lead_id)))
    assert values == [1200.0]
    export = browser.get(f"{post}/export")
    assert export.status_code == 200 and export.json()["lead"]["name"] == "Erin Erase"
    refused = browser.post(f"{post}/erase", data={"csrf": csrf, "confirm": "yes"})
    assert refused.status_code == 422 and browser.get(post).status_code == 200
    assert browser.post(f"{post}/erase", data={"csrf": csrf, "confirm": "ERASE"}).status_code == 303
    assert browser.get(post).status_code == 404
    assert world.live.client.get(f"/v1/leads/{lead_id}", headers=headers).status_code == 404
    # Another business's lead: not found for every action.
    for action in ("outcome", "erase"):
        other = browser.post(f"/console/leads/{world.b.lead_id}/{action}", data={"csrf": csrf, "confirm": "ERASE"})
        assert other.status_code == 404
    assert browser.get(f"/console/leads/{world.b.lead_id}/export").status_code == 404
