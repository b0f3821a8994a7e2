"""Building a simulation: a runtime on a virtual clock, sample businesses, synthetic leads."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from agent.sequence import Sequence
from knowledge import import_files
from nudge.clock import VirtualClock
from nudge.db import transaction
from nudge.ids import make_id
from nudge.models import Business, Rep
from nudge.runtime import Runtime, open_runtime
from nudge.settings import Settings
from nudge.sim.engine import Simulation
from nudge.sim.personas import make_persona
from nudge.sim.sample import SAMPLE_BUSINESSES
from nudge.tenants import create_business

# A Monday morning, so weekday/weekend rules show up on schedule.
DEFAULT_START = datetime(2026, 3, 2, 13, 0, tzinfo=UTC)


@contextmanager
def simulation_runtime(
    workdir: Path,
    *,
    seed: int,
    start: datetime = DEFAULT_START,
    database_url: str | None = None,
    settings_extra: Mapping[str, Any] | None = None,
) -> Iterator[tuple[Runtime, VirtualClock]]:
    """A fresh embedded Nudge (its own SQLite files under `workdir`) on a virtual clock.

    The LLM settings (OPENAI_BASE_URL, NUDGE_LLM_MODEL, …) come from the environment or
    `settings_extra`; without them the agent writes from templates."""
    clock = VirtualClock(start)
    settings = Settings(
        NUDGE_DATABASE_URL=database_url or f"sqlite:///{(workdir / 'sim.db').as_posix()}",
        NUDGE_DATA_DIR=str(workdir),
        NUDGE_CHANNELS="sandbox",
        NUDGE_PUBLIC_URL="https://nudge.example",
        **dict(settings_extra or {}),
    )
    with open_runtime(settings, clock=clock, seed=seed) as runtime:
        yield runtime, clock


SAMPLE_CASE_STUDIES = Path(__file__).with_name("sample_case_studies.jsonl")
SAMPLE_REPS: list[dict[str, Any]] = [
    {"name": "Rita Alvarez", "email": "rita@brightsmile.example", "industries": ["dental", "healthcare"]},
    {"name": "Omar Haddad", "email": "omar@brightsmile.example", "industries": ["fitness", "real_estate"]},
]


def create_sample_businesses(runtime: Runtime, businesses: list[dict[str, Any]] | None = None) -> list[str]:
    """The sample businesses, each with the sample case studies in its knowledge base."""
    ids = []
    now = runtime.clock.now()
    with transaction(runtime.sessions) as session:
        for number, spec in enumerate(businesses or SAMPLE_BUSINESSES):
            # Case study ids are derived from the business id, and reports show them.
            fields = {"id": _fixed_id("biz", now, number), **{k: v for k, v in spec.items() if k != "name"}}
            created = create_business(session, name=spec["name"], now=now, fields=fields)
            ids.append(created.business.id)
    with transaction(runtime.sessions) as session:
        for number, business_id in enumerate(ids):
            for rep in SAMPLE_REPS:
                # Reps made together wait equally long, and a handoff goes to the lowest id among
                # them: fixed ids send a run's handoffs to the same rep every time.
                rep_id = _fixed_id("rep", now, number, rep["email"])
                session.add(Rep(id=rep_id, business_id=business_id, created_at=now, **rep))
    for business_id in ids:
        import_files(runtime.knowledge.store, business_id, [SAMPLE_CASE_STUDIES])
    return ids


def _fixed_id(prefix: str, now: datetime, *parts: object) -> str:
    """The same id in every run for the same parts (the sample data is the same in every run)."""
    entropy = hashlib.sha256(":".join(map(str, parts)).encode()).digest()[:10]
    return make_id(prefix, int(now.timestamp() * 1000), int.from_bytes(entropy, "big"))


def use_sequence(runtime: Runtime, business_ids: list[str], sequence: Sequence) -> None:
    """Give every business the same sequence (to compare sequences on the same synthetic leads)."""
    with transaction(runtime.sessions) as session:
        for business_id in business_ids:
            business = session.get(Business, business_id)
            assert business is not None
            business.sequence = sequence.to_public()


def populate(sim: Simulation, business_ids: list[str], leads: int, arrival_days: float) -> None:
    """`leads` personas arriving at random over the first `arrival_days`, at waking hours mostly."""
    rng: random.Random = sim.rng
    start = sim.clock.now()
    for index in range(leads):
        persona = make_persona(rng, index)
        arrives = start + timedelta(seconds=rng.uniform(0, arrival_days * 86400))
        sim.add_lead(persona, business_ids[index % len(business_ids)], arrives)
