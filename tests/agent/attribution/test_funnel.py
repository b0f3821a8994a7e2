"""Funnel, recovery, break-up recovery and experiment tallies on ledgers worked out by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from agent.attribution.experiments import experiments
from agent.attribution.funnel import breakup_recovery, cold_and_back, funnel, recovery
from agent.attribution.ledger import Converted, LeadLedger, Sent
from agent.attribution.lift import newcombe

T0 = datetime(2026, 3, 2, 13, tzinfo=UTC)
READ = frozenset({"queued", "sent", "delivered", "read"})
DELIVERED = frozenset({"queued", "sent", "delivered"})
FAILED = frozenset({"queued", "failed"})


def day(n: float) -> datetime:
    return T0 + timedelta(days=n)


# A: touches 1 (read), 3 (delivered, clicked), 6 (break-up); replies after touch 3 (day 1.5) and
#    after the break-up (day 15); buys on day 16 → replied counts for touches 3 and 6, converted for 6.
A = LeadLedger(
    "a",
    sent=[
        Sent(1, "whatsapp", day(0), READ),
        Sent(3, "email", day(1), DELIVERED, arm="reminder:short"),
        Sent(6, "whatsapp", day(14), DELIVERED),
    ],
    inbound=[day(1.5), day(15)],
    clicks={3: day(1.2)},
    conversions=[Converted(day(16), 900.0, "USD")],
    arms={3: ("reminder:short", day(1))},
)
# B: touch 1 failed on WhatsApp and went by SMS instead (one lead, counted once); held out of the
#    touch-3 experiment; silent ever after.
B = LeadLedger(
    "b",
    sent=[Sent(1, "whatsapp", day(0), FAILED), Sent(1, "sms", day(0), DELIVERED), Sent(6, "sms", day(14), DELIVERED)],
    arms={3: ("reminder:holdout", day(1))},
)
# C: wrote first (day 0), then touch 3 a day later; never wrote again.
C = LeadLedger(
    "c",
    sent=[Sent(3, "email", day(1.1), DELIVERED, arm="reminder:long")],
    inbound=[day(0.0)],
    arms={3: ("reminder:long", day(1.1))},
)
# D: drawn into the "long" arm, but no channel was left to send touch 3 on; bought on day 5.
D = LeadLedger("d", conversions=[Converted(day(5), 50.0, "USD")], arms={3: ("reminder:long", day(1))})


def test_funnel_counts_each_lead_once_per_touch_and_gives_replies_to_the_latest_touch() -> None:
    rows = {row.touch: row.counts for row in funnel([A, B, C])}
    assert rows[1] == {"sent": 2, "delivered": 2, "read": 1, "replied": 0, "clicked": 0, "converted": 0}
    assert rows[3] == {"sent": 2, "delivered": 2, "read": 0, "replied": 1, "clicked": 1, "converted": 0}
    assert rows[6] == {"sent": 2, "delivered": 2, "read": 0, "replied": 1, "clicked": 0, "converted": 1}


def test_recovery_and_breakup_recovery() -> None:
    # Follow-ups are touches 3 and 6. A: touch 3 on day 1 with no reply before → cold; wrote on
    # day 1.5 → back. B: touch 6 on day 14, never wrote → cold, not back. C: wrote on day 0, touch 3
    # 1.1 days later (≥ 1 day of silence) → cold; never wrote again.
    result = recovery([A, B, C], frozenset({3, 6}))
    assert (result.leads, result.recovered) == (3, 1)
    assert result.rate == pytest.approx(1 / 3)
    # Break-up (touch 6) reached A and B; only A answered (and bought) after it.
    breakup = breakup_recovery([A, B, C], 6)
    assert (breakup.leads, breakup.recovered, breakup.rate) == (2, 1, 0.5)
    assert breakup_recovery([A], None).leads == 0


def test_a_follow_up_within_a_day_of_the_leads_message_is_not_cold() -> None:
    assert cold_and_back([day(0.5)], [day(0)]) == (False, False)
    assert cold_and_back([day(2)], [day(0), day(3)]) == (True, True)


def test_experiments_count_every_lead_drawn_into_an_arm_whether_or_not_it_was_sent() -> None:
    [result] = experiments([A, B, C, D], {"reminder": ["short", "long"]})
    assert (result.experiment, result.touch, result.control) == ("reminder", 3, "holdout")
    arms = {a.arm: (a.leads, a.converted) for a in result.arms}
    assert [a.arm for a in result.arms] == ["holdout", "short", "long"]
    # Intention to treat: D counts in "long" (and its sale too) although touch 3 never reached it.
    assert arms == {"holdout": (1, 0), "short": (1, 1), "long": (2, 1)}
    short = next(a for a in result.arms if a.arm == "short")
    assert short.lift == newcombe(1, 1, 0, 1)
