"""`nudge worker` with optional test instrumentation, for tests that run real worker processes.

    python -m tests.support.worker_proc

Without any NUDGE_TEST_* variable this is exactly `nudge worker`: the runtime from `open_runtime`
(settings from the NUDGE_* environment) and `running_workers` (dispatcher threads + the
APScheduler tick) until SIGTERM/SIGINT. The instrumentation only observes or stands in for the
outside world; the dispatcher, mailbox, graph and delivery code are Nudge's own:

NUDGE_TEST_RUN_LOG=FILE       one JSON line when a graph run starts and one when it ends (lead,
                              pid, fence, time.time_ns()), so runs of both processes can be
                              checked for overlap. Wraps the compiled graph `open_runtime` builds.
NUDGE_TEST_LEDGER=FILE        every channel becomes a stand-in provider that appends each message
                              it accepts to FILE (one JSON line, a single O_APPEND write) and
                              answers `find_sent` from that log, like a provider's message list.
NUDGE_TEST_SEND_DELAY=SEC     provider latency: half before the message is recorded, half after.
NUDGE_TEST_STALE_SENDING=SEC  shortens scheduler.delivery.STALE_SENDING (a constant, no setting).
NUDGE_TEST_DIE=POINT:N        SIGKILL this process at the N-th (1-based) occurrence of POINT:
                              after_invoke    a graph run has returned (its checkpoint is written)
                                              but its transaction has not committed;
                              provider_before the provider call started, nothing recorded yet;
                              provider_after  the provider recorded the message, Nudge has not.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
from collections.abc import Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, cast

from agent.channels import Channel, OutboundMessage, SendResult
from graph.builder import LeadGraph
from nudge.ids import new_id

READY = "worker-ready"


class _Dier:
    """Kills the process at the N-th occurrence of a named point."""

    def __init__(self, spec: str) -> None:
        point, _, count = spec.partition(":")
        self.point = point
        self.remaining = int(count or "1")
        self._lock = threading.Lock()

    def at(self, point: str) -> None:
        if point != self.point:
            return
        with self._lock:
            self.remaining -= 1
            if self.remaining == 0:
                os.kill(os.getpid(), signal.SIGKILL)


_NEVER = _Dier("")


class _JsonLines:
    """Appends JSON lines with one write(2) each (O_APPEND), so lines from several threads and
    processes never interleave and a SIGKILL leaves no partial line."""

    def __init__(self, path: str) -> None:
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    def write(self, record: Mapping[str, Any]) -> None:
        os.write(self._fd, (json.dumps(record, separators=(",", ":")) + "\n").encode())


def read_json_lines(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


class RecordingGraph:
    """Forwards to the compiled graph; logs the start and end of every `invoke`."""

    def __init__(self, graph: LeadGraph, log: _JsonLines | None, dier: _Dier) -> None:
        self._graph = graph
        self._log = log
        self._dier = dier

    def __getattr__(self, name: str) -> Any:
        return getattr(self._graph, name)

    def invoke(self, graph_input: Any, config: Any = None, **kwargs: Any) -> Any:
        thread_id = str(((config or {}).get("configurable") or {}).get("thread_id"))
        lead = getattr(kwargs.get("context"), "lead", None)
        fence = getattr(lead, "fence", None)
        run = new_id("run")
        base = {"run": run, "lead": thread_id, "pid": os.getpid(), "thread": threading.get_ident(), "fence": fence}
        if self._log is not None:
            self._log.write({**base, "event": "start", "t": time.time_ns()})
        ok = False
        try:
            result = self._graph.invoke(graph_input, config, **kwargs)
            ok = True
            return result
        finally:
            if self._log is not None:
                self._log.write({**base, "event": "end", "ok": ok, "t": time.time_ns()})
            if ok:
                self._dier.at("after_invoke")


class LedgerChannel:
    """A provider stand-in with a message log on disk that survives the worker's death."""

    def __init__(self, name: str, ledger: _JsonLines, path: str, delay: float, dier: _Dier) -> None:
        self.name = name
        self._ledger = ledger
        self._path = Path(path)
        self._delay = delay
        self._dier = dier

    def send(self, message: OutboundMessage) -> SendResult:
        if self._delay:
            time.sleep(self._delay / 2)
        self._dier.at("provider_before")
        provider_id = new_id("pv")
        self._ledger.write(
            {
                "provider_id": provider_id,
                "message_id": message.message_id,
                "channel": self.name,
                "to": message.to,
                "pid": os.getpid(),
                "t": time.time_ns(),
            }
        )
        self._dier.at("provider_after")
        if self._delay:
            time.sleep(self._delay / 2)
        return SendResult(provider_id=provider_id, status="delivered")

    def find_sent(self, message: OutboundMessage, since: datetime) -> SendResult | None:
        for record in read_json_lines(self._path):
            if record["message_id"] == message.message_id:
                return SendResult(provider_id=str(record["provider_id"]), status="delivered")
        return None


def _instrument() -> tuple[Mapping[str, Channel] | None, _Dier]:
    dier = _Dier(os.environ["NUDGE_TEST_DIE"]) if os.environ.get("NUDGE_TEST_DIE") else _NEVER
    run_log_path = os.environ.get("NUDGE_TEST_RUN_LOG")
    run_log = _JsonLines(run_log_path) if run_log_path else None
    if run_log is not None or dier is not _NEVER:
        import nudge.runtime as runtime_module

        namespace = vars(runtime_module)  # the name the composition root calls
        real_build = namespace.get("build_graph")
        if not callable(real_build):  # pragma: no cover - the composition root changed
            raise SystemExit("nudge.runtime.build_graph is gone: the run log cannot hook graph runs")

        def build(checkpointer: Any) -> LeadGraph:
            return cast(LeadGraph, RecordingGraph(real_build(checkpointer), run_log, dier))

        namespace["build_graph"] = build
    stale = os.environ.get("NUDGE_TEST_STALE_SENDING")
    if stale:
        from scheduler import delivery

        if not hasattr(delivery, "STALE_SENDING"):  # pragma: no cover
            raise SystemExit("scheduler.delivery.STALE_SENDING is gone: cannot shorten the recovery window")
        delivery.STALE_SENDING = timedelta(seconds=float(stale))
    ledger_path = os.environ.get("NUDGE_TEST_LEDGER")
    if not ledger_path:
        return None, dier
    ledger = _JsonLines(ledger_path)
    delay = float(os.environ.get("NUDGE_TEST_SEND_DELAY") or 0)
    channels: dict[str, Channel] = {
        name: LedgerChannel(name, ledger, ledger_path, delay, dier) for name in ("whatsapp", "sms", "email")
    }
    return channels, dier


def main() -> None:
    from nudge.logs import configure_logging
    from nudge.runtime import open_runtime
    from nudge.settings import load_settings
    from scheduler.service import running_workers

    channels, _ = _instrument()
    settings = load_settings()
    configure_logging(settings.log_level, settings.log_format)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    with (
        open_runtime(settings, channels=channels) as runtime,
        running_workers(
            runtime.dispatcher,
            settings.tick_seconds,
            inboxes=runtime.inboxes,
            inbox_sync_seconds=settings.imap_sync_seconds,
        ),
    ):
        print(f"{READY} {runtime.dispatcher.owner}", flush=True)
        stop.wait()
    print("worker stopped", flush=True)
    sys.exit(0)


if __name__ == "__main__":
    main()
