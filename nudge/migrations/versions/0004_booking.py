"""booking: calendar integrations, bookings, and a conversion's credited touch / withdrawal

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07 23:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import nudge.models

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("conversions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("touch", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("withdrawn_at", nudge.models.UTCDateTime(timezone=True), nullable=True))
    op.create_table(
        "booking_integrations",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("secret", sa.String(length=200), nullable=False),
        sa.Column("previous_secret", sa.String(length=200), nullable=True),
        sa.Column("previous_until", nudge.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", nudge.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("rotated_at", nudge.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("business_id", sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(["business_id"], ["businesses.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("booking_integrations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_booking_integrations_business_id"), ["business_id"], unique=False)
    op.create_table(
        "bookings",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("uid", sa.String(length=300), nullable=False),
        sa.Column("root_uid", sa.String(length=300), nullable=False),
        sa.Column("lead_id", sa.String(length=40), nullable=True),
        sa.Column("touch", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("matched_by", sa.String(length=16), nullable=False),
        sa.Column("start_at", nudge.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("end_at", nudge.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("invitee", sa.JSON(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("created_at", nudge.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", nudge.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("business_id", sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(["business_id"], ["businesses.id"]),
        sa.ForeignKeyConstraint(["lead_id"], ["leads.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("business_id", "provider", "uid", name="uq_bookings_business_provider_uid"),
    )
    with op.batch_alter_table("bookings", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_bookings_business_id"), ["business_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_bookings_lead_id"), ["lead_id"], unique=False)


def downgrade() -> None:
    op.drop_table("bookings")
    op.drop_table("booking_integrations")
    with op.batch_alter_table("conversions", schema=None) as batch_op:
        batch_op.drop_column("withdrawn_at")
        batch_op.drop_column("touch")
