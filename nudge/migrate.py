"""Schema migrations (Alembic), applied by the app on start."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config

_HERE = Path(__file__).parent


def alembic_config(connection: sa.Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(_HERE / "migrations"))
    config.attributes["connection"] = connection
    return config


def upgrade(engine: sa.Engine, revision: str = "head") -> None:
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            # Two processes starting together must not race the same migration.
            connection.exec_driver_sql("SELECT pg_advisory_xact_lock(727274)")
        command.upgrade(alembic_config(connection), revision)


def revise(engine: sa.Engine, message: str) -> None:
    """Developer helper: autogenerate a migration against `engine`'s current schema."""
    with engine.begin() as connection:
        command.revision(alembic_config(connection), message=message, autogenerate=True)
