"""Tracked links: record the click as a signal for the lead, then redirect."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from agent.booking.links import with_booking_ref
from api.deps import ClientLimitDep, RuntimeDep, SessionDep
from api.errors import LIMIT_RESPONSES
from api.json_body import BoundedJsonRoute
from nudge.db import after_commit
from scheduler.inputs import record_click

router = APIRouter(
    route_class=BoundedJsonRoute, tags=["links"], dependencies=[ClientLimitDep], responses=LIMIT_RESPONSES
)

NOT_FOUND_PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>Link not found</title></head>
<body style="font-family:sans-serif;max-width:32rem;margin:4rem auto">
<h1>This link is not valid</h1><p>It may have been mistyped or removed.</p></body></html>"""


@router.get(
    "/r/{token}",
    response_class=Response,
    responses={307: {"description": "redirect to the target"}, 404: {"description": "unknown link"}},
)
def follow(token: str, session: SessionDep, runtime: RuntimeDep) -> Response:
    url, lead_id = record_click(session, token, runtime.clock.now())
    if url is None:
        return HTMLResponse(NOT_FOUND_PAGE, status_code=404)
    if lead_id is not None:
        after_commit(session, lambda: runtime.dispatcher.wake(lead_id))
    return RedirectResponse(with_booking_ref(url, token), status_code=307)
