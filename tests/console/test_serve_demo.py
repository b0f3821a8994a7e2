"""`nudge serve --demo` as a real process: one command, and a newcomer signs in to a console that
already holds sample leads and a hot one waiting in the inbox."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.console.world import sign_in
from tests.nudge.test_cli_serve_logs import _free_port


@pytest.mark.slow  # a real process: it loads the embedding model first (~20 s on the shared CI machine)
def test_serve_demo_opens_a_console_with_sample_data(tmp_path: Path) -> None:
    port = _free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("NUDGE_", "TWILIO_", "OPENAI_"))},
        "NUDGE_TICK_SECONDS": "0.2",
        "TMPDIR": str(tmp_path),  # the demo's throwaway database goes here
    }
    command = [sys.executable, "-m", "nudge.cli.main", "serve", "--demo", "--port", str(port)]
    process = subprocess.Popen(
        command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        assert process.stdout is not None
        printed = ""
        deadline = time.monotonic() + 300  # the embedding model loads first; the machine is shared
        while "rep key" not in printed:
            line = process.stdout.readline()
            assert line or process.poll() is None, printed
            printed += line
            assert time.monotonic() < deadline, printed
        assert f"http://127.0.0.1:{port}" in printed
        key = re.search(r"business key: (\S+)", printed)
        assert key, printed
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", follow_redirects=False, timeout=10) as browser:
            while True:
                try:
                    answer = sign_in(browser, key.group(1))
                    break
                except httpx.TransportError:
                    assert time.monotonic() < deadline
                    time.sleep(0.2)
            assert answer.status_code == 303
            names: list[str] = []
            while not names:  # the sample leads' runs escalate the hot one within a second or two
                names = re.findall(r'<strong class="name">([^<]+)', browser.get("/console/inbox").text)
                assert time.monotonic() < deadline
                time.sleep(0.2)
            assert "Lia" in names or "Dana" in names
            assert "Caio" in browser.get("/console/leads").text
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=60)
