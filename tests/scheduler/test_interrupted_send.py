"""A send interrupted by a crash (row left `sending`) whose fate the provider cannot tell right now:
asked again later while the provider may still answer, given up with the reason when it never
can; never sent a second time blindly."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa

from nudge.db import transaction
from nudge.models import LeadActivity, Message, Outbox
from nudge.sim.sample import whatsapp_templates
from tests.conftest import LiveNudge, live_nudge

WA_NUMBER = "+14155550100"
PHONE = "+5511987650001"


def _interrupt_touch_one(live: LiveNudge, lead: dict[str, str]) -> None:
    """Touch 1 is refused once (it waits for its retry), then a worker claims the retry and dies
    before calling the provider, three minutes ago."""
    response = live.client.post("/v1/leads", headers=live.auth(live.business_key), json=lead)  # type: ignore[attr-defined]
    assert response.status_code in (200, 201), response.text
    live.runtime.dispatcher.run_due()
    now = live.runtime.clock.now()
    with transaction(live.runtime.sessions) as session:
        claimed = live.runtime.deliverer.claim(session, now=now + timedelta(minutes=10))
    assert len(claimed) == 1, "touch 1 was waiting for its retry"
    with transaction(live.runtime.sessions) as session:
        began = now - timedelta(minutes=3)
        session.execute(sa.update(Outbox).values(updated_at=began, available_at=began))


def _state(live: LiveNudge) -> tuple[Outbox, Message, list[str]]:
    with live.runtime.sessions() as session:
        row = session.scalars(sa.select(Outbox)).one()
        message = session.get(Message, row.message_id)
        assert message is not None
        failures = list(session.scalars(sa.select(LeadActivity.detail).where(LeadActivity.kind == "delivery_failed")))
        session.expunge_all()
        return row, message, failures


def test_a_lookup_the_provider_cannot_answer_now_is_asked_again_later(sqlite_url: str, tmp_path: Path) -> None:
    with live_nudge(sqlite_url, tmp_path, workers=False) as live:
        _, key = live.business("Acme", whatsapp_from=WA_NUMBER, whatsapp_templates=whatsapp_templates("Acme"))
        live.business_key = key  # type: ignore[attr-defined]
        assert live.twilio is not None
        live.twilio.fail_next(20429, to=f"whatsapp:{PHONE}")
        _interrupt_touch_one(live, {"phone": PHONE, "name": "Ana"})
        live.twilio.stop()  # Twilio cannot be reached while Nudge recovers
        started = live.runtime.clock.now()
        assert live.runtime.deliverer.recover_interrupted() == 0
        row, message, failures = _state(live)
        assert row.status == "sending" and message.status != "failed", "not given up: Twilio may still know"
        assert (row.last_error or "").startswith("lookup: cannot ask Twilio about an interrupted send")
        assert started + timedelta(seconds=30) <= row.available_at <= started + timedelta(minutes=5)
        assert failures == []


def test_a_send_nobody_can_confirm_is_given_up_with_the_reason(sqlite_url: str, tmp_path: Path) -> None:
    # The mail server is unreachable (touch 1 waits for its retry), and SMTP keeps no record to ask.
    with live_nudge(sqlite_url, tmp_path, workers=False) as live:
        _, key = live.business("Acme", email_from="Acme <hi@acme.example>")
        live.business_key = key  # type: ignore[attr-defined]
        _interrupt_touch_one(live, {"email": "ana@example.com", "name": "Ana"})
        assert live.runtime.deliverer.recover_interrupted() == 0
        row, message, failures = _state(live)
        assert (row.status, message.status, message.error_code) == ("failed", "failed", "smtp-unknown")
        assert len(failures) == 1 and "could not be confirmed" in failures[0] and "never doubled" in failures[0]
