"""`nudge serve` as a real process: a readable log by default (no line per scheduler tick), and
one JSON object per line with `--log-format json`."""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from nudge.logs import JsonFormatter

TICK = 0.2  # five ticks a second: a per-tick line could not hide in a few seconds


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start(folder: Path, *flags: str) -> tuple[subprocess.Popen[str], str]:
    folder.mkdir()
    port = _free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("NUDGE_", "TWILIO_", "OPENAI_"))},
        "NUDGE_DATA_DIR": str(folder),
        "NUDGE_TICK_SECONDS": str(TICK),
    }
    command = [sys.executable, "-m", "nudge.cli.main", "serve", "--port", str(port), *flags]
    process = subprocess.Popen(command, cwd=folder, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return process, f"http://127.0.0.1:{port}"


def _serve_for_a_while(processes: list[tuple[subprocess.Popen[str], str]]) -> list[str]:
    """Wait until every server answers, let it tick for two seconds, stop it; its stderr."""
    deadline = time.monotonic() + 120
    for process, url in processes:
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
    outputs = []
    for process, _ in processes:
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=30)
        outputs.append(stderr)
    return outputs


def test_serve_logs_no_tick_lines_by_default_and_json_lines_on_request(tmp_path: Path) -> None:
    both = [_start(tmp_path / "text"), _start(tmp_path / "json", "--log-format", "json", "--log-level", "info")]
    text, structured = _serve_for_a_while(both)

    assert "Nudge on http://127.0.0.1:" in text and "Uvicorn running on" in text
    assert "Dispatcher.tick" not in text and "Running job" not in text, text

    lines = [json.loads(line) for line in structured.splitlines() if line.strip()]
    assert lines and all({"time", "level", "logger", "message"} <= line.keys() for line in lines)
    assert any(line["logger"] == "nudge" and line["message"].startswith("Nudge on http://") for line in lines)
    assert any(line["logger"].startswith("uvicorn") for line in lines)  # uvicorn's loggers go through ours
    assert not any("Dispatcher.tick" in line["message"] for line in lines)


def test_a_json_line_carries_the_exception() -> None:
    try:
        raise ValueError("bad number")
    except ValueError:
        record = logging.LogRecord("nudge.x", logging.ERROR, __file__, 1, "failed %s", ("x",), sys.exc_info())
    line = json.loads(JsonFormatter().format(record))
    assert line["level"] == "ERROR" and line["logger"] == "nudge.x" and line["message"] == "failed x"
    assert line["time"].endswith("+00:00")
    assert "ValueError: bad number" in line["exception"] and "\n" not in JsonFormatter().format(record)
