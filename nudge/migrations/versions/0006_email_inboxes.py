"""email_inboxes (IMAP mailboxes read for replies) and inbound_email_payloads (unreadable deliveries kept)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07 23:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import nudge.models

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "email_inboxes",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("port", sa.Integer(), nullable=False),
        sa.Column("security", sa.String(length=8), nullable=False),
        sa.Column("username", sa.String(length=320), nullable=False),
        sa.Column("password", sa.String(length=500), nullable=False),
        sa.Column("folder", sa.String(length=200), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("poll_seconds", sa.Integer(), nullable=False),
        sa.Column("uidvalidity", sa.BigInteger(), nullable=True),
        sa.Column("last_uid", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("last_checked_at", nudge.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("leased_by", sa.String(length=64), nullable=True),
        sa.Column("leased_until", nudge.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", nudge.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", nudge.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("business_id", sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(["business_id"], ["businesses.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("business_id", name="uq_email_inboxes_business"),
    )
    with op.batch_alter_table("email_inboxes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_email_inboxes_business_id"), ["business_id"], unique=False)

    op.create_table(
        "inbound_email_payloads",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("received_at", nudge.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("business_id", sa.String(length=40), nullable=True),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("detail", sa.String(length=500), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("inbound_email_payloads", schema=None) as batch_op:
        batch_op.create_index("ix_inbound_email_payloads_received", ["received_at"], unique=False)


def downgrade() -> None:
    op.drop_table("inbound_email_payloads")
    with op.batch_alter_table("email_inboxes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_email_inboxes_business_id"))
    op.drop_table("email_inboxes")
