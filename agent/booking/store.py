"""Applying a booking event: the booking row, the lead it matches, the conversion, the rep's notice.

Works inside the caller's transaction (the webhook's); the caller puts `Applied.signal` in the
lead's mailbox and wakes it after the commit.

A cancelled booking's conversion is withdrawn (`Conversion.withdrawn_at`), not deleted: the
meeting that made it did not happen, so attribution must not credit touches for it, but the
record of what happened stays, and a new booking later is a conversion of its own.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from agent.booking.events import BookingEvent
from agent.contacts import ContactError, normalise_email, normalise_phone, phone_key
from agent.conversions import record_conversion, withdraw_conversion
from agent.handoff import choose_rep, rep_targets
from agent.links import is_token
from nudge.models import Booking, BookingIntegration, Business, Handoff, Lead, Notification, Rep, TrackedLink

Decision = Literal["book", "reschedule", "cancel", "supersede", "store", "duplicate", "ignore"]


def decide(event: BookingEvent, current: str | None, previous: str | None) -> Decision:
    """What `event` does, given the status of the booking it names (`current`) and of the one a
    reschedule replaces (`previous`); None where no such booking is known."""
    if event.action == "ignored":
        return "ignore"
    if event.action == "unreadable":
        return "store" if current is None else "duplicate"
    if event.action in ("created", "rescheduled"):
        if current is not None:
            return "duplicate"  # the provider retried, or a reschedule arrived again
        if event.action == "rescheduled" and previous in ("booked", "rescheduled"):
            return "reschedule"
        return "book"  # includes a reschedule of a booking Nudge never saw (or one cancelled since)
    if event.action == "superseded":  # Calendly cancels the old invitee of a reschedule
        if current is None:
            return "store"
        return "supersede" if current == "booked" else "duplicate"
    # cancelled
    if current is None:
        return "store"  # a booking Nudge never saw: kept as cancelled, nothing to undo
    return "cancel" if current == "booked" else "duplicate"


@dataclass(frozen=True)
class Applied:
    status: str  # booked | rescheduled | cancelled | stored | duplicate | ignored
    booking_id: str | None = None
    lead_id: str | None = None
    signal: dict[str, Any] | None = None  # for the lead's mailbox
    signal_key: str = ""


def conversion_key(business_id: str, provider: str, root_uid: str) -> str:
    return f"booking:{business_id}:{provider}:{hashlib.sha256(root_uid.encode()).hexdigest()[:32]}"


def match_lead(session: Session, business_id: str, event: BookingEvent) -> tuple[Lead | None, int | None, str]:
    """(lead, touch to credit, how it was matched). The tracked link decides first: it names the
    lead and the touch whose link was used; then the invitee's email, then their phone."""
    if event.ref and is_token(event.ref):
        link = session.scalars(
            sa.select(TrackedLink).where(TrackedLink.token == event.ref, TrackedLink.business_id == business_id)
        ).first()
        lead = session.get(Lead, link.lead_id) if link is not None else None
        if link is not None and lead is not None:
            return lead, link.touch, "link"
    if event.invitee.email:
        try:
            email = normalise_email(event.invitee.email)
        except ContactError:
            email = ""
        lead = (
            # Calendars keep the address as typed; the local part's case never tells two people apart.
            session.scalars(
                sa.select(Lead)
                .where(Lead.business_id == business_id, sa.func.lower(Lead.email) == email.lower())
                .order_by(Lead.created_at, Lead.id)
            ).first()
            if email
            else None
        )
        if lead is not None:
            return lead, None, "email"
    if event.invitee.phone:
        try:
            key = phone_key(normalise_phone(event.invitee.phone))
        except ContactError:
            key = ""
        lead = (
            session.scalars(sa.select(Lead).where(Lead.business_id == business_id, Lead.phone_key == key)).first()
            if key
            else None
        )
        if lead is not None:
            return lead, None, "phone"
    return None, None, ""


def _booking(session: Session, integration: BookingIntegration, uid: str) -> Booking | None:
    if not uid:
        return None
    return session.scalars(
        sa.select(Booking).where(
            Booking.business_id == integration.business_id,
            Booking.provider == integration.provider,
            Booking.uid == uid,
        )
    ).first()


def apply_event(session: Session, integration: BookingIntegration, event: BookingEvent, now: datetime) -> Applied:
    current = _booking(session, integration, event.uid)
    previous = _booking(session, integration, event.previous_uid)
    decision = decide(event, current.status if current else None, previous.status if previous else None)
    if decision == "ignore":
        return Applied("ignored")
    if decision == "duplicate":
        return Applied("duplicate", booking_id=current.id if current else None)
    invitee = {"name": event.invitee.name, "email": event.invitee.email, "phone": event.invitee.phone}
    if current is not None:  # supersede or cancel: the booking Nudge has
        current.status = "rescheduled" if decision == "supersede" else "cancelled"
        current.payload, current.updated_at = event.payload, now
        if decision == "supersede" or current.lead_id is None:
            return Applied(current.status, booking_id=current.id, lead_id=current.lead_id)
        withdraw_conversion(
            session, conversion_key(integration.business_id, integration.provider, current.root_uid), now
        )
        return _signalled(session, integration, current, "booking_cancelled", now)
    if decision == "store":  # a cancellation or reschedule of a booking Nudge never saw, or unreadable
        status = {"cancelled": "cancelled", "superseded": "rescheduled"}.get(event.action, "unreadable")
        row = _new_row(integration, event, event.uid, None, None, "", status, invitee, now)
        session.add(row)
        session.flush()
        return Applied("stored", booking_id=row.id)
    if decision == "reschedule":
        assert previous is not None
        previous.status, previous.updated_at = "rescheduled", now
        lead = session.get(Lead, previous.lead_id) if previous.lead_id else None
        row = _new_row(
            integration, event, previous.root_uid, lead, previous.touch, previous.matched_by, "booked", invitee, now
        )
        session.add(row)
        session.flush()
        if lead is None:
            return Applied("rescheduled", booking_id=row.id)
        return _signalled(session, integration, row, "booking_rescheduled", now)
    # book
    lead, touch, matched_by = match_lead(session, integration.business_id, event)
    row = _new_row(integration, event, event.uid, lead, touch, matched_by, "booked", invitee, now)
    session.add(row)
    session.flush()
    if lead is None:
        return Applied("stored", booking_id=row.id)
    record_conversion(
        session,
        lead,
        kind="booked",
        value=None,
        currency=None,
        source="booking",
        at=now,
        dedupe_key=conversion_key(integration.business_id, integration.provider, row.root_uid),
        touch=touch,
    )
    return _signalled(session, integration, row, "booked", now)


def _new_row(
    integration: BookingIntegration,
    event: BookingEvent,
    root_uid: str,
    lead: Lead | None,
    touch: int | None,
    matched_by: str,
    status: str,
    invitee: dict[str, Any],
    now: datetime,
) -> Booking:
    return Booking(
        business_id=integration.business_id,
        provider=integration.provider,
        uid=event.uid,
        root_uid=root_uid,
        lead_id=lead.id if lead else None,
        touch=touch,
        status=status,
        matched_by=matched_by,
        start_at=event.start_at,
        end_at=event.end_at,
        invitee=invitee,
        payload=event.payload,
        created_at=now,
        updated_at=now,
    )


NOTICES = {
    "booked": "{name} booked a meeting for {when} ({provider}).",
    "booking_rescheduled": "{name} moved their meeting to {when} ({provider}).",
    "booking_cancelled": "{name} cancelled their meeting of {when} ({provider}); Nudge follows up again.",
}


def _signalled(
    session: Session, integration: BookingIntegration, booking: Booking, kind: str, now: datetime
) -> Applied:
    lead = session.get(Lead, booking.lead_id) if booking.lead_id else None
    assert lead is not None
    when = booking.start_at.strftime("%Y-%m-%d %H:%M UTC") if booking.start_at else "a time not given"
    signal = {
        "type": kind,
        "booking_id": booking.id,
        "provider": integration.provider,
        "start_at": booking.start_at.isoformat() if booking.start_at else None,
        "touch": booking.touch,
    }
    text = NOTICES[kind].format(name=lead.name or lead.email or lead.id, when=when, provider=integration.provider)
    notify_rep(session, lead, text, {**signal, "lead_id": lead.id}, now)
    return Applied(
        {"booked": "booked", "booking_rescheduled": "rescheduled", "booking_cancelled": "cancelled"}[kind],
        booking_id=booking.id,
        lead_id=lead.id,
        signal=signal,
        signal_key=f"booking:{booking.id}:{kind}",
    )


def notify_rep(session: Session, lead: Lead, text: str, details: dict[str, Any], now: datetime) -> int:
    """Tell the lead's rep (the one on its latest handoff, else the next in the round robin, else
    the fallback contact) about the booking; delivered by `scheduler.notifications` like a handoff."""
    business = session.get(Business, lead.business_id)
    assert business is not None
    handoff = session.scalars(
        sa.select(Handoff).where(Handoff.lead_id == lead.id).order_by(Handoff.created_at.desc(), Handoff.id.desc())
    ).first()
    rep_id = (handoff.claimed_by or handoff.assigned_rep_id) if handoff is not None else None
    rep = session.get(Rep, rep_id) if rep_id else None
    if rep is None or not rep.active:
        rep = choose_rep(session, business.id, lead.industry, ())  # a notice, not an assignment
    fallback = None if rep else (business.profile or {}).get("fallback_contact")
    targets = rep_targets(business, rep, fallback)
    for kind, target in targets:
        session.add(
            Notification(
                business_id=business.id,
                handoff_id=None,
                rep_id=rep.id if rep else None,
                kind=kind,
                target=target,
                payload={"text": text, "subject": text[:120], "lead_id": lead.id, "booking": details},
                available_at=now,
                created_at=now,
                updated_at=now,
            )
        )
    return len(targets)
