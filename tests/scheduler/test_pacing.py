"""Per-sender rates: a burst of due sends queues behind each sender's rate instead of meeting 429s.

The Twilio stand-in meters each sender on the same virtual clock as Nudge and answers 20429 past
its rate, as Twilio does; the real `twilio` client talks to it over HTTP.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from agent.outbound import ChannelChoice, queue_message
from nudge.clock import VirtualClock
from nudge.db import transaction
from nudge.models import Lead, Outbox
from nudge.runtime import open_runtime
from nudge.tenants import create_business
from scheduler.pacing import EDGE_MARGIN, SenderPacer, SendRates, sms_sender_kind
from tests.conftest import make_settings
from tests.support.twilio_stub import TwilioStub

START = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
WA = "+14155550100"
LONG_CODE = "+14155550101"
TOLL_FREE = "+18005550123"


def _max_in_any_second(moments: list[datetime]) -> int:
    ordered = sorted(moments)
    best, first = 0, 0
    for last, moment in enumerate(ordered):
        while moment - ordered[first] >= timedelta(seconds=1):
            first += 1
        best = max(best, last - first + 1)
    return best


@dataclass
class Burst:
    statuses: Counter[str]
    rejected: int  # 429s the provider answered
    sent_at: dict[str, list[datetime]]  # sender -> when the provider accepted each message
    rounds: int  # times the queue had to wait for a deferred slot


def _burst(plan: dict[tuple[str, str], int], database_url: str, tmp_path: Path) -> Burst:
    """Queue `plan` sends, all due at once, and deliver them on a virtual clock."""
    clock = VirtualClock(START)
    with TwilioStub(status_mode="off", now=clock.now) as stub:
        stub.set_sender_rate_limit(f"whatsapp:{WA}", 80)
        stub.set_sender_rate_limit(LONG_CODE, 1)
        stub.set_sender_rate_limit(TOLL_FREE, 3)
        settings = make_settings(
            database_url, tmp_path, NUDGE_CHANNELS="live", NUDGE_TWILIO_API_URL=stub.url, NUDGE_SMTP_URL="smtp://x:1"
        )
        with open_runtime(settings, clock=clock) as runtime:
            with transaction(runtime.sessions) as session:
                wa_biz = create_business(
                    session, name="Wa", now=START, fields={"whatsapp_from": WA, "sms_from": LONG_CODE}
                )
                tf_biz = create_business(session, name="Tf", now=START, fields={"sms_from": TOLL_FREE})
                index = 0
                for (channel, sender), count in plan.items():
                    business = tf_biz.business if sender == TOLL_FREE else wa_biz.business
                    for _ in range(count):
                        index += 1
                        lead = Lead(
                            business_id=business.id, phone=f"+1212555{index:04d}", created_at=START, updated_at=START
                        )
                        session.add(lead)
                        session.flush()
                        queue_message(
                            session,
                            lead=lead,
                            choice=ChannelChoice(channel, lead.phone or "", sender),
                            body="Your appointment reminder",
                            now=START,
                            touch=3,
                            author="agent",
                            composer="template",
                        )
            rounds = 0
            while True:
                runtime.deliverer.deliver(limit=10_000)
                with runtime.sessions() as session:
                    due = session.scalar(sa.select(sa.func.min(Outbox.available_at)).where(Outbox.status == "pending"))
                if due is None:
                    break
                clock.set(due)
                rounds += 1
            with runtime.sessions() as session:
                statuses = Counter(session.scalars(sa.select(Outbox.status)))
        sent_at: dict[str, list[datetime]] = defaultdict(list)
        for message in stub.messages:
            sent_at[message["from"] or ""].append(message["date_created"])
        rejected = len([r for r in stub.requests if r["status"] == 429])
    return Burst(statuses, rejected, sent_at, rounds)


@pytest.mark.slow
def test_fifteen_hundred_due_sends_respect_every_senders_rate(sqlite_url: str, tmp_path: Path) -> None:
    # Enough WhatsApp rows to fill 80 a second for over 15 seconds; `bench.cadence` runs bigger.
    whatsapp = 1_400
    burst = _burst({("whatsapp", WA): whatsapp, ("sms", LONG_CODE): 60, ("sms", TOLL_FREE): 40}, sqlite_url, tmp_path)
    assert burst.statuses == {"sent": whatsapp + 100}
    assert burst.rejected == 0, "not one 429 from the provider"
    assert _max_in_any_second(burst.sent_at[f"whatsapp:{WA}"]) <= 80
    assert _max_in_any_second(burst.sent_at[LONG_CODE]) == 1
    assert _max_in_any_second(burst.sent_at[TOLL_FREE]) <= 3
    span = max(burst.sent_at[f"whatsapp:{WA}"]) - START
    print(f"\n{whatsapp + 100:,} sends: WhatsApp {whatsapp:,} over {span.total_seconds():.1f} virtual s")
    # 80 fit in each second, so the last WhatsApp row cannot go before (n - 1) // 80 whole seconds.
    assert timedelta(seconds=(whatsapp - 1) // 80) <= span < timedelta(seconds=200), "queued, not starved"


def test_a_long_code_burst_waits_in_the_queue_without_429s(sqlite_url: str, tmp_path: Path) -> None:
    burst = _burst({("sms", LONG_CODE): 12, ("sms", TOLL_FREE): 9}, sqlite_url, tmp_path)
    assert burst.statuses == {"sent": 21} and burst.rejected == 0
    assert _max_in_any_second(burst.sent_at[LONG_CODE]) == 1
    assert _max_in_any_second(burst.sent_at[TOLL_FREE]) <= 3
    assert burst.rounds > 0, "rows past the wait limit went back to the queue and came due again"
    assert max(burst.sent_at[LONG_CODE]) - START >= timedelta(seconds=11)


def test_sender_kinds_and_their_default_rates() -> None:
    rates = SendRates()
    assert sms_sender_kind(LONG_CODE) == "long_code" and rates.per_second("sms", LONG_CODE) == 1
    assert sms_sender_kind(TOLL_FREE) == "toll_free" and rates.per_second("sms", TOLL_FREE) == 3
    assert sms_sender_kind("+18885550100") == "toll_free"
    assert sms_sender_kind("55123") == "short_code"
    assert rates.per_second("whatsapp", WA) == 80


def test_slots_are_spaced_per_sender_and_only_taken_when_near() -> None:
    pacer = SenderPacer(SendRates(sms_toll_free=3))
    wait = timedelta(seconds=5)
    slots = [pacer.reserve("sms", TOLL_FREE, START, wait) for _ in range(4)]
    assert all(taken for _, taken in slots)
    assert slots[0][0] == START and slots[3][0] - START > timedelta(seconds=1), "the 4th send lands past the second"
    assert pacer.reserve("sms", LONG_CODE, START, wait) == (START, True), "another sender has its own queue"
    later, taken = pacer.reserve("sms", LONG_CODE, START, timedelta(seconds=0.5))
    assert later == START + timedelta(seconds=1) + EDGE_MARGIN
    assert not taken, "too far off: not taken, the row waits in the outbox"
    assert pacer.reserve("sms", LONG_CODE, START + timedelta(seconds=1), wait) == (later, True)


def test_a_burst_within_the_rate_goes_at_once_and_the_window_slides() -> None:
    """Twenty new leads writing at the same moment are all answered at once: a sender's rate
    caps any one-second window, it does not space messages out."""
    pacer = SenderPacer(SendRates(whatsapp=80))
    wait = timedelta(seconds=0.5)
    first = [pacer.reserve("whatsapp", WA, START, wait) for _ in range(20)]
    assert first == [(START, True)] * 20
    half = START + timedelta(milliseconds=500)
    rest = [pacer.reserve("whatsapp", WA, half, wait) for _ in range(60)]
    assert rest == [(half, True)] * 60, "80 in the window"
    slot, taken = pacer.reserve("whatsapp", WA, half, wait)
    assert not taken and timedelta(seconds=1) < slot - START < timedelta(seconds=1.01), (
        "the 81st waits for the first to leave"
    )
    moments = [START] * 20 + [half] * 60 + [pacer.reserve("whatsapp", WA, slot, wait)[0] for _ in range(20)]
    assert _max_in_any_second(moments) == 80
