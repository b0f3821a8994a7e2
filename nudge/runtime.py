"""The composition root: builds every long-lived part from Settings, once per process.

API, worker, CLI commands, the simulator and the tests all start Nudge through `open_runtime`,
so they run the same graph, mailbox, policies and channels.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta

import httpx
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from agent.channels import Channel
from agent.channels.registry import build_channels
from agent.composer import Composer, TemplateComposer, load_phrasebook
from agent.composer.guardrails import Similarity
from agent.composer.llm import LLMComposer
from agent.crm.registry import build_connector
from agent.links import new_token, seeded_tokens
from agent.llm import LLM, CircuitBreaker, LLMQualifier, Qualifier, offline_qualifier
from agent.outbound_urls import TargetPolicy, target_client
from graph.builder import LeadGraph, build_graph
from graph.checkpointer import LeadCheckpointer, open_checkpointer
from knowledge import KnowledgeStore, load_encoder
from knowledge import warm as warm_knowledge
from knowledge.service import KnowledgeService
from nudge import migrate
from nudge.clock import Clock, SystemClock
from nudge.db import create_db_engine, make_session_factory
from nudge.ids import new_id, seeded_ids
from nudge.metrics import Metrics
from nudge.settings import Settings
from scheduler.audiences import AudienceSync
from scheduler.delivery import Deliverer
from scheduler.dispatcher import Dispatcher, LeadRunner, pending_by_kind
from scheduler.events import ConnectorFactory, EventSender
from scheduler.imap import InboxWatcher
from scheduler.notifications import Notifier
from scheduler.pacing import SenderPacer, SendRates

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    settings: Settings
    engine: sa.Engine
    sessions: sessionmaker[Session]
    clock: Clock
    channels: Mapping[str, Channel]
    composer: Composer
    checkpointer: LeadCheckpointer
    graph: LeadGraph
    deliverer: Deliverer
    dispatcher: Dispatcher
    metrics: Metrics
    knowledge: KnowledgeService
    llm: LLM | None = None
    inboxes: InboxWatcher | None = None  # IMAP mailboxes, read by the worker loop

    @property
    def events(self) -> EventSender:
        """Delivers domain events to webhook endpoints and connectors (the tick calls it)."""
        assert self.deliverer.events is not None
        return self.deliverer.events


def embedding_similarity() -> Similarity:
    """Highest cosine similarity of a text to earlier ones, on the knowledge base's encoder."""
    encoder = load_encoder()

    def similar(text: str, earlier: Sequence[str]) -> float:
        rows = encoder.encode([text, *earlier])
        return float((rows[1:] @ rows[0]).max()) if len(rows) > 1 else 0.0

    return similar


def connector_factory(settings: Settings) -> ConnectorFactory:
    """CRM connectors talk to the hosts the operator set (HubSpot's API, or a stand-in)."""
    api_urls = {"hubspot": settings.hubspot_api_url}
    return lambda kind, config, http: build_connector(kind, config, http, api_urls=api_urls)


def build_writers(settings: Settings, metrics: Metrics) -> tuple[Composer, Qualifier, LLM | None]:
    """Templates and the offline qualifier, with the LLM in front of them when one is configured."""
    templates = TemplateComposer(load_phrasebook())
    if not settings.llm_configured:
        return templates, offline_qualifier, None
    breaker = CircuitBreaker(failures=settings.llm_breaker_failures, cooldown=settings.llm_breaker_cooldown)
    llm = LLM(settings, breaker=breaker, on_usage=metrics.count_llm_usage)
    return LLMComposer(llm, templates, similar=embedding_similarity()), LLMQualifier(llm), llm


@contextmanager
def open_runtime(
    settings: Settings,
    *,
    clock: Clock | None = None,
    channels: Mapping[str, Channel] | None = None,
    composer: Composer | None = None,
    migrate_schema: bool = True,
    seed: int | None = None,
    knowledge: KnowledgeService | None = None,
) -> Iterator[Runtime]:
    settings.check_live_channels()
    clock = clock or SystemClock()
    engine = create_db_engine(settings.resolved_database_url, pool_size=settings.dispatcher_threads + 8)
    try:
        if migrate_schema:
            migrate.upgrade(engine)
        sessions = make_session_factory(engine)
        channel_set = channels if channels is not None else build_channels(settings)
        knowledge = knowledge or KnowledgeService(KnowledgeStore.from_settings(settings))
        warm_knowledge()  # load the embedding model now, not on the first lead's touch 4
        metrics = Metrics()
        default_composer, qualifier, llm = build_writers(settings, metrics)
        metrics.watch_mailbox(lambda: pending_by_kind(sessions))
        with (
            open_checkpointer(settings.resolved_database_url) as checkpointer,
            httpx.Client() as http,  # hosts the operator set (Meta's Graph API)
            target_client(TargetPolicy.from_settings(settings)) as tenant_http,  # URLs a business set
        ):
            graph = build_graph(checkpointer)
            deliverer = Deliverer(
                session_factory=sessions,
                channels=channel_set,
                clock=clock,
                public_url=settings.public_url,
                seed=seed,
                metrics=metrics,
                pacer=SenderPacer(SendRates.from_settings(settings)),
                max_wait=timedelta(seconds=settings.pacing_max_wait_seconds),
                events=EventSender(
                    session_factory=sessions,
                    clock=clock,
                    tenant_http=tenant_http,
                    http=http,
                    connectors=connector_factory(settings),
                    seed=seed,
                ),
                audiences=AudienceSync(
                    session_factory=sessions,
                    clock=clock,
                    http=http,
                    tenant_http=tenant_http,
                    meta_graph_url=settings.meta_graph_url,
                    live=settings.channels == "live",
                    seed=seed,
                ),
            )
            runner = LeadRunner(
                graph=graph,
                checkpointer=checkpointer,
                composer=composer or default_composer,
                public_url=settings.public_url,
                knowledge=knowledge,
                qualifier=qualifier,
                first_touch_promise=settings.first_touch_promise,
                # A seed asks for runs that repeat themselves (the simulator): tracked links and the ids
                # a run shows included; links that reach real people stay unguessable whatever the seed.
                link_token=seeded_tokens(seed) if seed is not None and settings.channels != "live" else new_token,
                ids=seeded_ids(seed, clock) if seed is not None else new_id,
            )
            notifier = Notifier(
                session_factory=sessions, channels=channel_set, clock=clock, http=tenant_http, seed=seed
            )
            dispatcher = Dispatcher(
                session_factory=sessions,
                runner=runner,
                deliverer=deliverer,
                clock=clock,
                lease=timedelta(seconds=settings.lease_seconds),
                threads=settings.dispatcher_threads,
                # A model call inside a batch would hold back every other lead of that batch.
                batch=1 if llm is not None else settings.dispatcher_batch,
                metrics=metrics,
                notifier=notifier,
            )
            runtime = Runtime(
                settings=settings,
                engine=engine,
                sessions=sessions,
                clock=clock,
                channels=channel_set,
                composer=runner.composer,
                checkpointer=checkpointer,
                graph=graph,
                deliverer=deliverer,
                dispatcher=dispatcher,
                metrics=metrics,
                knowledge=knowledge,
                llm=llm,
                inboxes=InboxWatcher(
                    session_factory=sessions,
                    clock=clock,
                    wake=dispatcher.wake,
                    policy=TargetPolicy.from_settings(settings),
                    idle_seconds=settings.imap_idle_seconds,
                ),
            )
            try:
                yield runtime
            finally:
                dispatcher.stop()
    finally:
        engine.dispose()
