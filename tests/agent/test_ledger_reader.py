"""Reading ledgers from the database: what counts as a touch, statuses, JSON fields, tenancy."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from agent.attribution.ledger import Converted, Sent
from agent.experiments import ARM_KIND, HOLDOUT_DETAIL
from agent.ledger_reader import read_ledgers
from nudge.db import transaction
from nudge.models import Conversion, Lead, LeadActivity, Message, TrackedLink
from nudge.runtime import open_runtime
from nudge.tenants import create_business
from tests.conftest import make_settings

T0 = datetime(2026, 3, 2, 13, tzinfo=UTC)


def _history(*statuses: str) -> list[dict[str, str]]:
    return [{"status": s, "at": T0.isoformat()} for s in statuses]


def test_ledgers_hold_touches_replies_clicks_conversions_and_holdouts_of_one_business(
    sqlite_url: str, tmp_path: Path
) -> None:
    with open_runtime(make_settings(sqlite_url, tmp_path)) as runtime:
        with transaction(runtime.sessions) as session:
            ours = create_business(session, name="Ours", now=T0).business.id
            theirs = create_business(session, name="Theirs", now=T0).business.id
        with transaction(runtime.sessions) as session:
            for lead_id, business_id in (("lead_a", ours), ("lead_x", theirs)):
                session.add(Lead(id=lead_id, business_id=business_id, created_at=T0, updated_at=T0))
            session.flush()

            def message(lead_id: str, business_id: str, **fields: object) -> None:
                base: dict[str, object] = {"direction": "out", "channel": "whatsapp", "author": "agent"}
                session.add(Message(business_id=business_id, lead_id=lead_id, **{**base, **fields}))

            day = timedelta(days=1)
            message(
                "lead_a", ours, touch=1, composer="llm", status="read",
                status_history=_history("queued", "sent", "delivered", "read"),
                info={"variant": "en.instant_reply.2", "asset": "case_study:cs-9", "arm": "t1:a"},
                created_at=T0, sent_at=T0 + timedelta(seconds=2),
            )  # fmt: skip
            message("lead_a", ours, touch=2, channel="sms", composer="template", status="failed",
                    status_history=_history("queued", "sent", "failed"), created_at=T0 + day)  # fmt: skip
            message("lead_a", ours, touch=3, channel="email", composer="template", status="failed",
                    status_history=_history("queued", "failed"), created_at=T0 + 2 * day)  # fmt: skip
            message("lead_a", ours, touch=3, author="rep", composer="human", status="sent", created_at=T0 + 3 * day)
            message("lead_a", ours, touch=None, composer="template", status="sent", created_at=T0 + 3 * day)
            message("lead_a", ours, direction="in", author="lead", touch=None, status="received", created_at=T0 + day)
            message("lead_x", theirs, touch=1, composer="template", status="sent", created_at=T0)
            session.add(TrackedLink(token="tok1", business_id=ours, lead_id="lead_a", touch=1, url="https://x.example",
                                    clicks=2, created_at=T0, first_clicked_at=T0 + timedelta(hours=1)))  # fmt: skip
            session.add(TrackedLink(token="tok2", business_id=ours, lead_id="lead_a", touch=2, url="https://x.example",
                                    clicks=0, created_at=T0))  # fmt: skip
            session.add(Conversion(business_id=ours, lead_id="lead_a", kind="won", value=10.0, currency="EUR",
                                   source="rep", dedupe_key="c1", occurred_at=T0 + 4 * day, created_at=T0))  # fmt: skip
            session.add(LeadActivity(business_id=ours, lead_id="lead_a", at=T0 + 2 * day, kind="touch_skipped",
                                     touch=4, detail=HOLDOUT_DETAIL + "t4"))  # fmt: skip
            session.add(LeadActivity(business_id=ours, lead_id="lead_a", at=T0 + 2 * day, kind="touch_skipped",
                                     touch=5, detail="value rule: no offer"))  # fmt: skip
            session.add(LeadActivity(business_id=ours, lead_id="lead_a", at=T0, kind=ARM_KIND, touch=1, detail="t1:a"))
        with transaction(runtime.sessions, business_id=ours) as session:
            [ledger] = read_ledgers(session, ours)
    assert ledger.lead_id == "lead_a"
    assert ledger.sent == [
        Sent(1, "whatsapp", T0 + timedelta(seconds=2), frozenset({"sent", "delivered", "read"}),
             "en.instant_reply.2", "cs-9", "llm", "t1:a"),
        Sent(2, "sms", T0 + day, frozenset({"queued", "sent", "failed"}), composer="template"),
        Sent(3, "email", T0 + 2 * day, frozenset({"queued", "failed"}), composer="template"),
    ]  # fmt: skip
    assert [s.reached for s in ledger.sent] == [True, False, False]
    assert ledger.inbound == [T0 + day]
    assert ledger.clicks == {1: T0 + timedelta(hours=1)}
    assert ledger.conversions == [Converted(T0 + 4 * day, 10.0, "EUR")]
    assert ledger.arms == {1: ("t1:a", T0), 4: ("t4:holdout", T0 + 2 * day)}
    journey = ledger.journey()
    assert [t.touch for t in journey.touches] == [1] and journey.value == {"EUR": 10.0}
