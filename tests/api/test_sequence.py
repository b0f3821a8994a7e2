"""GET/PUT /v1/sequence: the default, a valid replacement, and errors that name the field."""

from __future__ import annotations

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
        (YAML_SEQUENCE.replace("delay: 0s", "delay: 3d"), "delays must not decrease", None),
        (YAML_SEQUENCE.replace("channels: [email]", "channels: [fax]"), "touches.1.channels.0", None),
        (YAML_SEQUENCE.replace("[whatsapp, email]", "[sms]"), "no sms sender", None),
        (
            YAML_SEQUENCE + "    variants:\n      - {name: a, phrasings: [no_such_wording]}\n",
            "variants.0.phrasings: 'no_such_wording' is not a phrasing of soft_reminder",
            None,
        ),
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
