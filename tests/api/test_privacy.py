"""Privacy requests: export everything about a lead, then erase it from every table and checkpoint."""

from __future__ import annotations

import sqlite3
import time

import sqlalchemy as sa

from nudge.sim.sample import whatsapp_templates
from tests.conftest import LiveNudge
from tests.support.twilio_stub import DEFAULT_AUTH_TOKEN, inbound_params, post_inbound

WA = "+14155550100"
PHONE = "+5511987650777"
EMAIL = "maria.souza@example.com"
SECRET_TEXT = "my clinic Sorriso Feliz needs a quote"


def _rows_containing(live: LiveNudge, needles: list[str]) -> list[str]:
    found = []
    with live.runtime.engine.connect() as connection:
        for table in sa.inspect(connection).get_table_names():
            for row in connection.execute(sa.text(f"SELECT * FROM {table}")):
                text = " ".join(str(v) for v in row)
                found += [f"{table}: {n}" for n in needles if n in text]
    return found


def test_export_then_erase_leaves_nothing_behind(live: LiveNudge) -> None:
    _, key = live.business(
        "Acme", whatsapp_from=WA, email_from="Acme <hi@acme.example>", whatsapp_templates=whatsapp_templates("acme")
    )
    created = live.client.post(
        "/v1/leads",
        headers=live.auth(key),
        json={"name": "Maria Souza", "phone": PHONE, "email": EMAIL, "message": SECRET_TEXT},
    )
    lead_id = created.json()["id"]
    assert live.twilio is not None
    live.twilio.wait_for(1, timeout=3)
    params = inbound_params(f"whatsapp:{PHONE}", f"whatsapp:{WA}", "Also: budget approved, call me today please")
    assert post_inbound(f"{live.url}/webhooks/twilio/inbound", params, DEFAULT_AUTH_TOKEN).status_code == 200
    live.twilio.wait_for(2, timeout=3)  # touch 1, then the handoff notice (the reply is hot)
    time.sleep(0.3)

    exported = live.client.get(f"/v1/leads/{lead_id}/export", headers=live.auth(key))
    assert exported.status_code == 200
    data = exported.json()
    assert data["lead"]["phone"] == PHONE and data["lead"]["email"] == EMAIL
    assert any("budget approved" in m["body"] for m in data["messages"]) and len(data["messages"]) >= 3
    assert data["handoffs"] and data["handoffs"][0]["summary"]["phone"] == PHONE
    assert data["events"] and data["decisions"]

    needles = [PHONE, EMAIL, SECRET_TEXT, "budget approved, call me today"]
    assert _rows_containing(live, needles), "the lead's data should be there before the erasure"
    checkpoints = live.runtime.settings.data_dir / "nudge-checkpoints.db"
    assert checkpoints.exists()

    erased = live.client.delete(f"/v1/leads/{lead_id}", headers=live.auth(key))
    assert erased.status_code == 204
    time.sleep(0.3)
    assert _rows_containing(live, needles) == []
    with sqlite3.connect(checkpoints) as conn:
        threads = conn.execute("SELECT COUNT(*) FROM checkpoints WHERE thread_id = ?", (lead_id,)).fetchone()[0]
        writes = conn.execute("SELECT COUNT(*) FROM writes WHERE thread_id = ?", (lead_id,)).fetchone()[0]
    assert threads == 0 and writes == 0
    assert live.client.get(f"/v1/leads/{lead_id}", headers=live.auth(key)).status_code == 404
    assert live.client.delete(f"/v1/leads/{lead_id}", headers=live.auth(key)).status_code == 404
    assert live.client.get(f"/v1/leads/{lead_id}/export", headers=live.auth(key)).status_code == 404


def test_another_business_can_neither_export_nor_erase(live: LiveNudge) -> None:
    _, key_a = live.business("Alpha", whatsapp_from=WA)
    _, key_b = live.business("Beta", whatsapp_from="+14155550200")
    lead_id = live.client.post("/v1/leads", headers=live.auth(key_a), json={"email": EMAIL}).json()["id"]
    assert live.client.get(f"/v1/leads/{lead_id}/export", headers=live.auth(key_b)).status_code == 404
    assert live.client.delete(f"/v1/leads/{lead_id}", headers=live.auth(key_b)).status_code == 404
    assert live.client.get(f"/v1/leads/{lead_id}", headers=live.auth(key_a)).status_code == 200
