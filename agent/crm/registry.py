"""Connector kinds: the events each needs and how one is built from its stored config."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from agent.crm import hubspot
from agent.events.subscriber import DeliveryError, Subscriber

EVENTS: dict[str, tuple[str, ...]] = {"hubspot": hubspot.EVENTS}


def build_connector(
    kind: str, config: Mapping[str, Any], http: httpx.Client, *, api_urls: Mapping[str, str]
) -> Subscriber:
    if kind == "hubspot":
        return hubspot.HubSpotConnector(http, base_url=api_urls["hubspot"], config=config)
    raise DeliveryError(f"unknown connector kind {kind!r}", final=True)
