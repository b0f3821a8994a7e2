"""The LangGraph checkpointer: SQLite saver by default, Postgres saver on PostgreSQL."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from langgraph.checkpoint.postgres import PostgresSaver
from langgraph.checkpoint.sqlite import SqliteSaver
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool
from sqlalchemy.engine import make_url


class PruningSqliteSaver(SqliteSaver):
    """SqliteSaver with `prune(keep_latest)`, which the SQLite package does not implement.

    SqliteSaver stores each checkpoint whole (no blob table, no delta channels), so keeping the
    newest row per namespace and the writes that belong to it is a complete prune.
    """

    def latest_checkpoint_id(self, thread_id: str) -> str | None:
        """The id `get_tuple` would load for the thread, without loading the checkpoint."""
        with self.cursor(transaction=False) as cur:
            cur.execute(_LATEST_SQLITE, (thread_id,))
            row = cur.fetchone()
        return None if row is None else str(row[0])

    def erase_thread(self, thread_id: str) -> None:
        """Delete the thread and truncate the WAL, which still holds the deleted pages (secure_delete
        zeroes them in the main file). The saver's one connection is the only reader."""
        self.delete_thread(thread_id)
        with self.lock:
            self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def prune(self, thread_ids: Sequence[str], *, strategy: str = "keep_latest") -> None:
        if strategy == "delete":
            for thread_id in thread_ids:
                self.delete_thread(thread_id)
            return
        if strategy != "keep_latest":
            raise ValueError(f"unknown prune strategy {strategy!r}")
        with self.cursor() as cur:
            for thread_id in thread_ids:
                cur.execute(
                    """DELETE FROM checkpoints WHERE thread_id = ? AND checkpoint_id NOT IN (
                           SELECT MAX(checkpoint_id) FROM checkpoints WHERE thread_id = ? GROUP BY checkpoint_ns)""",
                    (thread_id, thread_id),
                )
                cur.execute(
                    """DELETE FROM writes WHERE thread_id = ? AND NOT EXISTS (
                           SELECT 1 FROM checkpoints c WHERE c.thread_id = writes.thread_id
                           AND c.checkpoint_ns = writes.checkpoint_ns AND c.checkpoint_id = writes.checkpoint_id)""",
                    (thread_id,),
                )


class LeadPostgresSaver(PostgresSaver):
    """PostgresSaver with `latest_checkpoint_id`, like PruningSqliteSaver."""

    def latest_checkpoint_id(self, thread_id: str) -> str | None:
        with self._cursor() as cur:
            cur.execute(_LATEST_POSTGRES, (thread_id,))
            row = cur.fetchone()
        return None if row is None else str(row["checkpoint_id"])

    def erase_thread(self, thread_id: str) -> None:
        self.delete_thread(thread_id)


# Checkpoint ids are uuid6 (time-ordered): the greatest is the latest, as both savers load it.
_LATEST = (
    "SELECT checkpoint_id FROM checkpoints WHERE thread_id = {} AND checkpoint_ns = '' "
    "ORDER BY checkpoint_id DESC LIMIT 1"
)
_LATEST_SQLITE = _LATEST.format("?")
_LATEST_POSTGRES = _LATEST.format("%s")

LeadCheckpointer = PruningSqliteSaver | LeadPostgresSaver


def checkpoint_path_for(database_url: str) -> str | None:
    """SQLite: checkpoints live in their own file beside the database (no writer contention)."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite":
        return None
    if not url.database or url.database == ":memory:":
        return ":memory:"
    path = Path(url.database)
    return str(path.with_name(path.stem + "-checkpoints" + (path.suffix or ".db")))


@contextmanager
def open_checkpointer(database_url: str) -> Iterator[LeadCheckpointer]:
    sqlite_path = checkpoint_path_for(database_url)
    if sqlite_path is not None:
        conn = sqlite3.connect(sqlite_path, check_same_thread=False, isolation_level=None, timeout=30)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA secure_delete=ON")  # a pruned or erased checkpoint leaves no bytes behind
        conn.isolation_level = "DEFERRED"  # SqliteSaver commits itself; it expects implicit transactions
        try:
            saver = PruningSqliteSaver(conn)
            saver.setup()
            yield saver
        finally:
            conn.close()
        return
    url = make_url(database_url).set(drivername="postgresql")
    conninfo = url.render_as_string(hide_password=False)
    with ConnectionPool(
        conninfo,
        min_size=1,
        max_size=10,
        kwargs={"autocommit": True, "prepare_threshold": None, "row_factory": dict_row},
    ) as pool:
        pg_saver = LeadPostgresSaver(pool)  # type: ignore[arg-type]
        pg_saver.setup()
        yield pg_saver
