"""The simulator: synthetic leads through the real graph, mailbox, policies and sandbox channels
on a virtual clock, deterministically for a seed."""

from __future__ import annotations

import functools
import hashlib
import heapq
import itertools
import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa

from agent.intake import NewLead
from nudge.clock import VirtualClock
from nudge.db import transaction
from nudge.ids import make_id
from nudge.models import Business, Lead, LeadEvent, Message, Outbox
from nudge.runtime import Runtime
from nudge.sim.personas import LINES, Persona, phone_number
from scheduler.inputs import receive_lead, receive_message, record_click, record_signal

_LINK = re.compile(r"/r/([A-Za-z0-9_\-]+)")


@dataclass
class SimLead:
    index: int
    persona: Persona
    business_id: str
    phone: str
    email: str
    planned_id: str  # the id intake gives the lead when it arrives (chosen by the seed)
    lead_id: str | None = None  # once Nudge knows the lead
    fired: set[int] = field(default_factory=set)  # reactions already triggered

    @property
    def name(self) -> str:
        return self.persona.display_name or f"{self.persona.name.replace('_', ' ').title()} {self.index}"


@dataclass(order=True)
class _Action:
    at: datetime
    seq: int
    run: Callable[[], None] = field(compare=False)


class StuckSimulation(RuntimeError):
    pass


class Simulation:
    def __init__(self, runtime: Runtime, clock: VirtualClock, rng: random.Random) -> None:
        self.runtime, self.clock, self.rng = runtime, clock, rng
        # Lead ids decide wording and experiment arms, so a seed must repeat them. They come from
        # a stream keyed by the RNG's starting state, not from draws on it, so a seed keeps the
        # personas and replies it gave before.
        self._ids = random.Random(hashlib.sha256(repr(rng.getstate()).encode()).digest())
        self.leads: list[SimLead] = []
        self._by_lead_id: dict[str, SimLead] = {}
        self._actions: list[_Action] = []
        self._seq = itertools.count()
        self._sids = itertools.count(1)
        self._seen: set[str] = set()
        self._checked_at = clock.now()
        self.on_message: Callable[[Message], None] | None = None  # for live printing

    # -- scripting ---------------------------------------------------------------------------
    def at(self, moment: datetime, run: Callable[[], None]) -> None:
        heapq.heappush(self._actions, _Action(moment, next(self._seq), run))

    def add_lead(
        self, persona: Persona, business_id: str, arrives: datetime | None, phone: str | None = None
    ) -> SimLead:
        """A synthetic lead; `arrives=None` for one that speaks only when told (`nudge chat`)."""
        index = len(self.leads)
        sim = SimLead(
            index=index,
            persona=persona,
            business_id=business_id,
            phone=phone or phone_number(persona.phone_prefix, persona.phone_length, index),
            email=f"lead{index}@example.com",
            planned_id=make_id(
                "lead", int((arrives or self.clock.now()).timestamp() * 1000), self._ids.getrandbits(80)
            ),
        )
        self.leads.append(sim)
        if arrives is not None:
            self.at(arrives, lambda: self._arrive(sim))
        return sim

    def lead_says(self, sim: SimLead, text: str) -> None:
        with transaction(self.runtime.sessions) as session:
            business = session.get(Business, sim.business_id)
            assert business is not None
            channel = "whatsapp" if business.whatsapp_from else "sms"
            lead_id = receive_message(
                session,
                business,
                channel=channel,
                phone=sim.phone,
                body=text,
                provider_id=f"SMsim{next(self._sids):028d}",
                now=self.clock.now(),
                profile_name=sim.name,
                lead_id=sim.planned_id,
            )
        if lead_id and sim.lead_id is None:
            sim.lead_id = lead_id
            self._by_lead_id[lead_id] = sim

    def _arrive(self, sim: SimLead) -> None:
        persona = sim.persona
        if persona.entry == "whatsapp":
            self.lead_says(sim, persona.first_line)
            return
        with transaction(self.runtime.sessions) as session:
            business = session.get(Business, sim.business_id)
            assert business is not None
            lead, _ = receive_lead(
                session,
                business,
                NewLead(
                    name=sim.name,
                    phone=sim.phone,
                    email=sim.email,
                    source="web_form",
                    message=persona.first_line,
                    timezone=persona.timezone,
                    locale=persona.language,
                    consent={"whatsapp": True, "sms": True, "email": True},
                ),
                self.clock.now(),
                lead_id=sim.planned_id,
            )
            sim.lead_id = lead.id
            self._by_lead_id[lead.id] = sim

    def _click(self, body: str) -> None:
        found = _LINK.search(body)
        if not found:
            return
        with transaction(self.runtime.sessions) as session:
            record_click(session, found.group(1), self.clock.now())

    def _convert(self, sim: SimLead) -> None:
        if sim.lead_id is None:
            return
        with transaction(self.runtime.sessions) as session:
            lead = session.get(Lead, sim.lead_id)
            assert lead is not None
            record_signal(
                session,
                lead,
                {"type": "converted", "value": 1500, "currency": "USD"},
                self.clock.now(),
                f"sim-convert:{sim.lead_id}",
                source="sim",
            )

    # -- reacting to what Nudge sent -----------------------------------------------------------
    def _react(self, message: Message) -> None:
        sim = self._by_lead_id.get(message.lead_id)
        if sim is None or message.touch is None:
            return
        for number, reaction in enumerate(sim.persona.reactions):
            if reaction.at_touch != message.touch or number in sim.fired:
                continue
            sim.fired.add(number)
            when = self.clock.now() + reaction.delay
            if reaction.kind == "reply":
                text = self.rng.choice(LINES[sim.persona.language][reaction.line])
                self.at(when, functools.partial(self.lead_says, sim, text))
            elif reaction.kind == "click":
                self.at(when, functools.partial(self._click, message.body))
            elif reaction.kind == "convert":
                self.at(when, functools.partial(self._convert, sim))

    def _new_outbound(self) -> list[Message]:
        with transaction(self.runtime.sessions) as session:
            rows = list(
                session.scalars(
                    sa.select(Message)
                    .where(Message.created_at >= self._checked_at, Message.direction == "out")
                    .order_by(Message.created_at, Message.id)
                )
            )
        self._checked_at = self.clock.now()
        fresh = [m for m in rows if m.id not in self._seen]
        self._seen.update(m.id for m in fresh)
        return fresh

    # -- the loop ------------------------------------------------------------------------------
    def _next_time(self) -> datetime | None:
        with transaction(self.runtime.sessions) as session:
            mail = session.scalar(
                sa.select(sa.func.min(LeadEvent.available_at)).where(LeadEvent.processed_at.is_(None))
            )
            out = session.scalar(sa.select(sa.func.min(Outbox.available_at)).where(Outbox.status == "pending"))
        candidates = [t for t in (mail, out, self._actions[0].at if self._actions else None) if t is not None]
        if not candidates:
            return None
        return min(c if c.tzinfo else c.replace(tzinfo=self.clock.now().tzinfo) for c in candidates)

    def _outbox_waiting(self) -> bool:
        with transaction(self.runtime.sessions) as session:
            waiting = session.scalar(
                sa.select(Outbox.id).where(Outbox.status == "pending", Outbox.available_at <= self.clock.now()).limit(1)
            )
        return waiting is not None

    def run_until(self, end: datetime, progress: Callable[[datetime], None] | None = None) -> None:
        idle_steps = 0
        while True:
            moment = self._next_time()
            if moment is None or moment > end:
                break
            before = self.clock.now()
            self.clock.set(moment)
            while self._actions and self._actions[0].at <= self.clock.now():
                heapq.heappop(self._actions).run()
            runs = self.runtime.dispatcher.run_due()  # delivers each lead's outbox after its run
            if self._outbox_waiting():
                self.runtime.deliverer.deliver()  # retries whose backoff ended
            for message in self._new_outbound():
                if self.on_message is not None:
                    self.on_message(message)
                self._react(message)
            idle_steps = idle_steps + 1 if (self.clock.now() == before and runs == 0) else 0
            if idle_steps > 1000:
                raise StuckSimulation(f"no progress at {self.clock.now().isoformat()}")
            if progress is not None:
                progress(self.clock.now())
        self.clock.set(end)
