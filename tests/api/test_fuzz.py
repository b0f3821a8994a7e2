"""Schemathesis against the live API: generated requests for every operation in /openapi.json must
never get a 500, and every answer must match the schema (status codes, content types, bodies)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Err
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from api.app import create_app
from nudge.db import transaction
from nudge.tenants import create_agency, create_business
from tests.conftest import LiveNudge, live_nudge

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


@pytest.fixture
def fuzz_target(sqlite_url: str, tmp_path: Path) -> Iterator[tuple[LiveNudge, dict[str, str]]]:
    limits_off = {"NUDGE_RATE_LIMIT_PER_SECOND": 0, "NUDGE_WEBHOOK_RATE_PER_SECOND": 0}
    with live_nudge(sqlite_url, tmp_path, twilio=False, workers=False, **limits_off) as live:
        now = live.runtime.clock.now()
        with transaction(live.runtime.sessions) as session:
            agency = create_agency(session, name="Fuzz agency", now=now)
            business = create_business(session, name="Fuzz", now=now, agency_id=agency.agency.id)
            headers = {"Authorization": f"Bearer {agency.api_key}", "X-Nudge-Tenant": business.business.id}
        yield live, headers


@pytest.mark.slow
def test_generated_requests_get_no_500_and_no_schema_violation(
    fuzz_target: tuple[LiveNudge, dict[str, str]],
) -> None:
    live, headers = fuzz_target
    # Bounded so the run stays well under a minute on 2 cores; NUDGE_FUZZ_EXAMPLES=200 digs deeper.
    examples = int(os.environ.get("NUDGE_FUZZ_EXAMPLES", "12"))
    schema = schemathesis.openapi.from_url(f"{live.url}/openapi.json")
    failures: list[str] = []
    accepted: set[str] = set()  # operations that answered 2xx at least once: auth and data got through
    operations = 0
    # Routes that need no existing object and no secret (ids, unsubscribe tokens, webhook
    # signatures): random data can reach them, so most must answer 2xx at least once.
    open_routes: set[str] = set()
    for result in schema.get_all_operations():
        if isinstance(result, Err):
            failures.append(f"the schema has an invalid operation: {result.err()}")
            continue
        operation = result.ok()
        operations += 1
        if operation.path.startswith("/v1") and "{" not in operation.path:
            open_routes.add(f"{operation.method.upper()} {operation.path}")

        @settings(
            max_examples=examples,
            deadline=None,
            database=None,
            phases=[Phase.explicit, Phase.generate],  # report, do not spend minutes shrinking
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy())
        def run(case: Any) -> None:
            try:
                response = case.call_and_validate(base_url=live.url, headers=headers, checks=CHECKS)
                if response.status_code < 300:
                    accepted.add(f"{case.method} {case.path}")
            except BaseException as exc:  # collect every operation's first failure, then report them all
                failures.append(f"{case.method} {case.path}: {str(exc)[:600]}")
                raise

        try:
            run()
        except BaseException as exc:
            if isinstance(exc, KeyboardInterrupt):
                raise
            continue
    assert operations >= 25, "the schema should list every route"
    assert failures == [], "\n\n".join(failures)
    reached = accepted & open_routes
    assert len(reached) >= len(open_routes) // 2, f"too few operations ever succeeded: {sorted(accepted)}"


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
