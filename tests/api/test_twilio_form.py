"""The webhook's form decoding matches Starlette's form parser field for field (the signature is
computed over these values, so any difference would refuse a genuine Twilio request)."""

from __future__ import annotations

import asyncio
from urllib.parse import urlencode

import pytest
from starlette.requests import Request

from api.errors import ApiError
from api.routes.twilio import form_fields

BODIES = [
    urlencode({"Body": "Oi, quanto custa? 50% + frete & tal", "From": "whatsapp:+5511999990000", "NumMedia": "0"}),
    urlencode({"Body": "¿Cuánto cuesta el plan anual? 🙂", "ProfileName": "José Ñúñez", "To": "+14155550101"}),
    "Body=&From=%2B15551230001&Empty=&Plus=a+b%2Bc",
    "A=1&A=2&B=3",  # a repeated name: the last one wins, as in the dict the route built before
    "Body=caf\xe9".encode("latin-1").decode("latin-1"),  # a raw byte that is not UTF-8
    "Body=%E2%82%AC%ZZ%",  # a malformed escape stays as written
    "A=1;B=2",  # ";" is not a separator
    "A&&B=",  # a name without "=", an empty pair
    "=x&B=2",  # an empty name
]


def _starlette_form(body: bytes) -> dict[str, str]:
    async def parse() -> dict[str, str]:
        sent = False

        async def receive() -> dict[str, object]:
            nonlocal sent
            if sent:
                return {"type": "http.disconnect"}
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        scope = {
            "type": "http",
            "method": "POST",
            "headers": [(b"content-type", b"application/x-www-form-urlencoded")],
        }
        form = await Request(scope, receive).form()
        return {key: value for key, value in form.items() if isinstance(value, str)}

    return asyncio.run(parse())


@pytest.mark.parametrize("body", BODIES)
def test_fields_match_starlettes_form_parser(body: str) -> None:
    raw = body.encode("latin-1")
    assert form_fields(raw) == _starlette_form(raw)


def test_too_many_fields_is_a_400() -> None:
    with pytest.raises(ApiError) as refused:
        form_fields("&".join(f"f{i}=x" for i in range(1001)).encode())
    assert refused.value.status == 400
