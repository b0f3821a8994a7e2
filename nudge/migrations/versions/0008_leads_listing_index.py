"""leads: an index in the listing's order (business, created_at, id) for GET /v1/leads pages

Revision ID: 0008
Revises: 0002
Create Date: 2026-12-07 23:40:00
"""

from __future__ import annotations

from alembic import op

revision = "0008"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_leads_business_created", "leads", ["business_id", "created_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_leads_business_created", table_name="leads")
