"""A Nudge for tests of what it tells other systems (outbound webhooks, CRM connectors): the API
on a real port over a runtime on a virtual clock, Twilio and SMTP stand-ins, and one business with
senders on every channel and a rep. The worker is not running: a test ticks event delivery itself."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from api.app import create_app
from nudge.clock import VirtualClock
from nudge.db import transaction
from nudge.runtime import Runtime, open_runtime
from nudge.sim.sample import SAMPLE_BUSINESSES
from nudge.tenants import create_business
from tests.conftest import _LateApp, make_settings
from tests.support.server_thread import ServerThread
from tests.support.smtp_server import SmtpServer
from tests.support.twilio_stub import TwilioStub


@dataclass
class Nudge:
    runtime: Runtime
    clock: VirtualClock
    client: httpx.Client
    auth: dict[str, str]
    business_id: str
    twilio: TwilioStub

    def endpoint(self, url: str, **fields: Any) -> dict[str, Any]:
        answer = self.client.post("/v1/webhook-endpoints", headers=self.auth, json={"url": url, **fields})
        assert answer.status_code == 201, answer.text
        created: dict[str, Any] = answer.json()
        assert created["secret"].startswith("whsec_")
        return created

    def lead(self, email: str, **fields: Any) -> str:
        body = {"email": email, "name": "Ana Lima", "message": "Pricing for two clinics?", **fields}
        answer = self.client.post("/v1/leads", headers=self.auth, json=body)
        assert answer.status_code == 201, answer.text
        return str(answer.json()["id"])

    def tick(self) -> int:
        """What the worker's tick does for events: deliver what is due."""
        return self.runtime.events.deliver()


@contextmanager
def nudge(database_url: str, tmp_path: Path, start: datetime, **extra: Any) -> Iterator[Nudge]:
    """Nudge's API on a real port over a runtime on a virtual clock, Twilio and SMTP stand-ins,
    one business with senders on every channel and a rep."""
    clock = VirtualClock(start)
    late = _LateApp()
    with (
        ServerThread(late, name="nudge-api") as server,
        TwilioStub(status_mode="off", now=clock.now) as twilio,
        SmtpServer() as smtp,
    ):
        settings = make_settings(
            database_url,
            tmp_path,
            NUDGE_PUBLIC_URL=server.url,
            NUDGE_CHANNELS="live",
            NUDGE_TWILIO_API_URL=twilio.url,
            NUDGE_SMTP_URL=smtp.url,
            NUDGE_RATE_LIMIT_PER_SECOND=0,
            **extra,
        )
        with open_runtime(settings, clock=clock, seed=7) as runtime:
            late.app = create_app(runtime=runtime, run_workers=False)
            spec = {k: v for k, v in SAMPLE_BUSINESSES[0].items() if k != "name"}
            with transaction(runtime.sessions) as session:
                created = create_business(session, name="Acme Dental", now=clock.now(), fields=spec)
                business_id, key = created.business.id, created.api_key
            auth = {"Authorization": f"Bearer {key}"}
            with httpx.Client(base_url=server.url, timeout=10) as client:
                rep = {"name": "Rita Reyes", "email": "rita@acme.example"}
                assert client.post("/v1/reps", headers=auth, json=rep).status_code == 201
                yield Nudge(runtime, clock, client, auth, business_id, twilio)
