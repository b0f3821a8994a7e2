"""Tracked links: every URL in a message becomes `/r/{token}` so a click is a signal."""

from __future__ import annotations

import base64
import random
import re
import secrets
from collections.abc import Callable, Mapping
from datetime import datetime

from sqlalchemy.orm import Session

from nudge.models import Lead, TrackedLink, insert_into

TokenSource = Callable[[], str]


_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,64}")


def is_token(text: str) -> bool:
    """Could `text` be one of our URL tokens (links, unsubscribe)? Anything else names nothing, so
    it is answered without a lookup."""
    return _TOKEN.fullmatch(text) is not None


def new_token() -> str:
    return secrets.token_urlsafe(16)  # unguessable: a link names nothing but itself


def seeded_tokens(seed: int) -> TokenSource:
    """Tokens shaped like `new_token`'s from a seeded RNG, so a simulation repeats its links.
    Guessable by whoever knows the seed: never for links sent to real people."""
    rng = random.Random(f"link-tokens:{seed}")

    def token() -> str:
        return base64.urlsafe_b64encode(rng.randbytes(16)).rstrip(b"=").decode()

    return token


def save_links(session: Session, *, lead: Lead, urls: Mapping[str, str], touch: int | None, now: datetime) -> None:
    """Store `urls` (token → target) for the lead's message: written with Core as they are
    queued, like the message itself."""
    if urls:
        session.connection().execute(
            insert_into(TrackedLink),
            [
                {
                    "token": token,
                    "business_id": lead.business_id,
                    "lead_id": lead.id,
                    "touch": touch,
                    "url": url,
                    "clicks": 0,
                    "created_at": now,
                    "first_clicked_at": None,
                }
                for token, url in urls.items()
            ],
        )


def track(session: Session, *, lead: Lead, url: str, touch: int | None, public_url: str, now: datetime) -> str:
    token = new_token()
    save_links(session, lead=lead, urls={token: url}, touch=touch, now=now)
    return f"{public_url}/r/{token}"
