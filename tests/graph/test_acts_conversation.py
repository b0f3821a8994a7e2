"""Acts drive the cadence, through the signed Twilio webhook, in each language (issue #19).

A real server, its workers, the real graph and the Twilio stand-in: a decline gets one
acknowledgement and no further pitch; a deferral to next month moves the next touch past that
date; "are you free Thursday at 3?" escalates.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from nudge.models import Handoff, Lead, LeadActivity
from nudge.sim.sample import whatsapp_templates
from tests.conftest import LiveNudge, live_nudge
from tests.support.twilio_stub import DEFAULT_AUTH_TOKEN, inbound_params, post_inbound

WA_NUMBER = "+14155550199"
FIRST = {"en": "hi, I saw your ad, I'd like some info", "es": "hola, vi su anuncio, quiero info",
         "pt": "oi, vi o anuncio de voces, quero informacoes"}  # fmt: skip
DECLINE = {"en": "no thanks, we're happy with our agency", "es": "no gracias, estamos contentos con nuestra agencia",
           "pt": "nao obrigado, estamos satisfeitos com nossa agencia"}  # fmt: skip
DEFER = {
    "en": "not now, maybe next month",
    "es": "ahora no, quizas el mes que viene",
    "pt": "agora nao, talvez mes que vem",
}
MEETING = {
    "en": "are you free Thursday at 3?",
    "es": "estas libre el jueves a las 3?",
    "pt": "vc ta livre quinta as 15h?",
}
PRICE = {"en": "how much is it per month?", "es": "cuanto cuesta al mes?", "pt": "quanto custa por mes?"}
PRICE_FACT = {
    "en": "Plans start at 99 USD per month",
    "es": "Los planes empiezan en 99 USD al mes",
    "pt": "Os planos começam em 99 USD por mês",
}
# Country codes that give each lead a timezone of its language.
PREFIX = {"en": "+1212555", "es": "+52155512", "pt": "+55119880"}


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveNudge]:
    tmp_path: Path = tmp_path_factory.mktemp("acts")
    with live_nudge(f"sqlite:///{tmp_path / 'nudge.db'}", tmp_path) as running:
        running.business(
            "Acme Growth",
            whatsapp_from=WA_NUMBER,
            whatsapp_templates=whatsapp_templates("acme"),
            profile={
                "description": "Marketing for clinics",
                "offer": "a free 15-minute audit",
                # No `keywords`: the question is matched to the fact by meaning.
                "facts": [
                    {"text": {"en": PRICE_FACT["en"], "es": PRICE_FACT["es"], "pt": PRICE_FACT["pt"]}},
                    {"text": "Our team works remotely from Lisbon and Mexico City."},
                ],
            },
        )
        yield running


def _say(live: LiveNudge, phone: str, text: str) -> None:
    params = inbound_params(f"whatsapp:{phone}", f"whatsapp:{WA_NUMBER}", text)
    assert post_inbound(f"{live.url}/webhooks/twilio/inbound", params, DEFAULT_AUTH_TOKEN).status_code == 200


def _replies(live: LiveNudge, phone: str, count: int) -> list[str]:
    assert live.twilio is not None
    deadline = time.monotonic() + 30
    while True:
        sent = [str(m["body"]) for m in live.twilio.messages if m["to"] == f"whatsapp:{phone}"]
        if len(sent) >= count:
            return sent
        assert time.monotonic() < deadline, f"{phone} got {len(sent)} replies, expected {count}"
        time.sleep(0.05)


def _lead(live: LiveNudge, phone: str) -> tuple[Lead, list[str]]:
    with live.runtime.sessions() as session:
        lead = session.scalars(sa.select(Lead).where(Lead.phone == phone)).one()
        kinds = list(session.scalars(sa.select(LeadActivity.kind).where(LeadActivity.lead_id == lead.id)))
        session.expunge(lead)
        return lead, kinds


def _settled(live: LiveNudge, phone: str, kind: str) -> tuple[Lead, list[str]]:
    deadline = time.monotonic() + 30
    while True:
        lead, kinds = _lead(live, phone)
        if kind in kinds:
            return lead, kinds
        assert time.monotonic() < deadline, f"no {kind!r} activity for {phone}: {kinds}"
        time.sleep(0.05)


@pytest.mark.parametrize("lang", ["en", "es", "pt"])
def test_a_decline_gets_one_acknowledgement_and_no_further_pitch(live: LiveNudge, lang: str) -> None:
    phone = PREFIX[lang] + "0101"
    _say(live, phone, DECLINE[lang])  # the refusal is the lead's first message
    lead, _ = _settled(live, phone, "declined")
    assert _replies(live, phone, 1) and len(_replies(live, phone, 1)) == 1
    assert lead.stage == "closed"
    assert lead.next_touch in (None, 7)  # only the no-pitch re-engagement may remain
    body = _replies(live, phone, 1)[0]
    assert DECLINE[lang] not in body  # the refusal is not quoted back


@pytest.mark.parametrize("lang", ["en", "es", "pt"])
def test_a_deferral_to_next_month_moves_the_next_touch_past_that_date(live: LiveNudge, lang: str) -> None:
    phone = PREFIX[lang] + "0202"
    _say(live, phone, FIRST[lang])
    _replies(live, phone, 1)
    _say(live, phone, DEFER[lang])
    lead, _ = _settled(live, phone, "deferred")
    _replies(live, phone, 2)  # one acknowledgement
    assert lead.next_due_at is not None
    tz = ZoneInfo(lead.timezone or "UTC")
    today = datetime.now(UTC).astimezone(tz).date()
    first_of_next_month = today.replace(day=1, month=today.month % 12 + 1, year=today.year + (today.month == 12))
    due = lead.next_due_at.replace(tzinfo=lead.next_due_at.tzinfo or UTC).astimezone(tz)
    assert due.date() >= first_of_next_month


@pytest.mark.parametrize("lang", ["en", "es", "pt"])
def test_asking_for_a_time_escalates(live: LiveNudge, lang: str) -> None:
    phone = PREFIX[lang] + "0303"
    _say(live, phone, FIRST[lang])
    _replies(live, phone, 1)
    _say(live, phone, MEETING[lang])
    deadline = time.monotonic() + 30
    while True:
        with live.runtime.sessions() as session:
            lead = session.scalars(sa.select(Lead).where(Lead.phone == phone)).one()
            handoffs = session.scalars(sa.select(Handoff).where(Handoff.lead_id == lead.id)).all()
            if handoffs:
                break
        assert time.monotonic() < deadline, "no handoff for a lead asking for a time"
        time.sleep(0.05)
    # This business has no rep and no fallback contact: the lead is not promised minutes.
    notice = _replies(live, phone, 2)[1]
    assert not any(soon in notice for soon in ("within a few minutes", "en unos minutos", "em poucos minutos"))
    assert any(word in notice for word in ("nobody is on hand", "no hay nadie", "não há ninguém")), notice


@pytest.mark.parametrize("lang", ["en", "es", "pt"])
def test_a_price_question_gets_the_price_from_the_profile(live: LiveNudge, lang: str) -> None:
    phone = PREFIX[lang] + "0404"
    _say(live, phone, FIRST[lang])
    _replies(live, phone, 1)
    _say(live, phone, PRICE[lang])
    _settled(live, phone, "answered")
    answer = _replies(live, phone, 2)[1]
    assert PRICE_FACT[lang] in answer, answer
