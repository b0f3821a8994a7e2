"""The migration builds exactly the schema the ORM models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from nudge import migrate
from nudge.db import create_db_engine
from nudge.models import Base


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
