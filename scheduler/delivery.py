"""Delivering outbox rows to providers, at most once.

A row goes pending → sending (committed) → provider call → sent/failed (committed). A crash
between the two commits leaves `sending`, and so does a provider call whose outcome is unknown (a
timeout or a dropped connection after the request went out): recovery asks the provider whether
the message arrived before anything is sent again, and keeps asking while the provider cannot say
(up to a day). A row claimed outside a run that is no longer wanted (the lead opted out or left
automation since it was queued) becomes `withdrawn` instead of being sent.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache, partial
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from agent import activity
from agent.channels import Channel, ChannelError, OutboundMessage, SendResult
from agent.email_thread import email_headers
from agent.events import log as events
from agent.outbound import QUEUED, StoredMessage, no_longer_wanted, queued_in
from agent.suppression import suppress
from nudge.clock import Clock
from nudge.db import after_commit, skip_locked, transaction
from nudge.metrics import Metrics
from nudge.models import Business, Lead, Message, Outbox, table_of
from scheduler import mailbox
from scheduler.audiences import AudienceSync
from scheduler.backoff import backoff
from scheduler.events import EventSender
from scheduler.pacing import SenderPacer, SendRates

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 6
STALE_SENDING = timedelta(minutes=2)
UNCONFIRMED_GIVE_UP = timedelta(days=1)  # after this, an interrupted send nobody can confirm is given up
STATUS_ORDER = {"queued": 0, "accepted": 0, "sending": 1, "sent": 2, "delivered": 3, "read": 4}
_OUTBOX = table_of(Outbox)
_MESSAGES = table_of(Message)


@dataclass(frozen=True)
class _Statements:
    outbox_sent: sa.UpdateBase
    outbox_claimed: sa.Update
    message_state: sa.Select[tuple[str, list[Any], str | None, str, str]]
    message_sent: sa.Update


@cache
def _statements() -> _Statements:
    # Built once, on first use: recording a send runs them once per message, and on SQLite
    # building them costs more than running them.
    return _Statements(
        outbox_sent=_OUTBOX.update()
        .where(_OUTBOX.c.id == sa.bindparam("outbox_id"))
        .values(status="sent", updated_at=sa.bindparam("now"))
        .returning(_OUTBOX.c.message_id, _OUTBOX.c.channel),
        outbox_claimed=_OUTBOX.update()
        .where(_OUTBOX.c.id == sa.bindparam("outbox_id"), _OUTBOX.c.status == "pending")
        .values(status=sa.bindparam("status"), attempts=_OUTBOX.c.attempts + 1, updated_at=sa.bindparam("now")),
        message_state=sa.select(
            _MESSAGES.c.status,
            _MESSAGES.c.status_history,
            _MESSAGES.c.provider_id,
            _MESSAGES.c.business_id,
            _MESSAGES.c.lead_id,
        ).where(_MESSAGES.c.id == sa.bindparam("message_id")),
        message_sent=_MESSAGES.update().where(_MESSAGES.c.id == sa.bindparam("message_key")),
    )


@dataclass
class DeliveryReport:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    deferred: int = 0  # waiting for the sender's rate
    audience_jobs: int = 0  # retargeting audience changes sent
    events: int = 0  # domain events delivered to webhook endpoints and connectors
    leads_to_wake: list[str] = field(default_factory=list)  # failures became mailbox events


def outbound_for(
    session: Session, message: StoredMessage, lead: Lead, business: Business, public_url: str, now: datetime
) -> OutboundMessage:
    email, sender = message.channel == "email", business.sender(message.channel) or ""
    return OutboundMessage(
        message_id=message.id,
        channel=message.channel,  # type: ignore[arg-type]
        to=lead.address(message.channel) or "",
        sender=sender,
        body=message.body,
        subject=message.subject,
        content_sid=message.template_sid,
        content_variables=message.template_variables or {},
        status_callback=None if email else f"{public_url}/webhooks/twilio/status",
        headers=email_headers(session, message, lead, sender, public_url, now) if email else {},
    )


class Deliverer:
    def __init__(
        self,
        *,
        session_factory: sessionmaker[Session],
        channels: Mapping[str, Channel],
        clock: Clock,
        public_url: str,
        seed: int | None = None,
        metrics: Metrics | None = None,
        pacer: SenderPacer | None = None,
        max_wait: timedelta = timedelta(seconds=0.5),
        audiences: AudienceSync | None = None,
        events: EventSender | None = None,
    ) -> None:
        self._factory = session_factory
        self._channels = channels
        self._clock = clock
        self._public_url = public_url
        self._rng = random.Random(seed)
        self._metrics = metrics
        self._pacer = pacer or SenderPacer(SendRates())
        self._max_wait = max_wait
        self._audiences = audiences
        self.events = events
        self._sleep: Callable[[float], None] = getattr(clock, "sleep", time.sleep)

    def deliver(self, *, lead_id: str | None = None, limit: int = 200) -> DeliveryReport:
        """Send due pending rows (retries whose backoff ended, rows a crashed worker left).

        One row is claimed right before its own send, so a row is `sending` for no longer than one
        provider call (HTTP timeout 10 s) unless the worker died or the call's outcome is unknown:
        recovery's STALE_SENDING can then tell a crashed send from a slow batch.
        """
        report = DeliveryReport()
        for _ in range(limit):
            with transaction(self._factory) as session:
                claimed = self.claim(session, lead_id=lead_id, now=self._clock.now(), limit=1)
            if not claimed:
                break
            one = self.send_claimed(claimed)
            report.sent += one.sent
            report.retried += one.retried
            report.failed += one.failed
            report.deferred += one.deferred
            report.leads_to_wake.extend(one.leads_to_wake)
        if self._audiences is not None and lead_id is None:
            report.audience_jobs = self._audiences.sync()
        if self.events is not None and lead_id is None:
            report.events = self.events.deliver()
        return report

    def claim(
        self, session: Session, *, now: datetime, lead_id: str | None = None, limit: int = 200
    ) -> list[tuple[str, OutboundMessage]]:
        """Inside the caller's transaction: mark due rows `sending` and read what to send. The
        provider is called only after that transaction commits (`send_claimed`)."""
        query = (
            sa.select(Outbox)
            .join(Lead, Lead.id == Outbox.lead_id)
            .where(Outbox.status == "pending", Outbox.available_at <= now)
        )
        if lead_id is not None:
            query = query.where(Outbox.lead_id == lead_id)
        query = query.order_by(Outbox.available_at).limit(limit)
        # A run holds its lead's row until it commits (`mailbox.claim`), and the stage changes it
        # makes are dated before that: a row claimed meanwhile would never see them (its waiting
        # then starts at this claim), so a lead in a run keeps its rows until the run is over.
        query = skip_locked(session, query, of=(Outbox, Lead))
        claimed: list[tuple[str, OutboundMessage]] = []
        for row in session.scalars(query):
            message = session.get(Message, row.message_id)
            lead = session.get(Lead, row.lead_id)
            business = session.get(Business, row.business_id)
            assert message is not None and lead is not None and business is not None
            kind = (message.info or {}).get("kind")
            why = no_longer_wanted(session, lead, message.channel, message.touch, kind, row.updated_at)
            if why is not None:
                _give_up(session, row, message, lead, "withdrawn", "withdrawn", "send_withdrawn", why, now)
                continue
            self._claim_row(session, row, message, lead, business, now, claimed)
        return claimed

    def claim_queued(
        self, session: Session, *, lead: Lead, business: Business, now: datetime
    ) -> list[tuple[str, OutboundMessage]]:
        """Like `claim`, for the rows a graph run queued in this session: no need to read back
        what the run has just written. Older pending rows (retries) are swept by `deliver`."""
        claimed: list[tuple[str, OutboundMessage]] = []
        connection = session.connection()
        statements = _statements()
        for queued in queued_in(session):
            if queued.lead_id != lead.id or queued.created_at > now:
                continue
            channel = self._channels[queued.channel]
            records_only = getattr(channel, "records_only", False)
            claim = {"outbox_id": queued.outbox_id, "status": "sent" if records_only else "sending", "now": now}
            if connection.execute(statements.outbox_claimed, claim).rowcount != 1:
                continue  # no longer pending: something in the run took it back
            outbound = outbound_for(session, queued, lead, business, self._public_url, now)
            if records_only:
                self._record_only(session, lead, channel, outbound, QUEUED, queued.status_history, None, now)
                continue
            claimed.append((queued.outbox_id, outbound))
        return claimed

    def _claim_row(
        self,
        session: Session,
        row: Outbox,
        message: Message,
        lead: Lead,
        business: Business,
        now: datetime,
        claimed: list[tuple[str, OutboundMessage]],
    ) -> None:
        row.attempts, row.updated_at = row.attempts + 1, now
        outbound = outbound_for(session, message, lead, business, self._public_url, now)
        channel = self._channels[row.channel]
        if getattr(channel, "records_only", False):
            row.status = "sent"
            history = message.status_history
            self._record_only(session, lead, channel, outbound, message.status, history, message.provider_id, now)
            return
        row.status = "sending"
        claimed.append((row.id, outbound))

    def _record_only(
        self,
        session: Session,
        lead: Lead,
        channel: Channel,
        outbound: OutboundMessage,
        status: str,
        history: list[Any],
        provider_id: str | None,
        now: datetime,
    ) -> None:
        """A records-only (sandbox) channel: its "send" is only a record, so it is written in the
        claiming transaction (at most once holds) and counted once that commits (a batch that
        rolls back runs its leads again)."""
        result = channel.send(outbound)
        owner = (lead.business_id, lead.id, outbound.channel)
        self._write_sent(session.connection(), outbound.message_id, status, history, provider_id, result, now, owner)
        after_commit(session, partial(self._count_sent, outbound.channel))

    def _count_sent(self, channel: str) -> None:
        if self._metrics is not None:
            self._metrics.messages_sent.labels(channel).inc()

    @staticmethod
    def _write_sent(
        connection: sa.Connection,
        message_id: str,
        status: str,
        history: list[Any],
        provider_id: str | None,
        result: SendResult,
        now: datetime,
        owner: tuple[str, str, str],  # business, lead, channel: for the message.sent event
    ) -> None:
        """Record, in Core, that the provider took the message: from `status` (with `history`) it
        moves to sent and then to the provider's own first status, if that is further on; a
        provider id it already had (adopted by recovery) is kept."""
        current, history = advanced(status, history, ("sent", result.status), now)
        provider_id = provider_id or result.provider_id
        connection.execute(
            _statements().message_sent,
            {
                "message_key": message_id,
                "provider_id": provider_id,
                "sent_at": now,
                "status": current,
                "status_history": history,
            },
        )
        business_id, lead_id, channel = owner
        _message_sent(connection, business_id, lead_id, message_id, channel, provider_id, now)

    def send_claimed(self, claimed: list[tuple[str, OutboundMessage]]) -> DeliveryReport:
        report = DeliveryReport()
        for outbox_id, outbound in claimed:
            self._deliver_one(outbox_id, outbound, report)
        return report

    def _deliver_one(self, outbox_id: str, outbound: OutboundMessage, report: DeliveryReport) -> None:
        channel = self._channels[outbound.channel]
        now = self._clock.now()
        slot, taken = self._pacer.reserve(outbound.channel, outbound.sender, now, self._max_wait)
        if not taken:
            self._defer(outbox_id, slot)
            report.deferred += 1
            return
        if slot > now:
            self._sleep((slot - now).total_seconds())  # the sender's queue: wait for our slot
        try:
            result = channel.send(outbound)
        except ChannelError as exc:
            if self._metrics is not None:
                self._metrics.delivery_failures.labels(outbound.channel, exc.code).inc()
            self._record_failure(outbox_id, exc, report)
            return
        except Exception as exc:  # a bug or an unexpected library error must not lose the row
            log.exception("delivery of %s crashed", outbox_id)
            self._record_failure(outbox_id, ChannelError(str(exc), code="internal", action="retry"), report)
            return
        self._record_sent(outbox_id, result)
        report.sent += 1

    def _defer(self, outbox_id: str, slot: datetime) -> None:
        """Back to the queue until the sender's next free slot (it asks again then), and with it
        every row of the same sender that is due before then: they could not go earlier either,
        and claiming them one by one only to put each back would make a burst quadratic."""
        with transaction(self._factory) as session:
            row = session.get(Outbox, outbox_id)
            if row is None:  # its lead was erased meanwhile: nothing left to send
                return
            row.status, row.available_at = "pending", slot  # updated_at stays its claim's: see Outbox
            row.attempts = max(0, row.attempts - 1)  # waiting for a slot is not a failed attempt
            session.execute(
                sa.update(Outbox)
                .where(
                    Outbox.status == "pending",
                    Outbox.business_id == row.business_id,  # a business sends a channel from one number
                    Outbox.channel == row.channel,
                    Outbox.available_at < slot,
                    Outbox.id != row.id,
                )
                .values(available_at=slot)
                .execution_options(synchronize_session=False)
            )

    def _record_sent(self, outbox_id: str, result: SendResult) -> None:
        """Record a provider's acceptance, in Core: one message per provider call makes this the
        hot path, and it needs no loaded objects."""
        now = self._clock.now()
        statements = _statements()
        with transaction(self._factory) as session:
            connection = session.connection()
            row = connection.execute(statements.outbox_sent, {"outbox_id": outbox_id, "now": now}).first()
            if row is None:
                # The lead was erased while its message was with the provider: nothing is left to
                # record, and the rest of the batch still has to go out.
                log.info("outbox row %s is gone (lead erased during the send); not recorded", outbox_id)
                return
            message_id, channel = row
            state = connection.execute(statements.message_state, {"message_id": message_id}).first()
            assert state is not None  # the outbox row is deleted with its message
            owner = (state.business_id, state.lead_id, channel)
            self._write_sent(
                connection, message_id, state.status, state.status_history, state.provider_id, result, now, owner
            )
        self._count_sent(channel)

    def _record_failure(self, outbox_id: str, error: ChannelError, report: DeliveryReport) -> None:
        now = self._clock.now()
        with transaction(self._factory) as session:
            row = session.get(Outbox, outbox_id)
            assert row is not None
            if error.action == "unconfirmed":
                # The provider may have the message: the row stays `sending` (updated_at still says
                # when the send began) and recovery asks the provider before anything is resent.
                row.last_error = f"unconfirmed: {error}"[:500]
                report.retried += 1
                return
            message = session.get(Message, row.message_id)
            lead = session.get(Lead, row.lead_id)
            assert message is not None and lead is not None
            row.last_error = str(error)[:500]
            if error.action == "retry" and row.attempts < MAX_ATTEMPTS:  # updated_at stays its claim's
                row.status, row.available_at = "pending", now + backoff(row.attempts, self._rng)
                report.retried += 1
                return
            if _failed(session, row, message, lead, error, now):
                report.leads_to_wake.append(lead.id)
            report.failed += 1

    def _unconfirmed(
        self, session: Session, row: Outbox, message: Message, lead: Lead, error: ChannelError, now: datetime
    ) -> None:
        """The provider could not say whether an interrupted send arrived. While it may still
        answer (the lookup itself failed), the row stays `sending` and is asked about again later,
        for up to a day; otherwise the send is given up, never repeated blindly (the
        lead may have it), with the reason in the lead's activity."""
        waited = now - row.updated_at  # since the send began
        if error.action == "retry" and waited < UNCONFIRMED_GIVE_UP:
            # Spaced by half the time waited so far (1 to 5 minutes, as recovery starts after 2): a
            # provider outage is not asked every tick, and the answer still comes soon after it ends.
            pause = min(timedelta(minutes=5), waited / 2)
            row.available_at, row.last_error = now + pause, f"lookup: {error}"[:500]
            return
        why = (
            f"a send interrupted by a restart could not be confirmed ({error}); not sent again, so it is never doubled"
        )
        _give_up(session, row, message, lead, "failed", error.code, "delivery_failed", why, now)

    def recover_interrupted(self) -> int:
        """Rows left `sending` (a crash, an unknown outcome): confirm with the provider, never resend
        blindly. A lookup that fails, whatever the provider raised, leaves its row waiting for its
        backoff and never holds up the other rows."""
        now = self._clock.now()
        recovered = 0
        with transaction(self._factory) as session:
            rows = list(
                session.scalars(
                    sa.select(Outbox).where(
                        Outbox.status == "sending",
                        Outbox.updated_at < now - STALE_SENDING,
                        Outbox.available_at <= now,  # a lookup that failed waits for its backoff
                    )
                )
            )
            for row in rows:
                message = session.get(Message, row.message_id)
                lead = session.get(Lead, row.lead_id)
                business = session.get(Business, row.business_id)
                assert message is not None and lead is not None and business is not None
                outbound = outbound_for(session, message, lead, business, self._public_url, now)
                try:
                    found = self._channels[row.channel].find_sent(outbound, row.updated_at)
                except Exception as exc:
                    error = exc if isinstance(exc, ChannelError) else None
                    if error is None:  # an unexpected library error is a lookup that failed, not a crash
                        log.exception("lookup of interrupted send %s crashed", row.id)
                        error = ChannelError(
                            f"cannot ask about an interrupted send: {exc}", code="lookup", action="retry"
                        )
                    self._unconfirmed(session, row, message, lead, error, now)
                    continue
                if found is not None:
                    row.status, row.updated_at = "sent", now
                    message.provider_id = message.provider_id or found.provider_id
                    message.sent_at = message.sent_at or now
                    apply_status(message, "sent", now)
                    _message_sent(
                        session.connection(),
                        lead.business_id,
                        lead.id,
                        message.id,
                        row.channel,
                        message.provider_id,
                        now,
                    )
                elif row.attempts >= MAX_ATTEMPTS:
                    # Not at the provider after its last attempt (sends that kept timing out): the
                    # touch falls to its next channel, as after any retry that ran out.
                    why = f"{row.last_error or 'interrupted'}; not at the provider after {row.attempts} attempts"
                    _failed(session, row, message, lead, ChannelError(why, code="unconfirmed", action="retry"), now)
                else:
                    row.status, row.available_at = "pending", now  # updated_at stays its claim's: see Outbox
                recovered += 1
        return recovered


def _failed(session: Session, row: Outbox, message: Message, lead: Lead, error: ChannelError, now: datetime) -> bool:
    """The provider refused the send for good, or its retries ran out: give it up, suppress the
    channel or fall to the next one as `error.action` says. True when the lead has a fallback to run."""
    _give_up(session, row, message, lead, "failed", error.code, "delivery_failed", str(error), now)
    if error.action == "suppress":
        suppress(session, lead, message.channel, f"provider error {error.code}", now)
    if error.action not in ("next_channel", "suppress", "retry") or message.touch is None:
        return False
    if error.action == "next_channel" and error.code != "63016":  # 63016 is timing, not the number
        mark_unreachable(lead, message.channel)
    enqueue_fallback(session, lead, message, error.code, now)
    return True


def _give_up(
    session: Session,
    row: Outbox,
    message: Message,
    lead: Lead,
    status: str,
    code: str,
    kind: str,
    why: str,
    now: datetime,
) -> None:
    """The message stays unsent for good (`status` failed or withdrawn), with the reason on the
    row and in the lead's activity (`kind`)."""
    row.status, row.last_error, row.updated_at = status, why[:500], now
    message.error_code = code
    if apply_status(message, "failed", now) and status == "failed":
        _message_failed(session, lead, message, why, now)
    activity.record(session, lead, now, kind, why, touch=message.touch, channel=message.channel)


def mark_unreachable(lead: Lead, channel: str) -> None:
    """Remember that this lead cannot be reached on `channel` (not a WhatsApp user, a hard bounce)."""
    extra = dict(lead.extra or {})
    lead.extra = {**extra, "unreachable": sorted(set(extra.get("unreachable", [])) | {channel})}


def enqueue_fallback(session: Session, lead: Lead, message: Message, code: str, now: datetime) -> None:
    """The lead's graph sends the touch again on its next channel (the failed one is excluded)."""
    mailbox.enqueue(
        session,
        lead=lead,
        kind="delivery_failed",
        dedupe_key=f"failed:{message.id}",
        now=now,
        payload={"message_id": message.id, "code": code},
    )


def report_failure(
    session: Session, message: Message, status: str, code: str | None, now: datetime, *, unreachable: bool = False
) -> str | None:
    """A provider said after the send that the message did not arrive (a status callback, a bounce).
    Returns the lead to wake when the touch falls to its next channel."""
    if not apply_status(message, status, now):
        return None  # a duplicate or a late callback: the first one did the work
    message.error_code = code or message.error_code
    lead = session.get(Lead, message.lead_id)
    if lead is not None:
        _message_failed(session, lead, message, f"the provider reported {status}", now)
    if lead is None or message.touch is None:
        return None
    if unreachable:
        mark_unreachable(lead, message.channel)
    enqueue_fallback(session, lead, message, message.error_code or "", now)
    return lead.id


def _message_sent(
    connection: sa.Connection,
    business_id: str,
    lead_id: str,
    message_id: str,
    channel: str,
    provider_id: str | None,
    now: datetime,
) -> None:
    data = {"lead_id": lead_id, "message_id": message_id, "channel": channel, "provider_id": provider_id}
    events.emit(connection, business_id=business_id, lead_id=lead_id, type=events.MESSAGE_SENT, data=data, now=now)


def _message_failed(session: Session, lead: Lead, message: Message, why: str, now: datetime) -> None:
    data = {
        "lead_id": lead.id,
        "message_id": message.id,
        "channel": message.channel,
        "touch": message.touch,
        "error_code": message.error_code,
        "reason": why[:500],
    }
    events.emit(session, business_id=lead.business_id, lead_id=lead.id, type=events.MESSAGE_FAILED, data=data, now=now)


def apply_status(message: Message, status: str, at: datetime) -> bool:
    """Move the message's status forward only (queued < sent < delivered < read; failures are
    final), so duplicate or out-of-order callbacks cannot move it back. True when it changed."""
    status_now, history = advanced(message.status, message.status_history, (status,), at)
    if status_now == message.status:
        return False
    message.status, message.status_history = status_now, history
    return True


def advanced(current: str, history: list[Any], statuses: Iterable[str], at: datetime) -> tuple[str, list[Any]]:
    """`current` and its history after each of `statuses` in turn, skipping those that would not
    move it forward."""
    for status in statuses:
        if moves_forward(current, status):
            current = status
            history = [*history, {"status": status, "at": at.isoformat()}]
    return current, history


def moves_forward(current: str, status: str) -> bool:
    """Whether `apply_status` would move a message from `current` to `status`."""
    if current in ("failed", "undelivered") or status == current:
        return False
    return status in ("failed", "undelivered") or STATUS_ORDER.get(status, -1) > STATUS_ORDER.get(current, -1)
