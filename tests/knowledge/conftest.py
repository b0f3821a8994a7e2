"""Fixtures for the knowledge-base tests: one model load per session, a real Chroma server."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from knowledge.embeddings import DEFAULT_MODEL, Encoder, warm
from knowledge.industries import IndustryDetector, get_detector
from knowledge.store import KnowledgeStore

DATA = Path(__file__).parent / "data"


def load_leads(name: str) -> dict[str, list[dict[str, Any]]]:
    with (DATA / name).open(encoding="utf-8") as fh:
        data: dict[str, list[dict[str, Any]]] = yaml.safe_load(fh)
    return data


@pytest.fixture(scope="session")
def encoder() -> Encoder:
    """The default model, loaded (and warmed) once for the whole session."""
    return warm()


@pytest.fixture(scope="session")
def detector(encoder: Encoder) -> IndustryDetector:
    return get_detector()


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _chroma_binary() -> str | None:
    beside_python = Path(sys.executable).parent / "chroma"
    if beside_python.exists():
        return str(beside_python)
    return shutil.which("chroma")


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real `chroma run` server process on a free port; yields its URL."""
    binary = _chroma_binary()
    if binary is None:
        pytest.skip("the `chroma` CLI (from the chromadb package) is not installed")
    path = tmp_path_factory.mktemp("chroma-server")
    port = _free_port()
    log = (path / "server.log").open("wb")
    proc = subprocess.Popen(
        [binary, "run", "--path", str(path / "data"), "--host", "127.0.0.1", "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "ANONYMIZED_TELEMETRY": "False"},
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    try:
        while True:
            if proc.poll() is not None:
                pytest.skip(f"chroma server exited with {proc.returncode}; see {path / 'server.log'}")
            try:
                if httpx.get(f"{url}/api/v2/heartbeat", timeout=1.0).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.skip(f"chroma server did not answer its heartbeat within 30 s; see {path / 'server.log'}")
            time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
        log.close()


@pytest.fixture(params=["embedded", "server"])
def store_factory(request: pytest.FixtureRequest, tmp_path: Path, encoder: Encoder) -> Callable[..., KnowledgeStore]:
    """Builds KnowledgeStores on an embedded PersistentClient (tmp_path) or the test's Chroma server."""
    if request.param == "server":
        url = request.getfixturevalue("chroma_server")

        def make(model: str = DEFAULT_MODEL) -> KnowledgeStore:
            return KnowledgeStore(url=url, model=model)

        return make

    def make_embedded(model: str = DEFAULT_MODEL) -> KnowledgeStore:
        return KnowledgeStore(tmp_path / "chroma", model=model)

    return make_embedded


@pytest.fixture
def store(store_factory: Callable[..., KnowledgeStore]) -> KnowledgeStore:
    return store_factory()


@pytest.fixture
def business() -> Callable[[str], str]:
    """Unique business ids (the Chroma server outlives a single test)."""
    suffix = uuid.uuid4().hex[:8]

    def make(name: str) -> str:
        return f"{name}-{suffix}"

    return make
