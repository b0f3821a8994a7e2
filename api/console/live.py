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
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from fastapi import Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse
from jinja2 import Environment
from sqlalchemy.orm import Session

from api.console.auth import Console, ConsoleProblem, current_record
from nudge.db import REP_KEY, TENANT_KEY, transaction
from nudge.models import Handoff, Message
from nudge.runtime import Runtime

POLL_SECONDS = 0.25
HEARTBEAT_SECONDS = 15.0
SESSION_CHECK_SECONDS = 5.0  # a stream notices a sign-out or a revoked key this fast
MAX_STREAM = timedelta(minutes=30)  # the browser reconnects (with Last-Event-ID) after this
LIVE = ("open", "claimed")
log = logging.getLogger(__name__)


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


def _look(runtime: Runtime, scope: Scope, since: datetime | None) -> Snapshot:
    """One look, in a transaction scoped like the page."""
    with transaction(runtime.sessions) as db:
        db.info[TENANT_KEY] = scope.business_id
        if scope.rep_id:
            db.info[REP_KEY] = scope.rep_id
        return snapshot(db, scope, since)


def _transcripts(runtime: Runtime, scope: Scope, lead_ids: list[str], env: Environment) -> dict[str, str]:
    """The transcript fragment of each lead with news, rendered once for every page of the view
    (it holds nothing per viewer: no form, no token), so pages need no request to show it."""
    template = env.get_template("_transcript.html")
    with transaction(runtime.sessions) as db:
        db.info[TENANT_KEY] = scope.business_id
        if scope.rep_id:
            db.info[REP_KEY] = scope.rep_id
        rows = db.scalars(
            sa.select(Message).where(Message.lead_id.in_(lead_ids)).order_by(Message.created_at, Message.id)
        ).all()
        by_lead: dict[str, list[Message]] = {lead_id: [] for lead_id in lead_ids}
        for row in rows:
            by_lead[row.lead_id].append(row)
        return {lead_id: template.render(messages=messages) for lead_id, messages in by_lead.items()}


def _still_signed_in(runtime: Runtime, scope: Scope) -> bool:
    with transaction(runtime.sessions) as db:
        record = current_record(db, runtime, scope.token)
        # Signed out, revoked, expired, or an agency that switched client since.
        return record is not None and record.id == scope.session_id and record.business_id == scope.business_id


View = tuple[str, str | None, str | None]  # what a page may see: business, rep, handoff
News = tuple[datetime | None, dict[str, object]]  # (event id, event data)


class Channel:
    """One poller for every open page with the same view: twenty reps' inboxes on one business cost
    one query a tick, not twenty."""

    def __init__(self, hub: Hub, view: View) -> None:
        self.hub, self.view = hub, view
        self.queues: set[asyncio.Queue[News]] = set()
        self.task: asyncio.Task[None] | None = None

    async def run(self) -> None:
        business_id, rep_id, handoff_id = self.view
        scope = Scope("", "", business_id, rep_id, handoff_id)
        since: datetime | None = None
        before: Snapshot | None = None
        seen: set[str] = set()
        while self.queues:
            try:
                now = await run_in_threadpool(_look, self.hub.runtime, scope, since)
            except Exception:  # a database hiccup: the pages keep what they show, the next tick retries
                log.exception("console live poll failed")
                await asyncio.sleep(1.0)
                continue
            leads = news(before, now, seen) if before is not None else None
            seen.update(message for message, _ in now.recent)
            since = max(filter(None, (since, now.newest)), default=None)
            handoffs_changed = before is not None and before.handoffs != now.handoffs
            before = now
            if leads is not None:
                data: dict[str, object] = {"leads": leads, "handoffs_changed": handoffs_changed}
                if leads:
                    data["transcripts"] = await run_in_threadpool(
                        _transcripts, self.hub.runtime, scope, leads, self.hub.templates
                    )
                for queue in list(self.queues):
                    queue.put_nowait((since, data))
            await asyncio.sleep(POLL_SECONDS)

    def subscribe(self) -> asyncio.Queue[News]:
        queue: asyncio.Queue[News] = asyncio.Queue()
        self.queues.add(queue)
        if self.task is None or self.task.done():
            self.task = asyncio.create_task(self.run())
        return queue

    def unsubscribe(self, queue: asyncio.Queue[News]) -> None:
        self.queues.discard(queue)
        if not self.queues:
            self.hub.channels.pop(self.view, None)


class Hub:
    """The app's live channels (on app.state: built with the app, never at import time)."""

    def __init__(self, runtime: Runtime, templates: Environment) -> None:
        self.runtime, self.templates = runtime, templates
        self.channels: dict[View, Channel] = {}

    def channel(self, scope: Scope) -> Channel:
        view = (scope.business_id, scope.rep_id, scope.handoff_id)
        found = self.channels.get(view)
        if found is None:
            found = self.channels[view] = Channel(self, view)
        return found


async def stream(request: Request, runtime: Runtime, scope: Scope) -> AsyncIterator[str]:
    hub: Hub | None = getattr(request.app.state, "console_hub", None)
    if hub is None or hub.runtime is not runtime:
        hub = request.app.state.console_hub = Hub(runtime, request.app.state.console_templates)
    channel = hub.channel(scope)
    queue = channel.subscribe()
    since = _parse_last_event_id(request.headers.get("last-event-id"))
    started = checked = time.monotonic()
    try:
        yield "retry: 1000\n\n"
        # The first look: the page refetches, which catches up whatever it missed while away.
        yield _event(since, {"leads": [], "connected": True})
        while not await request.is_disconnected():
            try:
                since, data = await asyncio.wait_for(queue.get(), timeout=HEARTBEAT_SECONDS)
                yield _event(since, data)
            except TimeoutError:
                yield ": keep-alive\n\n"  # proxies close silent connections
            if time.monotonic() - checked > SESSION_CHECK_SECONDS:
                checked = time.monotonic()
                if not await run_in_threadpool(_still_signed_in, runtime, scope):
                    yield "event: signed-out\ndata: {}\n\n"
                    return
            if time.monotonic() - started > MAX_STREAM.total_seconds():
                return
    finally:
        channel.unsubscribe(queue)


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
