"""Delivering audience jobs after the commit, like the outbox: pending → sending → sent/failed.

Jobs of one business are sent in the order they were queued, consecutive jobs with the same
action in one batch, so a lead added and then removed is never left in the audience.
In sandbox mode nothing leaves the process: jobs are marked sent.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from itertools import groupby
from typing import Any

import httpx
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from agent.audiences.base import AudienceAction, AudienceError, Member
from agent.audiences.registry import build_audiences
from nudge.clock import Clock
from nudge.db import skip_locked, transaction
from nudge.models import AudienceJob, Business
from scheduler.backoff import backoff
from scheduler.stale import release_stale

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8


@dataclass(frozen=True)
class _Claimed:
    id: str
    business_id: str
    action: AudienceAction
    hashes: dict[str, str]
    attempts: int


class AudienceSync:
    def __init__(
        self,
        *,
        session_factory: sessionmaker[Session],
        clock: Clock,
        http: httpx.Client,
        tenant_http: httpx.Client,
        meta_graph_url: str,
        live: bool,
        seed: int | None = None,
    ) -> None:
        self._factory = session_factory
        self._clock = clock
        self._http, self._tenant_http = http, tenant_http
        self._meta_graph_url = meta_graph_url
        self._live = live
        self._rng = random.Random(seed)

    def sync(self, limit: int = 10_000) -> int:
        """Send due jobs; returns how many were sent."""
        claimed, configs = self._claim(limit)
        if not claimed:
            return 0
        outcomes: dict[str, str | None] = {}  # job id -> error (None: sent)
        retry: set[str] = set()
        for business_id, jobs in groupby(claimed, key=lambda j: j.business_id):
            destinations = build_audiences(
                configs.get(business_id, []),
                self._http,
                tenant_http=self._tenant_http,
                meta_graph_url=self._meta_graph_url,
                clock=lambda: self._clock.now().timestamp(),
            )
            for action, run in groupby(list(jobs), key=lambda j: j.action):
                batch = list(run)
                members: list[Member] = [job.hashes for job in batch]
                error = self._send(destinations, action, members)
                for job in batch:
                    outcomes[job.id] = None if error is None else str(error)
                    if error is not None and error.retry:
                        retry.add(job.id)
        self._record(outcomes, retry)
        return sum(1 for error in outcomes.values() if error is None)

    def _send(self, destinations: list[Any], action: AudienceAction, members: list[Member]) -> AudienceError | None:
        if not self._live:
            return None  # sandbox: recorded, not sent
        for destination in destinations:
            try:
                destination.sync(action, members)
            except AudienceError as exc:
                log.warning("audience %s %s failed: %s", destination.name, action, exc)
                return exc
        return None

    def _claim(self, limit: int) -> tuple[list[_Claimed], dict[str, list[Any]]]:
        now = self._clock.now()
        with transaction(self._factory) as session:
            release_stale(session, AudienceJob, now=now, max_attempts=MAX_ATTEMPTS)
            query = (
                sa.select(AudienceJob)
                .where(AudienceJob.status == "pending", AudienceJob.available_at <= now)
                .order_by(AudienceJob.business_id, AudienceJob.created_at, AudienceJob.id)
                .limit(limit)
            )
            query = skip_locked(session, query)
            claimed = []
            for job in session.scalars(query):
                job.status, job.attempts, job.updated_at = "sending", job.attempts + 1, now
                claimed.append(_Claimed(job.id, job.business_id, job.action, dict(job.hashes), job.attempts))  # type: ignore[arg-type]
            ids = {c.business_id for c in claimed}
            configs = {
                b.id: list(b.audiences or []) for b in session.scalars(sa.select(Business).where(Business.id.in_(ids)))
            }
        return claimed, configs

    def _record(self, outcomes: dict[str, str | None], retry: set[str]) -> None:
        now = self._clock.now()
        with transaction(self._factory) as session:
            for job_id, error in outcomes.items():
                job = session.get(AudienceJob, job_id)
                if job is None:
                    continue
                job.updated_at, job.last_error = now, error[:500] if error else None
                if error is None:
                    job.status = "sent"
                elif job_id in retry and job.attempts < MAX_ATTEMPTS:
                    job.status = "pending"
                    job.available_at = now + backoff(job.attempts, self._rng, base=30.0, cap=3600.0)
                else:
                    job.status = "failed"
