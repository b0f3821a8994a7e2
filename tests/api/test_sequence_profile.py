"""The sequence file may carry the business profile the touches draw on (offer, resources, facts, tone)."""

from __future__ import annotations

from tests.api.test_sequence import YAML_SEQUENCE, _key
from tests.conftest import LiveNudge

PROFILE_YAML = """profile:
  description: Patient acquisition for dental clinics
  tone: warm and brief
  offer: {en: a free 15-minute audit, es: una auditoría gratuita de 15 minutos}
  booking_url: https://acme.example/book
  resources:
    - {title: The 2026 playbook, url: https://acme.example/playbook, language: en}
  facts:
    - text: plans start at 490 USD a month
      keywords: [price, cost]
"""


def test_a_sequence_file_with_a_profile_sets_both_and_round_trips(live: LiveNudge) -> None:
    key = _key(live)
    headers = {**live.auth(key), "Content-Type": "application/yaml"}
    response = live.client.put("/v1/sequence", headers=headers, content=YAML_SEQUENCE + PROFILE_YAML)
    assert response.status_code == 200, response.text
    profile = live.client.get("/v1/business", headers=live.auth(key)).json()["profile"]
    assert profile["tone"] == "warm and brief" and profile["resources"][0]["url"] == "https://acme.example/playbook"
    again = live.client.get("/v1/sequence", headers=live.auth(key)).json()
    assert again["profile"] == profile and again["name"] == "short"
    assert live.client.put("/v1/sequence", headers=live.auth(key), json=again).status_code == 200


def test_a_bad_profile_in_the_file_names_field_and_line_and_changes_nothing(live: LiveNudge) -> None:
    key = _key(live)
    headers = {**live.auth(key), "Content-Type": "application/yaml"}
    bad = PROFILE_YAML.replace("https://acme.example/playbook", "not-a-link")
    response = live.client.put("/v1/sequence", headers=headers, content=YAML_SEQUENCE + bad)
    assert response.status_code == 422
    message = response.json()["error"]["message"]
    assert "line 20: profile.resources.0.url" in message, message
    assert live.client.get("/v1/sequence", headers=live.auth(key)).json()["custom"] is False
    assert live.client.get("/v1/business", headers=live.auth(key)).json()["profile"] in ({}, None)
