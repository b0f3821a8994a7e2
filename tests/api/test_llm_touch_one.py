"""Touch 1 over real HTTP with an LLM configured: written by the model when it answers in time,
by the template when it is slow or down, and always within the 60-second promise."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path

import pytest
import sqlalchemy as sa

from nudge.models import Message
from nudge.sim.sample import whatsapp_templates
from tests.conftest import LiveNudge, live_nudge, postgres_schema
from tests.support.openai_stub import Behaviour, OpenAIStub, failing, good, slow
from tests.support.twilio_stub import DEFAULT_AUTH_TOKEN, MessageRecord, inbound_params, post_inbound

WA_NUMBER = "+14155550100"


@contextmanager
def nudge_with_llm(
    tmp_path: Path, sqlite_url: str, behaviour: Behaviour, **extra: object
) -> Iterator[tuple[LiveNudge, OpenAIStub]]:
    with OpenAIStub(behaviour) as stub, live_nudge(sqlite_url, tmp_path, **stub.settings(**extra)) as live:
        live.business(
            "Acme Growth",
            whatsapp_from=WA_NUMBER,
            sms_from="+14155550101",
            whatsapp_templates=whatsapp_templates("acme"),
            profile={"description": "Marketing for clinics", "offer": "a free 15-minute audit"},
        )
        yield live, stub


def _sent_to(phone: str, message: MessageRecord) -> bool:
    return message["to"] == f"whatsapp:{phone}"


def _touch_one(live: LiveNudge, phone: str, text: str) -> tuple[float, dict[str, object], Message]:
    assert live.twilio is not None
    started = time.monotonic()
    params = inbound_params(f"whatsapp:{phone}", f"whatsapp:{WA_NUMBER}", text)
    assert post_inbound(f"{live.url}/webhooks/twilio/inbound", params, DEFAULT_AUTH_TOKEN).status_code == 200
    sent = live.twilio.wait_for_message(lambda m: m["to"] == f"whatsapp:{phone}", timeout=15)
    elapsed = sent["received_at"] - started
    with live.runtime.sessions() as session:
        message = session.scalars(sa.select(Message).where(Message.direction == "out", Message.touch == 1)).one()
        session.expunge(message)
    return elapsed, dict(sent), message


def test_touch_one_is_written_by_the_model_when_it_answers(tmp_path: Path, sqlite_url: str) -> None:
    with nudge_with_llm(tmp_path, sqlite_url, good) as (live, _):
        elapsed, sent, message = _touch_one(live, "+5511987650001", "Hola, quisiera información sobre los planes")
        assert elapsed < 3.0
        assert message.composer == "llm" and sent["body"] == message.body
        assert message.body.startswith("Hola") and "Recibimos tu mensaje" in message.body
        metrics = live.client.get("/metrics").text
        labels = f'business="{message.business_id}",kind="(?:prompt|completion)",task="compose"'
        tokens = re.findall(rf"nudge_llm_tokens_total{{{labels}}} (\S+)", metrics)
        assert len(tokens) == 2 and all(float(t) > 0 for t in tokens), metrics[-1500:]
        assert 'nudge_llm_calls_total{outcome="ok",task="qualify"} 1.0' in metrics


def test_a_slow_model_gets_a_short_budget_and_the_template_answers_touch_one(tmp_path: Path, sqlite_url: str) -> None:
    with nudge_with_llm(tmp_path, sqlite_url, slow(6), NUDGE_LLM_FIRST_TOUCH_TIMEOUT=1.0) as (live, _):
        elapsed, sent, message = _touch_one(live, "+5511987650002", "Oi, quanto custa o plano anual?")
        # The qualifier and the composer each give up on the slow model after touch 1's 1 s.
        assert elapsed < 1 + 1 + 1.5, elapsed
        assert message.composer == "template" and sent["body"] == message.body
        assert "no answer within 1.0s" in message.info["llm_fallback"]


def test_a_failing_endpoint_never_holds_touch_one(tmp_path: Path, sqlite_url: str) -> None:
    with nudge_with_llm(tmp_path, sqlite_url, failing(503)) as (live, _):
        elapsed, _, message = _touch_one(live, "+5511987650003", "Hello, do you work with gyms?")
        assert elapsed < 2.0 and message.composer == "template"


@pytest.mark.postgres
def test_a_burst_of_leads_behind_a_slow_model_still_gets_touch_one_within_the_promise(tmp_path: Path) -> None:
    """Four dispatcher threads, sixteen leads at once, 3 s of model time per touch 1: later waves
    wait for earlier ones, the time a lead waited comes off its budget, and past it the template
    answers at once. (Without that the last wave would answer after about 12 s.)"""
    promise, phones = 10.0, [f"+5511966{index:06d}" for index in range(16)]
    with (
        postgres_schema() as database_url,
        nudge_with_llm(tmp_path, database_url, slow(1.5), NUDGE_FIRST_TOUCH_PROMISE=promise) as (live, _),
    ):
        assert live.twilio is not None
        started = time.monotonic()
        posts = [
            threading.Thread(
                target=post_inbound,
                args=(
                    f"{live.url}/webhooks/twilio/inbound",
                    inbound_params(f"whatsapp:{phone}", f"whatsapp:{WA_NUMBER}", "Hi, I need info about your plans"),
                    DEFAULT_AUTH_TOKEN,
                ),
            )
            for phone in phones
        ]
        for thread in posts:
            thread.start()
        for thread in posts:
            thread.join()
        waits = [
            live.twilio.wait_for_message(partial(_sent_to, phone), timeout=30)["received_at"] - started
            for phone in phones
        ]
        assert max(waits) < promise, sorted(waits)
        with live.runtime.sessions() as session:
            firsts = list(session.scalars(sa.select(Message).where(Message.direction == "out", Message.touch == 1)))
        assert len(firsts) == len(phones)
        composers = [m.composer for m in firsts]
        assert "llm" in composers, "the first leads in the queue still get the model's draft"
        assert any("no time left for the model" in (m.info.get("llm_fallback") or "") for m in firsts), composers
