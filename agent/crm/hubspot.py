"""HubSpot (CRM v3, private-app token): contact upserted by email or phone when a lead is created
or changes stage (Nudge's stage in the `nudge_stage` contact property), a note with the
conversation summary when the lead is escalated, a deal created or updated when it converts
(found again by its `nudge_lead_id` property). A 429 is retried after its `Retry-After`.

Both custom properties must exist in the portal (README: HubSpot sync)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

import httpx

from agent.events import log as events
from agent.events.subscriber import DeliveryError, Envelope, retry_after_seconds

EVENTS: Final = (events.LEAD_CREATED, events.LEAD_STAGE_CHANGED, events.LEAD_ESCALATED, events.LEAD_CONVERTED)
STAGE_PROPERTY: Final = "nudge_stage"
LEAD_PROPERTY: Final = "nudge_lead_id"
NOTE_TO_CONTACT: Final = 202  # HubSpot-defined association type ids
DEAL_TO_CONTACT: Final = 3
TIMEOUT = 10.0


class HubSpotConnector:
    def __init__(self, http: httpx.Client, *, base_url: str, config: Mapping[str, Any]) -> None:
        self._http = http
        self._base = base_url.rstrip("/")
        self._token = str(config.get("token", ""))
        self._pipeline = str(config.get("pipeline") or "default")
        self._won_stage = str(config.get("deal_stage") or "closedwon")
        self._now = datetime.min  # the delivery's time, for an HTTP-date Retry-After

    def deliver(self, event: Envelope, now: datetime) -> int | None:
        lead = event.data.get("lead") or {}
        if event.type not in EVENTS or not (lead.get("email") or lead.get("phone")):
            return None  # nothing HubSpot can match on
        self._now = now
        contact_id = self._upsert_contact(lead)
        if event.type == events.LEAD_ESCALATED:
            self._note(contact_id, event, now)
        elif event.type == events.LEAD_CONVERTED:
            self._deal(contact_id, lead, event)
        return 200

    # -- the calls ----------------------------------------------------------------------------
    def _upsert_contact(self, lead: Mapping[str, Any]) -> str:
        name = str(lead.get("name") or "").strip()
        first, _, last = name.partition(" ")
        properties = {
            key: value
            for key, value in {
                "email": lead.get("email"),
                "phone": lead.get("phone"),
                "firstname": first,
                "lastname": last,
                STAGE_PROPERTY: lead.get("stage"),
            }.items()
            if value
        }
        for field in ("email", "phone"):
            if lead.get(field):
                found = self._search("contacts", field, str(lead[field]))
                if found is not None:
                    self._call("PATCH", f"/crm/v3/objects/contacts/{found}", {"properties": properties})
                    return found
        created = self._call("POST", "/crm/v3/objects/contacts", {"properties": properties})
        return str(created["id"])

    def _note(self, contact_id: str, event: Envelope, now: datetime) -> None:
        summary = event.data.get("summary") or {}
        lines = [f"Escalated by Nudge: {summary.get('next_step') or 'a hot lead'}"]
        lines += [f"Wants: {summary['wants']}"] if summary.get("wants") else []
        for message in summary.get("last_messages") or []:
            lines.append(f"{message.get('from')} ({message.get('channel')}): {message.get('text')}")
        body = {
            "properties": {"hs_timestamp": event.occurred_at.isoformat(), "hs_note_body": "\n".join(lines)[:65_000]},
            "associations": [_association(contact_id, NOTE_TO_CONTACT)],
        }
        self._call("POST", "/crm/v3/objects/notes", body)

    def _deal(self, contact_id: str, lead: Mapping[str, Any], event: Envelope) -> None:
        properties: dict[str, Any] = {
            "dealname": f"{lead.get('name') or lead.get('email') or lead.get('phone')} (Nudge)",
            "pipeline": self._pipeline,
            "dealstage": self._won_stage,
            LEAD_PROPERTY: lead.get("id"),
        }
        if event.data.get("value") is not None:
            properties["amount"] = str(event.data["value"])
        if event.data.get("currency"):
            properties["deal_currency_code"] = event.data["currency"]
        found = self._search("deals", LEAD_PROPERTY, str(lead.get("id")))
        if found is not None:
            self._call("PATCH", f"/crm/v3/objects/deals/{found}", {"properties": properties})
            return
        body = {"properties": properties, "associations": [_association(contact_id, DEAL_TO_CONTACT)]}
        self._call("POST", "/crm/v3/objects/deals", body)

    def _search(self, object_type: str, field: str, value: str) -> str | None:
        body = {
            "filterGroups": [{"filters": [{"propertyName": field, "operator": "EQ", "value": value}]}],
            "properties": [field],
            "limit": 1,
        }
        results = self._call("POST", f"/crm/v3/objects/{object_type}/search", body).get("results") or []
        return str(results[0]["id"]) if results else None

    def _call(self, method: str, path: str, body: Mapping[str, Any]) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {self._token}"}
        try:
            response = self._http.request(method, self._base + path, json=body, headers=headers, timeout=TIMEOUT)
        except httpx.HTTPError as exc:
            raise DeliveryError(f"HubSpot unreachable: {type(exc).__name__}") from exc
        if response.status_code == 429:
            wait = retry_after_seconds(response.headers.get("retry-after"), self._now)
            raise DeliveryError("HubSpot rate limit (429)", status=429, retry_after=wait if wait is not None else 10.0)
        if response.status_code in (401, 403):
            raise DeliveryError(
                f"HubSpot refused the token ({response.status_code})", status=response.status_code, final=True
            )
        if response.status_code >= 300:
            final = 400 <= response.status_code < 500
            raise DeliveryError(
                f"HubSpot answered {response.status_code}: {response.text[:200]}",
                status=response.status_code,
                final=final,
            )
        answer = response.json() if response.content else {}
        return answer if isinstance(answer, dict) else {}


def _association(to_id: str, type_id: int) -> dict[str, Any]:
    return {"to": {"id": to_id}, "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": type_id}]}
