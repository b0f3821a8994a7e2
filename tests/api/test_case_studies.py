"""Case studies over real HTTP: create, list, idempotent re-post, delete, match, tenancy, bad input."""

from __future__ import annotations

import socket
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from tests.conftest import LiveNudge

DENTAL_ES: dict[str, Any] = {
    "title": "Clínica Sonríe llena su agenda",
    "industry": "Odontología",
    "body": "Una clínica dental de Monterrey respondió cada consulta en menos de un minuto. "
    "Las citas de pacientes nuevos subieron un 41% en un trimestre.",
    "metrics": {"pacientes_nuevos": "+41% en 3 meses"},
    "url": "https://example.com/es/casos/sonrie",
}
DENTAL_EN: dict[str, Any] = {
    "title": "Smile Studio fills its chairs",
    "industry": "dental",
    "body": "A three-chair dental practice in Austin answered every web enquiry within a minute. "
    "New-patient bookings rose by 41% in one quarter.",
    "language": "en",
    "tags": ["clinic", "small team"],
}
REAL_ESTATE: dict[str, Any] = {
    "title": "Casa Nova sells faster",
    "industry": "real estate",
    "body": "A real estate brokerage in Lisbon followed up every property enquiry and closed 30% more sales.",
}


def _post(live: LiveNudge, key: str, payload: Any) -> httpx.Response:
    return live.client.post("/v1/case-studies", headers=live.auth(key), json=payload)


def _list(live: LiveNudge, key: str, **params: Any) -> list[dict[str, Any]]:
    response = live.client.get("/v1/case-studies", headers=live.auth(key), params=params)
    assert response.status_code == 200, response.text
    studies: list[dict[str, Any]] = response.json()["case_studies"]
    return studies


def _match(live: LiveNudge, key: str, **params: Any) -> httpx.Response:
    return live.client.get("/v1/case-studies/match", headers=live.auth(key), params=params)


def _error(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    assert set(error) >= {"code", "message"} and error["message"]
    return error


def test_create_one_is_normalised_listed_and_reposting_changes_nothing(live: LiveNudge) -> None:
    _, key = live.business("Bright Smile")
    created = _post(live, key, DENTAL_ES)
    assert created.status_code == 201, created.text
    body = created.json()
    assert (body["created"], body["updated"], body["unchanged"]) == (1, 0, 0)
    [study] = body["case_studies"]
    assert study["id"].startswith("cs-")
    assert study["industry"] == "dental", "industry name normalised to the canonical key"
    assert study["language"] == "es", "language detected from the text"
    assert study["metrics"] == DENTAL_ES["metrics"] and study["url"] == DENTAL_ES["url"]

    assert [s["id"] for s in _list(live, key)] == [study["id"]]
    one = live.client.get(f"/v1/case-studies/{study['id']}", headers=live.auth(key))
    assert one.status_code == 200 and one.json() == study

    again = _post(live, key, DENTAL_ES)
    assert again.status_code == 200, "nothing new: not 201"
    assert (again.json()["created"], again.json()["updated"], again.json()["unchanged"]) == (0, 0, 1)
    assert again.json()["case_studies"][0]["id"] == study["id"]

    edited = _post(live, key, DENTAL_ES | {"body": DENTAL_ES["body"] + " Sin contratar personal."})
    assert (edited.json()["created"], edited.json()["updated"]) == (0, 1)
    assert len(_list(live, key)) == 1


def test_a_list_is_stored_and_can_be_filtered_and_paged(live: LiveNudge) -> None:
    _, key = live.business()
    response = _post(live, key, [DENTAL_ES, DENTAL_EN, REAL_ESTATE])
    assert response.status_code == 201, response.text
    assert response.json()["created"] == 3
    assert [s["industry"] for s in response.json()["case_studies"]] == ["dental", "dental", "real_estate"]

    assert len(_list(live, key)) == 3
    assert {s["title"] for s in _list(live, key, industry="dental")} == {DENTAL_ES["title"], DENTAL_EN["title"]}
    assert [s["title"] for s in _list(live, key, industry="Bienes raíces")] == [REAL_ESTATE["title"]]
    assert [s["title"] for s in _list(live, key, industry="dental", language="es")] == [DENTAL_ES["title"]]
    assert _list(live, key, industry="plumbing") == []

    first = live.client.get("/v1/case-studies", headers=live.auth(key), params={"limit": 2}).json()
    assert len(first["case_studies"]) == 2 and first["next_offset"] == 2
    rest = live.client.get("/v1/case-studies", headers=live.auth(key), params={"limit": 2, "offset": 2}).json()
    assert len(rest["case_studies"]) == 1 and rest["next_offset"] is None
    ids = {s["id"] for s in first["case_studies"]} | {s["id"] for s in rest["case_studies"]}
    assert len(ids) == 3


def test_delete_removes_the_study_and_unknown_ids_are_404(live: LiveNudge) -> None:
    _, key = live.business()
    study_id = _post(live, key, DENTAL_EN).json()["case_studies"][0]["id"]
    deleted = live.client.delete(f"/v1/case-studies/{study_id}", headers=live.auth(key))
    assert deleted.status_code == 204 and deleted.content == b""
    assert _list(live, key) == []
    assert _error(live.client.delete(f"/v1/case-studies/{study_id}", headers=live.auth(key)), 404)["code"] == (
        "not_found"
    )
    assert _error(live.client.get(f"/v1/case-studies/{study_id}", headers=live.auth(key)), 404)
    assert _error(live.client.delete("/v1/case-studies/cs-nope", headers=live.auth(key)), 404)


def test_match_finds_the_industry_story_in_the_leads_language(live: LiveNudge) -> None:
    _, key = live.business()
    assert _post(live, key, [DENTAL_ES, DENTAL_EN, REAL_ESTATE]).status_code == 201

    spanish = _match(live, key, text="Hola, tengo un consultorio de ortodoncia y pierdo pacientes", language="es")
    assert spanish.status_code == 200, spanish.text
    found = spanish.json()
    assert found["language"] == "es" and found["language_detected"] is False
    assert found["industry"]["industry"] == "dental" and found["industry"]["confidence"] > 0
    assert found["industry"]["evidence"]
    assert found["case_study"]["title"] == DENTAL_ES["title"], "same industry, lead's language first"
    assert found["language_match"] is True and 0 < found["score"] <= 1 and found["reason"] == "matched"

    detected = _match(live, key, text="We run a small dental clinic and miss calls all day").json()
    assert detected["language"] == "en" and detected["language_detected"] is True
    assert detected["case_study"]["title"] == DENTAL_EN["title"]

    brokers = _match(live, key, text="we flip houses and need more sellers").json()
    assert brokers["industry"]["industry"] == "real_estate"
    assert brokers["case_study"]["title"] == REAL_ESTATE["title"]

    vague = _match(live, key, text="how much is it?")
    assert vague.status_code == 200
    assert vague.json()["case_study"] is None and vague.json()["score"] is None
    assert vague.json()["industry"]["industry"] is None
    assert vague.json()["reason"] != "matched" and vague.json()["reason"]

    no_story = _match(live, key, text="I own a gym and want more members").json()
    assert no_story["industry"]["industry"] == "fitness" and no_story["case_study"] is None
    assert "fitness" in no_story["reason"]


def test_business_synonyms_from_the_profile_are_used(live: LiveNudge) -> None:
    _, key = live.business(profile={"industries": {"pet_grooming": ["dog grooming", "peluquería canina"]}})
    study = {"title": "Happy Paws", "industry": "dog grooming", "body": "A dog grooming salon doubled rebookings."}
    stored = _post(live, key, study).json()["case_studies"][0]
    assert stored["industry"] == "pet_grooming"
    found = _match(live, key, text="Tengo una peluquería canina en Madrid", language="es").json()
    assert found["industry"]["industry"] == "pet_grooming"
    assert found["case_study"] is not None and found["case_study"]["title"] == "Happy Paws"


def test_malformed_profile_synonyms_do_not_break_the_knowledge_base(live: LiveNudge) -> None:
    _, key = live.business(profile={"industries": {"vet": 3, "": ["x"], "spa": "day spa"}})
    assert _post(live, key, DENTAL_EN).status_code == 201
    assert _match(live, key, text="how much is it?").status_code == 200


def test_a_business_never_sees_another_business_studies(live: LiveNudge) -> None:
    _, key_a = live.business("A")
    _, key_b = live.business("B")
    study_id = _post(live, key_a, DENTAL_ES).json()["case_studies"][0]["id"]

    assert _list(live, key_b) == []
    assert _error(live.client.get(f"/v1/case-studies/{study_id}", headers=live.auth(key_b)), 404)
    assert _error(live.client.delete(f"/v1/case-studies/{study_id}", headers=live.auth(key_b)), 404)
    other = _match(live, key_b, text="tengo un consultorio de ortodoncia", language="es").json()
    assert other["industry"]["industry"] == "dental" and other["case_study"] is None

    # B posting the very same study gets its own copy; A's is untouched.
    assert _post(live, key_b, DENTAL_ES).json()["created"] == 1
    assert [s["id"] for s in _list(live, key_a)] == [study_id]
    assert live.client.delete(f"/v1/case-studies/{study_id}", headers=live.auth(key_a)).status_code == 204
    assert len(_list(live, key_b)) == 1


def test_authentication_is_required(live: LiveNudge) -> None:
    assert _error(live.client.get("/v1/case-studies"), 401)["code"] == "unauthorized"
    bad = {"Authorization": "Bearer nk_nope"}
    assert _error(live.client.post("/v1/case-studies", headers=bad, json=DENTAL_EN), 401)
    assert _error(live.client.get("/v1/case-studies/match", headers=bad, params={"text": "hi"}), 401)


@pytest.mark.parametrize(
    ("payload", "needle"),
    [
        ({"title": "T", "industry": "dental", "body": ""}, "body is empty"),
        ({"title": "T", "industry": "dental", "body": "   "}, "body"),
        ({"title": "", "industry": "dental", "body": "b"}, "title"),
        ({"title": "   ", "industry": "dental", "body": "b"}, "title"),
        ({"industry": "dental", "body": "b"}, "title"),
        ({"title": "T", "body": "b"}, "industry"),
        (DENTAL_EN | {"colour": "red", "size": 3}, "'colour', 'size'"),
        (DENTAL_EN | {"language": "fr"}, "language"),
        (DENTAL_EN | {"url": "javascript:alert(1)"}, "url"),
        (DENTAL_EN | {"metrics": {"nested": {"x": 1}}}, "metrics"),
        (DENTAL_EN | {"tags": {"a": 1}}, "tags"),
        (DENTAL_EN | {"title": "x" * 301}, "title"),
        ({}, "missing"),
        ([], "empty"),
        ("just a string", "object"),
        (42, "object"),
        (None, "object"),
        ([[DENTAL_EN]], "item 0"),
    ],
)
def test_bad_case_studies_are_422_naming_the_problem(live: LiveNudge, payload: Any, needle: str) -> None:
    _, key = live.business()
    error = _error(_post(live, key, payload), 422)
    assert needle in error["message"], error["message"]
    assert _list(live, key) == []


def test_a_list_with_bad_items_names_each_and_stores_nothing(live: LiveNudge) -> None:
    _, key = live.business()
    payload = [
        DENTAL_ES,
        DENTAL_EN | {"colour": "red"},
        REAL_ESTATE,
        {"title": "No body", "industry": "dental", "body": ""},
        DENTAL_ES | {"body": "Same title and industry as item 0."},
    ]
    error = _error(_post(live, key, payload), 422)
    message = error["message"]
    assert "3 invalid case studies, nothing was stored" in message, message
    assert "item 1: unknown field 'colour'" in message
    assert "item 3: body is empty" in message
    assert "item 4: duplicate of item 0" in message
    assert [item["index"] for item in error["items"]] == [1, 3, 4]
    assert "item 0" not in message.replace("duplicate of item 0", "") and "item 2" not in message
    assert _list(live, key) == [], "all or nothing"


def test_too_many_items_is_a_clear_422(live: LiveNudge) -> None:
    _, key = live.business()
    items = [{"title": f"Story {i}", "industry": "dental", "body": "Short."} for i in range(1001)]
    error = _error(_post(live, key, items), 422)
    assert error["code"] == "too_many_items" and "at most 1000" in error["message"]
    assert _list(live, key) == []


@pytest.mark.parametrize(
    ("content", "content_type", "status", "needle"),
    [
        (b"", "application/json", 422, "empty"),
        (b"   \n", "application/json", 422, "empty"),
        (b'{"title": "T",', "application/json", 422, "not valid JSON"),
        (b'{"title": "T", "industry": "dental", "body": "b", "metrics": {"x": NaN}}', "application/json", 422, "NaN"),
        (b"\xff\xfe{}", "application/json", 422, "UTF-8"),
        (b"[" * 100_000 + b"]" * 100_000, "application/json", 422, "nested"),
        (b"title,industry,body\nT,dental,b\n", "text/csv", 415, "application/json"),
    ],
)
def test_unreadable_bodies_are_4xx(
    live: LiveNudge, content: bytes, content_type: str, status: int, needle: str
) -> None:
    _, key = live.business()
    response = live.client.post(
        "/v1/case-studies", headers={**live.auth(key), "Content-Type": content_type}, content=content
    )
    assert needle in _error(response, status)["message"]
    assert _list(live, key) == []


def test_a_50_mb_upload_is_413_and_nothing_is_stored(live: LiveNudge) -> None:
    _, key = live.business()
    huge = b'[{"title": "T", "industry": "dental", "body": "' + b"x" * (50 * 1024 * 1024) + b'"}]'
    response = live.client.post(
        "/v1/case-studies", headers={**live.auth(key), "Content-Type": "application/json"}, content=huge
    )
    assert _error(response, 413)["code"] == "too_large"
    assert _list(live, key) == []


def test_a_50_mb_chunked_upload_without_length_is_413(live: LiveNudge) -> None:
    """No Content-Length to check up front: the limit is enforced while the body streams in."""
    _, key = live.business()
    parts = urlsplit(live.url)
    assert parts.hostname and parts.port
    chunk = b"x" * (1024 * 1024)
    head = (
        f"POST /v1/case-studies HTTP/1.1\r\nHost: {parts.netloc}\r\nAuthorization: Bearer {key}\r\n"
        "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    ).encode()
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        sock.sendall(head)
        try:
            for _ in range(50):
                sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            sock.sendall(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered and closed before the whole body was sent
        reply = b""
        try:
            while data := sock.recv(65536):
                reply += data
        except ConnectionResetError:
            pass
    assert reply.startswith(b"HTTP/1.1 413"), reply[:200]
    assert b'"too_large"' in reply
    assert _list(live, key) == []


@pytest.mark.parametrize(
    ("params", "needle"),
    [
        ({}, "text"),
        ({"text": ""}, "text"),
        ({"text": "   "}, "text"),
        ({"text": "x" * 4001}, "text"),
        ({"text": "dentist", "language": "fr"}, "language"),
        ({"text": "dentist", "industry": ""}, "industry"),
        ({"text": "dentist", "industry": "x" * 101}, "industry"),
    ],
)
def test_bad_match_queries_are_422(live: LiveNudge, params: dict[str, str], needle: str) -> None:
    _, key = live.business()
    assert needle in _error(_match(live, key, **params), 422)["message"]


@pytest.mark.parametrize(
    ("params", "needle"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 501}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"offset": -1}, "offset"),
        ({"language": "de"}, "language"),
        ({"industry": ""}, "industry"),
        ({"industry": "   "}, "industry"),
    ],
)
def test_bad_list_queries_are_422(live: LiveNudge, params: dict[str, Any], needle: str) -> None:
    _, key = live.business()
    response = live.client.get("/v1/case-studies", headers=live.auth(key), params=params)
    assert needle in _error(response, 422)["message"]


def test_the_endpoints_document_themselves(live: LiveNudge) -> None:
    spec = live.client.get("/openapi.json").json()
    paths = spec["paths"]
    assert {"post", "get"} <= set(paths["/v1/case-studies"])
    assert "delete" in paths["/v1/case-studies/{study_id}"]
    assert "/v1/case-studies/match" in paths
    body = paths["/v1/case-studies"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert len(body["oneOf"]) == 2
