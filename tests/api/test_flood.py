"""An inbound flood from one lead: every message is stored, the agent answers the burst once."""

from __future__ import annotations

import time
from typing import Any

import sqlalchemy as sa

from nudge.db import transaction
from nudge.models import Lead
from nudge.sim.sample import whatsapp_templates
from tests.conftest import LiveNudge
from tests.support.twilio_stub import DEFAULT_AUTH_TOKEN, inbound_params, post_inbound

WA = "+14155550100"
LEAD = "+5511987650321"


def _say(live: LiveNudge, text: str) -> None:
    params = inbound_params(f"whatsapp:{LEAD}", f"whatsapp:{WA}", text)
    assert post_inbound(f"{live.url}/webhooks/twilio/inbound", params, DEFAULT_AUTH_TOKEN).status_code == 200


def _transcript(live: LiveNudge, key: str, lead_id: str) -> list[dict[str, Any]]:
    answer = live.client.get(f"/v1/leads/{lead_id}/messages", headers=live.auth(key))
    assert answer.status_code == 200, answer.text
    return list(answer.json()["messages"])


def test_a_burst_of_20_messages_in_3_seconds_is_stored_and_answered_once(live: LiveNudge) -> None:
    _, key = live.business("Acme", whatsapp_from=WA, whatsapp_templates=whatsapp_templates("acme"))
    assert live.twilio is not None
    started = time.monotonic()
    _say(live, "Hi, I saw your ad about teeth whitening")
    live.twilio.wait_for(1, timeout=3)  # touch 1: a new lead is answered at once, never held
    assert time.monotonic() - started < 1.5
    with transaction(live.runtime.sessions) as session:
        lead_id = session.scalars(sa.select(Lead.id).where(Lead.phone == LEAD)).one()
    time.sleep(0.5)  # let touch 1's run finish: the lead is now in conversation

    burst_started = time.monotonic()
    for n in range(20):
        time.sleep(max(0.0, burst_started + n * 0.15 - time.monotonic()))  # 20 messages within 3 s
        _say(live, f"question {n}: how long does whitening last?")
    assert time.monotonic() - burst_started < 3.0

    last_sent = time.monotonic()
    deadline = last_sent + 6
    while time.monotonic() < deadline and len(live.twilio.messages) < 2:
        time.sleep(0.02)
    waited = time.monotonic() - last_sent
    print(f"burst answered {waited:.2f} s after its last message")
    # The quiet gap (1.5 s) plus at most one scheduler tick (0.2 s in tests) and the run itself.
    assert 1.4 < waited < 3.0
    time.sleep(1.5)  # anything else the burst would (wrongly) trigger has time to show up
    transcript = _transcript(live, key, lead_id)
    inbound = [m for m in transcript if m["direction"] == "in"]
    assert len(inbound) == 21, "every message of the burst is stored"
    assert {f"question {n}: how long does whitening last?" for n in range(20)} <= {m["text"] for m in inbound}
    last_in = max(m["created_at"] for m in inbound)
    answers = [m for m in transcript if m["direction"] == "out" and m["created_at"] > last_in]
    first_of_burst = inbound[1]["created_at"]
    during = [m for m in transcript if m["direction"] == "out" and first_of_burst < m["created_at"] <= last_in]
    assert during == [], "nothing is answered while the lead is still typing"
    assert len(answers) == 1, [m["text"] for m in answers]
    assert len(live.twilio.messages) == 2  # touch 1 and the one combined answer
