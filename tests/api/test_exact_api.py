"""Inputs that used to be 500s are 422s naming the problem, leaving nothing half-written, and
/openapi.json says exactly what the API does (null, references, Allow on 405)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from api.app import create_app
from tests.conftest import LiveNudge, live_nudge


@pytest.fixture
def api(any_database_url: str, tmp_path: Path) -> Iterator[LiveNudge]:
    with live_nudge(any_database_url, tmp_path, twilio=False, workers=False) as live:
        yield live


def _business(api: LiveNudge) -> dict[str, str]:
    return api.auth(api.business("Acme", whatsapp_from="+14155550100", email_from="hi@acme.example")[1])


def test_a_datetime_without_a_zone_is_a_422_naming_the_parameter(api: LiveNudge) -> None:
    headers = _business(api)
    naive = api.client.get("/v1/audit", params={"before": "2026-01-01T00:00:00"}, headers=headers)
    assert naive.status_code == 422, naive.text
    assert naive.json()["error"]["message"].startswith("before: ")
    number = api.client.get("/v1/audit", params={"before": "0.5"}, headers=headers)  # not a Unix time
    assert number.status_code == 422 and "before: " in number.json()["error"]["message"], number.text
    for aware in ("2026-01-01T00:00:00Z", "2026-01-01T00:00:00+02:00"):
        assert api.client.get("/v1/audit", params={"before": aware}, headers=headers).status_code == 200


DEEP_JSON = "[" * 5000 + "]" * 5000
HOSTILE_JSON = [
    (DEEP_JSON, "nested deeper than"),
    ('{"metadata": ' + "[" * 64 + "]" * 64 + "}", "nested deeper than 64 levels"),  # 65 with the body
    ('{"name": 1' + "0" * 5000 + "}", "more than 100 digits"),
    ('{"email": "a@b.example", "metadata": {"n": 1e400}}', "out of range"),
    ('{"email": "a@b.example", "metadata": {"n": NaN}}', "NaN is not a JSON number"),
]


@pytest.mark.parametrize(("body", "problem"), HOSTILE_JSON)
def test_hostile_json_bodies_are_422s_and_store_nothing(api: LiveNudge, body: str, problem: str) -> None:
    headers = {**_business(api), "Content-Type": "application/json"}
    for path in ("/v1/leads", "/v1/case-studies"):
        response = api.client.post(path, content=body, headers=headers)
        assert response.status_code == 422, (path, response.text)
        assert problem in response.json()["error"]["message"], (path, response.text)
    sequence = api.client.put("/v1/sequence", content=body, headers=headers)
    assert sequence.status_code == 422, sequence.text
    assert api.client.get("/v1/sequence", headers=headers).json()["custom"] is False


HOSTILE_YAML = [
    ("touches: " + "[" * 5000 + "]" * 5000, "nest"),  # libyaml's own limit may speak first
    ("touches:\n" + "".join("  " * level + "- \n" for level in range(1, 400)), "nested deeper than"),
    ("name: x\ntouches: []\nn: " + "9" * 5000, "line 3: an integer has more than 100 digits"),
    (
        "a: &a [1,1,1,1,1,1,1,1,1,1]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
        "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: [*e,*e,*e,*e,*e,*e]",
        "once aliases are expanded",
    ),
]


HOSTILE_YAML.append(  # a variant's delay that is neither text nor a number was a TypeError
    (
        "touches:\n- {number: 1, purpose: instant_reply, delay: 0s, channels: [email], asset: answer,\n"
        "   variants: [{name: a, delay: {}}]}",
        "touches.0.variants.0.delay: a duration is a number of seconds or text like '3d'",
    )
)


@pytest.mark.parametrize(("body", "problem"), HOSTILE_YAML)
def test_hostile_yaml_sequences_are_422s(api: LiveNudge, body: str, problem: str) -> None:
    headers = {**_business(api), "Content-Type": "application/yaml"}
    response = api.client.put("/v1/sequence", content=body, headers=headers)
    assert response.status_code == 422, response.text
    assert problem in response.json()["error"]["message"]
    assert api.client.get("/v1/sequence", headers=headers).json()["custom"] is False


def test_patch_fields_the_schema_says_are_not_nullable_are_refused_as_null(api: LiveNudge) -> None:
    schema = create_app(run_workers=False).openapi()["components"]["schemas"]["BusinessPatch"]["properties"]
    nullable = {name for name, field in schema.items() if {"type": "null"} in field.get("anyOf", [])}
    assert nullable == {"whatsapp_from", "sms_from", "email_from"}  # null clears a sender
    headers = _business(api)
    for name in sorted(set(schema) - nullable):
        response = api.client.patch("/v1/business", json={name: None}, headers=headers)
        assert response.status_code == 422 and name in response.json()["error"]["message"], response.text
    cleared = api.client.patch("/v1/business", json={"sms_from": None}, headers=headers)
    assert cleared.status_code == 200 and cleared.json()["sms_from"] is None


def test_a_timezone_too_long_for_a_file_name_is_a_422(api: LiveNudge) -> None:
    headers = _business(api)
    for path, body in (("/v1/leads", {"email": "a@b.example"}), ("/v1/business", {})):
        method = "POST" if path == "/v1/leads" else "PATCH"
        response = api.client.request(method, path, json={**body, "timezone": "9" * 5000}, headers=headers)
        assert response.status_code == 422 and "timezone" in response.json()["error"]["message"], response.text


def test_a_huge_list_is_refused_briefly(api: LiveNudge) -> None:
    response = api.client.patch("/v1/business", json={"languages": ["xx"] * 100_000}, headers=_business(api))
    assert response.status_code == 422 and len(response.text) < 2000, response.text[:300]
    assert "languages" in response.json()["error"]["message"]


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str):
            yield node["$ref"]
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def test_every_reference_in_the_openapi_document_resolves() -> None:
    document = create_app(run_workers=False).openapi()
    dangling = []
    for ref in set(_refs(document)):
        node: Any = document
        for part in ref.removeprefix("#/").split("/"):
            node = node.get(part.replace("~1", "/").replace("~0", "~")) if isinstance(node, dict) else None
        if not ref.startswith("#/") or node is None:
            dangling.append(ref)
    assert dangling == []


def test_405_lists_every_method_of_the_path_in_allow(api: LiveNudge) -> None:
    paths = api.client.get("/openapi.json").json()["paths"]
    wrong = {}
    for path, item in paths.items():
        documented = {method.upper() for method in item}
        concrete = path.replace("{", "x").replace("}", "")
        response = api.client.request("OPTIONS", concrete)
        allowed = {method.strip() for method in response.headers.get("allow", "").split(",") if method.strip()}
        if response.status_code != 405 or allowed - {"HEAD"} != documented:
            wrong[path] = (response.status_code, response.headers.get("allow"))
    assert wrong == {}


def test_control_characters_in_a_url_are_a_404_or_a_422_naming_the_parameter(api: LiveNudge) -> None:
    headers = _business(api)
    for path in ("/v1/leads/lead%00x", "/v1/leads/lead%00x/messages", "/v1/case-studies/cs%01"):
        response = api.client.get(path, headers=headers)
        assert response.status_code == 404, (path, response.text)
        assert response.json()["error"]["code"] == "not_found"
    for path in ("/u/tok%00", "/r/t%00"):  # the pages answer with their own page
        response = api.client.get(path)
        assert response.status_code == 404, (path, response.text)
        assert response.headers["content-type"].startswith("text/html")
    assert api.client.post("/u/tok%00").status_code == 404
    for params in ({"action": "lead\x00s"}, {"before": "2026-01-01T00:00:00Z\x00"}):
        response = api.client.get("/v1/audit", params=params, headers=headers)
        assert response.status_code == 422, (params, response.text)
        assert response.json()["error"]["message"].startswith(f"query parameter '{next(iter(params))}'")
    keys = api.client.get("/v1/keys", params={"prefix": "\x00"}, headers=headers)
    assert keys.status_code == 422, keys.text
    assert api.client.get("/v1/audit", params={"action": "lead.create"}, headers=headers).status_code == 200


@pytest.mark.parametrize("field", ["holdout", "weight", "retarget", "number"])
def test_a_value_of_another_json_type_than_the_schema_says_is_refused(api: LiveNudge, field: str) -> None:
    headers = _business(api)
    sequence = api.client.get("/v1/sequence", headers=headers).json()
    touch = sequence["touches"][2]
    if field != "weight":
        touch[field] = {"holdout": False, "retarget": 0, "number": "3"}[field]
    else:
        touch["variants"] = [{"name": "a", "weight": True}, {"name": "b"}]
    response = api.client.put("/v1/sequence", json=sequence, headers=headers)
    assert response.status_code == 422, response.text
    assert field in response.json()["error"]["message"]
