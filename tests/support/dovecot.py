"""A real IMAP server for tests: Debian's dovecot (`dovecot-imapd`), started on a free port of
127.0.0.1 with a throwaway configuration, as an unprivileged process (`nobody` when the tests run
as root), plain-text login, Maildir storage in a temporary directory.

Messages are placed in a mailbox the way a mail server would deliver them: IMAP APPEND.
"""

from __future__ import annotations

import imaplib
import itertools
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Self

import pytest

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
PASSWORD = "imap-secret-for-tests"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def dovecot_missing() -> str | None:
    if not os.path.exists(DOVECOT):
        return "dovecot is not installed (Debian: apt-get install dovecot-imapd; .ci/run installs it)"
    return None


def _config(root: Path, port: int, user: str, group: str, uid: int, gid: int, password: str) -> str:
    return f"""
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
instance_name = nudge-test-{port}
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
default_internal_user = {user}
default_internal_group = {group}
default_login_user = {user}
first_valid_uid = {uid}
mail_location = maildir:{root}/mail/%u
passdb {{
  driver = static
  args = password={password}
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/home/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
service auth {{
  unix_listener auth-userdb {{
    mode = 0600
  }}
}}
service stats {{
  unix_listener stats-reader {{
    mode = 0600
  }}
  unix_listener stats-writer {{
    mode = 0600
  }}
}}
"""


class Dovecot:
    """Any user name logs in with PASSWORD and gets a mailbox of its own (a fresh one per test:
    `new_user`)."""

    def __init__(self, *, idle: bool = True) -> None:
        self.idle = idle  # False: a server that does not offer IDLE (clients must poll)
        self._users = itertools.count(1)
        self.port = _free_port()
        self.host = "127.0.0.1"
        self._root = Path(tempfile.mkdtemp(prefix="nudge-dovecot-"))
        self._process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Self:
        reason = dovecot_missing()
        if reason:
            pytest.skip(reason)
        account = pwd.getpwnam("nobody") if os.getuid() == 0 else pwd.getpwuid(os.getuid())
        group = "nogroup" if os.getuid() == 0 else account.pw_name
        for sub in ("run", "state", "mail", "home"):
            (self._root / sub).mkdir()
        config = self._root / "dovecot.conf"
        gid = account.pw_gid
        if os.getuid() == 0:
            import grp

            group = grp.getgrgid(gid).gr_name
        text = _config(self._root, self.port, account.pw_name, group, account.pw_uid, gid, PASSWORD)
        if not self.idle:
            text += "protocol imap {\n  imap_capability = IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE LITERAL+\n}\n"
        config.write_text(text)
        if os.getuid() == 0:  # everything the unprivileged server touches belongs to it
            for path in [self._root, *self._root.rglob("*")]:
                os.chown(path, account.pw_uid, gid)
        self._process = subprocess.Popen(
            [DOVECOT, "-F", "-c", str(config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            user=account.pw_uid if os.getuid() == 0 else None,
            group=gid if os.getuid() == 0 else None,
            extra_groups=[] if os.getuid() == 0 else None,
            start_new_session=True,
        )
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection((self.host, self.port), timeout=0.5):
                    break
            except OSError:
                if self._process.poll() is not None or time.monotonic() > deadline:
                    self.__exit__(None, None, None)
                    raise RuntimeError(f"dovecot did not start: {self.log()}") from None
                time.sleep(0.05)
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if self._process is not None and self._process.poll() is None:
            os.killpg(self._process.pid, signal.SIGTERM)  # its own session: the master and its children
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.killpg(self._process.pid, signal.SIGKILL)
                self._process.wait()
        if self._process is not None and self._process.stderr is not None:
            self._process.stderr.close()
        shutil.rmtree(self._root, ignore_errors=True)

    def log(self) -> str:
        path = self._root / "dovecot.log"
        return path.read_text(errors="replace")[-2000:] if path.exists() else ""

    def new_user(self) -> str:
        return f"sales{next(self._users)}@acme.example"

    def connect(self, user: str) -> imaplib.IMAP4:
        client = imaplib.IMAP4(self.host, self.port, timeout=5)
        client.login(user, PASSWORD)
        return client

    def deliver(self, raw: bytes, *, user: str, folder: str = "INBOX") -> None:
        """Place a message in the mailbox (IMAP APPEND), as the mail server would on delivery."""
        client = self.connect(user)
        try:
            status, answer = client.append(folder, None, None, raw)
            assert status == "OK", answer
        finally:
            client.logout()
