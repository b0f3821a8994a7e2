"""Engine, sessions and the tenant filter.

Transactions belong to the edges (an HTTP request, a dispatcher job, a graph run): code below
them receives a `Session` and never commits.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import ORMExecuteState, Session, sessionmaker, with_loader_criteria

from nudge.models import Handoff, Rep, TenantScoped

log = logging.getLogger(__name__)

SelectT = TypeVar("SelectT", bound=sa.Select[Any])

TENANT_KEY = "business_id"
REP_KEY = "rep_id"  # a rep key's session: only that rep and the handoffs it may work
AFTER_COMMIT_KEY = "after_commit"
GATE_KEY = "writer_gate"


class WriterGate:
    """SQLite has one writer. Its busy handler makes a waiting thread sleep and retry (1, 2, 5…
    100 ms), so under load a webhook can lose the race for a second or more while the lock is
    only ever held for milliseconds. Queueing on a Python lock instead hands the database over
    the moment it is free."""

    def __init__(self) -> None:
        self._lock = threading.Lock()

    @contextmanager
    def hold(self) -> Iterator[None]:
        # A plain lock, not an owner check: FastAPI enters and leaves a request's dependencies on
        # different pool threads. Never open a transaction inside another one.
        with self._lock:
            yield


def create_db_engine(url: str, *, pool_size: int = 10) -> sa.Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30},
            pool_size=pool_size,
            max_overflow=pool_size,
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        # pysqlite's own transaction handling defers BEGIN and breaks SAVEPOINT; take control.
        event.listen(engine, "begin", lambda conn: conn.exec_driver_sql("BEGIN IMMEDIATE"))
        return engine
    if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
        url = parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    return sa.create_engine(url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    dbapi_conn.isolation_level = None  # the "begin" listener issues BEGIN itself
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    # Zero what a delete or update frees (cells, whole pages), or an erased lead's bytes would
    # stay in the file's free space: PII in the main file, not just in rows nobody can query.
    cur.execute("PRAGMA secure_delete=ON")
    cur.close()


def truncate_wal_after_commit(session: Session) -> None:
    """SQLite: once the transaction commits, copy the WAL into the database file and truncate it,
    so the pages it held before a delete (an erasure) leave no copy in the -wal file. Only for
    erasures: the checkpoint holds back every writer and waits for readers. A no-op on PostgreSQL."""
    engine = session.get_bind()
    gate: WriterGate | None = session.info.get(GATE_KEY)
    if isinstance(engine, sa.Engine) and gate is not None:
        after_commit(session, lambda: _truncate_wal(engine, gate))


def _truncate_wal(engine: sa.Engine, gate: WriterGate) -> None:
    # Under the gate: no writer of ours starts meanwhile (a pending checkpoint would only make it
    # sleep in the busy handler), and none is left to hold the WAL open.
    # The erasure has committed by now: a failing checkpoint is logged, never the request's error.
    try:
        with gate.hold():
            connection = engine.raw_connection()
            try:
                cursor = connection.cursor()
                cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                busy, _, _ = cursor.fetchone() or (1, 0, 0)
                cursor.close()
            finally:
                connection.close()
    except (sqlite3.Error, sa.exc.SQLAlchemyError, OSError) as exc:
        log.warning("the SQLite WAL could not be truncated after an erasure: %s", exc)
        return
    if busy:
        log.warning("the SQLite WAL could not be truncated after an erasure (a reader held it)")


def is_sqlite(engine: sa.Engine) -> bool:
    return engine.dialect.name == "sqlite"


def skip_locked(session: Session, query: SelectT, *, of: Any = None) -> SelectT:
    """On PostgreSQL, lock the selected rows and skip those another worker holds; SQLite's single
    writer already serialises the claim, and has no row locks."""
    return skip_locked_on(session.get_bind().dialect.name, query, of=of)


def skip_locked_on(dialect: str, query: SelectT, *, of: Any = None) -> SelectT:
    """`skip_locked` for a statement built once per dialect."""
    if dialect != "postgresql":
        return query
    return query.with_for_update(of=of, skip_locked=True)


def make_session_factory(engine: sa.Engine) -> sessionmaker[Session]:
    info = {GATE_KEY: WriterGate()} if is_sqlite(engine) else {}
    factory = sessionmaker(engine, expire_on_commit=False, info=info)
    event.listen(factory, "do_orm_execute", _apply_tenant_filter)
    return factory


def _apply_tenant_filter(state: ORMExecuteState) -> None:
    """Every ORM select on a tenant-scoped model is limited to the session's business."""
    business_id = state.session.info.get(TENANT_KEY)
    if business_id is None or not state.is_select or state.is_column_load or state.is_relationship_load:
        return
    state.statement = state.statement.options(
        with_loader_criteria(
            TenantScoped,
            lambda cls: cls.business_id == business_id,
            include_aliases=True,
        )
    )
    rep_id = state.session.info.get(REP_KEY)
    if rep_id is not None:
        # A rep sees the handoffs it claimed, and the open ones routed to it (so it can claim
        # them); nothing routed to another rep, and no other rep.
        state.statement = state.statement.options(
            with_loader_criteria(
                Handoff,
                lambda cls: sa.or_(
                    cls.claimed_by == rep_id, sa.and_(cls.status == "open", cls.assigned_rep_id == rep_id)
                ),
                include_aliases=True,
            ),
            with_loader_criteria(Rep, lambda cls: cls.id == rep_id, include_aliases=True),
        )


@contextmanager
def transaction(factory: sessionmaker[Session], *, business_id: str | None = None) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any error.

    With `business_id`, ORM queries through this session only see that business's rows.
    """
    gate: WriterGate | None = factory.kw.get("info", {}).get(GATE_KEY)
    with gate.hold() if gate is not None else nullcontext():
        session = factory()
        if business_id is not None:
            session.info[TENANT_KEY] = business_id
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            callbacks = session.info.pop(AFTER_COMMIT_KEY, [])
            session.close()
    for callback in callbacks:
        callback()


def after_commit(session: Session, callback: Callable[[], None]) -> None:
    """Run `callback` once the surrounding `transaction()` has committed (e.g. wake a worker
    for a row it must be able to see). Dropped if the transaction rolls back."""
    session.info.setdefault(AFTER_COMMIT_KEY, []).append(callback)
