"""Rep notifications and audience jobs left `sending` by a worker killed between its claim and
its record (the rows below are exactly what that SIGKILL leaves) are sent again, once, after
STALE_CLAIM — never while a live worker could still be sending them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import cast

import httpx
import pytest
import sqlalchemy as sa

from nudge.clock import VirtualClock
from nudge.db import transaction
from nudge.ids import new_id
from nudge.models import AudienceJob, Business, Notification
from nudge.runtime import Runtime, open_runtime
from nudge.sim.setup import DEFAULT_START
from scheduler.notifications import MAX_ATTEMPTS, Notifier
from scheduler.stale import GAVE_UP, RETRIED, STALE_CLAIM, SUPERSEDED
from tests.conftest import make_settings
from tests.support.audience_stub import AudienceStub
from tests.support.smtp_server import SmtpServer
from tests.support.twilio_stub import TwilioStub
from tests.support.workers import create_due_leads, create_sample_business


@dataclass
class World:
    runtime: Runtime
    clock: VirtualClock
    stub: AudienceStub
    business_id: str
    lead_id: str


@pytest.fixture
def world(any_database_url: str, tmp_path: Path) -> Iterator[World]:
    clock = VirtualClock(DEFAULT_START)
    with AudienceStub() as stub, TwilioStub(status_mode="off", now=clock.now) as twilio, SmtpServer() as smtp:
        # Live mode, so audience jobs leave the process (sandbox marks them sent unsent).
        settings = make_settings(
            any_database_url,
            tmp_path,
            NUDGE_CHANNELS="live",
            NUDGE_META_GRAPH_URL=stub.url,
            NUDGE_TWILIO_API_URL=twilio.url,
            NUDGE_SMTP_URL=smtp.url,
        )
        with open_runtime(settings, clock=clock, seed=5) as runtime:
            business_id = create_sample_business(runtime)
            audiences = [{"kind": "webhook", "name": "crm", "url": f"{stub.url}/hook", "secret": "hook-secret"}]
            with transaction(runtime.sessions) as session:
                business = session.get(Business, business_id)
                assert business is not None
                business.audiences = audiences
            [lead_id] = create_due_leads(runtime, business_id, 1)
            yield World(runtime, clock, stub, business_id, lead_id)


def _left_sending(world: World, model: type[Notification] | type[AudienceJob], **fields: object) -> str:
    """A row as a worker killed right after its claim committed leaves it."""
    now = world.clock.now()
    row_id = new_id("job")
    values: dict[str, object] = {"status": "sending", "attempts": 1, "available_at": now, "created_at": now}
    row = model(id=row_id, business_id=world.business_id, updated_at=now, **{**values, **fields})
    with transaction(world.runtime.sessions) as session:
        session.add(row)
    return row_id


def _row(world: World, model: type[Notification] | type[AudienceJob], row_id: str) -> tuple[str, int, str | None]:
    with transaction(world.runtime.sessions) as session:
        row = cast("Notification | AudienceJob | None", session.get(model, row_id))
        assert row is not None
        return row.status, row.attempts, row.last_error


def _notifier(world: World, http: httpx.Client) -> Notifier:
    runtime = world.runtime
    return Notifier(session_factory=runtime.sessions, channels=runtime.channels, clock=world.clock, http=http)


def _rep_webhook(world: World, **fields: object) -> str:
    return _left_sending(
        world, Notification, kind="webhook", target=f"{world.stub.url}/hook", payload={"text": "Hot lead"}, **fields
    )


def _after(world: World, start: datetime, delay: timedelta) -> None:
    world.clock.set(start + delay)


def test_a_notification_left_sending_is_sent_once_after_the_stale_window(world: World) -> None:
    start = world.clock.now()
    row_id = _rep_webhook(world)
    with httpx.Client() as http:
        notifier = _notifier(world, http)
        _after(world, start, STALE_CLAIM / 2)
        assert notifier.deliver() == 0, "a live worker may still be sending it"
        assert _row(world, Notification, row_id)[0] == "sending"
        _after(world, start, STALE_CLAIM + timedelta(seconds=1))
        assert notifier.deliver() == 1
        assert notifier.deliver() == 0
    assert [r.path for r in world.stub.received] == ["/hook"]
    assert _row(world, Notification, row_id) == ("sent", 2, RETRIED)


def test_a_notification_left_sending_on_its_last_attempt_fails_with_the_reason(world: World) -> None:
    start = world.clock.now()
    row_id = _rep_webhook(world, attempts=MAX_ATTEMPTS)
    with httpx.Client() as http:
        _after(world, start, STALE_CLAIM + timedelta(seconds=1))
        assert _notifier(world, http).deliver() == 0
    assert world.stub.received == []
    assert _row(world, Notification, row_id) == ("failed", MAX_ATTEMPTS, GAVE_UP)


def test_an_audience_job_left_sending_is_sent_again(world: World) -> None:
    start = world.clock.now()
    hashes = {"email": "a" * 64, "phone": "b" * 64}
    row_id = _left_sending(world, AudienceJob, lead_id=world.lead_id, action="add", reason="value_offer", hashes=hashes)
    _after(world, start, STALE_CLAIM + timedelta(seconds=1))
    world.runtime.deliverer.deliver()
    assert [(r.path, json.loads(r.body)["action"]) for r in world.stub.received] == [("/hook", "add")]
    assert _row(world, AudienceJob, row_id) == ("sent", 2, None)


def test_an_add_left_sending_after_a_later_remove_is_not_sent_again(world: World) -> None:
    """Re-sending the add after its remove went out would leave the lead in the audience."""
    start = world.clock.now()
    hashes = {"email": "a" * 64, "phone": "b" * 64}
    add = _left_sending(world, AudienceJob, lead_id=world.lead_id, action="add", reason="value_offer", hashes=hashes)
    world.clock.set(start + timedelta(seconds=1))
    remove = _left_sending(
        world, AudienceJob, lead_id=world.lead_id, action="remove", reason="converted", hashes=hashes
    )
    with transaction(world.runtime.sessions) as session:
        session.execute(sa.update(AudienceJob).where(AudienceJob.id == remove).values(status="sent"))
    _after(world, start, STALE_CLAIM + timedelta(seconds=5))
    world.runtime.deliverer.deliver()
    assert world.stub.received == []
    assert _row(world, AudienceJob, add) == ("failed", 1, SUPERSEDED)
