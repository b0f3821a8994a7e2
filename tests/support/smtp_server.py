"""A real SMTP server (aiosmtpd) on 127.0.0.1 that keeps what it receives, parsed."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from email import message_from_bytes, policy
from email.message import EmailMessage
from types import TracebackType
from typing import Any, Self

from aiosmtpd.controller import Controller


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class _Keeper:
    def __init__(self) -> None:
        self.received: list[tuple[list[str], EmailMessage]] = []
        self.lock = threading.Condition()
        self.unanswered = 0  # messages to keep without answering: the connection drops instead

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # aiosmtpd calls it by this name
        parsed = message_from_bytes(envelope.original_content or envelope.content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        with self.lock:
            self.received.append((list(envelope.rcpt_tos), parsed))
            self.lock.notify_all()
            drop, self.unanswered = self.unanswered > 0, max(0, self.unanswered - 1)
        if drop:
            server.transport.abort()  # the message is here, its sender never hears so
        return "250 Message accepted for delivery"


class SmtpServer:
    def __init__(self) -> None:
        self._keeper = _Keeper()
        self.port = _free_port()
        self._controller = Controller(self._keeper, hostname="127.0.0.1", port=self.port)

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    @property
    def messages(self) -> list[EmailMessage]:
        with self._keeper.lock:
            return [message for _, message in self._keeper.received]

    def wait_for(self, predicate: Callable[[EmailMessage], bool], timeout: float = 5.0) -> EmailMessage:
        deadline = time.monotonic() + timeout
        with self._keeper.lock:
            while True:
                for _, message in self._keeper.received:
                    if predicate(message):
                        return message
                left = deadline - time.monotonic()
                if left <= 0:
                    subjects = [str(m["Subject"]) for _, m in self._keeper.received]
                    raise AssertionError(f"no matching email within {timeout}s; got {subjects}")
                self._keeper.lock.wait(left)

    def drop_after_data(self, times: int = 1) -> None:
        """Keep the next ``times`` messages, then drop the connection instead of answering them."""
        with self._keeper.lock:
            self._keeper.unanswered += times

    def __enter__(self) -> Self:
        self._controller.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._controller.stop()
