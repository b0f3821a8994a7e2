"""Email replies read from a real IMAP mailbox (dovecot, started by the tests): a reply, an
out-of-office answer and a bounce placed in the mailbox with IMAP APPEND reach the right lead
through the worker loop's IDLE reader; a restart reads what arrived meanwhile, and nothing twice."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from email import message_from_bytes
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

import pytest
import sqlalchemy as sa

from agent.outbound_urls import RefusedTarget, TargetPolicy, check_host
from nudge.db import transaction
from nudge.models import EmailInbox, Lead, LeadActivity, Message, OptOut
from scheduler.imap import InboxWatcher
from tests.conftest import LiveNudge, live_nudge
from tests.support.dovecot import PASSWORD, Dovecot
from tests.support.smtp_server import SmtpServer

MAILBOX = "sales@acme.example"
FROM = f"Acme <{MAILBOX}>"


@pytest.fixture(scope="module")
def dovecot() -> Iterator[Dovecot]:
    with Dovecot() as server:
        yield server


@pytest.fixture
def mail(any_database_url: str, tmp_path: Path, dovecot: Dovecot) -> Iterator[tuple[LiveNudge, SmtpServer]]:
    with (
        SmtpServer() as smtp,
        live_nudge(
            any_database_url,
            tmp_path,
            NUDGE_SMTP_URL=smtp.url,
            NUDGE_IMAP_SYNC_SECONDS=0.2,
            NUDGE_IMAP_IDLE_SECONDS=5,
        ) as live,
    ):
        yield live, smtp


def _wait(check: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def _lead(live: LiveNudge, key: str, email: str, name: str) -> str:
    created = live.client.post(
        "/v1/leads",
        headers=live.auth(key),
        json={"name": name, "email": email, "message": "Just browsing your plans for later"},
    )
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


def _configure(live: LiveNudge, key: str, dovecot: Dovecot, user: str) -> None:
    body = {"host": dovecot.host, "port": dovecot.port, "security": "none", "username": user, "password": PASSWORD}
    response = live.client.put("/v1/email-inbox", headers=live.auth(key), json=body)
    assert response.status_code == 200, response.text
    shown = response.json()
    assert shown["password_set"] is True and "password" not in shown and PASSWORD not in response.text


def _reply(to_message: EmailMessage, sender: str, text: str, **headers: str) -> bytes:
    reply = EmailMessage()
    reply["From"] = sender
    reply["To"] = FROM
    reply["Subject"] = f"Re: {to_message['Subject']}"
    reply["Message-ID"] = make_msgid(domain="mail.example")
    reply["In-Reply-To"] = str(to_message["Message-ID"])
    reply["References"] = str(to_message["Message-ID"])
    for name, value in headers.items():
        reply[name.replace("_", "-")] = value
    reply.set_content(f"{text}\n\nOn Mon, Acme wrote:\n> {to_message.get_body(('plain',)).get_content()[:40]}\n")  # type: ignore[union-attr]
    return bytes(reply)


def _dsn(original: EmailMessage, status: str = "5.1.1") -> bytes:
    """A delivery status notification as RFC 3464 shapes it (Postfix's, trimmed)."""
    boundary = "dsn-boundary-1"
    return (
        "From: MAILER-DAEMON@mail.example (Mail Delivery System)\r\n"
        f"To: {MAILBOX}\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\n"
        f"Message-ID: {make_msgid(domain='mail.example')}\r\n"
        "Auto-Submitted: auto-replied\r\n"
        "MIME-Version: 1.0\r\n"
        f'Content-Type: multipart/report; report-type=delivery-status; boundary="{boundary}"\r\n'
        "\r\n"
        f"--{boundary}\r\n"
        "Content-Type: text/plain; charset=us-ascii\r\n\r\n"
        "I'm sorry to have to inform you that your message could not be delivered.\r\n\r\n"
        f"--{boundary}\r\n"
        "Content-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mail.example\r\n"
        "Arrival-Date: Mon, 7 Dec 2026 10:00:00 +0000\r\n\r\n"
        f"Final-Recipient: rfc822; {original['To']}\r\n"
        "Action: failed\r\n"
        f"Status: {status}\r\n"
        "Diagnostic-Code: smtp; 550 5.1.1 <lee@example.com>: Recipient address rejected: User unknown\r\n\r\n"
        f"--{boundary}\r\n"
        "Content-Type: text/rfc822-headers\r\n\r\n"
        f"From: {original['From']}\r\n"
        f"To: {original['To']}\r\n"
        f"Subject: {original['Subject']}\r\n"
        f"Message-ID: {original['Message-ID']}\r\n\r\n"
        f"--{boundary}--\r\n"
    ).encode()


def _inbound(live: LiveNudge, lead_id: str) -> list[Message]:
    with live.runtime.sessions() as session:
        query = sa.select(Message).where(Message.lead_id == lead_id, Message.direction == "in")
        return list(session.scalars(query))


def _activity(live: LiveNudge, lead_id: str, kind: str) -> list[str]:
    with live.runtime.sessions() as session:
        query = sa.select(LeadActivity.detail).where(LeadActivity.lead_id == lead_id, LeadActivity.kind == kind)
        return list(session.scalars(query))


def _lead_row(live: LiveNudge, lead_id: str) -> Lead:
    with live.runtime.sessions() as session:
        lead = session.get(Lead, lead_id)
        assert lead is not None
        return lead


def _opted_out(live: LiveNudge, lead_id: str) -> bool:
    with live.runtime.sessions() as session:
        return session.scalars(sa.select(OptOut.channel).where(OptOut.lead_id == lead_id)).first() == "all"


def _inbox(live: LiveNudge) -> EmailInbox:
    with live.runtime.sessions() as session:
        return session.scalars(sa.select(EmailInbox)).one()


def test_reply_bounce_and_out_of_office_from_a_real_mailbox(
    mail: tuple[LiveNudge, SmtpServer], dovecot: Dovecot
) -> None:
    live, smtp = mail
    _, key = live.business("Acme", email_from=FROM, sms_from="+14155550101")
    user = dovecot.new_user()
    _configure(live, key, dovecot, user)
    dana = _lead(live, key, "dana@example.com", "Dana Reyes")
    lee = _lead(live, key, "lee@example.com", "Lee Park")
    touch_dana = smtp.wait_for(lambda m: m["To"] == "dana@example.com")
    touch_lee = smtp.wait_for(lambda m: m["To"] == "lee@example.com")
    _wait(lambda: _inbox(live).status == "connected", "the reader connected")
    _wait(lambda: all(_lead_row(live, lead).next_due_at for lead in (dana, lee)), "touch 2 scheduled")

    # Out of office: recognised by RFC 3834's header; nothing about the lead changes.
    before = _lead_row(live, dana)
    away = _reply(
        touch_dana, "Dana <dana@example.com>", "I am out of the office until Monday.", Auto_Submitted="auto-replied"
    )
    started = time.monotonic()
    dovecot.deliver(away, user=user)
    _wait(lambda: bool(_activity(live, dana, "auto_reply")), "the auto-reply noted")
    assert time.monotonic() - started < 5, "IDLE: the server announced it, no poll interval waited"
    after = _lead_row(live, dana)
    assert _inbound(live, dana) == []
    assert (after.stage, after.next_touch, after.next_due_at) == (before.stage, before.next_touch, before.next_due_at)

    # A reply from another address of hers: threaded by In-Reply-To to the email Nudge sent her.
    reply = _reply(touch_dana, "Dana <dana.reyes@work.example>", "What does the yearly plan include?")
    dovecot.deliver(reply, user=user)
    _wait(lambda: len(_inbound(live, dana)) == 1, "the reply stored on Dana")
    assert _inbound(live, dana)[0].body == "What does the yearly plan include?", "the quoted thread is not hers"
    reply_id = str(message_from_bytes(reply)["Message-ID"])
    answer = smtp.wait_for(lambda m: m["To"] == "dana@example.com" and m["In-Reply-To"] is not None)
    assert answer["In-Reply-To"] == reply_id, "the agent answers in the same thread"
    _wait(lambda: _lead_row(live, dana).stage != before.stage, "the conversation took over the cadence")

    # A bounce of Lee's touch 1: the touch falls to the next channel (she gave a phone later).
    with transaction(live.runtime.sessions) as session:
        row = session.get(Lead, lee)
        assert row is not None
        row.phone, row.consent = "+12125550188", {"sms": True, "email": True}
    dovecot.deliver(_dsn(touch_lee), user=user)
    assert live.twilio is not None
    live.twilio.wait_for_message(lambda m: m["to"] == "+12125550188", timeout=10)
    with live.runtime.sessions() as session:
        bounced = session.scalars(sa.select(Message).where(Message.lead_id == lee, Message.channel == "email")).first()
        assert bounced is not None and (bounced.status, bounced.error_code) == ("failed", "bounce")
    assert _inbound(live, lee) == []

    # The mailbox is the business's: a supplier's mail is neither a lead nor a reply, and stays that way.
    supplier = EmailMessage()
    supplier["From"], supplier["To"], supplier["Subject"] = "Pat <pat@supplier.example>", FROM, "Invoice 1042"
    supplier["Message-ID"] = make_msgid(domain="supplier.example")
    supplier.set_content("Please find the invoice attached.")
    dovecot.deliver(bytes(supplier), user=user)
    _wait(lambda: _inbox(live).last_uid == 4, "the supplier's mail passed")
    with live.runtime.sessions() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Lead)) == 2

    # A restart: mail that came while no worker read the mailbox is read once, the rest not again.
    assert live.runtime.inboxes is not None
    live.runtime.inboxes.stop()
    second = _reply(touch_dana, "Dana Reyes <dana@example.com>", "Also, do you offer a trial?")
    dovecot.deliver(second, user=user)
    restarted = InboxWatcher(
        session_factory=live.runtime.sessions,
        clock=live.runtime.clock,
        wake=live.runtime.dispatcher.wake,
        policy=live.runtime.inboxes.policy,
        idle_seconds=5,
    )
    try:
        restarted.sync()
        _wait(lambda: len(_inbound(live, dana)) == 2, "the reply that came during the restart")
        # The mailto: half of List-Unsubscribe, answered from her mail client, ends in the same place.
        link = re.search(r"<mailto:[^?>]+\?subject=unsubscribe%20([^>]+)>", str(touch_dana["List-Unsubscribe"]))
        assert link is not None, touch_dana["List-Unsubscribe"]
        unsubscribe = EmailMessage()
        unsubscribe["From"], unsubscribe["To"] = "dana@example.com", MAILBOX
        unsubscribe["Subject"], unsubscribe["Message-ID"] = f"unsubscribe {link.group(1)}", make_msgid()
        unsubscribe.set_content("")
        dovecot.deliver(bytes(unsubscribe), user=user)
        _wait(lambda: _opted_out(live, dana), "Dana opted out by mail")
    finally:
        restarted.stop()
    assert _inbox(live).last_uid == 6
    assert len(_activity(live, dana, "auto_reply")) == 1
    assert [m.body for m in _inbound(live, dana)].count("What does the yearly plan include?") == 1


def test_a_wrong_password_shows_and_a_server_without_idle_is_polled(sqlite_url: str, tmp_path: Path) -> None:
    with (
        Dovecot(idle=False) as dovecot,
        live_nudge(sqlite_url, tmp_path, twilio=False, NUDGE_IMAP_SYNC_SECONDS=0.2) as live,
    ):
        user, key = _wrong_then_right_password(live, dovecot)
        # No IDLE offered: the reader polls every poll_seconds (10 s at least through the API; 1 here).
        lead = _lead(live, key, "pat@example.com", "Pat")
        with transaction(live.runtime.sessions) as session:
            session.execute(sa.update(EmailInbox).values(poll_seconds=1, updated_at=live.runtime.clock.now()))
        note = EmailMessage()
        note["From"], note["To"], note["Subject"] = "Pat <pat@example.com>", FROM, "Question"
        note["Message-ID"] = make_msgid(domain="example.com")
        note.set_content("Do you have a plan for two people?")
        dovecot.deliver(bytes(note), user=user)
        _wait(lambda: len(_inbound(live, lead)) == 1, "the polled mail stored on the lead by its sender")
        _settings_round_trip(live)


def _wrong_then_right_password(live: LiveNudge, dovecot: Dovecot) -> tuple[str, str]:
    _, key = live.business("Acme", email_from=FROM)
    user = dovecot.new_user()
    body = {"host": dovecot.host, "port": dovecot.port, "security": "none", "username": user, "password": "wrong"}
    assert live.client.put("/v1/email-inbox", headers=live.auth(key), json=body).status_code == 200
    _wait(lambda: _inbox(live).status == "error", "the login failure recorded")
    shown = live.client.get("/v1/email-inbox", headers=live.auth(key)).json()
    assert shown["status"] == "error" and "auth" in shown["last_error"].lower()
    # Fixing the password restarts the reader with it.
    fixed = live.client.put("/v1/email-inbox", headers=live.auth(key), json={**body, "password": PASSWORD})
    assert fixed.status_code == 200
    _wait(lambda: _inbox(live).status == "connected", "the reader connected with the new password")
    return user, key


def _settings_round_trip(live: LiveNudge) -> None:
    """Settings through the API: the password is required once, kept when left out, never shown."""
    _, key = live.business("Other", email_from="Other <hi@other.example>")
    headers = live.auth(key)
    assert live.client.get("/v1/email-inbox", headers=headers).json()["configured"] is False
    base = {"host": "93.184.216.34", "username": "hi@other.example", "enabled": False}
    missing = live.client.put("/v1/email-inbox", headers=headers, json=base)
    assert missing.status_code == 422 and "password" in missing.json()["error"]["message"]
    saved = live.client.put("/v1/email-inbox", headers=headers, json={**base, "password": "s3cret-pw"})
    assert saved.status_code == 200 and saved.json()["port"] == 993 and saved.json()["security"] == "tls"
    kept = live.client.put("/v1/email-inbox", headers=headers, json={**base, "poll_seconds": 30})
    assert kept.status_code == 200 and kept.json()["password_set"] is True, "left out, the password is kept"
    for response in (saved, kept, live.client.get("/v1/email-inbox", headers=headers)):
        assert "s3cret-pw" not in response.text and "password" not in response.json()
    odd = live.client.put("/v1/email-inbox", headers=headers, json={**base, "port": 0, "extra": 1})
    assert odd.status_code == 422
    assert live.client.delete("/v1/email-inbox", headers=headers).status_code == 204
    assert live.client.delete("/v1/email-inbox", headers=headers).status_code == 204
    assert live.client.get("/v1/email-inbox", headers=headers).json()["configured"] is False


@pytest.mark.parametrize(
    ("host", "why"),
    [("127.0.0.1", "loopback"), ("10.1.2.3", "private"), ("localhost", "loopback"), ("[::1]", "loopback")],
)
def test_an_imap_host_follows_the_outbound_address_rules(host: str, why: str) -> None:
    with pytest.raises(RefusedTarget, match=why):
        check_host(host, 993, TargetPolicy())
    check_host(host, 993, TargetPolicy(allow_private=True))  # an on-premise install's own server
