"""A send interrupted by a crash, or one the provider never answered (row left `sending`): asked
about before anything is sent again, asked again later while the provider cannot tell right now,
given up with the reason when it never can; never sent a second time blindly."""

from __future__ import annotations

import socket
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from nudge.db import transaction
from nudge.models import Lead, LeadActivity, Message, Outbox
from nudge.sim.sample import whatsapp_templates
from tests.conftest import LiveNudge, live_nudge
from tests.support.smtp_server import SmtpServer
from tests.support.twilio_stub import TwilioStub

WA_NUMBER = "+14155550100"
PHONE = "+5511987650001"
OTHER_PHONE = "+5511987650002"


def _post_lead(live: LiveNudge, lead: dict[str, str]) -> None:
    """A form lead; its run sends touch 1 at once."""
    response = live.client.post("/v1/leads", headers=live.auth(live.business_key), json=lead)  # type: ignore[attr-defined]
    assert response.status_code in (200, 201), response.text
    live.runtime.dispatcher.run_due()


def _age(live: LiveNudge, *, began: bool = True) -> datetime:
    """Every outbox row's send began three minutes ago (with `began`) and is due: recovery's
    STALE_SENDING window and any backoff are over. Returns that moment."""
    moment = live.runtime.clock.now() - timedelta(minutes=3)
    values = {"updated_at": moment, "available_at": moment} if began else {"available_at": moment}
    with transaction(live.runtime.sessions) as session:
        session.execute(sa.update(Outbox).values(**values))
    return moment


def _rows_by_phone(live: LiveNudge) -> dict[str | None, Outbox]:
    with live.runtime.sessions() as session:
        rows = session.execute(sa.select(Lead.phone, Outbox).join(Lead, Lead.id == Outbox.lead_id)).all()
        session.expunge_all()
        return {phone: row for phone, row in rows}


def _interrupt_touch_one(live: LiveNudge, lead: dict[str, str]) -> None:
    """Touch 1 is refused once (it waits for its retry), then a worker claims the retry and dies
    before calling the provider, three minutes ago."""
    _post_lead(live, lead)
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


def _whatsapp_business(live: LiveNudge) -> None:
    _, key = live.business("Acme", whatsapp_from=WA_NUMBER, whatsapp_templates=whatsapp_templates("Acme"))
    live.business_key = key  # type: ignore[attr-defined]


def test_a_send_twilio_took_but_never_answered_is_found_not_sent_again(any_database_url: str, tmp_path: Path) -> None:
    # Twilio creates touch 1, then the connection drops before its answer: Nudge must ask Twilio
    # (find_sent) before sending anything again, and adopt what it finds.
    with live_nudge(any_database_url, tmp_path, workers=False) as live:
        _whatsapp_business(live)
        assert live.twilio is not None
        live.twilio.drop_reply("reset", to=f"whatsapp:{PHONE}")
        _post_lead(live, {"phone": PHONE, "name": "Ana"})
        [created] = live.twilio.messages
        waiting, _, _ = _state(live)
        _age(live)
        live.runtime.deliverer.deliver()  # nothing may be resent before Twilio is asked
        recovered = live.runtime.deliverer.recover_interrupted()
        live.runtime.deliverer.deliver()
        assert len(live.twilio.messages) == 1, "touch 1 went out twice"
        assert waiting.status == "sending" and (waiting.last_error or "").startswith("unconfirmed: Twilio did not")
        assert recovered == 1
        row, message, failures = _state(live)
        assert (row.status, message.status, message.provider_id) == ("sent", "sent", created["sid"])
        assert failures == []


def test_a_send_refused_before_it_left_is_retried_and_sent_once(any_database_url: str, tmp_path: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))  # bound, not listening: every connection is refused
        port = holder.getsockname()[1]
        twilio_url = f"http://127.0.0.1:{port}"
        with live_nudge(
            any_database_url,
            tmp_path,
            twilio=False,
            workers=False,
            NUDGE_CHANNELS="live",
            NUDGE_TWILIO_API_URL=twilio_url,
            NUDGE_SMTP_URL="smtp://127.0.0.1:1",
        ) as live:
            _whatsapp_business(live)
            _post_lead(live, {"phone": PHONE, "name": "Ana"})
            row, _, _ = _state(live)
            assert (row.status, row.attempts) == ("pending", 1), "a refused connection is a plain retry"
            assert (row.last_error or "").startswith("Twilio unreachable")
            holder.close()
            with TwilioStub(status_mode="off", port=port) as stub:
                _age(live, began=False)
                live.runtime.deliverer.deliver()
                assert live.runtime.deliverer.recover_interrupted() == 0
                live.runtime.deliverer.deliver()
                [sent] = stub.messages
                row, message, failures = _state(live)
                assert (row.status, row.attempts, message.provider_id) == ("sent", 2, sent["sid"])
                assert failures == []


@pytest.mark.parametrize("bad_page", [False, True], ids=["5xx", "bad-page"])
def test_a_lookup_twilio_fails_waits_and_does_not_hold_up_other_rows(
    any_database_url: str, tmp_path: Path, bad_page: bool
) -> None:
    # Two sends interrupted before they reached Twilio; Twilio's list fails for the first lead's
    # lookup ("Unable to fetch page", or a page without records). That row waits for its backoff,
    # still `sending`; the other is recovered and sent once.
    with live_nudge(any_database_url, tmp_path, workers=False) as live:
        _whatsapp_business(live)
        assert live.twilio is not None
        live.twilio.fail_next(20429, times=2)
        _post_lead(live, {"phone": PHONE, "name": "Ana"})
        _post_lead(live, {"phone": OTHER_PHONE, "name": "Bia"})
        with transaction(live.runtime.sessions) as session:
            claimed = live.runtime.deliverer.claim(session, now=live.runtime.clock.now() + timedelta(minutes=10))
        assert len(claimed) == 2, "both touches were waiting for their retry"
        _age(live)
        live.twilio.fail_next_list(to=f"whatsapp:{PHONE}", bad_page=bad_page)
        started = live.runtime.clock.now()
        assert live.runtime.deliverer.recover_interrupted() == 1
        rows = _rows_by_phone(live)
        failed, other = rows[PHONE], rows[OTHER_PHONE]
        assert failed.status == "sending" and (failed.last_error or "").startswith("lookup: ")
        assert started + timedelta(seconds=30) <= failed.available_at <= started + timedelta(minutes=5)
        assert other.status == "pending"
        live.runtime.deliverer.deliver()
        assert [m["to"] for m in live.twilio.messages] == [f"whatsapp:{OTHER_PHONE}"]
        # Once the backoff is over, Twilio answers: the first touch was never created, so it goes now.
        _age(live, began=False)
        assert live.runtime.deliverer.recover_interrupted() == 1
        live.runtime.deliverer.deliver()
        assert sorted(m["to"] for m in live.twilio.messages) == [f"whatsapp:{PHONE}", f"whatsapp:{OTHER_PHONE}"]
        assert {row.status for row in _rows_by_phone(live).values()} == {"sent"}


def test_an_email_the_mail_server_took_but_never_answered_is_not_sent_again(
    any_database_url: str, tmp_path: Path
) -> None:
    # The server has the message but the connection drops before its answer to the data. SMTP keeps
    # no record to ask, so the send is given up with the reason, as after a crash: never doubled.
    with SmtpServer() as smtp, live_nudge(any_database_url, tmp_path, workers=False, NUDGE_SMTP_URL=smtp.url) as live:
        _, key = live.business("Acme", email_from="Acme <hi@acme.example>")
        live.business_key = key  # type: ignore[attr-defined]
        smtp.drop_after_data()
        _post_lead(live, {"email": "ana@example.com", "name": "Ana"})
        smtp.wait_for(lambda email: True)
        waiting, _, _ = _state(live)
        _age(live)
        live.runtime.deliverer.deliver()
        live.runtime.deliverer.recover_interrupted()
        live.runtime.deliverer.deliver()
        assert len(smtp.messages) == 1, "touch 1 was emailed twice"
        assert waiting.status == "sending" and (waiting.last_error or "").startswith("unconfirmed: mail server")
        row, message, failures = _state(live)
        assert (row.status, message.status, message.error_code) == ("failed", "failed", "smtp-unknown")
        assert len(failures) == 1 and "could not be confirmed" in failures[0]
