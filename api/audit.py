"""The audit log: one row per successful authenticated API request, written at the request edge.

`api.deps.get_session` calls `record` after the handler returns, inside the request's
transaction, so every route is covered without a line in the route itself. Rows hold the key, the
business, the action, the route template and the id in the path: never bodies or contact details.
"""

from __future__ import annotations

from datetime import datetime

from fastapi import Request
from sqlalchemy.orm import Session

from api.principal import Principal
from nudge.models import AuditEntry

# Actions worth a name; any other route is recorded as "<method> <route>" so nothing added later
# goes unaudited.
ACTIONS: dict[tuple[str, str], str] = {
    ("POST", "/v1/businesses"): "business.create",
    ("PATCH", "/v1/business"): "business.update",
    ("PUT", "/v1/sequence"): "sequence.update",
    ("POST", "/v1/leads"): "lead.create",
    ("GET", "/v1/leads"): "lead.list",
    ("POST", "/v1/leads/{lead_id}/events"): "lead.signal",
    ("POST", "/v1/leads/import"): "lead.import",
    ("GET", "/v1/lead-imports/{import_id}"): "lead.import_status",
    ("GET", "/v1/lead-imports/{import_id}/errors"): "lead.import_report",
    ("GET", "/v1/leads/{lead_id}/export"): "lead.export",
    ("DELETE", "/v1/leads/{lead_id}"): "lead.delete",
    ("POST", "/v1/case-studies"): "case_study.create",
    ("DELETE", "/v1/case-studies/{study_id}"): "case_study.delete",
    ("POST", "/v1/reps"): "rep.create",
    ("POST", "/v1/handoffs/{handoff_id}/claim"): "handoff.claim",
    ("POST", "/v1/handoffs/{handoff_id}/reply"): "handoff.reply",
    ("POST", "/v1/handoffs/{handoff_id}/resolve"): "handoff.resolve",
    ("POST", "/v1/keys"): "key.create",
    ("POST", "/v1/keys/{prefix}/rotate"): "key.rotate",
    ("DELETE", "/v1/keys/{prefix}"): "key.revoke",
    ("POST", "/v1/webhook-endpoints"): "webhook_endpoint.create",
    ("GET", "/v1/webhook-endpoints"): "webhook_endpoint.list",
    ("GET", "/v1/webhook-endpoints/{endpoint_id}"): "webhook_endpoint.read",
    ("GET", "/v1/webhook-endpoints/{endpoint_id}/deliveries"): "webhook_endpoint.deliveries",
    ("PATCH", "/v1/webhook-endpoints/{endpoint_id}"): "webhook_endpoint.update",
    ("DELETE", "/v1/webhook-endpoints/{endpoint_id}"): "webhook_endpoint.delete",
    ("POST", "/v1/webhook-endpoints/{endpoint_id}/rotate-secret"): "webhook_endpoint.rotate_secret",
    ("POST", "/v1/webhook-endpoints/{endpoint_id}/replay"): "webhook_endpoint.replay",
    ("PUT", "/v1/connectors/hubspot"): "connector.hubspot.put",
    ("GET", "/v1/connectors"): "connector.list",
    ("DELETE", "/v1/connectors/hubspot"): "connector.hubspot.delete",
    ("POST", "/v1/booking-integrations"): "booking_integration.create",
    ("POST", "/v1/booking-integrations/{integration_id}/rotate"): "booking_integration.rotate",
    ("DELETE", "/v1/booking-integrations/{integration_id}"): "booking_integration.delete",
    ("PUT", "/v1/email-inbox"): "email_inbox.update",
    ("DELETE", "/v1/email-inbox"): "email_inbox.delete",
    ("PUT", "/v1/email-providers/{provider}"): "email_provider.update",
    ("DELETE", "/v1/email-providers/{provider}"): "email_provider.delete",
}


def action_for(method: str, route: str) -> str:
    named = ACTIONS.get((method, route))
    if named is not None:
        return named
    return "read" if method in ("GET", "HEAD") else f"{method.lower()} {route}"[:64]


def record(session: Session, principal: Principal, request: Request, now: datetime) -> None:
    route = getattr(request.scope.get("route"), "path", request.url.path)
    params = request.path_params
    target = next(iter(params.values()), None) if params else None
    session.add(
        AuditEntry(
            at=now,
            agency_id=principal.agency_id,
            business_id=principal.business_id,
            key_id=principal.key_id,
            key_prefix=principal.key_prefix,
            key_kind=principal.kind,
            rep_id=principal.rep_id,
            action=action_for(request.method, route),
            method=request.method,
            route=route[:200],
            target_id=str(target)[:200] if target is not None else None,
        )
    )
