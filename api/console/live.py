"""Live updates for open console pages over Server-Sent Events.

Each stream polls the database in short transactions scoped like the page (tenant, rep, a rep
link's handoff) — the mailbox and the webhooks may run in other processes, so the database is
the one place every change shows. It sends `change` when a message arrives for a lead with an
open or claimed handoff, or when the set of handoffs the viewer can see changes (a new one, a
claim, a reroute, a resolution). The page then fetches its own live fragment, so what is shown
is always rendered (and escaped) by the server, and a repeated event is harmless.

Catch-up: event ids are the newest message time seen. A reconnecting EventSource sends it back
as Last-Event-ID; messages after it are announced again, and the page refetches on every
(re)connect anyway, so nothing that happened while it was away is missed.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from fastapi import Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse
from sqlalchemy.orm import Session

from api.console.auth import Console, ConsoleProblem, current_record
from nudge.db import REP_KEY, TENANT_KEY, transaction
from nudge.models import Handoff, Message
from nudge.runtime import Runtime

POLL_SECONDS = 0.25
HEARTBEAT_SECONDS = 15.0
MAX_STREAM = timedelta(minutes=30)  # the browser reconnects (with Last-Event-ID) after this
LIVE = ("open", "claimed")


@dataclass(frozen=True)
class Scope:
    """What the stream may see: the signed-in session's scope, read once at connect."""

    session_id: str
    token: str
    business_id: str
    rep_id: str | None
    handoff_id: str | None


@dataclass(frozen=True)
class Snapshot:
    handoffs: frozenset[tuple[str, str, str | None]]  # (id, status, claimed_by) the viewer can see
    newest: datetime | None  # the newest message of a live handoff's lead
    recent: frozenset[tuple[str, str]]  # (message id, lead id) written from `since - LOOKBACK` on


# A run stamps its messages when it starts and commits them later: look back this far so a
# message committed after the last poll, stamped before it, is still announced (once).
LOOKBACK = timedelta(seconds=10)


def snapshot(db: Session, scope: Scope, since: datetime | None) -> Snapshot:
    query = sa.select(Handoff.id, Handoff.status, Handoff.claimed_by, Handoff.lead_id).where(Handoff.status.in_(LIVE))
    if scope.handoff_id:
        query = query.where(Handoff.id == scope.handoff_id)
    rows = db.execute(query).all()
    lead_ids = sorted({row.lead_id for row in rows})
    newest = None
    recent: frozenset[tuple[str, str]] = frozenset()
    if lead_ids:
        newest = db.scalar(sa.select(sa.func.max(Message.created_at)).where(Message.lead_id.in_(lead_ids)))
        if since is not None:
            found = db.execute(
                sa.select(Message.id, Message.lead_id).where(
                    Message.lead_id.in_(lead_ids), Message.created_at > since - LOOKBACK
                )
            )
            recent = frozenset((row.id, row.lead_id) for row in found)
    return Snapshot(frozenset((r.id, r.status, r.claimed_by) for r in rows), newest, recent)


def news(before: Snapshot | None, after: Snapshot, seen: set[str]) -> list[str] | None:
    """The leads whose pages must refetch, or None when nothing changed. The first look, a
    message not seen yet and a different set of handoffs (new, claimed, rerouted, resolved) count."""
    fresh = sorted({lead for message, lead in after.recent if message not in seen})
    if before is None or fresh or before.handoffs != after.handoffs:
        return fresh
    return None


def _event(since: datetime | None, data: dict[str, object]) -> str:
    event_id = f"id: {since.isoformat()}\n" if since else ""
    return f"event: change\n{event_id}data: {json.dumps(data)}\n\n"


def _parse_last_event_id(value: str | None) -> datetime | None:
    if not value or len(value) > 64:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def _poll(runtime: Runtime, scope: Scope, since: datetime | None) -> Snapshot | None:
    """One look, in a transaction scoped like the page; None once the session has ended."""
    with transaction(runtime.sessions) as db:
        record = current_record(db, runtime, scope.token)
        if record is None or record.id != scope.session_id or record.business_id != scope.business_id:
            return None  # signed out, revoked, expired, or an agency switched client
        db.info[TENANT_KEY] = scope.business_id
        if scope.rep_id:
            db.info[REP_KEY] = scope.rep_id
        return snapshot(db, scope, since)


async def stream(request: Request, runtime: Runtime, scope: Scope) -> AsyncIterator[str]:
    since = _parse_last_event_id(request.headers.get("last-event-id"))
    before: Snapshot | None = None
    seen: set[str] = set()
    started = runtime.clock.now()
    quiet = 0.0
    yield "retry: 1000\n\n"
    while not await request.is_disconnected():
        now = await run_in_threadpool(_poll, runtime, scope, since)
        if now is None:
            yield "event: signed-out\ndata: {}\n\n"
            return
        leads = news(before, now, seen)
        seen.update(message for message, _ in now.recent)
        if leads is not None:
            since = max(filter(None, (since, now.newest)), default=None)
            yield _event(since, {"leads": leads, "handoffs": len(now.handoffs)})
            quiet = 0.0
        elif quiet >= HEARTBEAT_SECONDS:
            yield ": keep-alive\n\n"  # proxies close silent connections
            quiet = 0.0
        before = now
        if runtime.clock.now() - started > MAX_STREAM:
            return
        await asyncio.sleep(POLL_SECONDS)
        quiet += POLL_SECONDS


def events_response(request: Request, runtime: Runtime, console: Console, token: str) -> StreamingResponse:
    if console.record.business_id is None:
        raise ConsoleProblem(404, "Not found.")
    scope = Scope(
        session_id=console.record.id,
        token=token,
        business_id=console.record.business_id,
        rep_id=console.record.rep_id if console.kind == "rep" else None,
        handoff_id=console.record.handoff_id,
    )
    return StreamingResponse(
        stream(request, runtime, scope),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
