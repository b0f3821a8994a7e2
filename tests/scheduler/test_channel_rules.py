"""Provider rules end to end: the real `twilio` client against the Twilio stand-in, the API under
uvicorn, the real dispatcher. Each test scripts the outside world and checks what Nudge did."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from agent import activity
from nudge.db import transaction
from nudge.models import Lead, LeadActivity, Message, OptOut, Outbox
from nudge.sim.sample import whatsapp_templates
from scheduler import mailbox
from tests.conftest import LiveNudge, live_nudge, postgres_schema
from tests.support.twilio_stub import DEFAULT_AUTH_TOKEN, MessageRecord, TwilioStub, post_inbound

WA_NUMBER = "+14155550100"
SMS_NUMBER = "+14155550101"
PHONE = "+5511987650001"


def _business(live: LiveNudge) -> str:
    _, key = live.business(
        "Acme Growth",
        whatsapp_from=WA_NUMBER,
        sms_from=SMS_NUMBER,
        email_from="Acme <hi@acme.example>",
        whatsapp_templates=whatsapp_templates("Acme Growth"),
    )
    return key


def _stub(live: LiveNudge) -> TwilioStub:
    assert live.twilio is not None
    return live.twilio


def _lead_writes(live: LiveNudge, text: str, channel: str = "whatsapp") -> None:
    stub = _stub(live)
    if channel == "whatsapp":
        params = stub.inbound_params(f"whatsapp:{PHONE}", f"whatsapp:{WA_NUMBER}", text)
    else:
        params = stub.inbound_params(PHONE, SMS_NUMBER, text, channel="sms")
    response = post_inbound(f"{live.url}/webhooks/twilio/inbound", params, DEFAULT_AUTH_TOKEN)
    assert response.status_code == 200, response.text


def _wait(check: Callable[[], bool], timeout: float = 5.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def _lead(live: LiveNudge) -> Lead:
    with live.runtime.sessions() as session:
        lead = session.scalars(sa.select(Lead)).one()
        session.expunge(lead)
        return lead


def _opt_outs(live: LiveNudge) -> set[str]:
    with live.runtime.sessions() as session:
        return set(session.scalars(sa.select(OptOut.channel)))


def _to_lead(channel: str) -> Callable[[MessageRecord], bool]:
    address = f"whatsapp:{PHONE}" if channel == "whatsapp" else PHONE
    return lambda m: m["to"] == address


def test_63016_outside_the_window_falls_to_sms_and_whatsapp_stays_usable(live: LiveNudge) -> None:
    _business(live)
    stub = _stub(live)
    stub.fail_next(63016, to=f"whatsapp:{PHONE}")
    _lead_writes(live, "Hi, how much is the yearly plan?")
    sms = stub.wait_for_message(_to_lead("sms"), timeout=5)
    assert sms["from"] == SMS_NUMBER and sms["body"].strip()
    assert not [m for m in stub.messages if m["to"] == f"whatsapp:{PHONE}"], "the refused WhatsApp never left"
    _wait(lambda: _failed_codes(live) == ["63016"], what="the failed WhatsApp row")
    assert "whatsapp" not in (_lead(live).extra or {}).get("unreachable", []), "63016 is about timing, not the number"


def test_63003_not_on_whatsapp_falls_to_sms_and_is_remembered(live: LiveNudge) -> None:
    _business(live)
    stub = _stub(live)
    stub.fail_next(63003, to=f"whatsapp:{PHONE}")
    _lead_writes(live, "Hi, how much is the yearly plan?")
    stub.wait_for_message(_to_lead("sms"), timeout=5)
    _wait(lambda: "whatsapp" in (_lead(live).extra or {}).get("unreachable", []), what="whatsapp marked unreachable")
    with live.runtime.sessions() as session:
        reasons = list(session.scalars(sa.select(LeadActivity.detail).where(LeadActivity.kind == "delivery_failed")))
    assert any("63003" in r for r in reasons), reasons


def test_20429_is_retried_with_backoff_then_succeeds(live: LiveNudge) -> None:
    _business(live)
    stub = _stub(live)
    stub.fail_next(20429, to=f"whatsapp:{PHONE}")
    started = time.monotonic()
    _lead_writes(live, "Hi, just browsing your plans")
    reply = stub.wait_for_message(_to_lead("whatsapp"), timeout=8)
    waited = time.monotonic() - started
    rejected = [r for r in stub.requests if r["status"] == 429]
    assert len(rejected) == 1, "one 429, then the retry got through"
    assert waited >= 1.0, f"the retry waited for its backoff (at least 1 s), not {waited:.2f} s"
    assert not [m for m in stub.messages if m["to"] == PHONE], "a retry is not a fallback"
    _wait(lambda: _status(live, reply["sid"]) is not None, what="the send recorded")
    with live.runtime.sessions() as session:
        row = session.scalars(sa.select(Outbox)).one()
        message = session.get(Message, row.message_id)
        assert message is not None
        assert (row.status, row.attempts, message.provider_id) == ("sent", 2, reply["sid"])


def test_out_of_order_and_duplicate_status_callbacks_end_in_the_furthest_status(live: LiveNudge) -> None:
    _business(live)
    stub = _stub(live)
    stub.status_mode = "manual"
    _lead_writes(live, "Hi, just browsing your plans")
    sent = stub.wait_for_message(_to_lead("whatsapp"), timeout=5)
    _wait(lambda: _status(live, sent["sid"]) is not None, what="the provider id on our row")
    for status in ("read", "delivered", "sent", "read", "queued", "delivered"):
        callback = stub.send_status(sent["sid"], status)
        assert callback is not None and callback["status_code"] == 200
    assert _status(live, sent["sid"]) == "read"
    with live.runtime.sessions() as session:
        history = session.scalars(sa.select(Message.status_history).where(Message.provider_id == sent["sid"])).one()
    assert [h["status"] for h in history] == ["queued", "sent", "read"], "each status recorded once, forward only"


def test_undelivered_callback_is_final_and_sends_the_touch_on_the_next_channel(live: LiveNudge) -> None:
    _business(live)
    stub = _stub(live)
    stub.status_mode = "manual"
    _lead_writes(live, "Hi, just browsing your plans")
    sent = stub.wait_for_message(_to_lead("whatsapp"), timeout=5)
    _wait(lambda: _status(live, sent["sid"]) is not None, what="the provider id on our row")
    stub.send_status(sent["sid"], "undelivered", 30008)
    sms = stub.wait_for_message(_to_lead("sms"), timeout=5)
    assert sms["body"].strip()
    stub.send_status(sent["sid"], "delivered")  # late and out of order: a failure stays final
    assert _status(live, sent["sid"]) == "undelivered"
    with live.runtime.sessions() as session:
        touches = list(session.scalars(sa.select(Message.touch).where(Message.direction == "out")))
    assert touches == [1, 1], "the same touch, once per channel"


@pytest.mark.parametrize(
    ("channel", "stop_word", "confirmations"),
    [
        ("whatsapp", "BAJA", 1),
        ("whatsapp", "parem", 1),
        ("whatsapp", "parem de me mandar mensagem", 1),
        ("sms", "please stop texting me", 1),
        ("sms", "STOP", 0),  # Twilio itself confirms an SMS STOP keyword; a second one would fail (21610)
    ],
)
def test_an_opt_out_gets_one_confirmation_then_nothing(
    live: LiveNudge, channel: str, stop_word: str, confirmations: int
) -> None:
    _business(live)
    stub = _stub(live)
    _lead_writes(live, "Hi, just browsing your plans", channel)
    stub.wait_for(1, timeout=5)
    _wait(lambda: _outbound_count(live) >= 1 and not _busy(live), what="touch 1 settled")
    before = len(stub.messages)
    _lead_writes(live, stop_word, channel)
    _wait(lambda: _lead(live).stage == "opted_out", what="stage opted_out")
    _wait(lambda: not _busy(live), what="the opt-out run settled")
    confirm = stub.messages[before:]
    assert len(confirm) == confirmations, [m["body"] for m in confirm]
    if confirm:
        assert confirm[0]["to"] == (f"whatsapp:{PHONE}" if channel == "whatsapp" else PHONE)
    assert _opt_outs(live) == {"all"}
    lead = _lead(live)
    assert lead.next_touch is None and lead.next_due_at is None, "no follow-up is planned"
    _lead_writes(live, "hello? are you there?", channel)  # not an opt-in: silence
    time.sleep(0.6)
    assert len(stub.messages) == before + confirmations, [m["body"] for m in stub.messages[before:]]


@pytest.mark.parametrize(("channel", "word", "answers"), [("whatsapp", "START", 1), ("sms", "START", 0)])
def test_start_restores_messaging_after_stop(live: LiveNudge, channel: str, word: str, answers: int) -> None:
    _business(live)
    stub = _stub(live)
    _lead_writes(live, "Hi, just browsing your plans", channel)
    stub.wait_for(1, timeout=5)
    _lead_writes(live, "STOP", channel)
    _wait(lambda: _opt_outs(live) == {"all"} and not _busy(live), what="suppression")
    before = len(stub.messages)
    _lead_writes(live, word, channel)
    _wait(lambda: not _opt_outs(live), what="suppression lifted")
    _wait(lambda: _lead(live).stage != "opted_out" and _lead(live).next_touch is not None, what="cadence resumed")
    _wait(lambda: not _busy(live), what="the opt-in run settled")
    assert len(stub.messages) == before + answers, "Twilio confirms an SMS START itself"


@pytest.mark.parametrize(("channel", "answers"), [("whatsapp", 1), ("sms", 0)])
def test_help_keyword_is_answered_without_moving_the_cadence(live: LiveNudge, channel: str, answers: int) -> None:
    _business(live)
    stub = _stub(live)
    _lead_writes(live, "Hi, just browsing your plans", channel)
    stub.wait_for(1, timeout=5)
    _wait(lambda: not _busy(live), what="touch 1 settled")
    planned = _lead(live).next_touch
    _lead_writes(live, "HELP", channel)
    _wait(lambda: _help_recorded(live), what="HELP handled")
    _wait(lambda: not _busy(live), what="help settled")
    answer = stub.messages[1:]
    assert len(answer) == answers, "on SMS Twilio answers HELP with the number's help text"
    if answer:
        assert "STOP" in answer[0]["body"]
    assert _lead(live).next_touch == planned and not _opt_outs(live)


def _help_recorded(live: LiveNudge) -> bool:
    with live.runtime.sessions() as session:
        return session.scalar(sa.select(LeadActivity.id).where(LeadActivity.kind == "help")) is not None


def test_21610_from_twilio_suppresses_the_channel_for_that_lead(live: LiveNudge) -> None:
    _business(live)
    stub = _stub(live)
    stub.block(PHONE, 21610)
    _lead_writes(live, "Hi, just browsing your plans", "sms")
    _wait(lambda: "sms" in _opt_outs(live), what="the carrier opt-out recorded")
    with live.runtime.sessions() as session:
        reason = session.scalars(sa.select(OptOut.reason).where(OptOut.channel == "sms")).one()
    assert "21610" in reason


# -- reading our side back -------------------------------------------------------------------------


def _status(live: LiveNudge, sid: str) -> str | None:
    with live.runtime.sessions() as session:
        return session.scalar(sa.select(Message.status).where(Message.provider_id == sid))


def _failed_codes(live: LiveNudge) -> list[str]:
    with live.runtime.sessions() as session:
        return [c or "" for c in session.scalars(sa.select(Message.error_code).where(Message.status == "failed"))]


def _outbound_count(live: LiveNudge) -> int:
    with live.runtime.sessions() as session:
        return int(session.scalar(sa.select(sa.func.count()).where(Message.direction == "out")) or 0)


def _busy(live: LiveNudge) -> bool:
    from nudge.models import LeadEvent

    with live.runtime.sessions() as session:
        now = live.runtime.clock.now()
        events = session.scalar(
            sa.select(sa.func.count()).where(LeadEvent.processed_at.is_(None), LeadEvent.available_at <= now)
        )
        outbox = session.scalar(sa.select(sa.func.count()).where(Outbox.status.in_(("pending", "sending"))))
    return bool(events or outbox)


def test_a_retry_waiting_when_the_lead_opts_out_is_withdrawn_not_sent(live: LiveNudge) -> None:
    stub = _touch_one_waiting_for_its_retry(live, refusals=2)
    _lead_writes(live, "STOP")
    _settled_as(live, "opted_out", timeout=15)
    row, touch_one = _touch_one(live)
    with live.runtime.sessions() as session:
        withdrawn = list(session.scalars(sa.select(LeadActivity.detail).where(LeadActivity.kind == "send_withdrawn")))
        confirmation = session.scalars(
            sa.select(Message).where(Message.info["kind"].as_string() == "optout_confirm")
        ).one()
    assert (row.status, touch_one.status, touch_one.error_code) == ("withdrawn", "failed", "withdrawn")
    assert withdrawn == ["the lead opted out of everything after it was queued"]
    delivered = [m["sid"] for m in stub.messages if m["to"] == f"whatsapp:{PHONE}"]
    assert delivered == [confirmation.provider_id], "the opt-out confirmation is the only message that reached them"


def _touch_one_waiting_for_its_retry(live: LiveNudge, refusals: int) -> TwilioStub:
    """A lead writes; Twilio refuses touch 1 `refusals` times (429), so it waits in the outbox."""
    _business(live)
    stub = _stub(live)
    stub.fail_next(20429, times=refusals, to=f"whatsapp:{PHONE}")
    _lead_writes(live, "Hi, just browsing your plans")
    _wait(lambda: _outbox(live) == [("pending", 1)], what="touch 1 refused once and waiting for its retry")
    return stub


def _settled_as(live: LiveNudge, stage: str, timeout: float) -> None:
    _wait(lambda: _lead(live).stage == stage, timeout=10, what=f"stage {stage}")
    _wait(lambda: not _busy(live), timeout=timeout, what="every retry settled")


def _outbox(live: LiveNudge) -> list[tuple[str, int]]:
    with live.runtime.sessions() as session:
        return [(row.status, row.attempts) for row in session.scalars(sa.select(Outbox))]


def test_touch_one_to_a_hot_lead_is_retried_though_the_same_run_escalated_them(live: LiveNudge) -> None:
    # The run that queues touch 1 also hands the hot lead to a person: the touch was queued for an
    # escalated lead on purpose, so its retry still goes out (only a later change withdraws it).
    _business(live)
    stub = _stub(live)
    stub.fail_next(20429, to=f"whatsapp:{PHONE}")
    _lead_writes(live, "I want to buy today, budget approved")
    _wait(lambda: _lead(live).stage == "escalated", what="the hot lead escalated")
    _wait(lambda: not _busy(live), timeout=10, what="the retry settled")
    row, touch_one = _touch_one(live)
    assert (row.status, touch_one.status) == ("sent", "sent"), (row.status, row.last_error)


def test_a_retry_waiting_when_a_later_run_escalates_the_lead_is_withdrawn(live: LiveNudge) -> None:
    _touch_one_waiting_for_its_retry(live, refusals=3)
    _lead_writes(live, "Actually I want to buy today, budget approved, call me")
    _settled_as(live, "escalated", timeout=20)
    row, _ = _touch_one(live)
    assert (row.status, row.last_error) == (
        "withdrawn",
        "the lead became escalated while it waited; follow-up touches stop",
    )


def _touch_one(live: LiveNudge) -> tuple[Outbox, Message]:
    with live.runtime.sessions() as session:
        message = session.scalars(sa.select(Message).where(Message.touch == 1)).one()
        row = session.scalars(sa.select(Outbox).where(Outbox.message_id == message.id)).one()
        session.expunge_all()
        return row, message


# The two tests below replay, one step at a time (no workers, no timing), what made the test above
# flaky: touch 1's "waiting since" moved past the escalation, and its retry went out after it.


def test_an_escalation_while_a_retry_is_at_the_provider_withdraws_its_next_attempt(
    any_database_url: str, tmp_path: Path
) -> None:
    with live_nudge(any_database_url, tmp_path, workers=False, NUDGE_INBOUND_QUIET_SECONDS=0) as live:
        stub = _touch_one_refused_once(live)
        _retry_due_now(live)
        with transaction(live.runtime.sessions) as session:
            retry = live.runtime.deliverer.claim(session, now=live.runtime.clock.now())
        assert len(retry) == 1, "touch 1's retry claimed: its provider call is about to go out"
        _lead_writes(live, "Actually I want to buy today, budget approved, call me")
        live.runtime.dispatcher.run_due()
        assert _lead(live).stage == "escalated"
        stub.fail_next(20429, to=f"whatsapp:{PHONE}")
        live.runtime.deliverer.send_claimed(retry)  # Twilio answers the retry only now: refused again
        _retry_due_now(live)
        live.runtime.deliverer.deliver()
        row, _ = _touch_one(live)
        assert (row.status, row.last_error) == (
            "withdrawn",
            "the lead became escalated while it waited; follow-up touches stop",
        )


def test_a_send_deferred_for_the_sender_rate_leaves_a_waiting_retry_withdrawable(
    any_database_url: str, tmp_path: Path
) -> None:
    # One WhatsApp message per 100 s: the message telling the escalated lead a person will answer
    # waits for the sender's slot, and every row of that sender due before it (touch 1's retry)
    # is moved to that slot with it.
    with live_nudge(
        any_database_url, tmp_path, workers=False, NUDGE_INBOUND_QUIET_SECONDS=0, NUDGE_RATE_WHATSAPP=0.01
    ) as live:
        _touch_one_refused_once(live)
        _lead_writes(live, "Actually I want to buy today, budget approved, call me")
        live.runtime.dispatcher.run_due()
        assert _lead(live).stage == "escalated"
        assert sorted(_outbox(live)) == [("pending", 0), ("pending", 1)], "both wait for the sender's slot"
        with transaction(live.runtime.sessions) as session:
            live.runtime.deliverer.claim(session, now=live.runtime.clock.now() + timedelta(minutes=2))
        row, _ = _touch_one(live)
        assert (row.status, row.last_error) == (
            "withdrawn",
            "the lead became escalated while it waited; follow-up touches stop",
        )


def _touch_one_refused_once(live: LiveNudge) -> TwilioStub:
    """Without workers: a lead writes and Twilio refuses touch 1 once (429), so it waits."""
    _business(live)
    stub = _stub(live)
    stub.fail_next(20429, to=f"whatsapp:{PHONE}")
    _lead_writes(live, "Hi, just browsing your plans")
    live.runtime.dispatcher.run_due()
    assert _outbox(live) == [("pending", 1)]
    return stub


def _retry_due_now(live: LiveNudge) -> None:
    """Its backoff is over (without waiting for it)."""
    with transaction(live.runtime.sessions) as session:
        now = live.runtime.clock.now()
        session.execute(sa.update(Outbox).where(Outbox.status == "pending").values(available_at=now))


@pytest.mark.postgres
def test_a_retry_is_not_claimed_while_a_run_of_its_lead_is_uncommitted(tmp_path: Path) -> None:
    # On PostgreSQL a claim runs beside a lead's run: it cannot see the run's stage change before
    # the commit, and that change is dated before the claim, so no later attempt would see it.
    with postgres_schema() as url, live_nudge(url, tmp_path, workers=False) as live:
        _touch_one_refused_once(live)
        _retry_due_now(live)
        with transaction(live.runtime.sessions) as run:  # a run of the lead, as far as it matters here
            lead = run.scalars(sa.select(Lead)).one()
            now = live.runtime.clock.now()
            assert mailbox.claim(run, lead.id, "another-worker", now, timedelta(minutes=1)) is not None
            activity.record_stage(run, lead, now, lead.stage, "escalated")
            lead.stage = "escalated"
            with transaction(live.runtime.sessions) as session:
                claimed = live.runtime.deliverer.claim(session, now=live.runtime.clock.now())
            assert claimed == [], "touch 1 waits for the run to end"
        with transaction(live.runtime.sessions) as session:
            assert live.runtime.deliverer.claim(session, now=live.runtime.clock.now()) == []
        row, _ = _touch_one(live)
        assert (row.status, row.last_error) == (
            "withdrawn",
            "the lead became escalated while it waited; follow-up touches stop",
        )
