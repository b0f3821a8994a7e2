"""The one place an inbound email is decided, whichever way it came (an IMAP mailbox, Postmark,
SendGrid, Mailgun, Nudge's own signed JSON):

1. a bounce (RFC 3464 DSN) of an email we sent: hard, the touch falls to the lead's next channel;
   soft, a note on the lead;
2. "unsubscribe <token>" in the subject (the mailto: half of List-Unsubscribe): the lead opts out;
3. the lead is found by threading (In-Reply-To/References name a Message-ID we sent), else by
   the sender's address within the business the mail was sent to;
4. an auto-reply (out-of-office) changes nothing: a note on the lead, no message, no wake-up;
5. anything else is the lead's reply, stored like a WhatsApp message (it pauses the cadence and
   the agent answers in the same thread).

Runs inside the caller's transaction; returns what happened and the lead to wake after the commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from email.utils import getaddresses, parseaddr

import sqlalchemy as sa
from sqlalchemy.orm import Session

from agent import activity
from agent.contacts import ContactError, normalise_email
from agent.inbound_email import InboundMail, classify, provider_key
from agent.text import strip_controls
from agent.unsubscribe import token_in_subject
from nudge.models import Business, InboundEmailPayload, Lead, Message
from scheduler.delivery import report_failure
from scheduler.inputs import receive_message, record_unsubscribe

MAX_STORED_PAYLOAD = 256_000


@dataclass(frozen=True)
class Handled:
    # stored | duplicate | unsubscribed | bounce_recorded | unknown_message | auto_reply
    # | unknown_address | unreadable | own_mail | unrelated (leads_only)
    status: str
    wake: str | None = None  # the lead to wake after the commit
    lead_id: str | None = None
    detail: str = ""


def handle_mail(
    session: Session, mail: InboundMail, now: datetime, *, business_id: str | None = None, leads_only: bool = False
) -> Handled:
    """`business_id`: the business whose mailbox this came from (IMAP); lookups stay inside it.
    Without it (a provider's webhook) the business is the one the mail was threaded to or sent to.
    `leads_only`: mail from someone who is not a lead is left alone (a business's IMAP mailbox also
    holds its colleagues', suppliers' and newsletters' mail, which must not become leads)."""
    kind, reason = classify(mail)
    if kind == "bounce":
        return _bounce(session, mail, now, business_id)
    token = token_in_subject(mail.subject)
    if token is not None:
        known, lead_id = record_unsubscribe(session, token, now, "mailto")
        if known:
            return Handled("unsubscribed", wake=lead_id, lead_id=lead_id)
    lead = _threaded_lead(session, mail, business_id)
    business = _business(session, lead.business_id if lead is not None else business_id, mail)
    if business is None:
        return Handled("unknown_address", detail=f"no business sends email from {', '.join(_addresses(mail))}")
    sender = _sender(mail)
    if sender is not None and sender.lower() == parseaddr(business.email_from or "")[1].lower():
        return Handled("own_mail", detail="sent from the business's own address")
    if lead is None and sender is not None:
        lead = session.scalars(sa.select(Lead).where(Lead.business_id == business.id, Lead.email == sender)).first()
    if lead is None and leads_only:
        return Handled("unrelated", detail="neither a reply to Nudge nor from a lead")
    if kind == "auto_reply":
        if lead is not None:
            note = f"email auto-reply ignored ({reason})"[:500]
            activity.record(session, lead, now, "auto_reply", note, channel="email")
        return Handled("auto_reply", lead_id=lead.id if lead is not None else None, detail=reason)
    address = lead.email if lead is not None and lead.email else sender
    if address is None:
        return Handled("unreadable", detail=f"the sender {mail.sender[:200]!r} is not an email address")
    lead_id = receive_message(
        session,
        business,
        channel="email",
        phone=None,
        email=address,
        body=mail.text.strip() or mail.subject,
        provider_id=provider_key(mail.message_id),
        now=now,
    )
    if lead_id is None:
        return Handled("duplicate")
    return Handled("stored", wake=lead_id, lead_id=lead_id)


def keep_unreadable(
    session: Session, source: str, payload: str, detail: str, now: datetime, *, business_id: str | None = None
) -> str:
    """Keep a verified delivery we cannot act on, as received (less control characters: PostgreSQL
    text cannot hold a NUL); returns its id."""
    row = InboundEmailPayload(
        received_at=now,
        source=source,
        business_id=business_id,
        status="unreadable",
        detail=strip_controls(detail)[:500],
        payload=strip_controls(payload[:MAX_STORED_PAYLOAD]),
    )
    session.add(row)
    session.flush()
    return row.id


def _bounce(session: Session, mail: InboundMail, now: datetime, business_id: str | None) -> Handled:
    assert mail.bounce is not None
    bounced = mail.bounce.original_message_id.strip().strip("<>")
    query = sa.select(Message).where(Message.provider_id == bounced, Message.direction == "out")
    if business_id is not None:
        query = query.where(Message.business_id == business_id)
    message = session.scalars(query).first() if bounced else None
    if message is None:
        return Handled("unknown_message")  # not ours, or erased: nothing to do, no retry wanted
    detail = f"{mail.bounce.status} {mail.bounce.diagnostic}".strip()
    if not mail.bounce.hard:
        lead = session.get(Lead, message.lead_id)
        if lead is not None:
            activity.record(session, lead, now, "bounce", f"soft bounce: {detail}"[:500], channel="email")
        return Handled("bounce_recorded", lead_id=message.lead_id, detail=detail)
    lead_id = report_failure(session, message, "failed", "bounce", now, unreachable=True)
    return Handled("bounce_recorded", wake=lead_id, lead_id=message.lead_id, detail=detail)


def _threaded_lead(session: Session, mail: InboundMail, business_id: str | None) -> Lead | None:
    """The lead whose email this answers: the first Message-ID it names that is one we sent."""
    ids = [provider_key(message_id) for message_id in mail.thread_ids][:50]
    if not ids:
        return None
    query = sa.select(Message.id, Message.lead_id, Message.provider_id).where(
        Message.provider_id.in_(ids), Message.channel == "email"
    )
    if business_id is not None:
        query = query.where(Message.business_id == business_id)
    found = {row.provider_id: row.lead_id for row in session.execute(query)}
    for message_id in ids:
        if message_id in found:
            return session.get(Lead, found[message_id])
    return None


def _business(session: Session, business_id: str | None, mail: InboundMail) -> Business | None:
    if business_id is not None:
        return session.get(Business, business_id)
    wanted = set(_addresses(mail))
    if not wanted:
        return None
    for business in session.scalars(sa.select(Business).where(Business.email_from.is_not(None))):
        if parseaddr(business.email_from or "")[1].lower() in wanted:
            return business
    return None


def _addresses(mail: InboundMail) -> list[str]:
    return [address.lower() for _, address in getaddresses(list(mail.recipients)) if "@" in address][:50]


def _sender(mail: InboundMail) -> str | None:
    try:
        return normalise_email(parseaddr(mail.sender)[1])
    except ContactError:
        return None
