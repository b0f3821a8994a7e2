"""Headers that make a lead's emails one conversation in their mailbox, with an unsubscribe button.

Message-ID is derived from the transcript row, so a reply's In-Reply-To names a row we have;
In-Reply-To/References point at the lead's earlier emails (ours and theirs), oldest first.
"""

from __future__ import annotations

import functools
from datetime import datetime

from sqlalchemy import Select, bindparam, select
from sqlalchemy.orm import Session

from agent.channels.email import message_id_for
from agent.outbound import StoredMessage
from agent.unsubscribe import token_for, unsubscribe_headers
from nudge.models import Lead, Message

MAX_REFERENCES = 20  # long threads: keep the first and the latest (RFC 5322 suggests trimming)


@functools.cache
def _earlier_emails() -> Select[str | None]:
    return (
        select(Message.provider_id)
        .where(
            Message.lead_id == bindparam("lead_id"),
            Message.channel == "email",
            Message.id != bindparam("message_id"),
            Message.created_at <= bindparam("created_at"),
            Message.provider_id.is_not(None),
        )
        .order_by(Message.created_at, Message.id)
    )


def email_headers(
    session: Session, message: StoredMessage, lead: Lead, sender: str, public_url: str, now: datetime
) -> dict[str, str]:
    headers = {"Message-ID": message_id_for(message.id, sender)}
    rows = session.connection().execute(
        _earlier_emails(), {"lead_id": lead.id, "message_id": message.id, "created_at": message.created_at}
    )
    earlier = [provider_id for provider_id in rows.scalars() if provider_id]
    if earlier:
        references = [f"<{p.strip('<>')}>" for p in earlier]
        if len(references) > MAX_REFERENCES:
            references = references[:1] + references[-(MAX_REFERENCES - 1) :]
        headers["In-Reply-To"] = references[-1]
        headers["References"] = " ".join(references)
    headers.update(unsubscribe_headers(public_url, sender, token_for(session, lead, now)))
    return headers
