"""Console live-update benchmark: a lead's message stored → visible on 20 open console pages.

    .venv/bin/python -m bench.console_live [--inboxes 20] [--rounds 15] [--postgres]

Nudge runs in this process under uvicorn (tests.conftest.live_nudge: SQLite in a temp dir, or a
throwaway PostgreSQL schema, workers on, Twilio stand-in). A hot WhatsApp lead is escalated; N
signed-in browsers (HTTP clients holding a console session each) open the handoff's SSE stream
(/console/events) and handle each `change` event as console.js does: a new message's event carries
the rendered transcript; any other change makes the page fetch its live fragment.
Each round the lead writes one message through the signed Twilio webhook; latency, per page, is
from just before the webhook POST to the moment that page's fragment shows the message.

Baseline, same run: the floor of the same machinery without the event — the 20 pages fetching
the fragment at once right after the message is stored (what a page costs to show anything).
Nudge minus floor is what the live path adds (its poll interval, POLL_SECONDS, bounds it).
Target: Nudge p99 under 1 s with 20 open pages.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx

from api.console.auth import COOKIE
from tests.conftest import LiveNudge, live_nudge, postgres_schema
from tests.console.world import csrf_of
from tests.support.twilio_stub import DEFAULT_AUTH_TOKEN, inbound_params, post_inbound

WA = "+14155550100"
LEAD = "+5511987650002"


class Page:
    """One open handoff page: an SSE stream, and the fragment fetched on each event."""

    def __init__(self, url: str, cookie: str, handoff_id: str, lead_id: str) -> None:
        self.client = httpx.Client(base_url=url, cookies={COOKIE: cookie}, timeout=30)
        self.lead_id = lead_id
        self.fragment = f"/console/handoffs/{handoff_id}/live"
        self.waiting: tuple[str, float] | None = None  # (text, started) of the current round
        self.seen = threading.Event()
        self.latency = 0.0
        self.ready = threading.Event()
        self.stop = False
        self.thread = threading.Thread(target=self._listen, daemon=True)
        self.thread.start()

    def _listen(self) -> None:
        try:
            self._read()
        except httpx.HTTPError:
            if not self.stop:  # the server going away at the end is expected
                raise

    def _read(self) -> None:
        with self.client.stream("GET", "/console/events", headers={"Accept": "text/event-stream"}) as stream:
            for line in stream.iter_lines():
                if self.stop:
                    return
                if line.startswith("event: change"):
                    self.ready.set()
                elif line.startswith("data: "):
                    self._refresh(json.loads(line[6:]))

    def _refresh(self, data: dict[str, Any]) -> None:
        """As console.js: a message event carries the transcript; anything else refetches."""
        waiting = self.waiting
        if waiting is None or self.seen.is_set():
            return
        transcripts = data.get("transcripts") or {}
        shown = str(transcripts[self.lead_id]) if self.lead_id in transcripts else self.client.get(self.fragment).text
        if waiting[0] in shown:
            self.latency = time.monotonic() - waiting[1]
            self.seen.set()

    def expect(self, text: str, started: float) -> None:
        self.seen.clear()
        self.waiting = (text, started)


def _sign_in(url: str, key: str) -> str:
    with httpx.Client(base_url=url, follow_redirects=False) as client:
        form = client.get("/console/sign-in")
        answer = client.post("/console/sign-in", data={"key": key, "csrf": csrf_of(form.text)})
        assert answer.status_code == 303, answer.text
        return str(client.cookies[COOKIE])


def _say(live: LiveNudge, text: str) -> None:
    params = inbound_params(f"whatsapp:{LEAD}", f"whatsapp:{WA}", text)
    assert post_inbound(f"{live.url}/webhooks/twilio/inbound", params, DEFAULT_AUTH_TOKEN).status_code == 200


def _escalated(live: LiveNudge, key: str) -> tuple[str, str]:
    _say(live, "I want to book a demo today for my dental clinic, budget approved")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        found = live.client.get("/v1/handoffs?status=open", headers=live.auth(key)).json()["handoffs"]
        if found:
            return str(found[0]["id"]), str(found[0]["lead_id"])
        time.sleep(0.05)
    raise SystemExit("the hot lead was not escalated")


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def run(inboxes: int, rounds: int, database: str) -> int:
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        url = f"sqlite:///{tmp / 'nudge.db'}" if database == "sqlite" else stack.enter_context(postgres_schema())
        live = stack.enter_context(live_nudge(url, tmp, NUDGE_RATE_LIMIT_PER_SECOND=0))
        _, key = live.business("Bench Dental", whatsapp_from=WA, email_from="hi@bench.example")
        rep = live.client.post("/v1/reps", headers=live.auth(key), json={"name": "Rita", "email": "r@bench.example"})
        assert rep.status_code == 201
        handoff_id, lead_id = _escalated(live, key)
        pages = [Page(live.url, _sign_in(live.url, key), handoff_id, lead_id) for _ in range(inboxes)]
        for page in pages:
            assert page.ready.wait(10), "an SSE stream did not connect"
        nudge: list[float] = []
        floor: list[float] = []
        pool = stack.enter_context(ThreadPoolExecutor(inboxes))
        for n in range(rounds + 1):  # round 0 warms up
            text = f"Message number {n} from the lead"
            started = time.monotonic()
            for page in pages:
                page.expect(text, started)
            _say(live, text)
            for page in pages:
                assert page.seen.wait(10), f"round {n}: a page never showed the message"
            # The floor: the same pages fetch the fragment at once, the message already stored.
            floor_started = time.monotonic()

            def fetch(page: Page, since: float = floor_started, wanted: str = text) -> float:
                assert wanted in page.client.get(page.fragment).text
                return time.monotonic() - since

            fetched = list(pool.map(fetch, pages))
            if n:
                nudge += [page.latency for page in pages]
                floor += fetched
        for page in pages:
            page.stop = True
    p50, p99 = statistics.median(nudge), pct(nudge, 0.99)
    f50, f99 = statistics.median(floor), pct(floor, 0.99)
    print(f"console live updates, {inboxes} open pages, {rounds} messages, {database}: {len(nudge)} samples")
    print(f"  nudge  (webhook → visible):      median {p50 * 1000:7.1f} ms   p99 {p99 * 1000:7.1f} ms")
    print(f"  floor  (fragment fetch, 20 at once): median {f50 * 1000:7.1f} ms   p99 {f99 * 1000:7.1f} ms")
    print(f"  ratio nudge/floor: median {p50 / f50:5.1f}×   p99 {p99 / f99:5.1f}×")
    ok = p99 < 1.0
    print(f"  target p99 < 1 s: {'met' if ok else 'MISSED'}")
    return 0 if ok else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inboxes", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--postgres", action="store_true")
    args = parser.parse_args(argv)
    return run(args.inboxes, args.rounds, "postgres" if args.postgres else "sqlite")


if __name__ == "__main__":
    sys.exit(main())
