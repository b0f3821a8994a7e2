"""console: an index in the leads listing's order; rep links; console sessions

Revision ID: 0008
Revises: 0006
Create Date: 2026-12-07 23:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from nudge.models import UTCDateTime

revision = "0008"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # GET /v1/leads pages in (created_at, id) order within a business.
    op.create_index("ix_leads_business_created", "leads", ["business_id", "created_at", "id"])
    op.create_table(
        "rep_links",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("rep_id", sa.String(length=40), nullable=False),
        sa.Column("handoff_id", sa.String(length=40), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("business_id", sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(["business_id"], ["businesses.id"]),
        sa.ForeignKeyConstraint(["handoff_id"], ["handoffs.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["rep_id"], ["reps.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    op.create_index("ix_rep_links_business_id", "rep_links", ["business_id"])
    op.create_index("ix_rep_links_handoff_id", "rep_links", ["handoff_id"])
    op.create_table(
        "console_sessions",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("key_id", sa.String(length=40), nullable=False),
        sa.Column("key_prefix", sa.String(length=24), nullable=False),
        sa.Column("agency_id", sa.String(length=40), nullable=True),
        sa.Column("business_id", sa.String(length=40), nullable=True),
        sa.Column("rep_id", sa.String(length=40), nullable=True),
        sa.Column("handoff_id", sa.String(length=40), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("revoked_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )


def downgrade() -> None:
    op.drop_table("console_sessions")
    op.drop_index("ix_rep_links_handoff_id", table_name="rep_links")
    op.drop_index("ix_rep_links_business_id", table_name="rep_links")
    op.drop_table("rep_links")
    op.drop_index("ix_leads_business_created", table_name="leads")
