"""`POST /v1/leads/import` over real HTTP on SQLite and PostgreSQL: header guessing, phone
normalisation with a default country, consent columns, dedupe (skip or update), dry run, per-row
errors and their downloadable report, the three ways to start the sequence, idempotence."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from api.lead_import import ImportOptions, ImportProblem, RowChecker, guess_field, records
from nudge.models import Lead, LeadActivity, LeadEvent, LeadImport, Message, table_of
from tests.conftest import LiveNudge, live_nudge, postgres_schema
from tests.support.workers import wait_until

SPANISH = (
    "Nombre;Teléfono;Correo;Acepta WhatsApp;Ciudad\n"
    "Ana Pérez;55 1234 5678;ana@example.com;sí;CDMX\n"  # row 2: national number, MX by default
    "Bob;55-ABC-1234;;no;\n"  # row 3: letters in the phone
    "Carla;;carla@example;;\n"  # row 4: a broken email
    "Dan;+52 1 55 1234 5678;;;\n"  # row 5: Ana's number as WhatsApp writes it
    "Eva;+55 11 98765-4321;eva@example.com;quizás;\n"  # row 6: not yes or no
    "Fer;+54 9 11 2345 6789;FER@Example.com;no;Rosario\n"  # row 7: fine
)


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveNudge]:
    """One API per database for the module; each test makes its own business. Workers off: the
    tests read the mailbox rows an import leaves, not what the runs do with them."""
    tmp: Path = tmp_path_factory.mktemp("import")
    if request.param == "sqlite":
        with live_nudge(f"sqlite:///{tmp / 'nudge.db'}", tmp, twilio=False, workers=False) as live:
            yield live
        return
    with postgres_schema() as url, live_nudge(url, tmp, twilio=False, workers=False) as live:
        yield live


_names = iter(range(10_000))


def _key(server: LiveNudge) -> tuple[str, dict[str, str]]:
    business_id, key = server.business(f"Importer {next(_names)}")
    return business_id, server.auth(key)


def _import(server: LiveNudge, headers: dict[str, str], data: str, **options: Any) -> httpx.Response:
    return server.client.post("/v1/leads/import", headers=headers, json={"data": data, **options})


def _leads(server: LiveNudge, business_id: str) -> list[Lead]:
    with server.runtime.sessions() as session:
        return list(session.scalars(sa.select(Lead).where(Lead.business_id == business_id).order_by(Lead.name)))


def _fingerprint(server: LiveNudge, business_id: str) -> str:
    """Every lead, mailbox event and decision row of the business."""
    digest = hashlib.sha256()
    with server.runtime.sessions() as session:
        for model in (Lead, LeadEvent, LeadActivity):
            table = table_of(model)
            rows = session.execute(sa.select(table).where(table.c.business_id == business_id).order_by(table.c.id))
            for row in rows:
                digest.update(repr(tuple(row)).encode())
    return digest.hexdigest()


def test_a_spanish_spreadsheet_is_imported_with_its_errors_reported_by_row(server: LiveNudge) -> None:
    business_id, headers = _key(server)
    answer = _import(server, headers, SPANISH, default_country="MX")
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body["columns"] == {
        "Nombre": "name",
        "Teléfono": "phone",
        "Correo": "email",
        "Acepta WhatsApp": "consent_whatsapp",
        "Ciudad": "metadata",
    }
    assert (body["rows"], body["created"], body["failed"], body["dry_run"]) == (6, 2, 4, False)
    errors = {(e["row"], e["column"]): e["message"] for e in body["errors"]}
    assert set(errors) == {(3, "Teléfono"), (4, "Correo"), (5, "Teléfono"), (6, "Acepta WhatsApp")}
    assert "letters" in errors[(3, "Teléfono")]
    assert "not an email address" in errors[(4, "Correo")]
    assert "same lead as row 2" in errors[(5, "Teléfono")]
    assert "not yes or no" in errors[(6, "Acepta WhatsApp")]

    ana, fer = _leads(server, business_id)
    assert (ana.phone, ana.phone_key, ana.email) == ("+525512345678", "+525512345678", "ana@example.com")
    assert ana.consent == {"whatsapp": True} and ana.extra == {"Ciudad": "CDMX"} and ana.source == "import"
    assert (fer.phone_key, fer.email, fer.consent) == ("+541123456789", "FER@example.com", {"whatsapp": False})

    report = server.client.get(body["report_url"], headers=headers)
    assert report.status_code == 200 and report.headers["content-type"].startswith("text/csv")
    assert "attachment" in report.headers["content-disposition"]
    lines = list(csv.reader(io.StringIO(report.text)))
    assert lines[0] == ["row", "column", "message"]
    assert [(int(r[0]), r[1]) for r in lines[1:]] == [
        (3, "Teléfono"),
        (4, "Correo"),
        (5, "Teléfono"),
        (6, "Acepta WhatsApp"),
    ]
    status = server.client.get(f"/v1/lead-imports/{body['id']}", headers=headers)
    assert status.status_code == 200 and status.json()["created"] == 2 and len(status.json()["errors"]) == 4


def test_the_same_file_twice_changes_nothing_whether_it_skips_or_updates(server: LiveNudge) -> None:
    business_id, headers = _key(server)
    assert _import(server, headers, SPANISH, default_country="MX").json()["created"] == 2
    before = _fingerprint(server, business_id)
    skipped = _import(server, headers, SPANISH, default_country="MX").json()
    updated = _import(server, headers, SPANISH, default_country="MX", on_duplicate="update").json()
    assert (skipped["created"], skipped["skipped"], skipped["failed"]) == (0, 2, 4)
    assert (updated["created"], updated["updated"], updated["unchanged"], updated["failed"]) == (0, 0, 2, 4)
    assert _fingerprint(server, business_id) == before


def test_update_mode_fills_in_a_lead_the_form_sent_matched_through_the_mexican_whatsapp_form(
    server: LiveNudge,
) -> None:
    business_id, headers = _key(server)
    form = server.client.post("/v1/leads", headers=headers, json={"phone": "+5215512345678", "consent": {"sms": True}})
    assert form.status_code == 201
    data = "name,phone,industry,sms consent,consent email,crm id\nAna Pérez,55 1234 5678,dental,,yes,crm-7\n"
    skipped = _import(server, headers, data, default_country="MX").json()
    assert (skipped["skipped"], skipped["created"]) == (1, 0)
    updated = _import(server, headers, data, default_country="MX", on_duplicate="update").json()
    assert (updated["updated"], updated["created"], updated["failed"]) == (1, 0, 0), updated
    (lead,) = _leads(server, business_id)
    assert lead.id == form.json()["id"] and lead.phone == "+5215512345678", "the form's number is kept"
    assert (lead.name, lead.industry, lead.external_id) == ("Ana Pérez", "dental", "crm-7")
    assert lead.consent == {"sms": True, "email": True}
    again = _import(server, headers, data, default_country="MX", on_duplicate="update").json()
    assert (again["updated"], again["unchanged"]) == (0, 1)


def test_a_row_naming_two_different_leads_is_an_error_not_a_merge(server: LiveNudge) -> None:
    _, headers = _key(server)
    first = _import(server, headers, "email,phone\na@example.com,+14155550123\nb@example.com,+14155550124\n")
    assert first.json()["created"] == 2
    clash = _import(server, headers, "email,phone\na@example.com,+14155550124\n", on_duplicate="update").json()
    assert clash["failed"] == 1 and "belong to another lead" in clash["errors"][0]["message"]


def test_a_dry_run_reports_everything_and_writes_no_lead(server: LiveNudge) -> None:
    business_id, headers = _key(server)
    before = _fingerprint(server, business_id)
    body = _import(server, headers, SPANISH, default_country="MX", dry_run=True).json()
    assert (body["dry_run"], body["created"], body["failed"]) == (True, 2, 4)
    assert _fingerprint(server, business_id) == before
    report = server.client.get(body["report_url"], headers=headers)
    assert report.status_code == 200 and len(report.text.splitlines()) == 5


def test_jsonl_with_a_mapping_and_the_three_ways_to_start(server: LiveNudge) -> None:
    business_id, headers = _key(server)
    at = datetime(2031, 1, 6, 12, 0, tzinfo=UTC)
    rows = [
        {"Cliente": "Rui", "Celular 2": "+55 11 98765-0001", "Fone": "ignored", "Plano": "ouro", "Idioma": "Português"},
        {"Cliente": "Ema", "Celular 2": "+55 11 98765-0002", "Interno": 5},
    ]
    data = "\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n\nnot json\n[1]\n"
    mapping = {"Celular 2": "phone", "Fone": "ignore", "Cliente": "name"}
    body = _import(server, headers, data, format="jsonl", mapping=mapping, start="at", start_at=at.isoformat()).json()
    assert (body["created"], body["failed"]) == (2, 2)
    assert [(e["row"], e["column"]) for e in body["errors"]] == [(4, ""), (5, "")]
    assert body["columns"]["Plano"] == "metadata" and body["columns"]["Idioma"] == "locale"
    leads = {lead.name: lead for lead in _leads(server, business_id)}
    assert leads["Rui"].extra == {"Plano": "ouro"} and leads["Rui"].locale == "pt"
    assert leads["Ema"].extra == {"Interno": 5}
    with server.runtime.sessions() as session:
        created = session.execute(
            sa.select(LeadEvent.lead_id, LeadEvent.available_at).where(
                LeadEvent.business_id == business_id, LeadEvent.kind == "lead_created"
            )
        ).all()
    assert {available for _, available in created} == {at}

    _, headers = _key(server)
    quiet = _import(server, headers, "phone\n+5511987650003\n", start="on_reply").json()
    assert quiet["created"] == 1
    with server.runtime.sessions() as session:
        lead = session.scalars(sa.select(Lead).where(Lead.phone == "+5511987650003")).one()
        kinds = session.scalars(sa.select(LeadEvent.kind).where(LeadEvent.lead_id == lead.id)).all()
        decisions = session.scalars(sa.select(LeadActivity.detail).where(LeadActivity.lead_id == lead.id)).all()
    assert kinds == [], "the sequence waits for the lead's next message"
    assert len(decisions) == 1 and "next message" in decisions[0]


def test_hostile_jsonl_rows_are_row_errors_and_the_rest_is_imported(server: LiveNudge) -> None:
    business_id, headers = _key(server)
    lines = [
        '{"email": "ok@example.com", "Plan": {"deep": [1, 2, {"x": "y"}]}}',
        '{"email": "nan@example.com", "score": NaN}',
        '{"email": "big@example.com", "score": 1e400}',
        '{"email": "nul@example.com", "Notes": "a\\u0000b"}',
        "[" * 100,
        '{"email": "long@example.com", "phone": "' + "1" * 300 + '"}',
    ]
    body = _import(server, headers, "\n".join(lines), format="jsonl").json()
    assert (body["created"], body["failed"]) == (1, 5), body
    assert [e["row"] for e in body["errors"]] == [2, 3, 4, 5, 6]
    (lead,) = _leads(server, business_id)
    assert lead.extra == {"Plan": {"deep": [1, 2, {"x": "y"}]}}


@pytest.mark.parametrize(
    ("options", "needle"),
    [
        ({"data": "email\na@example.com\n", "mapping": {"Email": "telefono"}}, "mapping"),
        ({"data": "email\na@example.com\n", "mapping": {"Celular": "phone"}}, "no column 'Celular'"),
        ({"data": "email\na@example.com\n", "start": "at"}, "start_at"),
        ({"data": "email\na@example.com\n", "start_at": "2031-01-01T00:00:00"}, "start_at"),
        ({"data": "email\na@example.com\n", "default_country": "Mexico"}, "default_country"),
        ({"data": "email\na@example.com\u0000\n"}, "control character"),
        ({"data": ""}, "data"),
        ({"data": "\n\n"}, "empty"),
        ({"data": "email,email\na@example.com,b@example.com\n"}, "appears twice"),
        ({"data": "email\na@example.com\n", "format": "xlsx"}, "format"),
        ({"data": "email\na@example.com\n", "surprise": 1}, "surprise"),
    ],
)
def test_bad_requests_are_422_naming_the_problem(server: LiveNudge, options: dict[str, Any], needle: str) -> None:
    business_id, headers = _key(server)
    answer = server.client.post("/v1/leads/import", headers=headers, json=options)
    assert answer.status_code == 422, answer.text
    assert needle in answer.json()["error"]["message"]
    assert _leads(server, business_id) == []


def test_a_file_over_the_row_limit_is_refused_whole(server: LiveNudge, monkeypatch: pytest.MonkeyPatch) -> None:
    import api.routes.lead_import as route

    monkeypatch.setattr(route, "MAX_ROWS", 3)
    business_id, headers = _key(server)
    data = "email\n" + "".join(f"l{n}@example.com\n" for n in range(4))
    answer = _import(server, headers, data)
    assert answer.status_code == 422 and "more than 3 rows" in answer.json()["error"]["message"]
    assert _leads(server, business_id) == [], "nothing of the batches before the limit stays"
    with server.runtime.sessions() as session:
        assert (
            session.scalar(
                sa.select(sa.func.count()).select_from(LeadImport).where(LeadImport.business_id == business_id)
            )
            == 0
        )


def test_an_imported_lead_starting_now_gets_touch_one(live: LiveNudge) -> None:
    """Through the dispatcher: imported leads follow the same path as `POST /v1/leads`."""
    business_id, key = live.business("Now Co", email_from="Now <hi@now.example>")
    answer = _import(live, live.auth(key), "email,name\nnow@example.com,Nora\n")
    assert answer.json()["created"] == 1

    def sent() -> bool:
        with live.runtime.sessions() as session:
            return bool(
                session.scalar(
                    sa.select(sa.func.count())
                    .select_from(Message)
                    .where(Message.business_id == business_id, Message.touch == 1, Message.direction == "out")
                )
            )

    wait_until(sent, 10.0, what="touch 1 for the imported lead")


# ----------------------------------------------------------------------------- the rules alone


@pytest.mark.parametrize(
    ("header", "field"),
    [
        ("Name", "name"),
        ("Nombre completo", "name"),
        ("nome", "name"),
        ("Teléfono", "phone"),
        ("TELEFONE", "phone"),
        ("Celular", "phone"),
        ("WhatsApp", "phone"),
        ("E-mail", "email"),
        ("Correo electrónico", "email"),
        ("external_id", "external_id"),
        ("Consentimento WhatsApp", "consent_whatsapp"),
        ("email opt-in", "consent_email"),
        ("Observações", "message"),
        ("Fuso horário", "timezone"),
        ("Apellido", "last_name"),
        ("Cidade", "metadata"),
    ],
)
def test_header_names_in_english_spanish_and_portuguese(header: str, field: str) -> None:
    assert guess_field(header) == field


def test_first_and_last_name_columns_make_the_name_and_semicolons_separate() -> None:
    checker = RowChecker(ImportOptions(default_country="BR"))
    ((number, record),) = records("Primeiro nome;Sobrenome;Celular\nJoão;Silva;(11) 98765-4321\n", "csv")
    assert isinstance(record, dict)
    row = checker.check(number, record)
    assert not isinstance(row, list)
    assert (row.lead.name, row.lead.phone) == ("João Silva", "+5511987654321")


def test_options_that_cannot_work_are_refused_before_any_row() -> None:
    with pytest.raises(ImportProblem, match="start_at"):
        ImportOptions(start="at")
    with pytest.raises(ImportProblem, match="unknown field"):
        ImportOptions(mapping={"A": "phone_number"})
    with pytest.raises(ImportProblem, match="offset"):
        ImportOptions(start="at", start_at=datetime(2031, 1, 1) + timedelta(0))
