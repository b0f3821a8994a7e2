"""`nudge tenant agency|create --agency|key list|create|rotate|revoke` through the real CLI, and
the keys it prints working (or not) against the real API."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from typer.testing import Result

from nudge.keys import prefix_of
from tests.conftest import live_nudge
from tests.nudge.conftest import Run


def _json(result: Result) -> Any:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_keys_from_the_cli_are_listed_rotated_and_revoked(run: Run, tmp_path: Path) -> None:
    agency = _json(run("tenant", "agency", "Growth Co", "--json"))
    business = _json(run("tenant", "create", "Bright Smile", "--agency", agency["agency_id"], "--json"))
    created = _json(run("tenant", "key", "create", "--business", business["business_id"], "--label", "ci", "--json"))
    assert created["kind"] == "business" and created["label"] == "ci"

    listed = _json(run("tenant", "key", "list", "--agency", agency["agency_id"], "--json"))
    assert {k["prefix"] for k in listed} >= {created["prefix"], prefix_of(agency["api_key"])}
    assert created["api_key"] not in run("tenant", "key", "list").output, "secrets are shown once"

    rotated = _json(run("tenant", "key", "rotate", created["prefix"], "--json"))
    assert run("tenant", "key", "revoke", rotated["prefix"]).exit_code == 0
    with live_nudge(f"sqlite:///{tmp_path / 'nudge.db'}", tmp_path, twilio=False, workers=False) as live:
        for key, status in ((business["api_key"], 200), (created["api_key"], 401), (rotated["api_key"], 401)):
            answer = live.client.get("/v1/business", headers={"Authorization": f"Bearer {key}"})
            assert answer.status_code == status, key


def test_cli_errors_are_readable(run: Run) -> None:
    business = _json(run("tenant", "create", "Bright Smile", "--json"))
    cases = [
        (("tenant", "create", "X", "--agency", "ag_missing"), "agency ag_missing does not exist"),
        (("tenant", "key", "create", "--kind", "rep", "--business", business["business_id"]), "rep_id"),
        (("tenant", "key", "create", "--kind", "business"), "name it with --business"),
        (("tenant", "key", "rotate", "nk_bz_00000000"), "no active key with prefix nk_bz_00000000"),
        (("tenant", "key", "revoke", "nk_bz_00000000"), "no key with prefix nk_bz_00000000"),
    ]
    for args, message in cases:
        result = run(*args)
        assert result.exit_code == 2, (args, result.output)
        assert message in result.output and "Traceback" not in result.output, (args, result.output)
    assert run("tenant", "key", "--help").exit_code == 0
