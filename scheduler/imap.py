"""Reading businesses' mailboxes over IMAP: replies, bounces and auto-replies reach their leads
without a bridge.

`InboxWatcher.sync` (an APScheduler job of the worker loop) starts one reader thread for each
enabled mailbox this worker holds the lease of, and stops readers whose mailbox was removed,
disabled or changed. A reader logs in, selects the folder read-only (messages are fetched with
BODY.PEEK, so nothing is marked read), handles every message above the stored UID, then waits
with IDLE (RFC 2177) for the server to announce new mail, or polls every `poll_seconds` on a
server without IDLE.

Nothing is read twice and nothing is lost: each message is handled in its own transaction, which
also moves `last_uid` forward under the lease (a worker that lost the mailbox to another writes
nothing). When UIDVALIDITY changes (the folder was rebuilt) or the mailbox is new, messages
since the day before the mailbox was configured are read, and Message-IDs already stored are
duplicates. A message that cannot be handled is kept as received (`inbound_email_payloads`) and
passed, so one bad message never blocks the mailbox.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import ssl
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from imapclient import IMAPClient
from sqlalchemy.orm import Session, sessionmaker

from agent.inbound_email import from_rfc822
from agent.outbound_urls import TargetPolicy, check_host
from nudge.clock import Clock
from nudge.db import after_commit, transaction
from nudge.models import EmailInbox, table_of
from scheduler.email_inbound import handle_mail, keep_unreadable

log = logging.getLogger(__name__)

_INBOXES = table_of(EmailInbox)
FETCH_BATCH = 25
MAX_BACKOFF_SECONDS = 300.0
CONNECT_TIMEOUT_SECONDS = 30.0


class LostLease(Exception):
    """Another worker reads this mailbox now."""


@dataclass(frozen=True)
class InboxConfig:
    id: str
    business_id: str
    host: str
    port: int
    security: str
    username: str
    password: str
    folder: str
    poll_seconds: int
    version: datetime  # updated_at: a change restarts the reader
    since: datetime  # messages before this day are not the business's replies to Nudge


class InboxWatcher:
    def __init__(
        self,
        *,
        session_factory: sessionmaker[Session],
        clock: Clock,
        wake: Callable[[str], None],
        policy: TargetPolicy,
        idle_seconds: float,
        lease: timedelta | None = None,
    ) -> None:
        self.sessions = session_factory
        self.clock = clock
        self.wake = wake
        self.policy = policy
        self.idle_seconds = idle_seconds
        self.lease = lease or timedelta(seconds=max(90.0, idle_seconds * 3))
        self.worker = f"imap-{uuid.uuid4().hex[:12]}"
        self._readers: dict[str, _Reader] = {}
        self._lock = threading.Lock()
        self._stopped = False

    def sync(self) -> None:
        """Start readers for the mailboxes this worker can hold, stop those no longer wanted."""
        now = self.clock.now()
        with transaction(self.sessions) as session:
            rows = session.execute(sa.select(_INBOXES).where(_INBOXES.c.enabled.is_(True))).all()
        wanted = {row.id: _config(row) for row in rows}
        with self._lock:
            if self._stopped:
                return
            for inbox_id, reader in list(self._readers.items()):
                config = wanted.get(inbox_id)
                if not reader.alive or config is None or config.version != reader.config.version:
                    reader.stop()
                    del self._readers[inbox_id]
            for inbox_id, config in wanted.items():
                if inbox_id not in self._readers and self._claim(inbox_id, now):
                    reader = _Reader(self, config)
                    self._readers[inbox_id] = reader
                    reader.start()

    def stop(self) -> None:
        with self._lock:
            self._stopped = True
            readers = list(self._readers.values())
            self._readers.clear()
        for reader in readers:
            reader.stop()
        for reader in readers:
            reader.join()
        if readers:
            with transaction(self.sessions) as session:  # let another worker take them at once
                session.execute(
                    _INBOXES.update()
                    .where(_INBOXES.c.leased_by == self.worker)
                    .values(leased_by=None, leased_until=None)
                )

    def _claim(self, inbox_id: str, now: datetime) -> bool:
        with transaction(self.sessions) as session:
            claimed = session.connection().execute(
                _INBOXES.update()
                .where(
                    _INBOXES.c.id == inbox_id,
                    sa.or_(
                        _INBOXES.c.leased_by.is_(None),
                        _INBOXES.c.leased_by == self.worker,
                        _INBOXES.c.leased_until < now,
                    ),
                )
                .values(leased_by=self.worker, leased_until=now + self.lease)
            )
            return bool(claimed.rowcount == 1)


def _config(row: Any) -> InboxConfig:
    return InboxConfig(
        id=row.id,
        business_id=row.business_id,
        host=row.host,
        port=row.port,
        security=row.security,
        username=row.username,
        password=row.password,
        folder=row.folder,
        poll_seconds=row.poll_seconds,
        version=row.updated_at,
        since=row.updated_at - timedelta(days=1),
    )


class _Reader:
    """One mailbox, one thread, one IMAP connection at a time."""

    def __init__(self, watcher: InboxWatcher, config: InboxConfig) -> None:
        self.watcher = watcher
        self.config = config
        self._stop = threading.Event()
        self._client: IMAPClient | None = None
        self._thread = threading.Thread(target=self._run, name=f"imap-{config.id}", daemon=True)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        client = self._client
        if client is not None:  # wakes a reader blocked in IDLE: its socket closes under it
            with contextlib.suppress(OSError, AttributeError):
                client.socket().shutdown(socket.SHUT_RDWR)

    def join(self) -> None:
        self._thread.join(timeout=CONNECT_TIMEOUT_SECONDS)

    def _run(self) -> None:
        backoff = 1.0
        while not self._stop.is_set():
            try:
                self._connected()
                backoff = 1.0
            except LostLease:
                log.info("imap %s: another worker reads this mailbox now", self.config.id)
                return
            except Exception as exc:  # a server, network or login failure: recorded, then retried
                if self._stop.is_set():
                    return
                log.warning("imap %s: %s", self.config.id, exc)
                self._record_error(exc)
                self._stop.wait(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)

    def _connected(self) -> None:
        config = self.config
        check_host(config.host, config.port, self.watcher.policy)
        context = ssl.create_default_context()
        client = IMAPClient(
            config.host,
            port=config.port,
            ssl=config.security == "tls",
            ssl_context=context if config.security == "tls" else None,
            timeout=CONNECT_TIMEOUT_SECONDS,
        )
        self._client = client
        try:
            if config.security == "starttls":
                client.starttls(context)
            client.login(config.username, config.password)
            selected = client.select_folder(config.folder, readonly=True)
            uidvalidity = int(selected[b"UIDVALIDITY"])
            last_uid = self._start(uidvalidity)
            idle = client.has_capability("IDLE")
            scan_since = last_uid == 0
            while not self._stop.is_set():
                last_uid = self._read_new(client, uidvalidity, last_uid, scan_since)
                scan_since = False
                if idle:
                    client.idle()
                    try:
                        client.idle_check(timeout=min(self.watcher.idle_seconds, config.poll_seconds))
                    finally:
                        if not self._stop.is_set():
                            client.idle_done()
                else:
                    self._stop.wait(config.poll_seconds)
                self._renew()
        finally:
            self._client = None
            try:
                client.logout()
            except Exception:  # the connection is going away either way
                client.shutdown()

    def _start(self, uidvalidity: int) -> int:
        """The UID to read after; a new UIDVALIDITY starts the folder again from `since`."""
        now = self.watcher.clock.now()
        with transaction(self.watcher.sessions) as session:
            row = session.execute(sa.select(_INBOXES.c.uidvalidity, _INBOXES.c.last_uid).where(self._held())).first()
            if row is None:
                raise LostLease
            last_uid = int(row.last_uid) if row.uidvalidity == uidvalidity else 0
            session.execute(
                _INBOXES.update()
                .where(self._held())
                .values(
                    uidvalidity=uidvalidity,
                    last_uid=last_uid,
                    status="connected",
                    last_error=None,
                    last_checked_at=now,
                    leased_until=now + self.watcher.lease,
                )
            )
        return last_uid

    def _read_new(self, client: IMAPClient, uidvalidity: int, last_uid: int, scan_since: bool) -> int:
        if scan_since:
            found = client.search(["SINCE", self.config.since.date()])
        else:
            found = client.search(["UID", f"{last_uid + 1}:*"])
        # "n:*" names the highest UID even when it is below n (RFC 3501): keep only newer ones.
        uids = sorted(int(uid) for uid in found if int(uid) > last_uid)
        for start in range(0, len(uids), FETCH_BATCH):
            batch = uids[start : start + FETCH_BATCH]
            fetched = client.fetch(batch, ["BODY.PEEK[]"])
            for uid in batch:
                if self._stop.is_set():
                    return last_uid
                data = fetched.get(uid, {})
                raw = data.get(b"BODY[]") or b""
                self._handle(uid, uidvalidity, raw if isinstance(raw, bytes) else bytes(raw))
                last_uid = uid
            self._renew()  # a long backlog keeps the mailbox
        return last_uid

    def _handle(self, uid: int, uidvalidity: int, raw: bytes) -> None:
        config = self.config
        fallback = f"imap-{config.id}-{uidvalidity}-{uid}@nudge"
        try:
            with transaction(self.watcher.sessions, business_id=config.business_id) as session:
                if not self._advance(session, uid, uidvalidity):
                    return
                now = self.watcher.clock.now()
                mail = from_rfc822(raw, fallback_id=fallback)
                handled = handle_mail(session, mail, now, business_id=config.business_id, leads_only=True)
                if handled.status == "unreadable":
                    keep_unreadable(session, "imap", _text(raw), handled.detail, now, business_id=config.business_id)
                if handled.wake is not None:
                    woken = handled.wake
                    after_commit(session, lambda: self.watcher.wake(woken))
        except LostLease:
            raise
        except Exception as exc:  # one bad message must not block the mailbox: keep it and move on
            log.exception("imap %s: message %s could not be handled", config.id, uid)
            with transaction(self.watcher.sessions) as session:
                if self._advance(session, uid, uidvalidity):
                    detail = f"could not be handled: {type(exc).__name__}: {exc}"
                    now = self.watcher.clock.now()
                    keep_unreadable(session, "imap", _text(raw), detail, now, business_id=config.business_id)

    def _advance(self, session: Session, uid: int, uidvalidity: int) -> bool:
        """Move last_uid to `uid` under the lease; False when it is already there (handled)."""
        moved = session.connection().execute(
            _INBOXES.update()
            .where(self._held(), _INBOXES.c.uidvalidity == uidvalidity, _INBOXES.c.last_uid < uid)
            .values(last_uid=uid, last_checked_at=self.watcher.clock.now())
        )
        if moved.rowcount == 1:
            return True
        held = session.execute(sa.select(_INBOXES.c.id).where(self._held())).first()
        if held is None:
            raise LostLease
        return False

    def _renew(self) -> None:
        now = self.watcher.clock.now()
        with transaction(self.watcher.sessions) as session:
            renewed = session.connection().execute(
                _INBOXES.update().where(self._held()).values(leased_until=now + self.watcher.lease, last_checked_at=now)
            )
            if renewed.rowcount != 1:
                raise LostLease

    def _record_error(self, exc: Exception) -> None:
        try:
            with transaction(self.watcher.sessions) as session:
                session.execute(
                    _INBOXES.update()
                    .where(self._held())
                    .values(status="error", last_error=_describe(exc)[:500], last_checked_at=self.watcher.clock.now())
                )
        except Exception:  # the database is down too: the log has it
            log.exception("imap %s: could not record the error", self.config.id)

    def _held(self) -> sa.ColumnElement[bool]:
        return sa.and_(_INBOXES.c.id == self.config.id, _INBOXES.c.leased_by == self.watcher.worker)


def _describe(exc: Exception) -> str:
    text = str(exc) or type(exc).__name__
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return f"{type(exc).__name__}: {text}"


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", "replace")
