"""email_providers (a business's own Postmark, SendGrid or Mailgun inbound connection)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-08 00:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import nudge.models

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "email_providers",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("password_sha256", sa.String(length=64), nullable=True),
        sa.Column("signing_key", sa.String(length=200), nullable=True),
        sa.Column("created_at", nudge.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", nudge.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("business_id", sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(["business_id"], ["businesses.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("business_id", "provider", name="uq_email_providers_business_provider"),
    )
    with op.batch_alter_table("email_providers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_email_providers_business_id"), ["business_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("email_providers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_email_providers_business_id"))
    op.drop_table("email_providers")
