"""`/u/{token}`: the unsubscribe page (GET) and RFC 8058 one-click unsubscribe (POST).

GET only shows a page with a button: link scanners and mail previews fetch URLs, and must not
unsubscribe anyone. POST (the mailbox provider's one-click request, or the page's button) does.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from agent.unsubscribe import ONE_CLICK, lead_for_token
from api.console.public import PageForm, public_page
from api.deps import ClientLimitDep, RuntimeDep, SessionDep
from api.errors import LIMIT_RESPONSES
from api.json_body import BoundedJsonRoute
from nudge.db import after_commit
from nudge.models import Business
from scheduler.inputs import record_unsubscribe

router = APIRouter(
    route_class=BoundedJsonRoute, tags=["unsubscribe"], dependencies=[ClientLimitDep], responses=LIMIT_RESPONSES
)

_RESPONSES: dict[int | str, dict[str, object]] = {
    200: {"content": {"text/html": {}}, "description": "the page"},
    404: {"content": {"text/html": {}}, "description": "unknown link: a page saying so"},
}


def _not_found(request: Request) -> HTMLResponse:
    return public_page(
        request,
        "This unsubscribe link is not valid",
        ["It may have been mistyped, or the contact it belonged to no longer exists."],
        status=404,
    )


@router.get("/u/{token}", response_class=HTMLResponse, responses=_RESPONSES)
def unsubscribe_page(token: str, request: Request, session: SessionDep) -> HTMLResponse:
    found = lead_for_token(session, token)
    if found is None:
        return _not_found(request)
    row, lead = found
    business = session.get(Business, lead.business_id)
    name = business.name if business else None
    if row.used_at is not None:
        return public_page(
            request, "You are unsubscribed", [f"{name or 'We'} will not send you any more messages."], business=name
        )
    field, value = ONE_CLICK.split("=")
    return public_page(
        request,
        "Unsubscribe",
        [f"Stop all follow-up messages from {name or 'this business'} (email, WhatsApp and SMS)?"],
        business=name,
        form=PageForm(action=f"/u/{token}", fields=[(field, value)], button="Unsubscribe"),
    )


@router.post("/u/{token}", response_class=HTMLResponse, responses=_RESPONSES)
async def one_click(token: str, request: Request, session: SessionDep, runtime: RuntimeDep) -> HTMLResponse:
    # RFC 8058: the POST body is "List-Unsubscribe=One-Click" (form-encoded or multipart); the
    # token alone authorises it, so the body is not required to match.
    await request.form()
    known, lead_id = record_unsubscribe(session, token, runtime.clock.now(), "one-click")
    if not known:
        return _not_found(request)
    if lead_id is not None:
        after_commit(session, lambda: runtime.dispatcher.wake(lead_id))
    found = lead_for_token(session, token)
    business = session.get(Business, found[1].business_id) if found else None
    name = business.name if business else None
    return public_page(
        request,
        "You are unsubscribed",
        [f"You will not receive any more messages from {name or 'us'}."],
        business=name,
    )
