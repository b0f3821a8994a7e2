"""lead_imports: one row per lead import with its per-row error report

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07 23:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import nudge.models

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "lead_imports",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("origin", sa.String(length=8), nullable=False),
        sa.Column("format", sa.String(length=8), nullable=False),
        sa.Column("dry_run", sa.Boolean(), nullable=False),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("created", sa.Integer(), nullable=False),
        sa.Column("updated", sa.Integer(), nullable=False),
        sa.Column("unchanged", sa.Integer(), nullable=False),
        sa.Column("skipped", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.Column("errors", sa.JSON(), nullable=False),
        sa.Column("created_at", nudge.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("business_id", sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(["business_id"], ["businesses.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("lead_imports", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_lead_imports_business_id"), ["business_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("lead_imports", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_lead_imports_business_id"))
    op.drop_table("lead_imports")
