"""API keys (shown once, listed by prefix, rotated, revoked), who may manage which keys, the audit
log, and per-key / per-address rate limits, over real HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from nudge.db import transaction
from nudge.keys import prefix_of
from nudge.models import Handoff
from nudge.tenants import create_agency, create_business
from tests.conftest import LiveNudge, live_nudge


@pytest.fixture
def api(sqlite_url: str, tmp_path: Path) -> Iterator[LiveNudge]:
    with live_nudge(sqlite_url, tmp_path, twilio=False, workers=False) as live:
        yield live


def _agency_with_business(live: LiveNudge, name: str) -> tuple[str, str, str]:
    """(agency key, business id, business key)"""
    now = live.runtime.clock.now()
    with transaction(live.runtime.sessions) as session:
        agency = create_agency(session, name=name, now=now)
        business = create_business(session, name=f"{name} client", now=now, agency_id=agency.agency.id)
        return agency.api_key, business.business.id, business.api_key


def _auth(key: str, tenant: str | None = None) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {key}"}
    if tenant:
        headers["X-Nudge-Tenant"] = tenant
    return headers


def test_keys_are_shown_once_listed_by_prefix_rotated_and_revoked(api: LiveNudge) -> None:
    _, _, business_key = _agency_with_business(api, "Alpha")
    rep = api.client.post("/v1/reps", headers=_auth(business_key), json={"name": "Rita", "email": "r@x.example"})
    created = api.client.post("/v1/keys", headers=_auth(business_key), json={"kind": "rep", "rep_id": rep.json()["id"]})
    assert created.status_code == 201, created.text
    rep_key, prefix = created.json()["api_key"], created.json()["prefix"]
    assert rep_key.startswith(prefix + "_")

    listed = api.client.get(f"/v1/keys?prefix={prefix[:9]}", headers=_auth(business_key))
    assert listed.status_code == 200
    assert prefix in {k["prefix"] for k in listed.json()["keys"]}
    assert rep_key not in listed.text and "hash" not in listed.text  # secrets are never shown again
    assert api.client.get("/v1/handoffs", headers=_auth(rep_key)).status_code == 200

    rotated = api.client.post(f"/v1/keys/{prefix}/rotate", headers=_auth(business_key))
    assert rotated.status_code == 200, rotated.text
    new_key = rotated.json()["api_key"]
    assert rotated.json()["kind"] == "rep" and rotated.json()["rep_id"] == rep.json()["id"]
    assert api.client.get("/v1/handoffs", headers=_auth(rep_key)).status_code == 401, "the old secret is dead"
    assert api.client.get("/v1/handoffs", headers=_auth(new_key)).status_code == 200
    assert api.client.post(f"/v1/keys/{prefix}/rotate", headers=_auth(business_key)).status_code == 404

    new_prefix = rotated.json()["prefix"]
    assert api.client.delete(f"/v1/keys/{new_prefix}", headers=_auth(business_key)).status_code == 204
    refused = api.client.get("/v1/handoffs", headers=_auth(new_key))
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "unauthorized"
    keys = {k["prefix"]: k for k in api.client.get("/v1/keys", headers=_auth(business_key)).json()["keys"]}
    assert keys[prefix]["revoked_at"] and keys[new_prefix]["revoked_at"]


def test_who_may_manage_which_keys(api: LiveNudge) -> None:
    agency_key, business_id, business_key = _agency_with_business(api, "Alpha")
    other_agency_key, other_business, other_business_key = _agency_with_business(api, "Beta")
    agency_prefix = prefix_of(agency_key)
    business_prefix = prefix_of(business_key)

    # A business key sees its business's keys, not its agency's.
    seen = {k["prefix"] for k in api.client.get("/v1/keys", headers=_auth(business_key)).json()["keys"]}
    assert business_prefix in seen and agency_prefix not in seen
    assert api.client.delete(f"/v1/keys/{agency_prefix}", headers=_auth(business_key)).status_code == 404
    agency_kind = api.client.post("/v1/keys", headers=_auth(business_key), json={"kind": "agency"})
    assert agency_kind.status_code == 422

    # The agency manages its own keys and its businesses' keys; never another agency's.
    seen = {k["prefix"] for k in api.client.get("/v1/keys", headers=_auth(agency_key)).json()["keys"]}
    assert {agency_prefix, business_prefix} <= seen
    assert prefix_of(other_business_key) not in seen
    second = api.client.post("/v1/keys", headers=_auth(agency_key), json={"kind": "agency", "label": "ci"})
    assert second.status_code == 201 and second.json()["agency_id"] is not None
    needs_tenant = api.client.post("/v1/keys", headers=_auth(agency_key), json={"kind": "business"})
    assert needs_tenant.status_code == 400 and needs_tenant.json()["error"]["code"] == "tenant_required"
    for_client = api.client.post("/v1/keys", headers=_auth(agency_key, business_id), json={"kind": "business"})
    assert for_client.status_code == 201 and for_client.json()["business_id"] == business_id
    foreign = prefix_of(other_business_key)
    assert api.client.post(f"/v1/keys/{foreign}/rotate", headers=_auth(agency_key)).status_code == 404
    assert api.client.delete(f"/v1/keys/{foreign}", headers=_auth(agency_key)).status_code == 404
    assert api.client.get("/v1/business", headers=_auth(other_business_key)).status_code == 200
    assert api.client.get("/v1/keys", headers=_auth(other_agency_key, business_id)).status_code == 404
    del other_business

    # The agency rotates its client's key: the client's old key stops working at once.
    rotated = api.client.post(f"/v1/keys/{business_prefix}/rotate", headers=_auth(agency_key))
    assert rotated.status_code == 200
    assert api.client.get("/v1/business", headers=_auth(business_key)).status_code == 401
    assert api.client.get("/v1/business", headers=_auth(rotated.json()["api_key"])).status_code == 200


def test_the_audit_log_says_who_did_what_without_contact_details(api: LiveNudge) -> None:
    agency_key, business_id, business_key = _agency_with_business(api, "Alpha")
    _, _, other_key = _agency_with_business(api, "Beta")
    email = "private.person@example.com"
    lead = api.client.post("/v1/leads", headers=_auth(business_key), json={"email": email, "name": "Private"})
    lead_id = lead.json()["id"]
    assert api.client.get(f"/v1/leads/{lead_id}/export", headers=_auth(agency_key, business_id)).status_code == 200
    assert api.client.delete(f"/v1/leads/{lead_id}", headers=_auth(business_key)).status_code == 204
    patched = api.client.patch("/v1/business", headers=_auth(business_key), json={"handoff_sla_seconds": 120})
    assert patched.status_code == 200
    assert api.client.get(f"/v1/leads/{lead_id}", headers=_auth(business_key)).status_code == 404  # not audited

    answer = api.client.get("/v1/audit", headers=_auth(business_key))
    assert answer.status_code == 200
    entries: list[dict[str, Any]] = answer.json()["entries"]
    actions = [e["action"] for e in entries]
    assert actions[:4] == ["business.update", "lead.delete", "lead.export", "lead.create"]
    export = entries[2]
    assert export["key_kind"] == "agency" and export["target_id"] == lead_id
    assert export["route"] == "/v1/leads/{lead_id}/export" and export["business_id"] == business_id
    assert entries[1]["key_prefix"] == prefix_of(business_key)
    assert email not in answer.text and "Private" not in answer.text

    only = api.client.get("/v1/audit?action=lead.delete", headers=_auth(agency_key)).json()["entries"]
    assert [e["target_id"] for e in only] == [lead_id], "the agency sees its businesses' entries"
    api.client.get("/v1/business", headers=_auth(other_key))
    theirs = api.client.get("/v1/audit", headers=_auth(other_key))
    assert [e["action"] for e in theirs.json()["entries"]] == ["read"], "another business sees only its own"
    assert lead_id not in theirs.text


def test_per_key_rate_limit_answers_429_with_retry_after(sqlite_url: str, tmp_path: Path) -> None:
    limits = {"NUDGE_RATE_LIMIT_PER_SECOND": 0.5, "NUDGE_RATE_LIMIT_BURST": 3}
    with live_nudge(sqlite_url, tmp_path, twilio=False, workers=False, **limits) as live:
        _, _, key = _agency_with_business(live, "Alpha")
        _, _, other = _agency_with_business(live, "Beta")
        statuses = [live.client.get("/v1/business", headers=_auth(key)).status_code for _ in range(3)]
        assert statuses == [200, 200, 200]
        limited = live.client.get("/v1/business", headers=_auth(key))
        assert limited.status_code == 429
        assert limited.json()["error"]["code"] == "rate_limited"
        assert 1 <= int(limited.headers["Retry-After"]) <= 2
        assert live.client.get("/v1/business", headers=_auth(other)).status_code == 200, "limits are per key"
        bad = live.client.get("/v1/business", headers=_auth(key[:-3] + "xyz"))
        assert bad.status_code == 401, "a wrong secret is refused before it can spend anyone's tokens"


def test_webhooks_and_links_are_limited_per_client_address(sqlite_url: str, tmp_path: Path) -> None:
    limits = {"NUDGE_WEBHOOK_RATE_PER_SECOND": 0.5, "NUDGE_WEBHOOK_RATE_BURST": 2}
    with live_nudge(sqlite_url, tmp_path, twilio=False, workers=False, **limits) as live:
        assert [live.client.get("/r/nope").status_code for _ in range(2)] == [404, 404]
        limited = live.client.get("/r/nope")
        assert limited.status_code == 429 and "Retry-After" in limited.headers
        unsigned = live.client.post("/webhooks/twilio/inbound", data={"MessageSid": "SM1"})
        assert unsigned.status_code == 429, "an unsigned flood is turned away before any work"
        guessed = live.client.get("/v1/business", headers=_auth("nk_bz_00000000_guess"))
        assert guessed.status_code == 429, "guessing keys spends the same per-address budget"


def test_rep_actions_are_audited_with_the_rep(api: LiveNudge) -> None:
    _, business_id, business_key = _agency_with_business(api, "Alpha")
    rep_id = api.client.post("/v1/reps", headers=_auth(business_key), json={"name": "Rita", "email": "r@x.example"})
    rep_id = rep_id.json()["id"]
    rep_key = api.client.post("/v1/keys", headers=_auth(business_key), json={"kind": "rep", "rep_id": rep_id})
    lead_id = api.client.post("/v1/leads", headers=_auth(business_key), json={"email": "l@x.example"}).json()["id"]
    with transaction(api.runtime.sessions) as session:
        handoff = Handoff(
            business_id=business_id, lead_id=lead_id, assigned_rep_id=rep_id, created_at=api.runtime.clock.now()
        )
        session.add(handoff)
        session.flush()
        handoff_id = handoff.id
    rep = _auth(rep_key.json()["api_key"])
    assert api.client.post(f"/v1/handoffs/{handoff_id}/claim", headers=rep, json={}).status_code == 200
    assert api.client.post(f"/v1/handoffs/{handoff_id}/reply", headers=rep, json={"text": "Hi"}).status_code == 202
    assert (
        api.client.post(f"/v1/handoffs/{handoff_id}/resolve", headers=rep, json={"outcome": "won"}).status_code == 200
    )
    entries = api.client.get("/v1/audit", headers=_auth(business_key)).json()["entries"]
    by_action = {e["action"]: e for e in entries}
    for action in ("handoff.claim", "handoff.reply", "handoff.resolve"):
        assert by_action[action]["rep_id"] == rep_id and by_action[action]["key_kind"] == "rep"
        assert by_action[action]["target_id"] == handoff_id
    assert api.client.get("/v1/audit", headers=rep).status_code == 404, "a rep key reads no audit log"
