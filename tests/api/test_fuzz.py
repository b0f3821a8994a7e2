"""Generated and hostile requests against the live API, on SQLite and PostgreSQL.

1. Schemathesis with every check (status codes, content types, headers, bodies against the schema,
   positive and negative data, missing headers, undeclared methods and their Allow header, auth,
   use after free...) through all its phases, the stateful one included: /openapi.json must be
   exact, and nothing may answer 500.
2. Hostile shapes in every parameter and body field of every operation and webhook (signed as
   Twilio and the mail provider sign them): NUL and other control characters, 200k-character
   strings, deep nesting, huge integers, naive datetimes, malformed numbers. Every answer is a 4xx
   or a 2xx, within the client's timeout, while a watchdog sees /healthz answer (no request freezes the server).

Bounded so both stay within a few minutes on 2 cores; NUDGE_FUZZ_EXAMPLES=200 digs deeper.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import httpx
import pytest
import schemathesis
from schemathesis.config import SchemathesisConfig
from schemathesis.engine import events, from_schema
from twilio.request_validator import RequestValidator

from api.app import create_app
from nudge.db import transaction
from nudge.signing import sign
from nudge.tenants import create_agency, create_business
from tests.conftest import LiveNudge, live_nudge
from tests.support.twilio_stub import DEFAULT_AUTH_TOKEN

EXAMPLES = int(os.environ.get("NUDGE_FUZZ_EXAMPLES", "8"))
EMAIL_SECRET = "fuzz-email-inbound-secret"
# A request that blocks the event loop (a quadratic pattern on 200k characters, a parse without a
# depth limit) stalls /healthz for many seconds; a busy 2-core machine alone can reach about one.
FROZEN_SECONDS = 3.0
MAILGUN_KEY = "fuzz-mailgun-signing-key"
WHATSAPP_FROM, SMS_FROM, EMAIL_FROM = "+14155550100", "+14155550101", "hi@fuzz.example"


@dataclass
class Target:
    live: LiveNudge
    headers: dict[str, str]
    ids: dict[str, str] = field(default_factory=dict)  # a real id for each path parameter name
    booking: dict[str, tuple[str, str]] = field(default_factory=dict)  # provider -> (integration id, secret)
    # The business's own email provider connections: provider -> (URL path, basic-auth password)
    email: dict[str, tuple[str, str]] = field(default_factory=dict)


@pytest.fixture
def target(any_database_url: str, tmp_path: Path) -> Iterator[Target]:
    settings: dict[str, Any] = {
        "NUDGE_RATE_LIMIT_PER_SECOND": 0,
        "NUDGE_WEBHOOK_RATE_PER_SECOND": 0,
        "NUDGE_EMAIL_INBOUND_SECRET": EMAIL_SECRET,
        "NUDGE_MAILGUN_SIGNING_KEY": MAILGUN_KEY,
    }
    with live_nudge(any_database_url, tmp_path, twilio=False, **settings) as live:
        now = live.runtime.clock.now()
        with transaction(live.runtime.sessions) as session:
            agency = create_agency(session, name="Fuzz agency", now=now)
            senders = {"whatsapp_from": WHATSAPP_FROM, "sms_from": SMS_FROM, "email_from": EMAIL_FROM}
            business = create_business(session, name="Fuzz", now=now, agency_id=agency.agency.id, fields=senders)
            headers = {"Authorization": f"Bearer {agency.api_key}", "X-Nudge-Tenant": business.business.id}
        yield Target(live, headers)


# ----------------------------------------------------------------------------- 1. schemathesis

# Operations whose rules go beyond what JSON Schema can say (a real phone number, an IANA zone,
# "a phone or an email", a sequence's order of touches, a signature): a schema-valid request may
# still get the 4xx named here. Every other operation must accept any schema-valid request.
BEYOND_SCHEMA: dict[str, list[str]] = {
    "POST /v1/leads": ["422"],
    "POST /v1/leads/{lead_id}/events": ["422"],
    "POST /v1/leads/import": ["422"],  # a mapping naming a column the file lacks, start_at with start=at
    "GET /v1/leads": ["422"],  # a cursor it did not hand out
    "PATCH /v1/business": ["422"],
    "POST /v1/businesses": ["422"],
    "PUT /v1/sequence": ["422"],
    "POST /v1/case-studies": ["422"],
    "GET /v1/case-studies": ["422"],
    "GET /v1/case-studies/match": ["422"],
    "POST /v1/reps": ["422"],
    "POST /v1/keys": ["400", "422"],
    "POST /v1/handoffs/{handoff_id}/resolve": ["422"],
    "POST /v1/handoffs/{handoff_id}/reply": ["422"],
    "GET /v1/reports/attribution": ["422"],
    "POST /v1/webhook-endpoints": ["422"],  # a URL agent.outbound_urls refuses
    "PATCH /v1/webhook-endpoints/{endpoint_id}": ["422"],
    "POST /v1/booking-integrations/{integration_id}/rotate": ["400"],  # the same secret again
    # Signed by the provider: schemathesis cannot sign, part 2 below does.
    "POST /webhooks/twilio/inbound": ["400", "403", "415"],
    "POST /webhooks/twilio/status": ["400", "403", "415"],
    "POST /webhooks/booking/{integration_id}": ["401"],
    "POST /webhooks/email/inbound": ["403"],
    # A host the address rules refuse; a first configuration without its password.
    "PUT /v1/email-inbox": ["422"],
    # A field the provider does not use (signing_key for Postmark, rotate_password for Mailgun),
    # or Mailgun first configured without its signing key.
    "PUT /v1/email-providers/{provider}": ["422"],
}
ACCEPTED = ["2xx", "3xx", "401", "403", "404", "409", "429"]


def _config(headers: dict[str, str]) -> SchemathesisConfig:
    return SchemathesisConfig.from_dict(
        {
            "headers": headers,
            "workers": 1,
            "generation": {"max-examples": EXAMPLES, "allow-x00": True},
            "phases": {"stateful": {"max-steps": 5 * EXAMPLES}},
            "checks": {"enabled": True},
            "operations": [
                {
                    "include-name": name,
                    "checks": {"positive_data_acceptance": {"expected-statuses": ACCEPTED + extra}},
                }
                for name, extra in BEYOND_SCHEMA.items()
            ]
            + [
                # A provider slot nobody configured (or one deleted) answers 200 `configured: false`,
                # as /v1/email-inbox does: reading it after a DELETE is not a use after free.
                {"include-name": "GET /v1/email-providers/{provider}", "checks": {"use_after_free": {"enabled": False}}}
            ],
        }
    )


@pytest.mark.slow
def test_schemathesis_finds_nothing_with_every_check(target: Target) -> None:
    schema = schemathesis.openapi.from_url(f"{target.live.url}/openapi.json", config=_config(target.headers))
    failures: dict[tuple[str, str, str], str] = {}
    phases: dict[str, str] = {}
    for event in from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished):
            for checks in event.recorder.checks.values():
                for check in checks:
                    if check.failure_info is not None:
                        failure = check.failure_info.failure
                        key = (event.recorder.label, check.name, failure.title)
                        failures.setdefault(key, f"{failure.message}\n{check.failure_info.code_sample}"[:1200])
        elif isinstance(event, events.NonFatalError | events.FatalError):
            failures[("engine", "error", repr(event)[:200])] = ""
        elif isinstance(event, events.PhaseFinished):
            phases[event.phase.name.name] = event.status.value
    report = "\n\n".join(f"{label} [{check}] {title}\n{detail}" for (label, check, title), detail in failures.items())
    assert failures == {}, report
    assert {"COVERAGE", "FUZZING", "STATEFUL_TESTING"} <= set(phases), phases


def test_the_schema_declares_every_error_a_route_can_answer() -> None:
    paths = create_app(run_workers=False).openapi()["paths"]
    missing = []
    for path, item in paths.items():
        for method, operation in item.items():
            expected = {"413"} | ({"401", "404", "422", "429"} if path.startswith("/v1") else set())
            expected |= {"429"} if path.startswith(("/webhooks", "/r/")) else set()
            declared = set(operation.get("responses", {}))
            if expected - declared:
                missing.append(f"{method.upper()} {path}: {sorted(expected - declared)}")
    assert missing == []


# ----------------------------------------------------------------------------- 2. hostile shapes

LONG = "x" * 200_000
HOSTILE_STRINGS = [
    "nul\x00byte",
    "\x01\x02\x1b[31m\x7f\u200b\ufeff\ud7ff",
    LONG,
    "2026-01-01T00:00:00",  # a datetime without a zone
    "+1415555ABCD",
    "whatsapp:+5215512345678",
    "-1",
    "NaN",
    "9" * 5000,
]
# Whole JSON values, written as text: Python's json could not even write some of them.
HOSTILE_JSON = [
    "[" * 5000 + "]" * 5000,
    "1" + "0" * 5000,
    "1e400",
    "-0.0",
    '{"\\u0000": "\\u0000"}',
    json.dumps(["a"] * 100_000),
]
# The least a body needs to get past its first validation, so hostile fields reach deeper code.
BASES: dict[str, dict[str, Any]] = {
    "POST /v1/leads": {"email": "lead@fuzz.example", "message": "hello"},
    "POST /v1/businesses": {"name": "Fuzzed"},
    "POST /v1/reps": {"name": "Rep", "email": "rep@fuzz.example"},
    "POST /v1/keys": {"kind": "business"},
    "POST /v1/leads/{lead_id}/events": {"type": "converted"},
    "POST /v1/handoffs/{handoff_id}/resolve": {"outcome": "won"},
    "POST /v1/handoffs/{handoff_id}/reply": {"text": "hi"},
    "POST /v1/case-studies": {"title": "T", "industry": "dental", "body": "A case."},
    "POST /v1/booking-integrations": {"provider": "generic"},
}


class Watchdog(threading.Thread):
    """Polls /healthz while the hostile requests run: no request may freeze the server."""

    def __init__(self, url: str) -> None:
        super().__init__(name="healthz-watchdog", daemon=True)
        self.url, self.stop = url, threading.Event()
        self.current = ""  # the hostile request in flight
        self.slow: dict[str, float] = {}  # request in flight -> seconds /healthz took, if frozen

    def run(self) -> None:
        with httpx.Client(timeout=30) as client:
            while not self.stop.wait(0.2):
                started, during = time.perf_counter(), self.current
                client.get(f"{self.url}/healthz")
                took = time.perf_counter() - started
                if took >= FROZEN_SECONDS:
                    self.slow[during] = max(took, self.slow.get(during, 0.0))


def _requests(document: dict[str, Any], target: Target) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(label, method, httpx keyword arguments) for each hostile value in each place it can go."""
    for path, item in document["paths"].items():
        if path.startswith("/webhooks"):
            continue  # signed below
        for method, operation in item.items():
            label = f"{method.upper()} {path}"
            params = [p for p in operation.get("parameters", []) if p["name"].lower() != "x-nudge-tenant"]
            content = operation.get("requestBody", {}).get("content", {})
            schema = content.get("application/json", {}).get("schema", {})
            if "$ref" in schema:
                schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
            base = BASES.get(label, {})

            in_path = [p["name"] for p in params if p["in"] == "path"]

            def url(overrides: dict[str, str], path: str = path, in_path: list[str] = in_path) -> str:
                filled = path
                for name in in_path:
                    value = overrides.get(name, target.ids.get(name, "missing"))
                    filled = filled.replace("{" + name + "}", quote(value, safe=""))
                return filled

            for parameter in params:
                for text in HOSTILE_STRINGS:
                    value = text[:30_000]  # a URL is at most 64 KiB (httpx, and most servers)
                    where = parameter["in"]
                    kwargs: dict[str, Any] = {"url": url({parameter["name"]: value} if where == "path" else {})}
                    if where == "query":
                        kwargs["params"] = {parameter["name"]: value}
                    elif where == "header":
                        if len(value) > 1000 or not value.isprintable():
                            continue  # not sendable as a header
                        kwargs["headers"] = {parameter["name"]: value}
                    if content:
                        kwargs["json"] = base
                    yield f"{label} {where} {parameter['name']}={value[:30]!r}", method, kwargs
            if "application/json" not in content:
                continue
            for name in schema.get("properties", {}) or {"": None}:
                for value in HOSTILE_STRINGS:
                    body = {**base, name: value} if name else value
                    yield f"{label} body {name}={value[:30]!r}", method, {"url": url({}), "json": body}
                for raw in HOSTILE_JSON:
                    text = json.dumps(base)[:-1] + (", " if base else "") + f'"{name}": {raw}}}' if name else raw
                    kwargs = {"url": url({}), "content": text, "headers": {"Content-Type": "application/json"}}
                    yield f"{label} body {name}={raw[:30]}", method, kwargs


def _twilio_requests(target: Target) -> Iterator[tuple[str, str, dict[str, Any]]]:
    validator = RequestValidator(DEFAULT_AUTH_TOKEN)
    inbound = {
        "MessageSid": "SMfuzz0",
        "From": "whatsapp:+5511987654321",
        "To": f"whatsapp:{WHATSAPP_FROM}",
        "Body": "hi",
    }
    status = {"MessageSid": "SM0", "MessageStatus": "delivered", "ErrorCode": "63016"}
    for path, base in (("/webhooks/twilio/inbound", inbound), ("/webhooks/twilio/status", status)):
        for name in [*base, "ProfileName", "NumMedia", "WaId"]:
            for number, value in enumerate(HOSTILE_STRINGS):
                form = {**base, name: value}
                if name == "MessageSid":
                    form[name] = f"SM{number}{value}"
                signature = validator.compute_signature(f"{target.live.url}{path}", form)
                headers = {"X-Twilio-Signature": signature, "Content-Type": "application/x-www-form-urlencoded"}
                yield f"POST {path} {name}={value[:30]!r}", "post", {"url": path, "data": form, "headers": headers}


def _email_requests(target: Target) -> Iterator[tuple[str, str, dict[str, Any]]]:
    base = {"message_id": "<m0@fuzz>", "from": "lead@fuzz.example", "to": EMAIL_FROM, "subject": "Re", "text": "hi"}
    bodies: list[tuple[str, bytes]] = []
    for name in [*base, "type", "bounced_message_id", "bounce_type", "diagnostic"]:
        for number, value in enumerate(HOSTILE_STRINGS):
            fields = {**base, "message_id": f"<m{number}{name}@fuzz>", name: value}
            bodies.append((f"{name}={value[:30]!r}", json.dumps(fields).encode()))
        for raw in HOSTILE_JSON:
            bodies.append((f"{name}={raw[:30]}", (json.dumps(base)[:-1] + f', "{name}": {raw}}}').encode()))
    for raw in HOSTILE_JSON:
        bodies.append((f"body={raw[:30]}", raw.encode()))
    for label, body in bodies:
        stamp = int(target.live.runtime.clock.now().timestamp())
        headers = {"X-Nudge-Timestamp": str(stamp), "X-Nudge-Signature": sign(EMAIL_SECRET, stamp, body)}
        headers["Content-Type"] = "application/json"
        yield (
            f"POST /webhooks/email/inbound {label}",
            "post",
            {"url": "/webhooks/email/inbound", "content": body, "headers": headers},
        )


def _booking_requests(target: Target) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """Signed booking deliveries (generic and Cal.com) with hostile fields: stored, never a 500."""
    base = {"event": "booking.created", "uid": "fuzz-0", "invitee": {"email": "lead@fuzz.example"}, "ref": "x"}
    bodies: list[tuple[str, bytes]] = []
    for name in [*base, "previous_uid", "start_time"]:
        for number, value in enumerate(HOSTILE_STRINGS):
            fields: dict[str, Any] = {**base, "uid": f"fuzz-{number}-{name}", name: value}
            bodies.append((f"{name}={value[:30]!r}", json.dumps(fields).encode()))
        for raw in HOSTILE_JSON:
            bodies.append((f"{name}={raw[:30]}", (json.dumps(base)[:-1] + f', "{name}": {raw}}}').encode()))
    for raw in HOSTILE_JSON:
        bodies.append((f"body={raw[:30]}", raw.encode()))
    whole = {label for label, _ in bodies[-len(HOSTILE_JSON) :]}  # also sent as a Cal.com payload
    generic_id, generic_secret = target.booking["generic"]
    calcom_id, calcom_secret = target.booking["calcom"]
    for label, body in bodies:
        stamp = int(target.live.runtime.clock.now().timestamp())
        headers = {"X-Nudge-Timestamp": str(stamp), "X-Nudge-Signature": sign(generic_secret, stamp, body)}
        headers["Content-Type"] = "application/json"
        url = f"/webhooks/booking/{generic_id}"
        yield f"POST {url} {label}", "post", {"url": url, "content": body, "headers": headers}
        if label not in whole and not label.startswith("uid="):
            continue
        calcom = '{"triggerEvent": "BOOKING_CREATED", "payload": ' + body.decode(errors="replace") + "}"
        digest = hmac.new(calcom_secret.encode(), calcom.encode(), hashlib.sha256).hexdigest()
        url = f"/webhooks/booking/{calcom_id}"
        calcom_headers = {"X-Cal-Signature-256": digest, "Content-Type": "application/json"}
        yield f"POST {url} calcom {label}", "post", {"url": url, "content": calcom, "headers": calcom_headers}


def _provider_email_requests(target: Target) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """Postmark JSON and SendGrid forms behind basic auth, Mailgun forms signed: every field hostile,
    to the server-wide URLs and then to the business's own connections."""
    auth = "Basic " + base64.b64encode(f"inbound:{EMAIL_SECRET}".encode()).decode()
    for label, method, kwargs in _provider_email_shapes(target, auth):
        yield label, method, kwargs
        provider = str(kwargs["url"]).rsplit("/", 1)[1]
        path, password = target.email[provider]
        own = {**kwargs, "url": path}
        if "headers" in kwargs:
            own["headers"] = {
                **kwargs["headers"],
                "Authorization": "Basic " + base64.b64encode(f"n:{password}".encode()).decode(),
            }
        yield label.replace(str(kwargs["url"]), path), method, own


def _provider_email_shapes(target: Target, auth: str) -> Iterator[tuple[str, str, dict[str, Any]]]:
    postmark = {"FromFull": {"Email": "lead@fuzz.example"}, "ToFull": [{"Email": EMAIL_FROM}], "TextBody": "hi"}
    for name in [*postmark, "Headers", "Subject", "RawEmail", "MessageID"]:
        for value in HOSTILE_STRINGS:
            body = json.dumps({**postmark, name: value})
            headers = {"Authorization": auth, "Content-Type": "application/json"}
            kwargs = {"url": "/webhooks/email/postmark", "content": body, "headers": headers}
            yield f"POST /webhooks/email/postmark {name}={value[:30]!r}", "post", kwargs
    for raw in HOSTILE_JSON:
        kwargs = {"url": "/webhooks/email/postmark", "content": raw, "headers": {"Authorization": auth}}
        yield f"POST /webhooks/email/postmark body={raw[:30]}", "post", kwargs
    form = {"from": "lead@fuzz.example", "to": EMAIL_FROM, "subject": "Re", "text": "hi"}
    for name in [*form, "headers", "envelope", "email", "html"]:
        for value in HOSTILE_STRINGS:
            data = {**form, name: value}
            kwargs = {"url": "/webhooks/email/sendgrid", "data": data, "headers": {"Authorization": auth}}
            yield f"POST /webhooks/email/sendgrid {name}={value[:30]!r}", "post", kwargs
    mailgun = {"from": "lead@fuzz.example", "recipient": EMAIL_FROM, "subject": "Re", "body-plain": "hi"}
    for name in [*mailgun, "message-headers", "body-mime", "stripped-text", "In-Reply-To"]:
        for value in HOSTILE_STRINGS:
            stamp, token = str(int(target.live.runtime.clock.now().timestamp())), "t" * 50
            signature = hmac.new(MAILGUN_KEY.encode(), f"{stamp}{token}".encode(), hashlib.sha256).hexdigest()
            data = {**mailgun, name: value, "timestamp": stamp, "token": token, "signature": signature}
            kwargs = {"url": "/webhooks/email/mailgun", "data": data}
            yield f"POST /webhooks/email/mailgun {name}={value[:30]!r}", "post", kwargs


def _known_ids(target: Target) -> None:
    """Real ids for path parameters, so a hostile query or body reaches an existing object."""
    client, headers = target.live.client, target.headers
    lead = client.post("/v1/leads", json={"email": "known@fuzz.example", "message": "hi"}, headers=headers).json()
    rep = client.post("/v1/reps", json={"name": "Known", "email": "known-rep@fuzz.example"}, headers=headers).json()
    target.ids.update(lead_id=lead["id"], rep_id=rep["id"], handoff_id="hnd_none", study_id="cs_none")
    target.ids.update(token="notatoken", prefix="nk_none")
    for provider in ("generic", "calcom"):
        made = client.post("/v1/booking-integrations", json={"provider": provider}, headers=headers).json()
        target.booking[provider] = (made["id"], made["secret"])
    target.ids.update(integration_id=target.booking["generic"][0])
    imported = client.post("/v1/leads/import", json={"data": "email\nimported@fuzz.example\n"}, headers=headers)
    target.ids.update(import_id=imported.json()["id"])
    for provider, body in (("postmark", {}), ("sendgrid", {}), ("mailgun", {"signing_key": MAILGUN_KEY})):
        made = client.put(f"/v1/email-providers/{provider}", json=body, headers=headers).json()
        target.email[provider] = (urlsplit(made["inbound_url"]).path, made["password"] or "")


@pytest.mark.slow
def test_hostile_inputs_get_no_500_and_no_hang(target: Target) -> None:
    _known_ids(target)
    document = target.live.client.get("/openapi.json").json()
    watchdog = Watchdog(target.live.url)
    watchdog.start()
    failures: dict[str, str] = {}
    count = 0
    try:
        with httpx.Client(base_url=target.live.url, timeout=10) as client:
            for label, method, kwargs in [
                *_requests(document, target),
                *_twilio_requests(target),
                *_email_requests(target),
                *_booking_requests(target),
                *_provider_email_requests(target),
            ]:
                # A fresh connection each time: after a 500 the server drops the connection, and the
                # next request must not inherit that as its own failure.
                headers = {**target.headers, "Connection": "close", **kwargs.pop("headers", {})}
                count += 1
                watchdog.current = label
                try:
                    response = client.request(method.upper(), headers=headers, **kwargs)
                except httpx.HTTPError as exc:  # a timeout is a hang; a reset is a crash
                    failures[label] = f"{type(exc).__name__}: {exc}"
                    continue
                if response.status_code >= 500:
                    failures[label] = f"{response.status_code} {response.text[:300]}"
                elif "/emp_" in label and response.status_code in (401, 403):  # must reach the parser
                    failures[label] = f"a business's own connection refused its secret: {response.text[:300]}"
    finally:
        watchdog.stop.set()
        watchdog.join()
    assert count > 1000, "every operation and webhook should have been reached"
    assert failures == {}, "\n".join(f"{label}: {problem}" for label, problem in failures.items())
    assert watchdog.slow == {}, f"/healthz took over {FROZEN_SECONDS} s during: " + "; ".join(
        f"{label} ({seconds:.1f} s)" for label, seconds in watchdog.slow.items()
    )
