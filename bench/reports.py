"""Report benchmark: attribution (every model) and the funnel over 10,000 leads.

    .venv/bin/python -m bench.reports [--leads N] [--database-url URL] [--json FILE]

The leads are not run through the simulator (10,000 leads over 70 virtual days would take most of
an hour); their ledgers are bulk-inserted with SQLAlchemy core in the shape real runs leave behind:
one `leads` row each, the sequence's outbound `messages` (touch, channel, composer, status and
status history, `info` with the wording variant, the case study on touch 4 and an experiment arm on
touch 3), inbound replies, `tracked_links` with clicks, `lead_activity` holdout rows for the touch-3
experiment's control group, and `conversions` with value and currency. Leads stop at a reply, an
opt-out or a sale, as in the simulator; about 6 % convert.

Timed: each `GET /v1/reports/attribution?model=…` computation (read every ledger of the business
+ all six dimensions) and the funnel report (funnel, recovery, break-up, experiments), through the
same functions the API calls. Baseline: the naive design, one query per lead per table (messages,
links, conversions, decisions) with ORM objects, then the same computation; printed with the ratio.
Target: every report under 5 s on SQLite.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from agent.attribution import MODELS, attribute
from agent.attribution.ledger import Converted, LeadLedger, Sent
from agent.experiments import ARM_KIND, HOLDOUT_DETAIL
from agent.ledger_reader import read_ledgers
from agent.reports import attribution_report, funnel_from, funnel_report
from agent.sequence import default_sequence
from nudge.db import transaction
from nudge.ids import new_id
from nudge.models import Conversion, Lead, LeadActivity, Message, TrackedLink
from nudge.runtime import open_runtime
from nudge.settings import Settings
from nudge.tenants import create_business

START = datetime(2026, 3, 2, 13, 0, tzinfo=UTC)
TARGET_SECONDS = 5.0


def _journey_rows(rng: random.Random, business_id: str, index: int) -> dict[str, list[dict[str, Any]]]:
    """One lead's rows, shaped like a run of the default sequence."""
    sequence = default_sequence()
    lead_id = new_id("lead")
    arrived = START + timedelta(seconds=rng.uniform(0, 5 * 86400))
    rows: dict[str, list[dict[str, Any]]] = {
        "leads": [],
        "messages": [],
        "links": [],
        "activity": [],
        "conversions": [],
    }
    rows["leads"].append(
        {"id": lead_id, "business_id": business_id, "name": f"Lead {index}", "phone": f"+1415{index:07d}",
         "created_at": arrived, "updated_at": arrived}
    )  # fmt: skip
    stop_at = rng.choice([2, 3, 4, 5, 6, 7, 7, 7, 7])  # the touch after which the lead replies, buys or leaves
    outcome = rng.choices(["reply", "convert", "opt_out", "none"], weights=[30, 6, 8, 56])[0]
    arm = rng.choices(["holdout", "short", "long"], weights=[2, 4, 4])[0]
    for touch in sequence.touches:
        at = arrived + touch.delay + timedelta(minutes=rng.uniform(0, 90))
        if touch.number == 3 and arm != "holdout":
            rows["activity"].append(
                {"id": new_id("act"), "business_id": business_id, "lead_id": lead_id, "at": at,
                 "kind": ARM_KIND, "touch": 3, "detail": f"reminder:{arm}"}
            )  # fmt: skip
        if touch.number == 3 and arm == "holdout":
            rows["activity"].append(
                {"id": new_id("act"), "business_id": business_id, "lead_id": lead_id, "at": at,
                 "kind": "touch_skipped", "touch": 3, "detail": HOLDOUT_DETAIL + "reminder"}
            )  # fmt: skip
        else:
            channel = touch.channels[0] if rng.random() < 0.8 else touch.channels[-1]
            history = [{"status": "queued", "at": at.isoformat()}, {"status": "sent", "at": at.isoformat()}]
            if rng.random() < 0.93:
                history.append({"status": "delivered", "at": at.isoformat()})
                if channel == "whatsapp" and rng.random() < 0.5:
                    history.append({"status": "read", "at": at.isoformat()})
            info: dict[str, Any] = {
                "kind": touch.purpose,
                "language": "en",
                "variant": f"en.{touch.purpose}.{rng.randint(1, 4)}",
            }
            if touch.number == 4:
                info["asset"] = f"case_study:cs-{rng.randint(1, 12)}"
            if touch.number == 3:
                info["arm"] = f"reminder:{arm}"
            rows["messages"].append(
                {"id": new_id("msg"), "business_id": business_id, "lead_id": lead_id, "direction": "out",
                 "channel": channel, "touch": touch.number, "author": "agent",
                 "composer": "llm" if rng.random() < 0.3 else "template", "body": f"touch {touch.number}",
                 "status": history[-1]["status"], "status_history": history, "info": info,
                 "created_at": at, "sent_at": at}
            )  # fmt: skip
            if touch.asset in ("resource", "case_study", "offer", "content"):
                clicked = at + timedelta(hours=2) if rng.random() < 0.1 else None
                rows["links"].append(
                    {"token": new_id("tok"), "business_id": business_id, "lead_id": lead_id, "touch": touch.number,
                     "url": "https://example.com/x", "clicks": 1 if clicked else 0, "created_at": at,
                     "first_clicked_at": clicked}
                )  # fmt: skip
        if touch.number == stop_at and outcome != "none":
            later = at + timedelta(hours=rng.uniform(1, 20))
            if outcome in ("reply", "opt_out"):
                rows["messages"].append(
                    {"id": new_id("msg"), "business_id": business_id, "lead_id": lead_id, "direction": "in",
                     "channel": "whatsapp", "touch": None, "author": "lead", "body": "reply", "status": "received",
                     "created_at": later}
                )  # fmt: skip
            if outcome == "convert":
                rows["conversions"].append(
                    {"id": new_id("cnv"), "business_id": business_id, "lead_id": lead_id, "kind": "converted",
                     "value": float(rng.choice([500, 1200, 1500, 3000])), "currency": "USD", "source": "api",
                     "dedupe_key": f"bench:{lead_id}", "occurred_at": later, "created_at": later}
                )  # fmt: skip
            if outcome != "reply" or rng.random() < 0.7:
                break
    return rows


def seed(session: Session, business_id: str, leads: int, rng: random.Random) -> dict[str, int]:
    batches: dict[str, list[dict[str, Any]]] = {
        "leads": [],
        "messages": [],
        "links": [],
        "activity": [],
        "conversions": [],
    }
    for index in range(leads):
        for table, rows in _journey_rows(rng, business_id, index).items():
            batches[table].extend(rows)
    for model, table in ((Lead, "leads"), (Message, "messages"), (TrackedLink, "links"), (LeadActivity, "activity"),
                         (Conversion, "conversions")):  # fmt: skip
        for start in range(0, len(batches[table]), 5000):
            session.execute(sa.insert(model), batches[table][start : start + 5000])
    return {table: len(rows) for table, rows in batches.items()}


def naive_ledgers(session: Session) -> list[LeadLedger]:
    """The baseline: a query per lead per table, whole ORM rows."""
    ledgers = []
    for lead in session.scalars(sa.select(Lead)):
        ledger = LeadLedger(lead.id)
        for m in session.scalars(sa.select(Message).where(Message.lead_id == lead.id).order_by(Message.created_at)):
            if m.direction == "in":
                ledger.inbound.append(m.created_at)
            elif m.touch is not None and m.author == "agent":
                asset = str(m.info.get("asset") or "")
                ledger.sent.append(
                    Sent(m.touch, m.channel, m.sent_at or m.created_at,
                         frozenset({m.status, *(h["status"] for h in m.status_history)}),
                         variant=str(m.info.get("variant") or ""),
                         case_study=asset.split(":", 1)[1] if asset.startswith("case_study:") else "",
                         composer=m.composer, arm=str(m.info.get("arm") or ""))
                )  # fmt: skip
        for link in session.scalars(sa.select(TrackedLink).where(TrackedLink.lead_id == lead.id)):
            if link.first_clicked_at is not None and link.touch is not None:
                ledger.clicks[link.touch] = link.first_clicked_at
        for c in session.scalars(
            sa.select(Conversion).where(Conversion.lead_id == lead.id).order_by(Conversion.occurred_at)
        ):
            ledger.conversions.append(Converted(c.occurred_at, c.value, c.currency))
        for a in session.scalars(
            sa.select(LeadActivity).where(LeadActivity.lead_id == lead.id).order_by(LeadActivity.at)
        ):
            if a.touch is not None and a.kind == ARM_KIND:
                ledger.arms.setdefault(a.touch, (a.detail, a.at))
            elif a.touch is not None and a.kind == "touch_skipped" and a.detail.startswith(HOLDOUT_DETAIL):
                ledger.arms.setdefault(a.touch, (a.detail.removeprefix(HOLDOUT_DETAIL) + ":holdout", a.at))
        if ledger.sent or ledger.inbound or ledger.conversions or ledger.arms:
            ledgers.append(ledger)
    return ledgers


def timed(fn: Any) -> tuple[Any, float]:
    began = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - began


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--leads", type=int, default=10_000)
    parser.add_argument("--database-url", help="default: a fresh SQLite file in a temporary folder")
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args(argv)
    results: dict[str, Any] = {"leads": args.leads}
    with tempfile.TemporaryDirectory(prefix="nudge-bench-reports-") as tmp:
        url = args.database_url or f"sqlite:///{Path(tmp) / 'bench.db'}"
        settings = Settings(_env_file=None, NUDGE_DATABASE_URL=url, NUDGE_DATA_DIR=tmp, NUDGE_CHANNELS="sandbox")
        with open_runtime(settings) as runtime:
            with transaction(runtime.sessions) as session:
                business_id = create_business(session, name="Bench", now=START).business.id
            with transaction(runtime.sessions, business_id=business_id) as session:
                counts, seconds = timed(lambda: seed(session, business_id, args.leads, random.Random(7)))
            print(f"seeded {args.leads} leads in {seconds:.1f} s: {counts}")
            results["rows"] = counts
            sequence = default_sequence()
            with transaction(runtime.sessions, business_id=business_id) as session:
                for model in MODELS:
                    report, seconds = timed(lambda m=model: attribution_report(session, business_id, m))
                    results[f"attribution_{model}_s"] = round(seconds, 3)
                    print(f"attribution {model:<10} {seconds:6.2f} s  ({report.total.conversions:g} conversions)")
                funnel, seconds = timed(lambda: funnel_report(session, business_id, sequence))
                results["funnel_s"] = round(seconds, 3)
                print(f"funnel + recovery + experiments {seconds:6.2f} s  ({funnel.leads} leads)")
                fast_ledgers, read_s = timed(lambda: read_ledgers(session, business_id))
                slow_ledgers, naive_s = timed(lambda: naive_ledgers(session))
            # Both readers must see the same ledgers, or the comparison means nothing.
            fast_report = attribute([x.journey() for x in fast_ledgers], "markov")
            slow_report = attribute([x.journey() for x in slow_ledgers], "markov")
            assert {k: round(v.conversions, 9) for k, v in fast_report.by["touch"].items()} == {
                k: round(v.conversions, 9) for k, v in slow_report.by["touch"].items()
            }
            assert funnel_from(slow_ledgers, sequence).rows == funnel.rows
            worst = max(v for k, v in results.items() if k.endswith("_s"))
            results.update(read_s=round(read_s, 3), naive_read_s=round(naive_s, 3), ratio=round(naive_s / read_s, 1))
            print(
                f"reading every ledger: {read_s:.2f} s; naive per-lead queries: {naive_s:.2f} s "
                f"({naive_s / read_s:.1f}×)"
            )
            verdict = "PASS" if worst < TARGET_SECONDS else "FAIL"
            print(f"slowest report {worst:.2f} s (target < {TARGET_SECONDS:g} s): {verdict}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0 if worst < TARGET_SECONDS else 1


if __name__ == "__main__":
    sys.exit(main())
