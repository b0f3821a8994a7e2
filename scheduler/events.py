"""Delivering domain events after the commit that logged them, like the outbox and audience jobs:
pending → sending (committed) → subscriber call → delivered, or back to pending with exponential
backoff, and dead once retrying has lasted a day.

Per subscriber, a lead's events go in the order they happened: a delivery is claimed only when
no earlier one of the same lead to the same subscriber is pending or sending, so a later event
waits while an earlier one is retrying (a dead one no longer holds the rest back). A row left
`sending` by a worker that died is sent again after STALE_SENDING with the same `webhook-id`
(at least once: receivers deduplicate on it, as the Standard Webhooks spec asks).
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased, sessionmaker

from agent.events.subscriber import DeliveryError, Envelope, Subscriber
from agent.events.webhook import WebhookSubscriber
from nudge.clock import Clock
from nudge.db import skip_locked, transaction
from nudge.models import Connector, DomainEvent, EventDelivery, WebhookEndpoint
from scheduler.backoff import backoff

log = logging.getLogger(__name__)

RETRY_FOR = timedelta(days=1)  # then the delivery is dead-lettered
STALE_SENDING = timedelta(minutes=2)
CLAIM_BATCH = 20

# A connector's kind and config (token included) and the operator's HTTP client → its subscriber.
ConnectorFactory = Callable[[str, dict[str, object], httpx.Client], Subscriber]


@dataclass(frozen=True)
class _Job:
    delivery_id: str
    subscriber_id: str
    event: Envelope
    url: str | None = None  # a webhook endpoint's …
    secrets: tuple[str, ...] = ()
    connector: tuple[str, dict[str, object]] | None = None  # … or a connector's kind and config
    gone: str | None = None  # the subscriber no longer exists or is disabled


@dataclass(frozen=True)
class _Outcome:
    delivery_id: str
    status: int | None = None  # the HTTP status the subscriber answered with
    error: DeliveryError | None = None
    released: bool = False  # not tried: put back as it was


def retry_delay(attempts: int, rng: random.Random) -> timedelta:
    """Exponential with jitter: about 30 s, 1, 2, 4… minutes, at most 4 hours apart."""
    return backoff(attempts, rng, base=30.0, cap=4 * 3600.0)


def next_attempt(
    created_at: datetime, now: datetime, attempts: int, error: DeliveryError, rng: random.Random
) -> datetime | None:
    """When to try again, or None when the delivery is dead (final error, or past a day)."""
    if error.final:
        return None
    delay = timedelta(seconds=error.retry_after) if error.retry_after is not None else retry_delay(attempts, rng)
    when = now + delay
    return None if when > created_at + RETRY_FOR else when


class EventSender:
    def __init__(
        self,
        *,
        session_factory: sessionmaker[Session],
        clock: Clock,
        tenant_http: httpx.Client,
        http: httpx.Client,
        connectors: ConnectorFactory | None = None,
        seed: int | None = None,
    ) -> None:
        self._factory, self._clock = session_factory, clock
        self._tenant_http, self._http = tenant_http, http
        self._connectors = connectors
        self._rng = random.Random(seed)

    def deliver(self, limit: int = 200, budget: float = 2.0) -> int:
        """Send what is due, in order per lead and subscriber; returns how many were delivered.

        It runs in the worker's tick, so it is bounded: at most `limit` attempts and `budget`
        seconds of wall time, and a subscriber that fails is not tried again in the same call (a
        black-holed endpoint costs one timeout per tick, not one per pending lead)."""
        self.recover_interrupted()
        delivered = attempted = 0
        failing: set[str] = set()
        deadline = time.monotonic() + budget
        while attempted < limit and time.monotonic() < deadline:
            jobs = self._claim(min(CLAIM_BATCH, limit - attempted), exclude=failing)
            if not jobs:
                break
            # The batch's outcomes commit together (one writer turn instead of one per event); a
            # crash before that sends them again, with the same ids, after STALE_SENDING.
            outcomes: list[_Outcome] = []
            for job in jobs:
                if job.subscriber_id in failing or time.monotonic() >= deadline:
                    outcomes.append(_Outcome(job.delivery_id, released=True))  # back in line, untried
                    continue
                attempted += 1
                outcome = self._send(job)
                outcomes.append(outcome)
                if outcome.error is None:
                    delivered += 1
                else:
                    failing.add(job.subscriber_id)
            self._record(outcomes)
        return delivered

    def recover_interrupted(self) -> int:
        now = self._clock.now()
        with transaction(self._factory) as session:
            result = session.execute(
                sa.update(EventDelivery)
                .where(EventDelivery.status == "sending", EventDelivery.updated_at < now - STALE_SENDING)
                .values(status="pending", available_at=now, last_error="interrupted (the worker stopped)")
                .execution_options(synchronize_session=False)
            )
            return int(result.rowcount)  # type: ignore[attr-defined]

    def _claim(self, limit: int, exclude: set[str] | frozenset[str] = frozenset()) -> list[_Job]:
        now = self._clock.now()
        earlier = aliased(EventDelivery)
        waiting = (
            sa.select(earlier.id)
            .where(
                earlier.subscriber_id == EventDelivery.subscriber_id,
                earlier.lead_id == EventDelivery.lead_id,
                earlier.event_seq < EventDelivery.event_seq,
                earlier.status.in_(("pending", "sending")),
            )
            .exists()
        )
        query = (
            sa.select(EventDelivery)
            .where(EventDelivery.status == "pending", EventDelivery.available_at <= now, ~waiting)
            .where(EventDelivery.subscriber_id.not_in(exclude) if exclude else sa.true())
            .order_by(EventDelivery.event_seq)
            .limit(limit)
        )
        jobs: list[_Job] = []
        with transaction(self._factory) as session:
            query = skip_locked(session, query, of=EventDelivery)
            rows = list(session.scalars(query))
            if not rows:
                return []
            events = {
                e.seq: e
                for e in session.scalars(sa.select(DomainEvent).where(DomainEvent.seq.in_({r.event_seq for r in rows})))
            }
            ids = {r.subscriber_id for r in rows}
            endpoints = {
                e.id: e for e in session.scalars(sa.select(WebhookEndpoint).where(WebhookEndpoint.id.in_(ids)))
            }
            connectors = {c.id: c for c in session.scalars(sa.select(Connector).where(Connector.id.in_(ids)))}
            for row in rows:
                row.status, row.attempts, row.updated_at = "sending", row.attempts + 1, now
                event = events[row.event_seq]
                envelope = Envelope(
                    id=event.id,
                    type=event.type,
                    occurred_at=event.occurred_at,
                    business_id=event.business_id,
                    lead_id=event.lead_id,
                    data=dict(event.data),
                )
                jobs.append(
                    self._job(row, envelope, endpoints.get(row.subscriber_id), connectors.get(row.subscriber_id), now)
                )
        return jobs

    @staticmethod
    def _job(
        row: EventDelivery,
        event: Envelope,
        endpoint: WebhookEndpoint | None,
        connector: Connector | None,
        now: datetime,
    ) -> _Job:
        if endpoint is not None and endpoint.enabled:
            secrets = [endpoint.secret]
            if endpoint.previous_secret and endpoint.previous_secret_until and endpoint.previous_secret_until > now:
                secrets.append(endpoint.previous_secret)  # a rotation's overlap: both verify
            return _Job(row.id, row.subscriber_id, event, url=endpoint.url, secrets=tuple(secrets))
        if connector is not None and connector.enabled:
            return _Job(row.id, row.subscriber_id, event, connector=(connector.kind, dict(connector.config)))
        return _Job(row.id, row.subscriber_id, event, gone="the subscriber was deleted or disabled")

    def _subscriber(self, job: _Job) -> Subscriber:
        if job.url is not None:
            return WebhookSubscriber(self._tenant_http, url=job.url, secrets=job.secrets)
        if job.connector is None or self._connectors is None:
            raise DeliveryError("no connector can take this event", final=True)
        kind, config = job.connector
        return self._connectors(kind, config, self._http)

    def _send(self, job: _Job) -> _Outcome:
        try:
            if job.gone is not None:
                raise DeliveryError(job.gone, final=True)
            return _Outcome(job.delivery_id, status=self._subscriber(job).deliver(job.event, self._clock.now()))
        except DeliveryError as exc:
            return _Outcome(job.delivery_id, error=exc)
        except Exception as exc:  # a bug or an unexpected library error must not lose the delivery
            log.exception("delivery %s crashed", job.delivery_id)
            return _Outcome(job.delivery_id, error=DeliveryError(f"internal error: {type(exc).__name__}"))

    def _record(self, outcomes: list[_Outcome]) -> None:
        now = self._clock.now()
        with transaction(self._factory) as session:
            rows = session.scalars(
                sa.select(EventDelivery).where(EventDelivery.id.in_([o.delivery_id for o in outcomes]))
            )
            by_id = {row.id: row for row in rows}
            for outcome in outcomes:
                row = by_id.get(outcome.delivery_id)
                if row is None or row.status != "sending":  # erased with its lead, or the endpoint deleted
                    continue
                _apply(row, outcome, now, self._rng)


def _apply(row: EventDelivery, outcome: _Outcome, now: datetime, rng: random.Random) -> None:
    if outcome.released:
        row.status, row.attempts = "pending", max(0, row.attempts - 1)
        return
    row.updated_at = now
    error = outcome.error
    if error is None:
        row.status, row.delivered_at, row.response_status, row.last_error = "delivered", now, outcome.status, None
        return
    row.response_status, row.last_error = error.status, str(error)[:500]
    when = next_attempt(row.created_at, now, row.attempts, error, rng)
    if when is None:
        row.status = "dead"
        log.warning("event delivery %s is dead after %d attempt(s): %s", row.id, row.attempts, error)
    else:
        row.status, row.available_at = "pending", when
