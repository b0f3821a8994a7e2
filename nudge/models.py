"""ORM models: the tables Nudge keeps.

Every row that belongs to a business carries `business_id` (the `TenantScoped` mixin); the
session-level tenant filter in `nudge.db` uses it so that a query made on behalf of one business
can never see another's rows.
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime
from typing import Any, ClassVar, cast

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from nudge.ids import new_id


class UTCDateTime(TypeDecorator[datetime]):
    """Stores aware datetimes as UTC; always hands back aware UTC (SQLite drops the zone)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime, dict[str, Any]: sa.JSON, list[Any]: sa.JSON}


def table_of(model: type[Base]) -> sa.Table:
    """The Core table of a model (the ORM types `__table__` as any FromClause)."""
    return cast(sa.Table, model.__table__)


@functools.cache
def insert_into(model: type[Base]) -> sa.Insert:
    """An INSERT of `model`'s rows for `Connection.execute` with one dict of values per row.
    Built once: the rows a run writes go out as Core statements, and SQLAlchemy memoises the cache
    key of a statement object it sees again (building one anew cost more than running it)."""
    return sa.insert(table_of(model))


class TenantScoped:
    """Rows owned by one business. The column lives on the mixin so the session's tenant filter
    can name it once for every model; each table declares the foreign key in its table args."""

    business_id: Mapped[str] = mapped_column(sa.String(40), index=True)


def _owned_by_business() -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(["business_id"], ["businesses.id"])


class Agency(Base):
    __tablename__ = "agencies"

    id: Mapped[str] = mapped_column(sa.String(40), primary_key=True, default=lambda: new_id("ag"))
    name: Mapped[str] = mapped_column(sa.String(200))
    created_at: Mapped[datetime]


class Business(Base):
    __tablename__ = "businesses"

    id: Mapped[str] = mapped_column(sa.String(40), primary_key=True, default=lambda: new_id("biz"))
    agency_id: Mapped[str | None] = mapped_column(sa.ForeignKey("agencies.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    timezone: Mapped[str] = mapped_column(sa.String(64), default="UTC")
    default_locale: Mapped[str] = mapped_column(sa.String(8), default="en")
    languages: Mapped[list[Any]] = mapped_column(default=lambda: ["en"])
    whatsapp_from: Mapped[str | None] = mapped_column(sa.String(40), unique=True)
    sms_from: Mapped[str | None] = mapped_column(sa.String(40), unique=True)
    email_from: Mapped[str | None] = mapped_column(sa.String(320))
    quiet_hours_start: Mapped[str] = mapped_column(sa.String(5), default="20:00")
    quiet_hours_end: Mapped[str] = mapped_column(sa.String(5), default="09:00")
    send_on_weekends: Mapped[bool] = mapped_column(default=True)
    handoff_sla_seconds: Mapped[int] = mapped_column(default=300)
    profile: Mapped[dict[str, Any]] = mapped_column(default=dict)
    whatsapp_templates: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # Retargeting destinations: [{"kind": "meta", "audience_id", "access_token"} | {"kind": "webhook", "url", "secret"}]
    audiences: Mapped[list[Any]] = mapped_column(default=list)
    consent_required: Mapped[list[Any]] = mapped_column(default=list)  # channels that need explicit consent
    sequence: Mapped[dict[str, Any] | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    def sender(self, channel: str) -> str | None:
        """The business's number or address that sends on `channel`."""
        return {"whatsapp": self.whatsapp_from, "sms": self.sms_from, "email": self.email_from}.get(channel)


class ApiKey(Base):
    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(sa.String(40), primary_key=True, default=lambda: new_id("key"))
    prefix: Mapped[str] = mapped_column(sa.String(24), unique=True)
    key_hash: Mapped[str] = mapped_column(sa.String(128))
    kind: Mapped[str] = mapped_column(sa.String(16))  # agency | business | rep
    agency_id: Mapped[str | None] = mapped_column(sa.ForeignKey("agencies.id"), index=True)
    business_id: Mapped[str | None] = mapped_column(sa.ForeignKey("businesses.id"), index=True)
    # A rep key acts only for this rep. No foreign key: `reps` is created after `api_keys`, and a
    # rep is deactivated, never deleted.
    rep_id: Mapped[str | None] = mapped_column(sa.String(40), index=True)
    label: Mapped[str] = mapped_column(sa.String(200), default="")
    created_at: Mapped[datetime]
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class Lead(TenantScoped, Base):
    __tablename__ = "leads"
    __table_args__ = (
        _owned_by_business(),
        sa.UniqueConstraint("business_id", "phone_key", name="uq_leads_business_phone_key"),
        sa.UniqueConstraint("business_id", "email", name="uq_leads_business_email"),
        sa.UniqueConstraint("business_id", "external_id", name="uq_leads_business_external_id"),
        sa.Index("ix_leads_business_created", "business_id", "created_at", "id"),  # the listing's keyset order
    )

    id: Mapped[str] = mapped_column(sa.String(40), primary_key=True, default=lambda: new_id("lead"))
    name: Mapped[str] = mapped_column(sa.String(200), default="")
    # The number as given (form) or as the provider last gave it on SMS; `phone_key` matches it
    # (agent.contacts.phone_key folds national quirks), `whatsapp_phone` is where WhatsApp
    # replies go when the lead wrote from WhatsApp (it may differ, e.g. +52 1… in Mexico).
    phone: Mapped[str | None] = mapped_column(sa.String(40))
    phone_key: Mapped[str | None] = mapped_column(sa.String(40))
    whatsapp_phone: Mapped[str | None] = mapped_column(sa.String(40))
    email: Mapped[str | None] = mapped_column(sa.String(320))
    external_id: Mapped[str | None] = mapped_column(sa.String(200))
    source: Mapped[str] = mapped_column(sa.String(64), default="form")
    industry: Mapped[str | None] = mapped_column(sa.String(64))
    timezone: Mapped[str | None] = mapped_column(sa.String(64))
    locale: Mapped[str | None] = mapped_column(sa.String(8))
    consent: Mapped[dict[str, Any]] = mapped_column(default=dict)
    stage: Mapped[str] = mapped_column(sa.String(32), default="new", index=True)
    score: Mapped[int] = mapped_column(default=0)
    first_message: Mapped[str] = mapped_column(sa.Text, default="")
    first_channel: Mapped[str] = mapped_column(sa.String(16), default="form")
    extra: Mapped[dict[str, Any]] = mapped_column("metadata", default=dict)
    # Sequence bookkeeping, mirrored from the graph state after every committed run.
    last_inbound_at: Mapped[datetime | None]
    whatsapp_inbound_at: Mapped[datetime | None]  # opens the 24-hour customer-service window
    last_channel: Mapped[str | None] = mapped_column(sa.String(16))  # where the lead last wrote
    last_contact_at: Mapped[datetime | None]
    last_touch: Mapped[int] = mapped_column(default=0)
    next_touch: Mapped[int | None]
    next_channel: Mapped[str | None] = mapped_column(sa.String(16))
    next_due_at: Mapped[datetime | None]
    # The checkpoint the last committed run ended on; a run always starts from here, so a
    # checkpoint written by a run that crashed before its commit is never built upon.
    checkpoint_id: Mapped[str | None] = mapped_column(sa.String(64))
    graph_paused: Mapped[bool] = mapped_column(default=False)  # at interrupt(): resume, don't restart
    # Lease: one run per lead at a time across threads and processes; fence orders the owners.
    lease_owner: Mapped[str | None] = mapped_column(sa.String(64))
    lease_until: Mapped[datetime | None]
    fence: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    def address(self, channel: str) -> str | None:
        """Where a message on `channel` goes."""
        if channel == "email":
            return self.email
        if channel == "whatsapp":
            return self.whatsapp_phone or self.phone
        return self.phone if channel == "sms" else None


class OptOut(TenantScoped, Base):
    """Suppression: a channel name, or `all` for every channel."""

    __tablename__ = "opt_outs"
    __table_args__ = (
        _owned_by_business(),
        sa.UniqueConstraint("lead_id", "channel", name="uq_opt_outs_lead_channel"),
    )

    id: Mapped[str] = mapped_column(sa.String(40), primary_key=True, default=lambda: new_id("opt"))
    lead_id: Mapped[str] = mapped_column(sa.ForeignKey("leads.id", ondelete="CASCADE"), index=True)
    channel: Mapped[str] = mapped_column(sa.String(16))
    reason: Mapped[str] = mapped_column(sa.String(200), default="")
    created_at: Mapped[datetime]


class Message(TenantScoped, Base):
    """One line of a lead's transcript, inbound or outbound."""

    __tablename__ = "messages"
    __table_args__ = (
        _owned_by_business(),
        sa.Index("ix_messages_lead_created", "lead_id", "created_at"),
        sa.Index("ix_messages_created", "created_at"),
    )

    id: Mapped[str] = mapped_column(sa.String(40), primary_key=True, default=lambda: new_id("msg"))
    lead_id: Mapped[str] = mapped_column(sa.ForeignKey("leads.id", ondelete="CASCADE"))
    direction: Mapped[str] = mapped_column(sa.String(8))  # in | out
    channel: Mapped[str] = mapped_column(sa.String(16))
    touch: Mapped[int | None]
    author: Mapped[str] = mapped_column(sa.String(16))  # lead | agent | rep
    composer: Mapped[str] = mapped_column(sa.String(16), default="")  # template | llm | human
    body: Mapped[str] = mapped_column(sa.Text, default="")
    subject: Mapped[str | None] = mapped_column(sa.String(300))
    template_sid: Mapped[str | None] = mapped_column(sa.String(64))
    template_variables: Mapped[dict[str, Any] | None]
    provider_id: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    status: Mapped[str] = mapped_column(sa.String(16))
    status_history: Mapped[list[Any]] = mapped_column(default=list)
    error_code: Mapped[str | None] = mapped_column(sa.String(16))
    info: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]


class LeadEvent(TenantScoped, Base):
    """The lead mailbox: every input to a lead's graph, and its follow-up timers.

    A timer is an event whose `available_at` lies in the future. `dedupe_key` is unique, so a
    webhook retried by the provider lands once.
    """

    __tablename__ = "lead_events"
    __table_args__ = (
        _owned_by_business(),
        sa.Index(
            "ix_lead_events_due",
            "available_at",
            sqlite_where=sa.text("processed_at IS NULL"),
            postgresql_where=sa.text("processed_at IS NULL"),
        ),
        sa.Index("ix_lead_events_lead_pending", "lead_id", "processed_at"),
    )

    id: Mapped[str] = mapped_column(sa.String(40), primary_key=True, default=lambda: new_id("evt"))
    lead_id: Mapped[str] = mapped_column(sa.ForeignKey("leads.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(sa.String(32))
    dedupe_key: Mapped[str] = mapped_column(sa.String(200), unique=True)
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    available_at: Mapped[datetime]
    created_at: Mapped[datetime]
    processed_at: Mapped[datetime | None]
    outcome: Mapped[str | None] = mapped_column(sa.String(32))  # done | cancelled | stale


class Outbox(TenantScoped, Base):
    """Delivery job for one outbound message: written before the provider call (at most once)."""

    __tablename__ = "outbox"
    __table_args__ = (
        _owned_by_business(),
        sa.Index(
            "ix_outbox_ready",
            "available_at",
            sqlite_where=sa.text("status = 'pending'"),
            postgresql_where=sa.text("status = 'pending'"),
        ),
    )

    id: Mapped[str] = mapped_column(sa.String(40), primary_key=True, default=lambda: new_id("out"))
    lead_id: Mapped[str] = mapped_column(sa.ForeignKey("leads.id", ondelete="CASCADE"), index=True)
    message_id: Mapped[str] = mapped_column(sa.ForeignKey("messages.id", ondelete="CASCADE"), unique=True)
    channel: Mapped[str] = mapped_column(sa.String(16))
    # pending|sending|sent|failed|withdrawn (no longer wanted when its turn came: see last_error)
    status: Mapped[str] = mapped_column(sa.String(16), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    available_at: Mapped[datetime]
    last_error: Mapped[str | None] = mapped_column(sa.String(500))
    created_at: Mapped[datetime]
    # While pending or sending: when it was last claimed, i.e. last found still wanted, which is
    # what `no_longer_wanted` counts stage changes from. Putting it back to wait (a refusal, a
    # deferral, a recovery) leaves it, so a change made while the provider call was out is not
    # skipped. Once sent, failed or withdrawn: when it ended.
    updated_at: Mapped[datetime]


class LeadActivity(TenantScoped, Base):
    """What the agent decided for a lead and why: sent, held, skipped, stage changes."""

    __tablename__ = "lead_activity"
    __table_args__ = (
        _owned_by_business(),
        sa.Index("ix_lead_activity_lead_at", "lead_id", "at"),
    )

    id: Mapped[str] = mapped_column(sa.String(40), primary_key=True, default=lambda: new_id("act"))
    lead_id: Mapped[str] = mapped_column(sa.ForeignKey("leads.id", ondelete="CASCADE"))
    at: Mapped[datetime]
    kind: Mapped[str] = mapped_column(sa.String(32))
    touch: Mapped[int | None]
    channel: Mapped[str | None] = mapped_column(sa.String(16))
    detail: Mapped[str] = mapped_column(sa.Text, default="")


class LlmUsage(TenantScoped, Base):
    """Tokens one model call cost for a lead (drafting a message or qualifying a reply)."""

    __tablename__ = "llm_usage"
    __table_args__ = (
        _owned_by_business(),
        sa.Index("ix_llm_usage_lead_id", "lead_id"),
    )

    id: Mapped[str] = mapped_column(sa.String(40), primary_key=True, default=lambda: new_id("llm"))
    lead_id: Mapped[str] = mapped_column(sa.ForeignKey("leads.id", ondelete="CASCADE"))
    message_id: Mapped[str | None] = mapped_column(sa.String(40))
    task: Mapped[str] = mapped_column(sa.String(40))
    model: Mapped[str] = mapped_column(sa.String(100))
    prompt_tokens: Mapped[int]
    completion_tokens: Mapped[int]
    outcome: Mapped[str] = mapped_column(sa.String(16))
    at: Mapped[datetime]


class TrackedLink(TenantScoped, Base):
    """A link in a message: `/r/{token}` records the click, then redirects to `url`."""

    __tablename__ = "tracked_links"
    __table_args__ = (_owned_by_business(),)

    token: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    lead_id: Mapped[str] = mapped_column(sa.ForeignKey("leads.id", ondelete="CASCADE"), index=True)
    touch: Mapped[int | None]
    url: Mapped[str] = mapped_column(sa.Text)
    clicks: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime]
    first_clicked_at: Mapped[datetime | None]


class Rep(TenantScoped, Base):
    """A sales rep who receives handoffs."""

    __tablename__ = "reps"
    __table_args__ = (_owned_by_business(),)

    id: Mapped[str] = mapped_column(sa.String(40), primary_key=True, default=lambda: new_id("rep"))
    name: Mapped[str] = mapped_column(sa.String(200))
    phone: Mapped[str | None] = mapped_column(sa.String(40))
    email: Mapped[str | None] = mapped_column(sa.String(320))
    webhook_url: Mapped[str | None] = mapped_column(sa.String(2000))
    industries: Mapped[list[Any]] = mapped_column(default=list)
    active: Mapped[bool] = mapped_column(default=True)
    last_assigned_at: Mapped[datetime | None]  # round robin: the longest-waiting rep goes next
    created_at: Mapped[datetime]


class Handoff(TenantScoped, Base):
    """An escalation of a lead to a person: open → claimed → resolved."""

    __tablename__ = "handoffs"
    __table_args__ = (_owned_by_business(), sa.Index("ix_handoffs_business_status", "business_id", "status"))

    id: Mapped[str] = mapped_column(sa.String(40), primary_key=True, default=lambda: new_id("hof"))
    lead_id: Mapped[str] = mapped_column(sa.ForeignKey("leads.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(sa.String(16), default="open")
    assigned_rep_id: Mapped[str | None] = mapped_column(sa.ForeignKey("reps.id", ondelete="SET NULL"))
    claimed_by: Mapped[str | None] = mapped_column(sa.ForeignKey("reps.id", ondelete="SET NULL"))
    notified: Mapped[list[Any]] = mapped_column(default=list)  # [{"rep_id", "at"}], in order
    summary: Mapped[dict[str, Any]] = mapped_column(default=dict)
    outcome: Mapped[str | None] = mapped_column(sa.String(16))
    note: Mapped[str] = mapped_column(sa.Text, default="")
    sla_due_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    claimed_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]


class Notification(TenantScoped, Base):
    """A message to a rep (webhook, email, SMS/WhatsApp), delivered like the lead outbox."""

    __tablename__ = "notifications"
    __table_args__ = (
        _owned_by_business(),
        sa.Index(
            "ix_notifications_ready",
            "available_at",
            sqlite_where=sa.text("status = 'pending'"),
            postgresql_where=sa.text("status = 'pending'"),
        ),
    )

    id: Mapped[str] = mapped_column(sa.String(40), primary_key=True, default=lambda: new_id("ntf"))
    handoff_id: Mapped[str | None] = mapped_column(sa.ForeignKey("handoffs.id", ondelete="CASCADE"), index=True)
    rep_id: Mapped[str | None] = mapped_column(sa.ForeignKey("reps.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(sa.String(16))  # webhook | email | sms | whatsapp
    target: Mapped[str] = mapped_column(sa.String(2000))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(sa.String(16), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    available_at: Mapped[datetime]
    last_error: Mapped[str | None] = mapped_column(sa.String(500))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class Conversion(TenantScoped, Base):
    """A sale or booking: from `POST /v1/leads/{id}/events`, a rep's "won", or the simulator.
    Attribution credits the touches a lead received before its first conversion."""

    __tablename__ = "conversions"
    __table_args__ = (_owned_by_business(), sa.Index("ix_conversions_lead_occurred", "lead_id", "occurred_at"))

    id: Mapped[str] = mapped_column(sa.String(40), primary_key=True, default=lambda: new_id("cnv"))
    lead_id: Mapped[str] = mapped_column(sa.ForeignKey("leads.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(sa.String(16))  # converted | won | booked
    value: Mapped[float | None] = mapped_column(sa.Float)
    currency: Mapped[str | None] = mapped_column(sa.String(3))
    source: Mapped[str] = mapped_column(sa.String(8))  # api | rep | sim | booking
    dedupe_key: Mapped[str] = mapped_column(sa.String(200), unique=True)
    occurred_at: Mapped[datetime]
    created_at: Mapped[datetime]
    # The touch whose tracked link led to it (a booking made through Nudge's link): attribution
    # credits that touch and nothing sent after it. None: the touches before it, as usual.
    touch: Mapped[int | None]
    # A cancelled booking: kept for the record, left out of attribution (agent.booking).
    withdrawn_at: Mapped[datetime | None]


class BookingIntegration(TenantScoped, Base):
    """A calendar account (Cal.com, Calendly, or any tool signing like `generic`) that posts a
    business's bookings to `/webhooks/booking/{id}`, signed with `secret`."""

    __tablename__ = "booking_integrations"
    __table_args__ = (_owned_by_business(),)

    id: Mapped[str] = mapped_column(sa.String(40), primary_key=True, default=lambda: new_id("bki"))
    provider: Mapped[str] = mapped_column(sa.String(16))  # calcom | calendly | generic
    secret: Mapped[str] = mapped_column(sa.String(200))
    # After a rotation the old secret still verifies until `previous_until`: deliveries already
    # signed (retries) and the minutes it takes to paste the new one into the tool.
    previous_secret: Mapped[str | None] = mapped_column(sa.String(200))
    previous_until: Mapped[datetime | None]
    created_at: Mapped[datetime]
    rotated_at: Mapped[datetime | None]


class Booking(TenantScoped, Base):
    """One booking as the provider identifies it (`uid`); a reschedule is a new uid chained to
    the first (`root_uid`), which is what the conversion is keyed on."""

    __tablename__ = "bookings"
    __table_args__ = (
        _owned_by_business(),
        sa.UniqueConstraint("business_id", "provider", "uid", name="uq_bookings_business_provider_uid"),
    )

    id: Mapped[str] = mapped_column(sa.String(40), primary_key=True, default=lambda: new_id("bkg"))
    provider: Mapped[str] = mapped_column(sa.String(16))
    uid: Mapped[str] = mapped_column(sa.String(300))
    root_uid: Mapped[str] = mapped_column(sa.String(300))
    # Erasing the lead erases its bookings (they hold the invitee's contact details).
    lead_id: Mapped[str | None] = mapped_column(sa.ForeignKey("leads.id", ondelete="CASCADE"), index=True)
    touch: Mapped[int | None]  # the touch whose tracked link the invitee came through
    status: Mapped[str] = mapped_column(sa.String(16))  # booked | rescheduled | cancelled
    matched_by: Mapped[str] = mapped_column(sa.String(16), default="")  # link | email | phone | ""
    start_at: Mapped[datetime | None]
    end_at: Mapped[datetime | None]
    invitee: Mapped[dict[str, Any]] = mapped_column(default=dict)  # name, email, phone as sent
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)  # the provider's last event, as sent
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class UnsubscribeToken(TenantScoped, Base):
    """The unguessable token in an email's List-Unsubscribe link (`/u/{token}`), one per lead."""

    __tablename__ = "unsubscribe_tokens"
    __table_args__ = (_owned_by_business(),)

    token: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    lead_id: Mapped[str] = mapped_column(sa.ForeignKey("leads.id", ondelete="CASCADE"), unique=True)
    created_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class RepLink(TenantScoped, Base):
    """The short-lived link in a rep's notification: opens that handoff in the console, signed in
    as that rep. Only the token's SHA-256 is stored; the token is in the message."""

    __tablename__ = "rep_links"
    __table_args__ = (_owned_by_business(),)

    id: Mapped[str] = mapped_column(sa.String(40), primary_key=True, default=lambda: new_id("rln"))
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    rep_id: Mapped[str] = mapped_column(sa.ForeignKey("reps.id", ondelete="CASCADE"))
    handoff_id: Mapped[str] = mapped_column(sa.ForeignKey("handoffs.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]


class ConsoleSession(Base):
    """A signed-in browser: the cookie holds a random token, this row its SHA-256 and what the key
    (or rep link) behind it may see. Not `TenantScoped`: it is read before the tenant is known."""

    __tablename__ = "console_sessions"

    id: Mapped[str] = mapped_column(sa.String(40), primary_key=True, default=lambda: new_id("csn"))
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    csrf_token: Mapped[str] = mapped_column(sa.String(64))
    kind: Mapped[str] = mapped_column(sa.String(16))  # agency | business | rep
    key_id: Mapped[str] = mapped_column(sa.String(40))  # the API key, or the rep link, signed in with
    key_prefix: Mapped[str] = mapped_column(sa.String(24))
    agency_id: Mapped[str | None] = mapped_column(sa.String(40))
    business_id: Mapped[str | None] = mapped_column(sa.String(40))  # an agency's current client
    rep_id: Mapped[str | None] = mapped_column(sa.String(40))
    handoff_id: Mapped[str | None] = mapped_column(sa.String(40))  # a rep link's session: that handoff only
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class AudienceJob(TenantScoped, Base):
    """Add a lead to (or remove one from) a business's retargeting audiences, delivered after the
    commit like the outbox. Holds only SHA-256 hashes, so a removal outlives an erased lead."""

    __tablename__ = "audience_jobs"
    __table_args__ = (
        _owned_by_business(),
        sa.Index(
            "ix_audience_jobs_ready",
            "available_at",
            sqlite_where=sa.text("status = 'pending'"),
            postgresql_where=sa.text("status = 'pending'"),
        ),
    )

    id: Mapped[str] = mapped_column(sa.String(40), primary_key=True, default=lambda: new_id("aud"))
    lead_id: Mapped[str | None] = mapped_column(sa.ForeignKey("leads.id", ondelete="SET NULL"), index=True)
    action: Mapped[str] = mapped_column(sa.String(8))  # add | remove
    reason: Mapped[str] = mapped_column(sa.String(64), default="")
    hashes: Mapped[dict[str, Any]] = mapped_column(default=dict)  # {"email": sha256 hex, "phone": sha256 hex}
    status: Mapped[str] = mapped_column(sa.String(16), default="pending")  # pending|sending|sent|failed
    attempts: Mapped[int] = mapped_column(default=0)
    available_at: Mapped[datetime]
    last_error: Mapped[str | None] = mapped_column(sa.String(500))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class WebhookEndpoint(TenantScoped, Base):
    """A business's URL that receives its domain events, signed per Standard Webhooks.

    `secret` is the current `whsec_` signing secret; during a rotation `previous_secret` signs too
    (a second signature in `webhook-signature`) until `previous_secret_until`."""

    __tablename__ = "webhook_endpoints"
    __table_args__ = (_owned_by_business(),)

    id: Mapped[str] = mapped_column(sa.String(40), primary_key=True, default=lambda: new_id("whe"))
    url: Mapped[str] = mapped_column(sa.String(2000))
    description: Mapped[str] = mapped_column(sa.String(200), default="")
    events: Mapped[list[Any]] = mapped_column(default=list)  # event types; empty: every type
    secret: Mapped[str] = mapped_column(sa.String(100))
    previous_secret: Mapped[str | None] = mapped_column(sa.String(100))
    previous_secret_until: Mapped[datetime | None]
    enabled: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class Connector(TenantScoped, Base):
    """A CRM the business's events are mirrored into (`kind`: hubspot), one per kind."""

    __tablename__ = "connectors"
    __table_args__ = (_owned_by_business(), sa.UniqueConstraint("business_id", "kind", name="uq_connectors_kind"))

    id: Mapped[str] = mapped_column(sa.String(40), primary_key=True, default=lambda: new_id("con"))
    kind: Mapped[str] = mapped_column(sa.String(32))
    config: Mapped[dict[str, Any]] = mapped_column(default=dict)  # the kind's settings, its token included
    enabled: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class DomainEvent(TenantScoped, Base):
    """The domain-event log (a transactional outbox): written in the transaction of the change it
    reports, only when someone subscribes to it. `seq` orders a lead's events; `id` is the
    Standard Webhooks `webhook-id`, the same on every attempt so receivers can deduplicate."""

    __tablename__ = "domain_events"
    __table_args__ = (_owned_by_business(),)

    seq: Mapped[int] = mapped_column(
        sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True
    )
    id: Mapped[str] = mapped_column(sa.String(40), unique=True)
    lead_id: Mapped[str | None] = mapped_column(sa.ForeignKey("leads.id", ondelete="CASCADE"), index=True)
    type: Mapped[str] = mapped_column(sa.String(40))
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    occurred_at: Mapped[datetime]


class EventDelivery(TenantScoped, Base):
    """One event to one subscriber (a webhook endpoint or a connector), delivered after the commit:
    pending → sending → delivered, or dead after a day of retries. A lead's deliveries to one
    subscriber go in `event_seq` order: a later one waits while an earlier one is unfinished."""

    __tablename__ = "event_deliveries"
    __table_args__ = (
        _owned_by_business(),
        sa.Index(
            "ix_event_deliveries_ready",
            "available_at",
            sqlite_where=sa.text("status = 'pending'"),
            postgresql_where=sa.text("status = 'pending'"),
        ),
        sa.Index("ix_event_deliveries_order", "subscriber_id", "lead_id", "event_seq"),
        sa.Index("ix_event_deliveries_log", "subscriber_id", "created_at"),
    )

    id: Mapped[str] = mapped_column(sa.String(40), primary_key=True, default=lambda: new_id("dlv"))
    event_seq: Mapped[int] = mapped_column(
        sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
        sa.ForeignKey("domain_events.seq", ondelete="CASCADE"),
        index=True,
    )
    subscriber_id: Mapped[str] = mapped_column(sa.String(40))  # a webhook endpoint's or a connector's id
    lead_id: Mapped[str | None] = mapped_column(sa.String(40))  # the event's, for ordering (erased with it)
    status: Mapped[str] = mapped_column(sa.String(16), default="pending")  # pending|sending|delivered|dead
    attempts: Mapped[int] = mapped_column(default=0)
    available_at: Mapped[datetime]
    last_error: Mapped[str | None] = mapped_column(sa.String(500))
    response_status: Mapped[int | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    delivered_at: Mapped[datetime | None]


class AuditEntry(Base):
    """Who did what: one row per successful change (and per export) made through the API.

    Holds ids and route templates only, never request bodies, so it keeps no contact details.
    Not `TenantScoped`: agency-level actions (creating a business, managing keys) have no business.
    """

    __tablename__ = "audit_log"
    __table_args__ = (
        sa.Index("ix_audit_log_business_at", "business_id", "at"),
        sa.Index("ix_audit_log_agency_at", "agency_id", "at"),
    )

    id: Mapped[str] = mapped_column(sa.String(40), primary_key=True, default=lambda: new_id("adt"))
    at: Mapped[datetime]
    agency_id: Mapped[str | None] = mapped_column(sa.String(40))
    business_id: Mapped[str | None] = mapped_column(sa.String(40))
    key_id: Mapped[str] = mapped_column(sa.String(40))
    key_prefix: Mapped[str] = mapped_column(sa.String(24))
    key_kind: Mapped[str] = mapped_column(sa.String(16))
    rep_id: Mapped[str | None] = mapped_column(sa.String(40))
    action: Mapped[str] = mapped_column(sa.String(64))  # e.g. handoff.claim, lead.delete
    method: Mapped[str] = mapped_column(sa.String(8))
    route: Mapped[str] = mapped_column(sa.String(200))  # the route template, never the filled-in path
    target_id: Mapped[str | None] = mapped_column(sa.String(200))


class LeadImport(TenantScoped, Base):
    """One run of a lead import (`POST /v1/leads/import`, `nudge leads import`): what it did and
    the per-row errors, kept so the report can be downloaded after the request answered."""

    __tablename__ = "lead_imports"
    __table_args__ = (_owned_by_business(),)

    id: Mapped[str] = mapped_column(sa.String(40), primary_key=True, default=lambda: new_id("imp"))
    origin: Mapped[str] = mapped_column(sa.String(8))  # api | cli
    format: Mapped[str] = mapped_column(sa.String(8))  # csv | jsonl
    dry_run: Mapped[bool] = mapped_column(default=False)
    options: Mapped[dict[str, Any]] = mapped_column(default=dict)  # mapping, dedupe, start, country
    rows: Mapped[int] = mapped_column(default=0)
    created: Mapped[int] = mapped_column(default=0)
    updated: Mapped[int] = mapped_column(default=0)
    unchanged: Mapped[int] = mapped_column(default=0)  # known, nothing to update
    skipped: Mapped[int] = mapped_column(default=0)  # known, left alone (on_duplicate=skip)
    failed: Mapped[int] = mapped_column(default=0)
    errors: Mapped[list[Any]] = mapped_column(default=list)  # [{"row", "column", "message"}]
    created_at: Mapped[datetime]


class EmailInbox(TenantScoped, Base):
    """A business's mailbox read over IMAP for replies, bounces and mailto unsubscribes.

    `last_uid` under `uidvalidity` is the last message handled: it moves in the transaction that
    handles the message, so nothing is read twice and nothing is skipped across a restart. The
    worker holding `leased_by` until `leased_until` is the only one reading it. `password` is
    write-only for the API (it answers `password_set`).
    """

    __tablename__ = "email_inboxes"
    __table_args__ = (_owned_by_business(), sa.UniqueConstraint("business_id", name="uq_email_inboxes_business"))

    id: Mapped[str] = mapped_column(sa.String(40), primary_key=True, default=lambda: new_id("inbox"))
    host: Mapped[str] = mapped_column(sa.String(255))
    port: Mapped[int]
    security: Mapped[str] = mapped_column(sa.String(8))  # tls | starttls | none
    username: Mapped[str] = mapped_column(sa.String(320))
    password: Mapped[str] = mapped_column(sa.String(500))
    folder: Mapped[str] = mapped_column(sa.String(200), default="INBOX")
    enabled: Mapped[bool] = mapped_column(default=True)
    poll_seconds: Mapped[int] = mapped_column(default=60)
    uidvalidity: Mapped[int | None] = mapped_column(sa.BigInteger)
    last_uid: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    status: Mapped[str] = mapped_column(sa.String(16), default="pending")  # pending | connected | error
    last_error: Mapped[str | None] = mapped_column(sa.String(500))
    last_checked_at: Mapped[datetime | None]
    leased_by: Mapped[str | None] = mapped_column(sa.String(64))
    leased_until: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class EmailProvider(TenantScoped, Base):
    """A business's own inbound email provider (Postmark, SendGrid, Mailgun) posting to
    `/webhooks/email/{provider}/{id}`. Postmark and SendGrid authenticate with a basic-auth password
    Nudge generated: only its SHA-256 is kept (it is shown once). Mailgun signs with the business's
    webhook signing key, kept because verifying needs it; the API never returns it."""

    __tablename__ = "email_providers"
    __table_args__ = (
        _owned_by_business(),
        sa.UniqueConstraint("business_id", "provider", name="uq_email_providers_business_provider"),
    )

    id: Mapped[str] = mapped_column(sa.String(40), primary_key=True, default=lambda: new_id("emp"))
    provider: Mapped[str] = mapped_column(sa.String(16))  # postmark | sendgrid | mailgun
    password_sha256: Mapped[str | None] = mapped_column(sa.String(64))
    signing_key: Mapped[str | None] = mapped_column(sa.String(200))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class InboundEmailPayload(Base):
    """An inbound email from a verified source that could not be acted on as sent (unreadable):
    kept as received so nothing a provider delivered is lost. Not tenant-scoped: an unreadable
    payload may name no business."""

    __tablename__ = "inbound_email_payloads"
    __table_args__ = (sa.Index("ix_inbound_email_payloads_received", "received_at"),)

    id: Mapped[str] = mapped_column(sa.String(40), primary_key=True, default=lambda: new_id("inp"))
    received_at: Mapped[datetime]
    source: Mapped[str] = mapped_column(sa.String(16))  # nudge | postmark | sendgrid | mailgun | imap
    business_id: Mapped[str | None] = mapped_column(sa.String(40))
    status: Mapped[str] = mapped_column(sa.String(24))
    detail: Mapped[str] = mapped_column(sa.String(500), default="")
    payload: Mapped[str] = mapped_column(sa.Text, default="")


TENANT_MODELS: tuple[type[Base], ...] = (
    Lead,
    OptOut,
    Message,
    LeadEvent,
    Outbox,
    LeadActivity,
    TrackedLink,
    Rep,
    Handoff,
    Notification,
    Conversion,
    UnsubscribeToken,
    AudienceJob,
    WebhookEndpoint,
    Connector,
    DomainEvent,
    EventDelivery,
    BookingIntegration,
    Booking,
    LeadImport,
    EmailInbox,
    EmailProvider,
)
