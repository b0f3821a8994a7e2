"""Privacy requests: export everything about a lead, then erase it from every table and checkpoint."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

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
    # Webhook events carry the lead's data too (the port is closed: they wait in the log).
    hook = {"url": "http://127.0.0.1:9/hook"}
    assert live.client.post("/v1/webhook-endpoints", headers=live.auth(key), json=hook).status_code == 201
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
    assert {"lead.created", "lead.escalated"} <= {e["type"] for e in data["outbound_events"]}

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


def test_erasure_leaves_no_copy_in_the_database_files(live_any_db: LiveNudge, tmp_path: Path) -> None:
    """The rows are gone, and so are their bytes: SQLite keeps deleted data in the -wal file until a
    checkpoint, and in free space of the main file unless secure_delete zeroes it."""
    live = live_any_db
    _, key = live.business("Acme", whatsapp_from=WA, whatsapp_templates=whatsapp_templates("acme"))
    name = "Philippa Quenneville"

    def bystander(n: int) -> None:  # leads that stay: the erased one's rows sit between theirs
        lead = {"name": f"Other {n}", "email": f"other{n}@example.com", "message": "a quote for a filling"}
        assert live.client.post("/v1/leads", headers=live.auth(key), json=lead).status_code == 201

    bystander(1)
    created = live.client.post(
        "/v1/leads",
        headers=live.auth(key),
        json={"name": name, "phone": PHONE, "email": EMAIL, "message": SECRET_TEXT},
    )
    lead_id = created.json()["id"]
    bystander(2)
    assert live.twilio is not None
    live.twilio.wait_for(1, timeout=3)
    reply = "Budget approved for the Zwoelfkamp branch, call me today please"
    params = inbound_params(f"whatsapp:{PHONE}", f"whatsapp:{WA}", reply)
    assert post_inbound(f"{live.url}/webhooks/twilio/inbound", params, DEFAULT_AUTH_TOKEN).status_code == 200
    live.twilio.wait_for(2, timeout=5)
    time.sleep(0.5)
    # The qualification's evidence quotes the lead's words in the graph state: the checkpoints too.
    needles = [name, PHONE, EMAIL, SECRET_TEXT, "Zwoelfkamp", "budget approved"]
    sqlite = live.runtime.engine.dialect.name == "sqlite"
    if sqlite:
        before = _files_containing(tmp_path, needles)
        assert f"nudge.db-wal: {name}" in before and "nudge-checkpoints.db-wal: budget approved" in before

    assert live.client.delete(f"/v1/leads/{lead_id}", headers=live.auth(key)).status_code == 204

    # At once, with the server running: no grace period for a checkpoint to come along.
    assert _rows_containing(live, needles) == []
    assert live.runtime.checkpointer.latest_checkpoint_id(lead_id) is None
    if sqlite:
        assert _files_containing(tmp_path, needles) == []
    assert live.client.get(f"/v1/leads/{lead_id}", headers=live.auth(key)).status_code == 404


def _files_containing(folder: Path, needles: list[str]) -> list[str]:
    """Which of the database files (main, -wal, -shm; ours and the checkpoints') hold which needle."""
    files = [p for p in folder.iterdir() if p.name.startswith("nudge") and p.is_file()]
    assert any(p.name == "nudge-checkpoints.db" for p in files)
    return [f"{p.name}: {n}" for p in files for n in needles if n.encode() in p.read_bytes()]
