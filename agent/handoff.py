"""Escalation to a person: who gets the lead, what they need to know, what the lead is told."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from agent import rep_links
from agent.policies import QuietHours, next_send_time, zone
from nudge.models import Business, Handoff, Lead, Message, Notification, Rep

FALLBACK = "fallback"  # notified[] marker for the business's fallback contact


def business_hours(business: Business) -> QuietHours:
    return QuietHours.parse(business.quiet_hours_start, business.quiet_hours_end, business.send_on_weekends)


def sla_deadline(business: Business, now: datetime) -> datetime:
    """The SLA runs in business hours: a lead escalated at night is due soon after opening."""
    opening = next_send_time(now, business.timezone, business_hours(business))
    return opening + timedelta(seconds=business.handoff_sla_seconds)


_ETA = {
    "en": {"soon": "within a few minutes", "later": "{day} morning", "today": "this", "tomorrow": "tomorrow"},
    "es": {"soon": "en unos minutos", "later": "{day} por la mañana", "today": "esta", "tomorrow": "mañana"},
    "pt": {"soon": "em poucos minutos", "later": "{day} de manhã", "today": "hoje", "tomorrow": "amanhã"},
}
# No rep and no fallback contact could be told: promise no time, say so.
_UNSTAFFED = {
    "en": "as soon as someone on the team is free (nobody is on hand right now, so it may take longer than usual)",
    "es": "en cuanto alguien del equipo esté libre (ahora no hay nadie disponible, puede tardar más de lo habitual)",
    "pt": "assim que alguém da equipe estiver livre (agora não há ninguém disponível, pode demorar mais que o normal)",
}
_WEEKDAYS = {
    "en": ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"],
    "es": ["el lunes", "el martes", "el miércoles", "el jueves", "el viernes", "el sábado", "el domingo"],
    "pt": ["na segunda", "na terça", "na quarta", "na quinta", "na sexta", "no sábado", "no domingo"],
}


def rep_eta(business: Business, now: datetime, language: str, *, staffed: bool = True) -> str:
    """'within a few minutes' in business hours, else when the team is back ('tomorrow morning');
    with nobody to tell (`staffed=False`: no rep, no fallback contact reached) no time is promised."""
    if not staffed:
        return _UNSTAFFED.get(language, _UNSTAFFED["en"])
    words = _ETA.get(language, _ETA["en"])
    opening = next_send_time(now, business.timezone, business_hours(business))
    if opening <= now:
        return words["soon"]
    tz = zone(business.timezone)
    days = (opening.astimezone(tz).date() - now.astimezone(tz).date()).days
    if days == 0:
        return words["later"].format(day=words["today"]) if language != "en" else "later this morning"
    if days == 1:
        return words["later"].format(day=words["tomorrow"])
    return words["later"].format(day=_WEEKDAYS.get(language, _WEEKDAYS["en"])[opening.astimezone(tz).weekday()])


def choose_rep(session: Session, business_id: str, industry: str | None, exclude: Sequence[str]) -> Rep | None:
    """Reps covering the lead's industry first, then anyone; the longest-waiting rep among them."""
    reps = list(session.scalars(sa.select(Rep).where(Rep.business_id == business_id, Rep.active.is_(True))))
    candidates = [r for r in reps if r.id not in exclude]
    specialists = [r for r in candidates if industry and industry in (r.industries or [])]
    pool = specialists or candidates
    if not pool:
        return None
    never = datetime.min.replace(tzinfo=UTC)
    return min(pool, key=lambda r: (r.last_assigned_at or never, r.created_at, r.id))


def suggested_step(summary: Mapping[str, Any]) -> str:
    timeline, intent = summary.get("timeline"), summary.get("intent")
    if timeline == "today" or intent == "hot":
        return "Call now: they want to move today. Confirm the need, then book the demo/meeting."
    if timeline in ("this_week", "this_month"):
        return "Call or message within the hour and propose two meeting times this week."
    return "Reply on their channel, answer what they asked, and offer a short call."


def build_summary(
    session: Session,
    lead: Lead,
    business: Business,
    qualification: Mapping[str, Any],
    case_study: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """Everything a rep needs to act in ten seconds."""
    recent = list(
        session.scalars(
            sa.select(Message).where(Message.lead_id == lead.id).order_by(Message.created_at.desc()).limit(6)
        )
    )
    summary: dict[str, Any] = {
        "lead_id": lead.id,
        "name": lead.name or "(no name)",
        "phone": lead.phone,
        "email": lead.email,
        "language": lead.locale or business.default_locale,
        "industry": lead.industry,
        "source": lead.source,
        "wants": lead.first_message,
        "intent": qualification.get("intent"),
        "timeline": qualification.get("timeline"),
        "budget": qualification.get("budget"),
        "score": lead.score,
        "reasons": list(qualification.get("reasons", [])),
        "last_messages": [
            {"from": m.author, "channel": m.channel, "text": m.body, "at": m.created_at.isoformat()}
            for m in reversed(recent)
        ],
        "case_study": dict(case_study) if case_study else None,
    }
    summary["next_step"] = suggested_step(summary)
    return summary


def summary_text(summary: Mapping[str, Any], business: Business, reminder: bool = False) -> str:
    head = "Reminder: still unclaimed" if reminder else "New hot lead"
    contact = " · ".join(str(c) for c in (summary.get("phone"), summary.get("email")) if c)
    signals = ", ".join(f"{k}: {summary[k]}" for k in ("timeline", "budget") if summary.get(k))
    lines = [
        f"{head} for {business.name}: {summary.get('name')} ({contact})",
        f"Score {summary.get('score')} · {summary.get('language')} · {summary.get('industry') or 'industry unknown'}"
        + (f" · {signals}" if signals else ""),
        f"Wants: {summary.get('wants') or '-'}",
        f"Next step: {summary.get('next_step')}",
    ]
    if summary.get("case_study"):
        lines.append(f"Relevant case: {summary['case_study'].get('title')}")
    return "\n".join(lines)


def rep_targets(business: Business, rep: Rep | None, fallback: Mapping[str, Any] | None) -> list[tuple[str, str]]:
    """(notification kind, target) for every way the rep (or the fallback contact) can be reached."""
    targets: list[tuple[str, str]] = []
    source: Mapping[str, Any] = fallback or {}
    if rep is not None:
        source = {"webhook_url": rep.webhook_url, "email": rep.email, "phone": rep.phone}
    if source.get("webhook_url"):
        targets.append(("webhook", str(source["webhook_url"])))
    if source.get("email") and business.email_from:
        targets.append(("email", str(source["email"])))
    if source.get("phone") and (business.sms_from or business.whatsapp_from):
        targets.append(("sms" if business.sms_from else "whatsapp", str(source["phone"])))
    return targets


def notify(
    session: Session,
    *,
    business: Business,
    handoff: Handoff,
    rep: Rep | None,
    text: str,
    subject: str,
    now: datetime,
    fallback: Mapping[str, Any] | None = None,
    public_url: str | None = None,
) -> int:
    """Queue the message to every way the rep (or the fallback contact) can be reached. With
    `public_url`, a rep's message ends with a short-lived link that opens the handoff in the console."""
    targets = rep_targets(business, rep, fallback)
    open_url = None
    if rep is not None and targets and public_url:
        open_url = rep_links.issue(
            session, business_id=business.id, rep_id=rep.id, handoff_id=handoff.id, now=now, public_url=public_url
        )
        text = f"{text}\nOpen: {open_url}"
    for kind, target in targets:
        payload: dict[str, Any] = {
            "text": text,
            "subject": subject,
            "handoff_id": handoff.id,
            "lead_id": handoff.lead_id,
        }
        if open_url:
            payload["open_url"] = open_url
        if kind == "webhook":
            # Slack-compatible: Slack shows `text`; other receivers get the structured fields.
            payload["summary"] = handoff.summary
        session.add(
            Notification(
                business_id=business.id,
                handoff_id=handoff.id,
                rep_id=rep.id if rep else None,
                kind=kind,
                target=target,
                payload=payload,
                available_at=now,
                created_at=now,
                updated_at=now,
            )
        )
    return len(targets)
