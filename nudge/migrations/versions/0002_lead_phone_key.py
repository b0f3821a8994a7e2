"""leads: phone_key (matching key folding national quirks) and whatsapp_phone (reply address)

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-07 20:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from agent.contacts import phone_key

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.add_column(sa.Column("phone_key", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("whatsapp_phone", sa.String(length=40), nullable=True))
    leads = sa.table(
        "leads",
        sa.column("id", sa.String),
        sa.column("business_id", sa.String),
        sa.column("phone", sa.String),
        sa.column("phone_key", sa.String),
        sa.column("created_at", sa.DateTime),
    )
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(leads.c.id, leads.c.business_id, leads.c.phone)
        .where(leads.c.phone.is_not(None))
        .order_by(leads.c.created_at, leads.c.id)
    )
    taken: set[tuple[str, str]] = set()
    keys = []
    for lead_id, business_id, phone in rows:
        key = phone_key(phone)
        # One person stored twice (a Brazilian mobile with and without its ninth digit): the
        # oldest lead keeps the key and gets what either form sends from now on; the other keeps
        # its history, without a key.
        if (business_id, key) not in taken:
            taken.add((business_id, key))
            keys.append({"lead_id": lead_id, "key": key})
    if keys:
        connection.execute(
            leads.update().where(leads.c.id == sa.bindparam("lead_id")).values(phone_key=sa.bindparam("key")), keys
        )
    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.drop_constraint("uq_leads_business_phone", type_="unique")
        batch_op.create_unique_constraint("uq_leads_business_phone_key", ["business_id", "phone_key"])


def downgrade() -> None:
    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.drop_constraint("uq_leads_business_phone_key", type_="unique")
        batch_op.create_unique_constraint("uq_leads_business_phone", ["business_id", "phone"])
        batch_op.drop_column("whatsapp_phone")
        batch_op.drop_column("phone_key")
