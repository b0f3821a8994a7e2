"""GET /v1/leads: filters, search and a cursor that new leads cannot shift, on SQLite and PostgreSQL."""

from __future__ import annotations

import itertools
import typing
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from agent import stages
from api.lead_listing import CursorError, decode_cursor, encode_cursor, search_terms
from api.routes.leads import Stage
from nudge.db import transaction
from nudge.models import Lead
from nudge.tenants import create_agency, create_business
from tests.conftest import LiveNudge, live_nudge, postgres_schema

_numbers = itertools.count(1)

# --------------------------------------------------------------------------- plain functions


def test_a_cursor_round_trips_and_anything_else_is_refused() -> None:
    at = datetime(2026, 3, 1, 12, 30, 5, 123456, tzinfo=UTC)
    assert decode_cursor(encode_cursor(at, "lead_01abc")) == (at, "lead_01abc")
    for bad in ("", "x", "!!!", "bnVsbA", encode_cursor(at, "lead")[:-3], "WzIsIjIwMjYiLCJ4Il0"):
        with pytest.raises(CursorError):
            decode_cursor(bad)


def test_search_looks_for_digits_only_when_there_are_enough_to_be_a_phone_number() -> None:
    assert search_terms("  Ana   Souza ") == ("Ana Souza", None)
    assert search_terms("+55 11 98765") == ("+55 11 98765", "551198765")
    assert search_terms("r2d2") == ("r2d2", None)


def test_the_stage_parameter_names_every_stage() -> None:
    assert set(typing.get_args(Stage)) == set(stages.ALL)


# --------------------------------------------------------------------------- through the API


@dataclass
class Shop:
    live: LiveNudge
    headers: dict[str, str]
    other_headers: dict[str, str]  # a sibling business of the same agency
    ids: dict[str, str]  # name -> lead id

    def get(self, query: str = "", headers: dict[str, str] | None = None) -> Any:
        answer = self.live.client.get(f"/v1/leads{query}", headers=headers or self.headers)
        assert answer.status_code == 200, answer.text
        return answer.json()

    def names(self, query: str = "") -> list[str]:
        return [lead["name"] for lead in self.get(query)["leads"]]

    def add(self, name: str, **fields: Any) -> str:
        body = {"name": name, "email": f"l{next(_numbers)}@example.com", **fields}
        answer = self.live.client.post("/v1/leads", headers=self.headers, json=body)
        assert answer.status_code == 201, answer.text
        return str(answer.json()["id"])


LEADS: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
    # name, POST body, columns set afterwards (what runs would have written)
    ("Ana Souza", {"phone": "+5511987654321", "source": "facebook", "industry": "dental"}, {"stage": "qualifying"}),
    ("Bob Stone", {"email": "bob@stone.example", "source": "form"}, {"stage": "escalated", "score": 85}),
    ("Carla 100% Real", {"source": "google", "industry": "legal"}, {"score": 40, "last_channel": "whatsapp"}),
    ("Dan_Underscore", {"source": "google", "industry": "dental"}, {"stage": "won", "score": 90}),
    ("Eve", {"phone": "+14155550123", "source": "form"}, {"score": 10}),
]


def _shop(live: LiveNudge) -> Shop:
    now = live.runtime.clock.now()
    with transaction(live.runtime.sessions) as session:
        agency = create_agency(session, name="Agency", now=now)
        one = create_business(session, name="One", now=now, agency_id=agency.agency.id)
        two = create_business(session, name="Two", now=now, agency_id=agency.agency.id)
        keys = (agency.api_key, one.business.id, two.business.id)
    agency_key, one_id, two_id = keys
    shop = Shop(
        live,
        {"Authorization": f"Bearer {agency_key}", "X-Nudge-Tenant": one_id},
        {"Authorization": f"Bearer {agency_key}", "X-Nudge-Tenant": two_id},
        {},
    )
    for name, body, _ in LEADS:
        shop.ids[name] = shop.add(name, **body)
    # The sibling's lead shares a name: it must never show up in One's lists.
    answer = live.client.post("/v1/leads", headers=shop.other_headers, json={"name": "Ana Other", "email": "a@x.io"})
    assert answer.status_code == 201
    base = datetime(2026, 1, 10, tzinfo=UTC)
    with transaction(live.runtime.sessions) as session:
        for day, (name, _, columns) in enumerate(LEADS):
            values = {"created_at": base + timedelta(days=day), **columns}
            session.execute(sa.update(Lead).where(Lead.id == shop.ids[name]).values(**values))
    return shop


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def shop(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shop]:
    tmp: Path = tmp_path_factory.mktemp("listing")
    with ExitStack() as stack:
        url = f"sqlite:///{tmp / 'nudge.db'}" if request.param == "sqlite" else stack.enter_context(postgres_schema())
        live = stack.enter_context(live_nudge(url, tmp, twilio=False, workers=False, NUDGE_RATE_LIMIT_PER_SECOND=0))
        yield _shop(live)


def test_newest_first_and_only_the_business_own_leads(shop: Shop) -> None:
    assert shop.names() == ["Eve", "Dan_Underscore", "Carla 100% Real", "Bob Stone", "Ana Souza"]
    assert [lead["name"] for lead in shop.get(headers=shop.other_headers)["leads"]] == ["Ana Other"]
    lead = shop.get("?limit=1")["leads"][0]
    assert lead["id"] == shop.ids["Eve"] and lead["phone"] == "+14155550123" and lead["opt_outs"] == []


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("?stage=escalated", ["Bob Stone"]),
        ("?stage=won&stage=qualifying", ["Dan_Underscore", "Ana Souza"]),
        ("?score_min=40&score_max=85", ["Carla 100% Real", "Bob Stone"]),
        ("?source=google", ["Dan_Underscore", "Carla 100% Real"]),
        ("?industry=dental", ["Dan_Underscore", "Ana Souza"]),
        ("?channel=whatsapp", ["Carla 100% Real"]),
        ("?channel=form&source=form", ["Eve", "Bob Stone"]),
        ("?since=2026-01-11T00:00:00Z&until=2026-01-13T00:00:00Z", ["Carla 100% Real", "Bob Stone"]),
        ("?since=2026-01-11T09:00:00%2B09:00", ["Eve", "Dan_Underscore", "Carla 100% Real", "Bob Stone"]),
        ("?q=souza", ["Ana Souza"]),  # name, any case
        ("?q=STONE.EXAMPLE", ["Bob Stone"]),  # email
        ("?q=11%2098765", ["Ana Souza"]),  # phone digits, spaced as people type them
        ("?q=%25", ["Carla 100% Real"]),  # LIKE's wildcards are plain characters
        ("?q=_", ["Dan_Underscore"]),
        ("?q=ana", ["Ana Souza"]),  # not the sibling business's Ana
        ("?q=nobody", []),
        ("?stage=won&industry=legal", []),
    ],
)
def test_filters_and_search(shop: Shop, query: str, expected: list[str]) -> None:
    assert shop.names(query) == expected


def test_the_cursor_walks_every_lead_once_while_new_ones_arrive(shop: Shop) -> None:
    seen: list[str] = []
    page = shop.get("?limit=2")
    arrived = []
    while True:
        seen += [lead["name"] for lead in page["leads"]]
        if page["next_cursor"] is None:
            break
        arrived.append(shop.add(f"Newcomer {next(_numbers)}"))  # newest of all: lands before page 1
        page = shop.get(f"?limit=2&cursor={page['next_cursor']}")
    assert seen == ["Eve", "Dan_Underscore", "Carla 100% Real", "Bob Stone", "Ana Souza"]
    # Filters hold across pages; the newcomers are on a fresh first page.
    page = shop.get("?limit=1&source=google")
    assert [lead["name"] for lead in page["leads"]] == ["Dan_Underscore"]
    page = shop.get(f"?limit=1&source=google&cursor={page['next_cursor']}")
    assert [lead["name"] for lead in page["leads"]] == ["Carla 100% Real"] and page["next_cursor"] is None
    assert {lead["id"] for lead in shop.get("?limit=10")["leads"]} >= set(arrived)


def test_leads_created_in_the_same_instant_are_ordered_by_id_across_pages(shop: Shop) -> None:
    same = datetime(2025, 6, 1, tzinfo=UTC)
    ids = [shop.add(f"Twin {n}", source="twins") for n in range(3)]
    with transaction(shop.live.runtime.sessions) as session:
        session.execute(sa.update(Lead).where(Lead.id.in_(ids)).values(created_at=same))
    got: list[str] = []
    cursor = ""
    while True:
        page = shop.get(f"?source=twins&limit=2{cursor}")
        got += [lead["id"] for lead in page["leads"]]
        if not page["next_cursor"]:
            break
        cursor = f"&cursor={page['next_cursor']}"
    assert got == sorted(ids, reverse=True)


@pytest.mark.parametrize(
    ("query", "status", "names"),
    [
        ("?cursor=not-a-cursor", 422, "cursor"),
        ("?score_min=101", 422, "score_min"),
        ("?stage=sleeping", 422, "stage"),
        ("?channel=fax", 422, "channel"),
        ("?since=2026-01-01T00:00:00", 422, "since"),  # no zone: never guessed
        ("?limit=0", 422, "limit"),
        ("?q=" + "x" * 201, 422, "q"),
    ],
)
def test_bad_parameters_are_a_4xx_naming_them(shop: Shop, query: str, status: int, names: str) -> None:
    answer = shop.live.client.get(f"/v1/leads{query}", headers=shop.headers)
    assert answer.status_code == status, answer.text
    assert names in answer.json()["error"]["message"]


def test_a_cursor_from_another_business_shows_nothing_of_it(shop: Shop) -> None:
    cursor = shop.get("?limit=1")["next_cursor"]
    leads = shop.get(f"?cursor={cursor}", headers=shop.other_headers)["leads"]
    assert {lead["name"] for lead in leads} <= {"Ana Other"}
