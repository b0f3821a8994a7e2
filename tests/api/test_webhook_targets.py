"""What a business may configure as a webhook target, over the API (issue #17, item 2): private,
loopback and metadata addresses are refused when saved, naming the field, and nothing is stored."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import LiveNudge, live_nudge

REFUSED = [
    ("http://127.0.0.1:8080/hook", "127.0.0.1 is a loopback address"),
    ("http://[::1]:8080/hook", "::1 is a loopback address"),
    ("http://localhost:8080/hook", "localhost is a loopback name"),
    ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is a link-local address"),
    ("http://2130706433/", "2130706433 is a loopback address (127.0.0.1)"),
    ("http://0x7f.1/", "0x7f.1 is a loopback address (127.0.0.1)"),
    ("http://[::ffff:127.0.0.1]/", "loopback address (127.0.0.1)"),
    ("http://10.0.0.5/hook", "10.0.0.5 is a private address"),
    ("http://[fd00::5]/hook", "private address"),
    ("http://224.0.0.1/", "multicast"),
    ("http://0.0.0.0:8000/", "unspecified"),
]
SENDERS: dict[str, Any] = {"whatsapp_from": "+14155550100", "sms_from": "+14155550101", "email_from": "hi@acme.example"}


@pytest.fixture
def public_only(any_database_url: str, tmp_path: Path) -> Iterator[LiveNudge]:
    """The default policy (the test settings allow private targets for the stand-ins)."""
    with live_nudge(any_database_url, tmp_path, twilio=False, workers=False, NUDGE_ALLOW_PRIVATE_WEBHOOKS=False) as n:
        yield n


def _refused(response: Any, field: str, says: str) -> None:
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid" and error["message"].startswith(f"{field}: "), error
    assert says in error["message"], error


def test_private_targets_are_refused_when_saved_and_nothing_is_stored(public_only: LiveNudge) -> None:
    live = public_only
    _, key = live.business("Acme", **SENDERS)
    auth = live.auth(key)
    for url, says in REFUSED:
        rep = live.client.post("/v1/reps", headers=auth, json={"name": "Rita", "webhook_url": url})
        _refused(rep, "webhook_url", says)
        hook = {"kind": "webhook", "name": "crm", "url": url, "secret": "0123456789abcdef"}
        audiences = [{"kind": "webhook", "name": "ok", "url": "https://crm.example/ok", "secret": "0123456789abcdef"}]
        patch = live.client.patch("/v1/business", headers=auth, json={"audiences": [*audiences, hook]})
        _refused(patch, "audiences.1.url", says)
        fallback = {"fallback_contact": {"webhook_url": url}}
        _refused(
            live.client.patch("/v1/business", headers=auth, json={"profile": fallback}),
            "profile.fallback_contact.webhook_url",
            says,
        )
    assert live.client.get("/v1/reps", headers=auth).json()["reps"] == []
    business = live.client.get("/v1/business", headers=auth).json()
    assert business["audiences"] == [] and "fallback_contact" not in business["profile"]


def test_the_sequence_file_profile_is_checked_too(public_only: LiveNudge) -> None:
    live = public_only
    _, key = live.business("Acme", **SENDERS)
    auth = live.auth(key)
    document = live.client.get("/v1/sequence", headers=auth).json()
    del document["custom"]
    document["profile"] = {"fallback_contact": {"webhook_url": "http://169.254.169.254/latest/"}}
    _refused(
        live.client.put("/v1/sequence", headers=auth, json=document),
        "profile.fallback_contact.webhook_url",
        "link-local",
    )
    assert live.client.get("/v1/sequence", headers=auth).json()["custom"] is False
    document["profile"] = {"fallback_contact": {"webhook_url": "https://crm.example/fallback"}}
    assert live.client.put("/v1/sequence", headers=auth, json=document).status_code == 200


def test_public_targets_are_saved(public_only: LiveNudge) -> None:
    live = public_only
    _, key = live.business("Acme", **SENDERS)
    auth = live.auth(key)
    # .example names do not resolve here: the check at send time judges them once they do.
    for url in ("https://hooks.crm.example/rep", "http://93.184.216.34/hook", "https://[2606:2800:220:1::1]/h"):
        rep = live.client.post("/v1/reps", headers=auth, json={"name": "Rita", "webhook_url": url})
        assert rep.status_code == 201, rep.text
    hook = {"kind": "webhook", "name": "crm", "url": "https://crm.example/hook", "secret": "0123456789abcdef"}
    assert live.client.patch("/v1/business", headers=auth, json={"audiences": [hook]}).status_code == 200


def test_live_mode_requires_https(any_database_url: str, tmp_path: Path) -> None:
    with live_nudge(any_database_url, tmp_path, workers=False, NUDGE_ALLOW_PRIVATE_WEBHOOKS=False) as live:
        _, key = live.business("Acme", **SENDERS)
        auth = live.auth(key)
        plain = live.client.post("/v1/reps", headers=auth, json={"name": "R", "webhook_url": "http://crm.example/h"})
        _refused(plain, "webhook_url", "must be an https URL")
        hook = {"kind": "webhook", "name": "crm", "url": "http://crm.example/hook", "secret": "0123456789abcdef"}
        _refused(
            live.client.patch("/v1/business", headers=auth, json={"audiences": [hook]}), "audiences.0.url", "https"
        )
        secure = live.client.post("/v1/reps", headers=auth, json={"name": "R", "webhook_url": "https://crm.example/h"})
        assert secure.status_code == 201, secure.text


def test_an_on_premise_install_may_allow_private_targets(any_database_url: str, tmp_path: Path) -> None:
    with live_nudge(any_database_url, tmp_path, workers=False, NUDGE_ALLOW_PRIVATE_WEBHOOKS=True) as live:
        _, key = live.business("Acme", **SENDERS)
        rep = live.client.post(
            "/v1/reps", headers=live.auth(key), json={"name": "R", "webhook_url": "http://10.0.0.5:8080/hook"}
        )
        assert rep.status_code == 201, rep.text
