"""`nudge serve` as a real process logs no line per scheduler tick by default; the JSON format
(`--log-format json`, the same `nudge.logs` configuration) writes one object per line."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

TICK = 0.2  # five ticks a second: a per-tick line could not hide in a few seconds


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start(folder: Path) -> tuple[subprocess.Popen[str], str]:
    folder.mkdir()
    port = _free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("NUDGE_", "TWILIO_", "OPENAI_"))},
        "NUDGE_DATA_DIR": str(folder),
        "NUDGE_TICK_SECONDS": str(TICK),
    }
    command = [sys.executable, "-m", "nudge.cli.main", "serve", "--port", str(port)]
    process = subprocess.Popen(command, cwd=folder, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return process, f"http://127.0.0.1:{port}"


def _serve_for_a_while(process: subprocess.Popen[str], url: str) -> str:
    """Wait until the server answers, let it tick for two seconds, stop it; its stderr."""
    deadline = time.monotonic() + 300  # the embedding model loads first; the test machine is shared
    while True:
        assert process.poll() is None, process.communicate()
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, "nudge serve did not start"
        time.sleep(0.2)
    time.sleep(2)
    process.send_signal(signal.SIGINT)
    return process.communicate(timeout=60)[1]


def test_serve_logs_no_tick_lines_by_default(tmp_path: Path) -> None:
    text = _serve_for_a_while(*_start(tmp_path / "text"))
    assert text.count("Running job") == 0 and "Dispatcher.tick" not in text, text
    assert "Nudge on http://127.0.0.1:" in text and "Uvicorn running on" in text  # our lines stay


# The same configuration as serve's (nudge.logs), in a process that starts in a moment.
_JSON_PROCESS = """
import logging, sys
from nudge.logs import configure_logging
configure_logging(sys.argv[1], "json")
logging.getLogger("apscheduler.executors.default").info('Running job "Dispatcher.tick"')
logging.getLogger("apscheduler.scheduler").warning(
    'Execution of job "Dispatcher.tick" skipped: maximum number of running instances reached (1)'
)
logging.getLogger("uvicorn.error").info("Uvicorn running on http://127.0.0.1:8000")
logging.getLogger("nudge").info("Nudge on http://127.0.0.1:8000")
try:
    1 / 0
except ZeroDivisionError:
    logging.getLogger("nudge.x").exception("failed")
"""


def test_json_logs_one_object_per_line() -> None:
    done = subprocess.run(
        [sys.executable, "-c", _JSON_PROCESS, "info"], capture_output=True, text=True, timeout=60, check=True
    )
    lines = [json.loads(line) for line in done.stderr.splitlines()]
    assert all({"time", "level", "logger", "message"} <= line.keys() for line in lines)
    assert [(line["logger"], line["message"]) for line in lines] == [
        ("uvicorn.error", "Uvicorn running on http://127.0.0.1:8000"),
        ("nudge", "Nudge on http://127.0.0.1:8000"),
        ("nudge.x", "failed"),
    ]
    assert "ZeroDivisionError" in lines[-1]["exception"]
