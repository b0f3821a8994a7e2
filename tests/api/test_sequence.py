"""GET/PUT /v1/sequence: the default, a valid replacement, and errors that name the field."""

from __future__ import annotations

from datetime import timedelta

import yaml

from nudge.models import Business
from scheduler.dispatcher import sequence_for
from tests.conftest import LiveNudge

YAML_SEQUENCE = """name: short
touches:
  - number: 1
    purpose: instant_reply
    delay: 0s
    channels: [whatsapp, email]
    asset: answer
    follow_up: false
  - number: 2
    purpose: soft_reminder
    delay: 2d
    channels: [email]
    asset: resource
"""


def _key(live: LiveNudge, **fields: object) -> str:
    defaults: dict[str, object] = {"whatsapp_from": "+14155550100", "email_from": "Acme <hi@acme.example>"}
    defaults.update(fields)
    return live.business("Acme", **defaults)[1]


def test_default_sequence_is_the_seven_touches(live: LiveNudge) -> None:
    key = _key(live)
    body = live.client.get("/v1/sequence", headers=live.auth(key)).json()
    assert body["custom"] is False
    assert [t["purpose"] for t in body["touches"]] == [
        "instant_reply",
        "qualification",
        "soft_reminder",
        "social_proof",
        "value_offer",
        "breakup",
        "reengagement",
    ]
    assert [t["delay"] for t in body["touches"]] == ["0s", "3m", "1d", "3d", "1w", "2w", "60d"]


def test_put_yaml_and_json_replace_the_sequence(live: LiveNudge) -> None:
    key = _key(live)
    headers = {**live.auth(key), "Content-Type": "application/yaml"}
    response = live.client.put("/v1/sequence", headers=headers, content=YAML_SEQUENCE)
    assert response.status_code == 200, response.text
    assert response.json()["custom"] is True and len(response.json()["touches"]) == 2
    again = live.client.get("/v1/sequence", headers=live.auth(key)).json()
    assert again["name"] == "short" and again["touches"][1]["delay"] == "2d"
    as_json = live.client.put("/v1/sequence", headers=live.auth(key), json=again | {"name": "json"})
    assert as_json.status_code == 200 and as_json.json()["name"] == "json"


def test_invalid_sequences_are_rejected_naming_the_field_and_nothing_changes(live: LiveNudge) -> None:
    key = _key(live)
    yaml_headers = {**live.auth(key), "Content-Type": "application/yaml"}
    cases = [
        (YAML_SEQUENCE.replace("delay: 2d", "delay: -2d"), "touches.1.delay", "line 11"),
        (YAML_SEQUENCE + "    colour: red\n", "touches.1.colour", "line 14"),
        (YAML_SEQUENCE.replace("number: 2", "number: 3"), "numbered", None),
        (
            YAML_SEQUENCE + "  - {number: 3, purpose: social_proof, delay: 1d, channels: [email], asset: case_study}\n",
            "touch 3 (1d) comes before touch 2 (2d); delays must not decrease",
            None,
        ),
        (YAML_SEQUENCE.replace("channels: [email]", "channels: [fax]"), "touches.1.channels.0", None),
        (YAML_SEQUENCE.replace("[whatsapp, email]", "[sms]"), "no sms sender", None),
        (
            YAML_SEQUENCE + "    variants:\n      - {name: a, phrasings: [no_such_wording]}\n",
            "variants.0.phrasings: 'no_such_wording' is not a phrasing of soft_reminder",
            None,
        ),
        (YAML_SEQUENCE.replace("delay: 2d", "delay: .inf"), "touches.1.delay: 'inf' is not a duration", "line 11"),
        (
            YAML_SEQUENCE.replace("delay: 2d", "delay: 3000000d"),
            "'3000000d' is too long; a delay is at most 366d",
            None,
        ),
        (YAML_SEQUENCE.replace("delay: 2d", "delay: 99999999999w"), "touches.1.delay", "line 11"),
        (YAML_SEQUENCE + "    follow_up: false\n", "follow_up: false is only for touches that answer", "line 9"),
        (YAML_SEQUENCE.replace("delay: 0s", "delay: 5m"), "touch 1 answers a lead the moment they arrive", None),
        (
            YAML_SEQUENCE.replace("follow_up: false", "follow_up: false\n    variants: [{name: late, delay: 5m}]"),
            "its delay (and its variants') must be 0s, not 5m",
            None,
        ),
        (YAML_SEQUENCE.replace("purpose: soft_reminder", "purpose: instant_reply"), "touches 1 and 2 are both", None),
        ("touches: [", "not valid YAML", None),
        ("- just a list", "mapping", None),
    ]
    for text, needle, line in cases:
        response = live.client.put("/v1/sequence", headers=yaml_headers, content=text)
        assert response.status_code == 422, (text, response.text)
        message = response.json()["error"]["message"]
        assert needle in message, message
        if line:
            assert line in message, message
    wrong_type = live.client.put(
        "/v1/sequence", headers={**live.auth(key), "Content-Type": "text/plain"}, content="touches: []"
    )
    assert wrong_type.status_code == 415
    assert live.client.get("/v1/sequence", headers=live.auth(key)).json()["custom"] is False


def test_a_sender_the_sequence_uses_cannot_be_cleared(live: LiveNudge) -> None:
    key = _key(live)
    headers = {**live.auth(key), "Content-Type": "application/yaml"}
    assert live.client.put("/v1/sequence", headers=headers, content=YAML_SEQUENCE).status_code == 200
    refused = live.client.patch("/v1/business", headers=live.auth(key), json={"email_from": None})
    assert refused.status_code == 409, refused.text
    message = refused.json()["error"]["message"]
    assert message.startswith("the sequence still sends on a channel this change leaves without a sender"), message
    assert "touches.0.channels.1: the business has no email sender" in message, message
    assert "touches.1.channels.0: the business has no email sender" in message, message
    business = live.client.get("/v1/business", headers=live.auth(key)).json()
    assert business["email_from"] == "Acme <hi@acme.example>", "nothing changed"
    # A sender the sequence does not use may go.
    assert live.client.patch("/v1/business", headers=live.auth(key), json={"sms_from": None}).status_code == 200


def test_a_sequence_stored_before_a_writing_rule_existed_still_runs() -> None:
    """Rules for writing a sequence (touch 1 at 0s, one break-up, follow_up: false only for quick
    answers) are checked on PUT; a stored one that predates them still loads, so no lead's runs
    start failing after an upgrade."""
    stored = yaml.safe_load(YAML_SEQUENCE.replace("delay: 0s", "delay: 5m"))
    assert sequence_for(Business(sequence=stored)).touches[0].delay == timedelta(minutes=5)
