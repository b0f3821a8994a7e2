"""Run any ASGI app under uvicorn on 127.0.0.1 in a background thread, for tests.

Used by the Twilio stub and handy for anything else a test needs to listen on a real port (a status
callback receiver, the Nudge API itself). Each instance owns one thread and one event loop, so several
can run in one process side by side.
"""

from __future__ import annotations

import socket
import threading
import time
from types import TracebackType
from typing import Literal, Self

import uvicorn
from starlette.types import ASGIApp

LifespanMode = Literal["auto", "on", "off"]


class ServerThread:
    """A uvicorn server bound to a free port (or `port`) on 127.0.0.1, started and stopped from the test thread.

    >>> with ServerThread(app) as server:
    ...     httpx.get(server.url + "/health")
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        name: str = "asgi-server",
        lifespan: LifespanMode = "off",
        startup_timeout: float = 5.0,
        port: int = 0,
    ) -> None:
        self._app = app
        self._wanted_port = port  # 0: any free port
        self._name = name
        self._lifespan: LifespanMode = lifespan
        self._startup_timeout = startup_timeout
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._port: int | None = None
        self._crash: BaseException | None = None

    @property
    def url(self) -> str:
        """Base URL without a trailing slash, e.g. ``http://127.0.0.1:53121``."""
        if self._port is None:
            raise RuntimeError(f"{self._name} is not running")
        return f"http://127.0.0.1:{self._port}"

    @property
    def thread(self) -> threading.Thread | None:
        return self._thread

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError(f"{self._name} already started")
        # Binding the socket here (rather than letting uvicorn pick port 0) means the port is known before
        # the thread starts and no other process can grab it in between.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", self._wanted_port))
        sock.listen(128)
        self._port = sock.getsockname()[1]
        config = uvicorn.Config(
            self._app,
            lifespan=self._lifespan,
            # log_config=None keeps uvicorn from running logging.config.dictConfig, which would reset the
            # logging set-up of the whole test process every time a server starts.
            log_config=None,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._serve, args=(self._server, sock), name=self._name, daemon=True)
        self._thread.start()
        self._wait_until_started(self._server, self._thread)

    def stop(self, timeout: float = 5.0) -> None:
        """Graceful uvicorn shutdown; escalates to force_exit if connections linger past ``timeout``."""
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        server.should_exit = True
        thread.join(timeout)
        if thread.is_alive():
            server.force_exit = True
            thread.join(timeout)
        if thread.is_alive():
            raise RuntimeError(f"{self._name} did not stop within {2 * timeout:.1f}s")
        self._server = None
        self._thread = None
        self._port = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _serve(self, server: uvicorn.Server, sock: socket.socket) -> None:
        try:
            server.run(sockets=[sock])
        except BaseException as exc:  # reported to the starting thread, which raises it
            self._crash = exc
        finally:
            sock.close()

    def _wait_until_started(self, server: uvicorn.Server, thread: threading.Thread) -> None:
        deadline = time.monotonic() + self._startup_timeout
        while not server.started:
            if not thread.is_alive():
                raise RuntimeError(f"{self._name} exited during startup") from self._crash
            if time.monotonic() > deadline:
                server.should_exit = True
                raise RuntimeError(f"{self._name} did not start within {self._startup_timeout}s")
            time.sleep(0.005)
