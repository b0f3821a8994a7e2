"""The business profile over HTTP: known keys are checked and errors name the field."""

from __future__ import annotations

from tests.conftest import LiveNudge

PROFILE = {
    "description": "Patient acquisition for dental clinics",
    "tone": "friendly, short, no emoji",
    "offer": {"en": "a free 15-minute audit", "es": "una auditoría gratuita de 15 minutos"},
    "booking_url": "https://acme.example/book",
    "resources": [{"title": "Playbook", "url": "https://acme.example/playbook", "language": "en"}],
    "facts": [{"text": {"en": "plans start at 490 USD a month"}, "keywords": ["price"]}],
    "industries": {"dental": ["orthodontics"]},
}


def test_a_profile_round_trips_with_its_own_extra_keys(live: LiveNudge) -> None:
    _, key = live.business()
    response = live.client.patch("/v1/business", json={"profile": PROFILE}, headers=live.auth(key))
    assert response.status_code == 200, response.text
    assert live.client.get("/v1/business", headers=live.auth(key)).json()["profile"] == PROFILE


def test_profile_errors_name_the_field(live: LiveNudge) -> None:
    _, key = live.business()
    for bad, field in (
        ({"resources": [{"title": "Guide", "url": "not a link"}]}, "profile.resources.0.url"),
        ({"booking_url": "ftp://x"}, "profile.booking_url"),
        ({"offer": {"fr": "un audit"}}, "profile.offer"),
        ({"facts": [{"keywords": ["price"]}]}, "profile.facts.0.text"),
        ({"tone": "x" * 300}, "profile.tone"),
    ):
        response = live.client.patch("/v1/business", json={"profile": bad}, headers=live.auth(key))
        assert response.status_code == 422, (bad, response.text)
        error = response.json()["error"]
        assert error["code"] and field in error["message"], (field, error)
    assert live.client.get("/v1/business", headers=live.auth(key)).json()["profile"] in ({}, None)
