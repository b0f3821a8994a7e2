"""Email unsubscribe (RFC 2369 List-Unsubscribe, RFC 8058 one-click): a token per lead.

The token names nothing but itself (random, 192 bits), so a link found in one mailbox cannot be
turned into another lead's link. Unsubscribing suppresses every channel: the lead asked the
business to stop following up, not to switch channels.
"""

from __future__ import annotations

import functools
import secrets
from datetime import datetime
from email.utils import parseaddr
from urllib.parse import quote

from sqlalchemy import Select, bindparam, select
from sqlalchemy.orm import Session

from agent.links import is_token
from agent.suppression import suppress
from nudge.models import Lead, UnsubscribeToken, insert_into, table_of

ONE_CLICK = "List-Unsubscribe=One-Click"
MAILTO_SUBJECT = "unsubscribe"
_TOKENS = table_of(UnsubscribeToken)


@functools.cache
def _token_of_lead() -> Select[str]:
    return select(_TOKENS.c.token).where(_TOKENS.c.lead_id == bindparam("lead_id"))


def token_for(session: Session, lead: Lead, now: datetime) -> str:
    """The lead's token, created with its first email (every email asks for it: Core, built once)."""
    connection = session.connection()
    token = connection.execute(_token_of_lead(), {"lead_id": lead.id}).scalar()
    if token is None:
        token = secrets.token_urlsafe(24)
        connection.execute(
            insert_into(UnsubscribeToken),
            {"token": token, "business_id": lead.business_id, "lead_id": lead.id, "created_at": now, "used_at": None},
        )
    return str(token)


@functools.lru_cache(maxsize=1024)
def _address(sender: str) -> str:
    return parseaddr(sender)[1]  # a business has one or two senders; every email asks


def unsubscribe_headers(public_url: str, sender: str, token: str) -> dict[str, str]:
    """The two headers mailbox providers need for a one-click unsubscribe button."""
    address = _address(sender)
    mailto = f"mailto:{address}?subject={quote(f'{MAILTO_SUBJECT} {token}')}"
    return {
        "List-Unsubscribe": f"<{public_url}/u/{token}>, <{mailto}>",
        "List-Unsubscribe-Post": ONE_CLICK,
    }


def lead_for_token(session: Session, token: str) -> tuple[UnsubscribeToken, Lead] | None:
    if not is_token(token):
        return None
    row = session.get(UnsubscribeToken, token)
    if row is None:
        return None
    lead = session.get(Lead, row.lead_id)
    return (row, lead) if lead is not None else None


def unsubscribe(session: Session, row: UnsubscribeToken, lead: Lead, now: datetime, how: str) -> bool:
    """Suppress every channel for the lead. False when it was already done (idempotent)."""
    if row.used_at is not None:
        return False
    row.used_at = now
    suppress(session, lead, "all", f"unsubscribed ({how})", now)
    return True


def token_in_subject(subject: str) -> str | None:
    """The token of a mailto unsubscribe ("unsubscribe <token>"), or None."""
    words = subject.strip().split()
    if len(words) >= 2 and words[-2].lower() == MAILTO_SUBJECT:
        return words[-1]
    return None
