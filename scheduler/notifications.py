"""Delivering rep notifications (webhook, email, SMS/WhatsApp) after the run that queued them."""

from __future__ import annotations

import logging
import random
from collections.abc import Mapping
from typing import cast

import httpx
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from agent.channels import Channel, ChannelError, ChannelName, OutboundMessage
from agent.outbound_urls import RefusedTarget
from nudge.clock import Clock
from nudge.db import skip_locked, transaction
from nudge.models import Business, Notification
from scheduler.backoff import backoff
from scheduler.stale import release_stale

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 5


class Notifier:
    def __init__(
        self,
        *,
        session_factory: sessionmaker[Session],
        channels: Mapping[str, Channel],
        clock: Clock,
        http: httpx.Client,  # for the reps' webhook URLs: agent.outbound_urls.target_client
        seed: int | None = None,
    ) -> None:
        self._factory, self._channels, self._clock, self._http = session_factory, channels, clock, http
        self._rng = random.Random(seed)

    def deliver(self, limit: int = 100) -> int:
        now = self._clock.now()
        with transaction(self._factory) as session:
            release_stale(session, Notification, now=now, max_attempts=MAX_ATTEMPTS)
            query = (
                sa.select(Notification)
                .where(Notification.status == "pending", Notification.available_at <= now)
                .order_by(Notification.available_at)
                .limit(limit)
            )
            query = skip_locked(session, query)
            jobs = []
            for row in session.scalars(query):
                row.status, row.attempts, row.updated_at = "sending", row.attempts + 1, now
                business = session.get(Business, row.business_id)
                assert business is not None
                jobs.append(
                    (
                        row.id,
                        row.kind,
                        row.target,
                        dict(row.payload),
                        business.sms_from,
                        business.whatsapp_from,
                        business.email_from,
                    )
                )
        sent = 0
        for row_id, kind, target, payload, sms_from, whatsapp_from, email_from in jobs:
            error, final = self._send(
                row_id, kind, target, payload, {"sms": sms_from, "whatsapp": whatsapp_from, "email": email_from}
            )
            self._record(row_id, error, final)
            sent += error is None
        return sent

    def _send(
        self, row_id: str, kind: str, target: str, payload: dict[str, object], senders: Mapping[str, str | None]
    ) -> tuple[str | None, bool]:
        """The error (None when sent), and whether it is final (a retry cannot help)."""
        try:
            if kind == "webhook":
                response = self._http.post(target, json=payload, timeout=5.0)
                if response.status_code >= 300:  # redirects are not followed: a 3xx did not deliver
                    return f"webhook answered {response.status_code}", False
                return None, False
            sender = senders.get(kind)
            if not sender:
                return f"the business has no {kind} sender", False
            self._channels[kind].send(
                OutboundMessage(
                    message_id=row_id,
                    channel=cast(ChannelName, kind),
                    to=target,
                    sender=sender,
                    body=str(payload.get("text", "")),
                    subject=str(payload.get("subject", "")),
                )
            )
        except ChannelError as exc:
            return str(exc), False
        except (RefusedTarget, httpx.InvalidURL) as exc:
            return f"webhook_url refused: {exc}", True
        except httpx.HTTPError as exc:
            return f"webhook unreachable: {exc}", False
        return None, False

    def _record(self, row_id: str, error: str | None, final: bool) -> None:
        now = self._clock.now()
        with transaction(self._factory) as session:
            row = session.get(Notification, row_id)
            assert row is not None
            row.updated_at = now
            if error is None:
                row.status = "sent"
            elif row.attempts < MAX_ATTEMPTS and not final:
                row.status, row.last_error = "pending", error[:500]
                row.available_at = now + backoff(row.attempts, self._rng)
            else:
                row.status, row.last_error = "failed", error[:500]
                # The provider's text may quote an address: it stays on the row, not in the log.
                log.warning("rep notification %s failed for good; the reason is on its row", row_id)
