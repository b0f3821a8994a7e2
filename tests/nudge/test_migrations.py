"""The migration builds exactly the schema the ORM models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from nudge import migrate
from nudge.db import create_db_engine
from nudge.models import Base, Business, Lead, table_of


def _drift(engine: sa.Engine) -> list[object]:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, Base.metadata))


def test_migrations_match_the_models(any_database_url: str) -> None:
    engine = create_db_engine(any_database_url)
    try:
        migrate.upgrade(engine)
        assert _drift(engine) == []
    finally:
        engine.dispose()


def test_upgrading_gives_the_leads_already_there_their_phone_key(any_database_url: str) -> None:
    """0002: existing leads are matched by the key from then on; when one person was stored twice
    (a Brazilian mobile with and without its ninth digit) the oldest lead keeps the key."""
    engine = create_db_engine(any_database_url)
    t0 = datetime(2026, 11, 1, tzinfo=UTC)
    phones = {"lead_a": "+551187654321", "lead_b": "+5511987654321", "lead_c": "+14155550123", "lead_d": None}
    try:
        migrate.upgrade(engine, "0001")
        with engine.begin() as connection:
            business = {"id": "biz_1", "name": "Acme", "created_at": t0, "updated_at": t0}
            connection.execute(table_of(Business).insert(), business)
            rows = [
                {"id": lead_id, "business_id": "biz_1", "phone": phone, "email": f"{lead_id}@example.com"}
                | {"created_at": t0 + timedelta(minutes=n), "updated_at": t0}
                for n, (lead_id, phone) in enumerate(phones.items())
            ]
            connection.execute(table_of(Lead).insert(), rows)
        migrate.upgrade(engine)
        with engine.connect() as connection:
            keys = {row.id: row.phone_key for row in connection.execute(sa.select(Lead.id, Lead.phone_key))}
        assert keys == {"lead_a": "+5511987654321", "lead_b": None, "lead_c": "+14155550123", "lead_d": None}
        assert _drift(engine) == []
    finally:
        engine.dispose()
