"""Building a business's audience destinations from its `audiences` setting."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import httpx

from agent.audiences.base import Audience
from agent.audiences.meta import MetaCustomAudience
from agent.audiences.webhook import WebhookAudience


def build_audiences(
    config: list[Mapping[str, Any]],
    http: httpx.Client,
    *,
    tenant_http: httpx.Client,
    meta_graph_url: str,
    clock: Callable[[], float],
) -> list[Audience]:
    """`http` reaches the hosts the operator set; `tenant_http` the URLs a business set
    (`agent.outbound_urls.target_client`)."""
    built: list[Audience] = []
    for entry in config:
        if entry.get("kind") == "meta":
            built.append(
                MetaCustomAudience(
                    http,
                    audience_id=str(entry["audience_id"]),
                    access_token=str(entry["access_token"]),
                    graph_url=meta_graph_url,
                )
            )
        elif entry.get("kind") == "webhook":
            built.append(
                WebhookAudience(
                    tenant_http,
                    url=str(entry["url"]),
                    secret=str(entry["secret"]),
                    name=str(entry.get("name", "nudge")),
                    clock=clock,
                )
            )
    return built
