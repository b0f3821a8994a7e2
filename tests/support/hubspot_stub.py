"""A local HubSpot CRM v3 stand-in on a real port: contacts, deals and notes (create, update by
id, search with EQ filters), the private-app token checked on every call, request shapes checked
the way HubSpot answers them (400 VALIDATION_ERROR / PROPERTY_DOESNT_EXIST, 404), and scripted
rate limiting (429 with `Retry-After`, HubSpot's RATE_LIMIT error body)."""

from __future__ import annotations

import itertools
import json
import threading
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.support.server_thread import ServerThread

# Properties the portal has (the two nudge_* ones created as the README says).
PROPERTIES = {
    "contacts": {"email", "phone", "firstname", "lastname", "nudge_stage"},
    "deals": {"dealname", "pipeline", "dealstage", "amount", "deal_currency_code", "nudge_lead_id"},
    "notes": {"hs_timestamp", "hs_note_body"},
}
# HubSpot-defined association type ids from each object type to contacts.
TO_CONTACT = {"notes": 202, "deals": 3}
OPERATORS = {"EQ", "NEQ", "LT", "LTE", "GT", "GTE", "HAS_PROPERTY", "NOT_HAS_PROPERTY", "CONTAINS_TOKEN", "IN"}


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    body: Any
    status: int


@dataclass
class _Record:
    id: str
    properties: dict[str, str]
    associations: list[dict[str, Any]] = field(default_factory=list)


def _error(status: int, category: str, message: str, **extra: Any) -> JSONResponse:
    body = {"status": "error", "message": message, "correlationId": "00000000-stub", "category": category, **extra}
    return JSONResponse(body, status_code=status)


class HubSpotStub:
    def __init__(self, token: str = "pat-na1-stub-token") -> None:
        self.token = token
        self._lock = threading.Lock()
        self._ids = itertools.count(501)
        self.objects: dict[str, dict[str, _Record]] = {kind: {} for kind in PROPERTIES}
        self.calls: list[Call] = []
        self._throttle: list[str] = []  # Retry-After values for the next calls
        app = Starlette(
            routes=[
                Route("/crm/v3/objects/{kind}/search", self._search, methods=["POST"]),
                Route("/crm/v3/objects/{kind}", self._create, methods=["POST"]),
                Route("/crm/v3/objects/{kind}/{id}", self._update, methods=["PATCH"]),
            ]
        )
        self._server = ServerThread(app, name="hubspot-stub")

    # -- scripting ------------------------------------------------------------------------------
    def throttle_next(self, times: int = 1, retry_after: str = "10") -> None:
        with self._lock:
            self._throttle.extend([retry_after] * times)

    def records(self, kind: str) -> list[_Record]:
        with self._lock:
            return list(self.objects[kind].values())

    def successful(self) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.status < 300]

    # -- the API --------------------------------------------------------------------------------
    async def _gate(self, request: Request) -> tuple[Any, JSONResponse | None]:
        """Auth, rate limit, JSON: the checks every call goes through, in HubSpot's order."""
        raw = await request.body()
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return None, _error(401, "INVALID_AUTHENTICATION", "Authentication credentials not found.")
        with self._lock:
            wait = self._throttle.pop(0) if self._throttle else None
        if wait is not None:
            response = _error(429, "RATE_LIMITS", "You have reached your secondly limit.", policyName="SECONDLY")
            response.headers["Retry-After"] = wait
            return None, response
        try:
            body = json.loads(raw)
        except ValueError:
            return None, _error(400, "VALIDATION_ERROR", "Invalid input JSON on line 1")
        if request.headers.get("content-type", "").split(";")[0] != "application/json":
            return None, _error(415, "VALIDATION_ERROR", "Unsupported content type")
        return body, None

    def _kind(self, request: Request) -> str | None:
        kind = str(request.path_params["kind"])
        return kind if kind in PROPERTIES else None

    def _log(self, request: Request, body: Any, response: JSONResponse) -> JSONResponse:
        with self._lock:
            self.calls.append(Call(request.method, request.url.path, body, response.status_code))
        return response

    def _properties_problem(self, kind: str, properties: Any) -> JSONResponse | None:
        if not isinstance(properties, dict) or not all(isinstance(v, str) for v in properties.values()):
            return _error(400, "VALIDATION_ERROR", "properties must be an object of string values")
        unknown = sorted(set(properties) - PROPERTIES[kind])
        if unknown:
            return _error(
                400, "VALIDATION_ERROR", f'Property "{unknown[0]}" does not exist', subCategory="PROPERTY_DOESNT_EXIST"
            )
        return None

    def _associations_problem(self, kind: str, associations: Any) -> JSONResponse | None:
        if associations is None:
            return None
        if not isinstance(associations, list):
            return _error(400, "VALIDATION_ERROR", "associations must be a list")
        for association in associations:
            if set(association) != {"to", "types"} or set(association["to"]) != {"id"}:
                return _error(400, "VALIDATION_ERROR", "an association is {to: {id}, types: [...]}")
            for kind_of in association["types"]:
                if kind_of != {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": TO_CONTACT.get(kind)}:
                    return _error(400, "VALIDATION_ERROR", f"association type {kind_of} is not {kind} to contact")
            if str(association["to"]["id"]) not in self.objects["contacts"]:
                return _error(404, "OBJECT_NOT_FOUND", "the associated contact does not exist")
        return None

    async def _create(self, request: Request) -> JSONResponse:
        body, refused = await self._gate(request)
        kind = self._kind(request)
        if refused is None and kind is None:
            refused = _error(404, "OBJECT_NOT_FOUND", "unknown object type")
        if refused is None and (not isinstance(body, dict) or set(body) - {"properties", "associations"}):
            refused = _error(400, "VALIDATION_ERROR", "a create is {properties, associations?}")
        if refused is None and kind is not None:
            refused = self._properties_problem(kind, body.get("properties")) or self._associations_problem(
                kind, body.get("associations")
            )
        if refused is None and kind == "notes" and "hs_timestamp" not in body["properties"]:
            refused = _error(400, "VALIDATION_ERROR", "hs_timestamp is required")
        if refused is None and kind == "contacts":
            email = body["properties"].get("email")
            if email and any(r.properties.get("email") == email for r in self.objects["contacts"].values()):
                refused = _error(409, "CONFLICT", f"Contact already exists. Existing ID: {email}")
        if refused is not None:
            return self._log(request, body, refused)
        assert kind is not None
        with self._lock:
            record = _Record(str(next(self._ids)), dict(body["properties"]), list(body.get("associations") or []))
            self.objects[kind][record.id] = record
        return self._log(request, body, JSONResponse(_out(record), status_code=201))

    async def _update(self, request: Request) -> JSONResponse:
        body, refused = await self._gate(request)
        kind = self._kind(request)
        record = self.objects[kind].get(str(request.path_params["id"])) if kind else None
        if refused is None and record is None:
            refused = _error(404, "OBJECT_NOT_FOUND", "resource not found")
        if refused is None and (not isinstance(body, dict) or set(body) != {"properties"}):
            refused = _error(400, "VALIDATION_ERROR", "an update is {properties}")
        if refused is None and kind is not None:
            refused = self._properties_problem(kind, body["properties"])
        if refused is not None:
            return self._log(request, body, refused)
        assert record is not None
        with self._lock:
            record.properties.update(body["properties"])
        return self._log(request, body, JSONResponse(_out(record)))

    async def _search(self, request: Request) -> JSONResponse:
        body, refused = await self._gate(request)
        kind = self._kind(request)
        if refused is None and kind is None:
            refused = _error(404, "OBJECT_NOT_FOUND", "unknown object type")
        if refused is None and (
            not isinstance(body, dict)
            or set(body) - {"filterGroups", "properties", "limit", "after", "sorts", "query"}
            or not isinstance(body.get("filterGroups"), list)
        ):
            refused = _error(400, "VALIDATION_ERROR", "a search is {filterGroups, properties?, limit?, ...}")
        filters = (
            [f for group in (body or {}).get("filterGroups", []) for f in group.get("filters", [])]
            if not refused
            else []
        )
        if refused is None and any(
            set(f) != {"propertyName", "operator", "value"} or f["operator"] not in OPERATORS for f in filters
        ):
            refused = _error(400, "VALIDATION_ERROR", "a filter is {propertyName, operator, value}")
        if refused is not None:
            return self._log(request, body, refused)
        assert kind is not None
        with self._lock:
            found = [
                _out(r)
                for r in self.objects[kind].values()
                if all(r.properties.get(f["propertyName"]) == f["value"] for f in filters if f["operator"] == "EQ")
            ][: int(body.get("limit", 10))]
        return self._log(request, body, JSONResponse({"total": len(found), "results": found}))

    @property
    def url(self) -> str:
        return self._server.url

    def __enter__(self) -> Self:
        self._server.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._server.stop()


def _out(record: _Record) -> dict[str, Any]:
    stamp = "2026-03-02T13:00:00.000Z"
    return {
        "id": record.id,
        "properties": dict(record.properties),
        "createdAt": stamp,
        "updatedAt": stamp,
        "archived": False,
    }
