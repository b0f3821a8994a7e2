"""Two agencies × two businesses, every /v1 route, every key kind: foreign objects are 404, own work.

`CASES` is the one table of routes; the test fails when the app has a /v1 route it does not name,
so a route added later cannot skip the boundary check. To add a route: one `Case` line saying what
each key kind gets on its own business's objects (foreign access is always 404).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.app import create_app
from nudge.db import transaction
from nudge.models import Handoff
from nudge.tenants import create_agency, create_business
from tests.conftest import LiveNudge, live_nudge, postgres_schema

KINDS = ("business", "agency", "rep")
_numbers = itertools.count(100)


@dataclass
class Tenant:
    """One business and what it owns; `keys` by kind (the agency key acts with X-Nudge-Tenant)."""

    agency: str
    business_id: str
    keys: dict[str, str]
    rep_id: str
    other_rep_id: str
    lead_id: str
    study_id: str
    handoff_mine: str  # open, routed to `rep_id`
    handoff_other: str  # open, routed to `other_rep_id`
    spare_key_prefix: str
    endpoint_id: str
    integration_id: str
    import_id: str

    def headers(self, kind: str) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self.keys[kind]}"}
        if kind == "agency":
            headers["X-Nudge-Tenant"] = self.business_id
        return headers

    def ids(self) -> set[str]:
        return {
            self.business_id,
            self.rep_id,
            self.other_rep_id,
            self.lead_id,
            self.study_id,
            self.handoff_mine,
            self.handoff_other,
            self.spare_key_prefix,
            self.endpoint_id,
            self.integration_id,
            self.import_id,
        }


@dataclass
class World:
    live: LiveNudge
    tenants: dict[str, Tenant]  # A1, A2 (agency A), B1, B2 (agency B)

    def call(self, method: str, path: str, headers: dict[str, str], body: Any = None) -> httpx.Response:
        return self.live.client.request(method, path, headers=headers, json=body)

    # Fresh objects for "own" calls that change or consume them.
    def new_lead(self, tenant: Tenant) -> str:
        email = f"lead{next(_numbers)}@example.com"
        answer = self.call("POST", "/v1/leads", tenant.headers("business"), {"email": email, "name": "Ana"})
        assert answer.status_code == 201, answer.text
        return str(answer.json()["id"])

    def new_handoff(self, tenant: Tenant) -> str:
        return _handoff(self.live, tenant.business_id, self.new_lead(tenant), tenant.rep_id)

    def new_study(self, tenant: Tenant) -> str:
        study = {"title": f"Case {next(_numbers)}", "industry": "dental", "body": "Clinic filled its calendar."}
        answer = self.call("POST", "/v1/case-studies", tenant.headers("business"), study)
        assert answer.status_code == 201, answer.text
        return str(answer.json()["case_studies"][0]["id"])

    def new_endpoint(self, tenant: Tenant) -> str:
        return _endpoint(self.live, tenant.headers("business"))

    def new_import(self, tenant: Tenant) -> str:
        answer = self.call("POST", "/v1/leads/import", tenant.headers("business"), _import_body(self, tenant))
        assert answer.status_code == 201, answer.text
        return str(answer.json()["id"])

    def new_key(self, tenant: Tenant) -> str:
        answer = self.call("POST", "/v1/keys", tenant.headers("business"), {"kind": "rep", "rep_id": tenant.rep_id})
        assert answer.status_code == 201, answer.text
        return str(answer.json()["prefix"])

    def new_integration(self, tenant: Tenant) -> str:
        answer = self.call("POST", "/v1/booking-integrations", tenant.headers("business"), {"provider": "generic"})
        assert answer.status_code == 201, answer.text
        return str(answer.json()["id"])


def _endpoint(live: LiveNudge, headers: dict[str, str]) -> str:
    answer = live.client.post("/v1/webhook-endpoints", headers=headers, json={"url": "http://127.0.0.1:9/hook"})
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


def _handoff(live: LiveNudge, business_id: str, lead_id: str, rep_id: str) -> str:
    with transaction(live.runtime.sessions) as session:
        handoff = Handoff(
            business_id=business_id,
            lead_id=lead_id,
            assigned_rep_id=rep_id,
            summary={"reason": "boundary test"},
            created_at=live.runtime.clock.now(),
        )
        session.add(handoff)
        session.flush()
        return handoff.id


# Path parameter → (the standing object of a tenant, a fresh one for calls that change it).
Fresh = Callable[[World, Tenant], str]
PARAMS: dict[str, tuple[Callable[[Tenant], str], Fresh]] = {
    "lead_id": (lambda t: t.lead_id, World.new_lead),
    "handoff_id": (lambda t: t.handoff_mine, World.new_handoff),
    "study_id": (lambda t: t.study_id, World.new_study),
    "prefix": (lambda t: t.spare_key_prefix, World.new_key),
    "endpoint_id": (lambda t: t.endpoint_id, World.new_endpoint),
    "integration_id": (lambda t: t.integration_id, World.new_integration),
    "import_id": (lambda t: t.import_id, World.new_import),
}


def _import_body(world: World, tenant: Tenant) -> Any:
    return {"data": f"name,email\nImported,imp{next(_numbers)}@example.com\nBad,not-an-email\n"}


def _sequence(world: World, tenant: Tenant) -> Any:
    return world.call("GET", "/v1/sequence", tenant.headers("business")).json()


def _inbox(world: World, tenant: Tenant) -> Any:
    return {"host": "imap.example.com", "username": f"{tenant.business_id}@example.com", "password": "pw"}


@dataclass(frozen=True)
class Case:
    method: str
    route: str
    own: tuple[int, int, int]  # status on its own business for a (business, agency, rep) key
    body: Callable[[World, Tenant], Any] = lambda w, t: None
    fresh: bool = False  # the call changes or consumes the object: use a new one for each own call
    query: str = ""
    # Path parameters that name no object (a provider's name): the value every call uses.
    values: dict[str, str] = field(default_factory=dict)

    def path(self) -> str:
        path = self.route
        for name, value in self.values.items():
            path = path.replace("{" + name + "}", value)
        return path

    def status_for(self, kind: str) -> int:
        return dict(zip(KINDS, self.own, strict=True))[kind]


CASES: list[Case] = [
    Case("GET", "/v1/business", (200, 200, 404)),
    Case("PATCH", "/v1/business", (200, 200, 404), body=lambda w, t: {"handoff_sla_seconds": 600}),
    Case("POST", "/v1/businesses", (403, 201, 404), body=lambda w, t: {"name": f"Client {next(_numbers)}"}),
    Case("GET", "/v1/businesses", (403, 200, 404)),
    Case("GET", "/v1/sequence", (200, 200, 404)),
    Case("PUT", "/v1/sequence", (200, 200, 404), body=_sequence),
    Case("POST", "/v1/leads", (201, 201, 404), body=lambda w, t: {"email": f"new{next(_numbers)}@example.com"}),
    Case("GET", "/v1/leads", (200, 200, 404)),
    Case("GET", "/v1/leads", (200, 200, 404), query="?q=example&stage=new&limit=2"),
    Case("GET", "/v1/leads/{lead_id}", (200, 200, 404)),
    Case("GET", "/v1/leads/{lead_id}/messages", (200, 200, 404)),
    Case("POST", "/v1/leads/{lead_id}/events", (202, 202, 404), body=lambda w, t: {"type": "booked"}),
    Case("GET", "/v1/leads/{lead_id}/export", (200, 200, 404)),
    Case("DELETE", "/v1/leads/{lead_id}", (204, 204, 404), fresh=True),
    Case("POST", "/v1/leads/import", (201, 201, 404), body=_import_body),
    Case("GET", "/v1/lead-imports/{import_id}", (200, 200, 404)),
    Case("GET", "/v1/lead-imports/{import_id}/errors", (200, 200, 404)),
    Case(
        "POST",
        "/v1/case-studies",
        (201, 201, 404),
        body=lambda w, t: {"title": f"Study {next(_numbers)}", "industry": "dental", "body": "More patients."},
    ),
    Case("GET", "/v1/case-studies", (200, 200, 404)),
    Case("GET", "/v1/case-studies/match", (200, 200, 404), query="?text=my%20dental%20clinic"),
    Case("GET", "/v1/case-studies/{study_id}", (200, 200, 404)),
    Case("DELETE", "/v1/case-studies/{study_id}", (204, 204, 404), fresh=True),
    Case("POST", "/v1/reps", (201, 201, 404), body=lambda w, t: {"name": "Rob", "email": "rob@example.com"}),
    Case("GET", "/v1/reps", (200, 200, 404)),
    Case("GET", "/v1/handoffs", (200, 200, 200)),
    Case(
        "POST", "/v1/handoffs/{handoff_id}/claim", (200, 200, 200), body=lambda w, t: {"rep_id": t.rep_id}, fresh=True
    ),
    Case("POST", "/v1/handoffs/{handoff_id}/reply", (202, 202, 202), body=lambda w, t: {"text": "Hi!"}, fresh=True),
    Case(
        "POST", "/v1/handoffs/{handoff_id}/resolve", (200, 200, 200), body=lambda w, t: {"outcome": "won"}, fresh=True
    ),
    Case("GET", "/v1/keys", (200, 200, 404)),
    Case("POST", "/v1/keys", (201, 201, 404), body=lambda w, t: {"kind": "rep", "rep_id": t.rep_id}),
    Case("POST", "/v1/keys/{prefix}/rotate", (200, 200, 404), fresh=True),
    Case("DELETE", "/v1/keys/{prefix}", (204, 204, 404), fresh=True),
    Case("GET", "/v1/audit", (200, 200, 404)),
    Case("GET", "/v1/reports/attribution", (200, 200, 404), query="?model=markov"),
    Case("GET", "/v1/reports/funnel", (200, 200, 404)),
    Case("POST", "/v1/webhook-endpoints", (201, 201, 404), body=lambda w, t: {"url": "http://127.0.0.1:9/new"}),
    Case("GET", "/v1/webhook-endpoints", (200, 200, 404)),
    Case("GET", "/v1/webhook-endpoints/{endpoint_id}", (200, 200, 404)),
    Case("PATCH", "/v1/webhook-endpoints/{endpoint_id}", (200, 200, 404), body=lambda w, t: {"description": "crm"}),
    Case("DELETE", "/v1/webhook-endpoints/{endpoint_id}", (204, 204, 404), fresh=True),
    Case(
        "POST", "/v1/webhook-endpoints/{endpoint_id}/rotate-secret", (200, 200, 404), body=lambda w, t: {}, fresh=True
    ),
    Case("GET", "/v1/webhook-endpoints/{endpoint_id}/deliveries", (200, 200, 404)),
    Case(
        "POST",
        "/v1/webhook-endpoints/{endpoint_id}/replay",
        (202, 202, 404),
        body=lambda w, t: {"since": "2026-01-01T00:00:00Z"},
    ),
    Case("PUT", "/v1/connectors/hubspot", (200, 200, 404), body=lambda w, t: {"token": "pat-na1-boundary"}),
    Case("GET", "/v1/connectors", (200, 200, 404)),
    Case("DELETE", "/v1/connectors/hubspot", (204, 204, 404)),
    Case("POST", "/v1/booking-integrations", (201, 201, 404), body=lambda w, t: {"provider": "calcom"}),
    Case("GET", "/v1/booking-integrations", (200, 200, 404)),
    Case("POST", "/v1/booking-integrations/{integration_id}/rotate", (200, 200, 404), body=lambda w, t: {}, fresh=True),
    Case("DELETE", "/v1/booking-integrations/{integration_id}", (204, 204, 404), fresh=True),
    Case("GET", "/v1/bookings", (200, 200, 404)),
    Case("GET", "/v1/email-inbox", (200, 200, 404)),
    Case("PUT", "/v1/email-inbox", (200, 200, 404), body=_inbox),
    Case("DELETE", "/v1/email-inbox", (204, 204, 404)),
    Case("GET", "/v1/email-providers", (200, 200, 404)),
    Case("GET", "/v1/email-providers/{provider}", (200, 200, 404), values={"provider": "postmark"}),
    Case(
        "PUT",
        "/v1/email-providers/{provider}",
        (200, 200, 404),
        body=lambda w, t: {"signing_key": "key-boundary-1"},
        values={"provider": "mailgun"},
    ),
    Case("DELETE", "/v1/email-providers/{provider}", (204, 204, 404), values={"provider": "sendgrid"}),
]


def _path_param(route: str) -> str | None:
    return next((name for name in PARAMS if "{" + name + "}" in route), None)


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    tmp: Path = tmp_path_factory.mktemp("boundary")
    with ExitStack() as stack:
        url = f"sqlite:///{tmp / 'nudge.db'}" if request.param == "sqlite" else stack.enter_context(postgres_schema())
        # Workers off: the runs the calls trigger are not under test here; limits off: hundreds of calls.
        live = stack.enter_context(live_nudge(url, tmp, twilio=False, workers=False, NUDGE_RATE_LIMIT_PER_SECOND=0))
        yield World(live=live, tenants=_tenants(live))


def _tenants(live: LiveNudge) -> dict[str, Tenant]:
    now = live.runtime.clock.now()
    made: dict[str, tuple[str, str, str]] = {}
    with transaction(live.runtime.sessions) as session:
        for agency_name in ("A", "B"):
            agency = create_agency(session, name=f"Agency {agency_name}", now=now)
            for n in (1, 2):
                number = next(_numbers)
                created = create_business(
                    session,
                    name=f"{agency_name}{n}",
                    now=now,
                    agency_id=agency.agency.id,
                    fields={
                        "whatsapp_from": f"+1415555{number:04d}",
                        "sms_from": f"+1415556{number:04d}",
                        "email_from": f"hi{number}@example.com",
                    },
                )
                made[f"{agency_name}{n}"] = (agency.api_key, created.business.id, created.api_key)
            del agency
    tenants = {}
    for name, (agency_key, business_id, business_key) in made.items():
        headers = {"Authorization": f"Bearer {business_key}"}
        reps = [
            live.client.post("/v1/reps", headers=headers, json={"name": f"Rep {r}", "email": f"r{r}@example.com"})
            for r in (1, 2)
        ]
        rep_id, other_rep_id = (r.json()["id"] for r in reps)
        rep_key = live.client.post("/v1/keys", headers=headers, json={"kind": "rep", "rep_id": rep_id}).json()
        spare = live.client.post("/v1/keys", headers=headers, json={"kind": "business", "label": "spare"}).json()
        lead_id = live.client.post("/v1/leads", headers=headers, json={"email": f"{name}@example.com"}).json()["id"]
        study = {"title": f"{name} case", "industry": "dental", "body": "A clinic doubled bookings."}
        study_id = live.client.post("/v1/case-studies", headers=headers, json=study).json()["case_studies"][0]["id"]
        integration = live.client.post("/v1/booking-integrations", headers=headers, json={"provider": "calendly"})
        imported = {"data": f"email\nimport-{name}@example.com\n"}
        import_id = live.client.post("/v1/leads/import", headers=headers, json=imported).json()["id"]
        tenants[name] = Tenant(
            agency=name[0],
            business_id=business_id,
            keys={"business": business_key, "agency": agency_key, "rep": rep_key["api_key"]},
            rep_id=rep_id,
            other_rep_id=other_rep_id,
            lead_id=lead_id,
            study_id=study_id,
            handoff_mine=_handoff(live, business_id, lead_id, rep_id),
            handoff_other=_handoff(live, business_id, lead_id, other_rep_id),
            spare_key_prefix=spare["prefix"],
            endpoint_id=_endpoint(live, headers),
            integration_id=integration.json()["id"],
            import_id=import_id,
        )
    return tenants


def test_every_v1_route_has_a_boundary_case() -> None:
    # The OpenAPI schema lists every route the app serves (included routers are nested objects).
    paths = create_app(run_workers=False).openapi()["paths"]
    routes = {(method.upper(), path) for path, item in paths.items() if path.startswith("/v1") for method in item}
    covered = {(case.method, case.route) for case in CASES}
    assert routes - covered == set(), "add a Case for every /v1 route (foreign access must be 404)"
    assert covered - routes == set(), "a Case names a route the app does not have"


@dataclass
class Attempt:
    case: Case
    kind: str
    actor: str
    target: str
    status: int
    body: str = field(repr=False)


def _foreign_attempts(world: World, case: Case) -> Iterator[Attempt]:
    """The actor's key against another business: the other agency's, and (same agency) a sibling's."""
    param = _path_param(case.route)
    for actor_name, target_name in (("A1", "B1"), ("A1", "A2"), ("B2", "A1")):
        actor, target = world.tenants[actor_name], world.tenants[target_name]
        for kind in KINDS:
            if param is not None:
                path = case.path().replace("{" + param + "}", PARAMS[param][0](target))
                headers = actor.headers(kind)
            elif kind == "agency" and actor.agency == target.agency:
                continue  # an agency naming its own other business is not foreign
            else:  # a collection: name the foreign business as the tenant
                path, headers = case.path(), {**actor.headers(kind), "X-Nudge-Tenant": target.business_id}
            answer = world.call(case.method, path + case.query, headers, case.body(world, actor))
            yield Attempt(case, kind, actor_name, target_name, answer.status_code, answer.text)


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.method} {c.route}")
def test_foreign_objects_are_not_found_with_every_key_kind(world: World, case: Case) -> None:
    wrong = [a for a in _foreign_attempts(world, case) if a.status != 404]
    assert wrong == [], [(a.kind, a.actor, a.target, a.status, a.body[:200]) for a in wrong]
    # And nothing of theirs changed: the standing objects are still there, untouched.
    for tenant in world.tenants.values():
        headers = tenant.headers("business")
        assert world.call("GET", f"/v1/leads/{tenant.lead_id}", headers).status_code == 200
        assert world.call("GET", f"/v1/case-studies/{tenant.study_id}", headers).status_code == 200
        handoffs = world.call("GET", "/v1/handoffs?status=open", headers).json()["handoffs"]
        assert {tenant.handoff_mine, tenant.handoff_other} <= {h["id"] for h in handoffs}
        keys = world.call("GET", f"/v1/keys?prefix={tenant.spare_key_prefix}", headers).json()["keys"]
        assert keys and keys[0]["revoked_at"] is None


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.method} {c.route}")
def test_own_objects_work_and_lists_hold_nothing_foreign(world: World, case: Case) -> None:
    param = _path_param(case.route)
    tenant = world.tenants["A1"]
    for kind in KINDS:
        path = case.path()
        if param is not None:
            standing, fresh = PARAMS[param]
            path = path.replace("{" + param + "}", fresh(world, tenant) if case.fresh else standing(tenant))
        answer = world.call(case.method, path + case.query, tenant.headers(kind), case.body(world, tenant))
        assert answer.status_code == case.status_for(kind), (kind, answer.status_code, answer.text[:300])
        # The other agency's ids never appear; a business or rep key sees no sibling's either.
        foreign = {"B1", "B2"} if kind == "agency" else {"A2", "B1", "B2"}
        leaked = [i for name in foreign for i in world.tenants[name].ids() if i in answer.text]
        assert leaked == [], (kind, leaked)


def test_a_rep_key_reaches_only_its_own_handoffs(world: World) -> None:
    tenant = world.tenants["A2"]
    rep = tenant.headers("rep")
    listed = {h["id"] for h in world.call("GET", "/v1/handoffs", rep).json()["handoffs"]}
    assert tenant.handoff_mine in listed and tenant.handoff_other not in listed
    for action, body in (("claim", {}), ("reply", {"text": "hello"}), ("resolve", {"outcome": "lost"})):
        path = f"/v1/handoffs/{tenant.handoff_other}/{action}"
        assert world.call("POST", path, rep, body).status_code == 404, action
    # Naming another rep of the same business is not found either.
    mine = f"/v1/handoffs/{tenant.handoff_mine}/claim"
    assert world.call("POST", mine, rep, {"rep_id": tenant.other_rep_id}).status_code == 404
    # Once a business key has claimed a handoff for another rep, the rep key still cannot reach it.
    lead_id = world.new_lead(tenant)
    theirs = _handoff(world.live, tenant.business_id, lead_id, tenant.rep_id)
    claim = {"rep_id": tenant.other_rep_id}
    assert world.call("POST", f"/v1/handoffs/{theirs}/claim", tenant.headers("business"), claim).status_code == 200
    assert world.call("POST", f"/v1/handoffs/{theirs}/reply", rep, {"text": "x"}).status_code == 404
    listed = {h["id"] for h in world.call("GET", "/v1/handoffs", rep).json()["handoffs"]}
    assert theirs not in listed
