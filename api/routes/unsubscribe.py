"""`/u/{token}`: the unsubscribe page (GET) and RFC 8058 one-click unsubscribe (POST).

GET only shows a page with a button: link scanners and mail previews fetch URLs, and must not
unsubscribe anyone. POST (the mailbox provider's one-click request, or the page's button) does.
"""

from __future__ import annotations

import html

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from agent.unsubscribe import ONE_CLICK, lead_for_token
from api.deps import ClientLimitDep, RuntimeDep, SessionDep
from api.errors import LIMIT_RESPONSES
from api.json_body import BoundedJsonRoute
from nudge.db import after_commit
from nudge.models import Business
from scheduler.inputs import record_unsubscribe

router = APIRouter(
    route_class=BoundedJsonRoute, tags=["unsubscribe"], dependencies=[ClientLimitDep], responses=LIMIT_RESPONSES
)

_PAGE = """<!doctype html><html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>{title}</title></head><body style="font-family:sans-serif;max-width:32rem;margin:4rem auto;line-height:1.5">
<h1>{title}</h1>{body}</body></html>"""
_RESPONSES: dict[int | str, dict[str, object]] = {
    200: {"content": {"text/html": {}}, "description": "the page"},
    404: {"content": {"text/html": {}}, "description": "unknown link: a page saying so"},
}


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(_PAGE.format(title=html.escape(title), body=body), status_code=status)


def _not_found() -> HTMLResponse:
    return _page(
        "This unsubscribe link is not valid",
        "<p>It may have been mistyped, or the contact it belonged to no longer exists.</p>",
        404,
    )


@router.get("/u/{token}", response_class=HTMLResponse, responses=_RESPONSES)
def unsubscribe_page(token: str, session: SessionDep) -> HTMLResponse:
    found = lead_for_token(session, token)
    if found is None:
        return _not_found()
    row, lead = found
    business = session.get(Business, lead.business_id)
    name = html.escape(business.name if business else "this business")
    if row.used_at is not None:
        return _page("You are unsubscribed", f"<p>{name} will not send you any more messages.</p>")
    field, value = ONE_CLICK.split("=")
    return _page(
        "Unsubscribe",
        f"<p>Stop all follow-up messages from {name} (email, WhatsApp and SMS)?</p>"
        f'<form method="post" action="/u/{html.escape(token)}">'
        f'<input type="hidden" name="{field}" value="{value}">'
        '<button type="submit" style="font-size:1.1rem;padding:.5rem 1.5rem">Unsubscribe</button></form>',
    )


@router.post("/u/{token}", response_class=HTMLResponse, responses=_RESPONSES)
async def one_click(token: str, request: Request, session: SessionDep, runtime: RuntimeDep) -> HTMLResponse:
    # RFC 8058: the POST body is "List-Unsubscribe=One-Click" (form-encoded or multipart); the
    # token alone authorises it, so the body is not required to match.
    await request.form()
    known, lead_id = record_unsubscribe(session, token, runtime.clock.now(), "one-click")
    if not known:
        return _not_found()
    if lead_id is not None:
        after_commit(session, lambda: runtime.dispatcher.wake(lead_id))
    return _page("You are unsubscribed", "<p>You will not receive any more messages from us.</p>")
