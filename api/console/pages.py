"""The console's pages: sign-in, the rep inbox and a handoff, the leads list and a lead.

Server-rendered (Jinja2, autoescaped) with plain forms that htmx enhances; every form carries the
session's CSRF token. Pages read through the same scoped session and services as the API
(`api.lead_listing`, `api.handoff_actions`): what a key may not see is a 404 page here too.
"""

from __future__ import annotations

import json
import secrets
import typing
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from jinja2 import Environment, PackageLoader, select_autoescape
from pydantic import ValidationError
from starlette.datastructures import FormData

from agent import stages
from agent.policies import whatsapp_window_open
from agent.reports import attribution_report, funnel_report
from agent.text import control_problem
from api import handoff_actions as actions
from api import lead_actions
from api.console import assets
from api.console.auth import (
    COOKIE,
    CSRF_FIELD,
    SIGN_IN_COOKIE,
    Console,
    ConsoleDep,
    ConsoleProblem,
    SignInRequired,
    csrf_matches,
    open_session,
    redeem_link,
    secure_cookies,
    set_session_cookie,
)
from api.console.export import to_csv
from api.console.live import events_response
from api.console.pipeline import pipeline
from api.deps import RuntimeDep, SessionDep, authenticate
from api.errors import ApiError
from api.lead_listing import CursorError, LeadFilter, list_leads
from api.report_schemas import ModelName
from api.schemas import LeadEventIn
from knowledge.service import match_text, synonyms
from nudge.charts import credit_chart, funnel_chart
from nudge.key_admin import KeyAdminError, KeyOwner, create_key, list_keys, revoke_key, rotate_key
from nudge.models import Business, ConsoleSession, Handoff, Lead, Message, Rep
from nudge.privacy import export_lead
from nudge.runtime import Runtime
from nudge.tenants import create_business
from scheduler.dispatcher import sequence_for

MAX_FIELD = 4000
REPLY_VARIABLES = frozenset({"first_name", "business", "topic", "industry_label"})  # graph.speak.lead_values


def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("api.console", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(htmx_url=assets.HTMX, css_url=f"{assets.STATIC_URL}/console.css", favicon=assets.FAVICON)
    env.filters["when"] = _when
    return env


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else "—"


def render(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    env: Environment = request.app.state.console_templates
    html = env.get_template(template).render(request=request, **context)
    return HTMLResponse(
        html,
        status_code=status,
        headers={
            # Nothing on a console page comes from anywhere else, and nothing may frame it.
            "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; "
            "base-uri 'none'; form-action 'self'",
            "X-Frame-Options": "DENY",
            "Referrer-Policy": "no-referrer",
            "Cache-Control": "no-store",
        },
    )


def _page(console: Console, request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    return render(request, template, status, console=console, **context)


def field(
    form: FormData, name: str, *, required: bool = True, max_length: int = MAX_FIELD, multiline: bool = False
) -> str:
    value = form.get(name)
    text = value.strip() if isinstance(value, str) else ""
    if required and not text:
        raise ConsoleProblem(422, f"{name.replace('_', ' ').capitalize()} is required.")
    if len(text) > max_length:
        raise ConsoleProblem(422, f"{name.replace('_', ' ').capitalize()} is longer than {max_length} characters.")
    problem = control_problem(text, multiline=multiline)
    if problem:
        raise ConsoleProblem(422, f"{name.replace('_', ' ').capitalize()}: {problem}.")
    return text


MODELS = typing.get_args(ModelName)


def _svg(text: str) -> Response:
    # The charts escape every label (nudge.charts); as an <img> an SVG runs no script anyway.
    return Response(text, media_type="image/svg+xml", headers={"Cache-Control": "no-store"})


MAX_EXPORT = 10_000


def _lead(console: Console, lead_id: str) -> Lead:
    _needs_business(console)
    lead = console.db.get(Lead, lead_id) if len(lead_id) <= 40 else None
    if lead is None:
        raise ConsoleProblem(404, "Not found.")
    return lead


def _first_problem(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        error = exc.errors()[0]
        where = ".".join(str(p) for p in error.get("loc", ()))
        message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
        return f"{where}: {message}" if where else message
    return "Value must be a number."


def _key_owner(console: Console) -> KeyOwner:
    """Whose keys the session may manage, as `api.deps.require_key_owner` decides for the API."""
    business = _needs_business(console)
    if console.kind == "agency":
        return KeyOwner(agency_id=console.record.agency_id, business_id=business.id)
    return KeyOwner(business_id=business.id)


def _keys_page(console: Console, request: Request, issued: str | None = None, title: str = "") -> HTMLResponse:
    keys = list_keys(console.db, _key_owner(console), (request.query_params.get("prefix") or "")[:24])
    reps = list(console.db.scalars(sa.select(Rep).where(Rep.active).order_by(Rep.name)))
    return _page(console, request, "keys.html", keys=keys, reps=reps, issued=issued, issued_title=title)


def _lead_filter(request: Request) -> LeadFilter:
    stage = request.query_params.get("stage") or ""
    q = (request.query_params.get("q") or "")[:200]
    return LeadFilter(stage=(stage,) if stage in stages.ALL else (), q=q or None)


def _see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


# --------------------------------------------------------------------------- views of rows


@dataclass
class HandoffView:
    handoff: Handoff
    lead: Lead | None
    holder: str | None  # the rep who claimed it
    assigned: str | None

    @property
    def name(self) -> str:
        return str(self.handoff.summary.get("name") or (self.lead.name if self.lead else "") or "(no name)")


def _rep_names(db: Any, ids: set[str | None]) -> dict[str, str]:
    wanted = {i for i in ids if i}
    if not wanted:
        return {}
    # A rep session's filter shows it only itself; the holder of a handoff it can see is itself.
    return dict(db.execute(sa.select(Rep.id, Rep.name).where(Rep.id.in_(wanted))).tuples().all())


def _handoff_views(console: Console, handoffs: list[Handoff]) -> list[HandoffView]:
    names = _rep_names(console.db, {h.claimed_by for h in handoffs} | {h.assigned_rep_id for h in handoffs})
    leads = {
        lead.id: lead for lead in console.db.scalars(sa.select(Lead).where(Lead.id.in_([h.lead_id for h in handoffs])))
    }
    return [
        HandoffView(
            h,
            leads.get(h.lead_id),
            names.get(h.claimed_by or "", "another rep") if h.claimed_by else None,
            names.get(h.assigned_rep_id or "") if h.assigned_rep_id else None,
        )
        for h in handoffs
    ]


def _needs_business(console: Console) -> Business:
    if console.kind == "rep" or console.business is None:
        raise ConsoleProblem(404, "Not found.")
    return console.business


def _handoff(console: Console, handoff_id: str) -> Handoff:
    if console.record.handoff_id and console.record.handoff_id != handoff_id:
        raise ConsoleProblem(404, "Not found.")  # a rep link opens its handoff only
    handoff = console.db.get(Handoff, handoff_id) if len(handoff_id) <= 40 else None
    if handoff is None or console.business is None:
        raise ConsoleProblem(404, "Not found.")
    return handoff


def _acting_rep(console: Console, form: FormData | None = None) -> Rep:
    rep_id = console.record.rep_id or (field(form, "rep_id") if form is not None else None)
    rep = console.db.get(Rep, rep_id) if rep_id and len(rep_id) <= 40 else None
    if rep is None:
        raise ConsoleProblem(404, "That rep was not found.")
    return rep


def _inbox(console: Console) -> list[HandoffView]:
    if console.business is None:
        raise ConsoleProblem(404, "Not found.")
    query = sa.select(Handoff).where(Handoff.status.in_(("open", "claimed")))
    if console.record.handoff_id:
        query = query.where(Handoff.id == console.record.handoff_id)
    return _handoff_views(console, list(console.db.scalars(query.order_by(Handoff.created_at.desc()).limit(200))))


def _handoff_context(console: Console, handoff_id: str, now: datetime) -> dict[str, Any]:
    handoff = _handoff(console, handoff_id)
    messages = list(
        console.db.scalars(
            sa.select(Message).where(Message.lead_id == handoff.lead_id).order_by(Message.created_at, Message.id)
        )
    )
    reps = (
        [] if console.kind == "rep" else list(console.db.scalars(sa.select(Rep).where(Rep.active).order_by(Rep.name)))
    )
    lead = console.db.get(Lead, handoff.lead_id)
    templates = reply_templates(console.business, lead, now) if lead is not None and console.business else []
    return {"view": _handoff_views(console, [handoff])[0], "messages": messages, "reps": reps, "templates": templates}


def reply_templates(business: Business, lead: Lead, now: datetime) -> list[tuple[str, str]]:
    """When the lead is on WhatsApp and its 24-hour window has closed: the approved templates a
    reply may use instead, as (purpose, text in the lead's language). Empty while free text may go."""
    if (lead.last_channel or lead.first_channel) != "whatsapp" or whatsapp_window_open(now, lead.whatsapp_inbound_at):
        return []
    language = lead.locale or business.default_locale
    found = []
    for purpose, by_language in sorted((business.whatsapp_templates or {}).items()):
        entry = (by_language or {}).get(language) or (by_language or {}).get(business.default_locale)
        if (
            isinstance(entry, dict)
            and entry.get("content_sid")
            and set(entry.get("variables") or ()) <= REPLY_VARIABLES  # nothing the reply cannot fill
        ):
            found.append((str(purpose), str(entry.get("body", ""))))
    return found


# --------------------------------------------------------------------------- routes


def console_router() -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/")
    def root() -> RedirectResponse:
        return _see_other("/console")

    @router.get("/console/sign-in")
    def sign_in_page(request: Request, runtime: RuntimeDep) -> HTMLResponse:
        return _sign_in_form(request, runtime)

    @router.post("/console/sign-in")
    async def sign_in(request: Request, db: SessionDep, runtime: RuntimeDep) -> Response:
        form = await request.form()
        given = form.get(CSRF_FIELD)
        if not csrf_matches(request.cookies.get(SIGN_IN_COOKIE, ""), given if isinstance(given, str) else None):
            return _sign_in_form(request, runtime, "The sign-in form expired. Please try again.", 403)
        key = form.get("key")
        key_text = key.strip() if isinstance(key, str) else ""
        if not key_text or len(key_text) > 200:
            return _sign_in_form(request, runtime, "Paste an API key.", 422)
        try:
            principal = authenticate(request, db, runtime, key_text, None)
        except ApiError as exc:
            return _sign_in_form(request, runtime, f"That key does not work: {exc.message}.", exc.status)
        token = open_session(db, runtime, principal)
        response = _see_other("/console")
        set_session_cookie(response, request, runtime, token)
        response.delete_cookie(SIGN_IN_COOKIE, path="/console/sign-in")
        return response

    @router.post("/console/sign-out")
    def sign_out(console: ConsoleDep, runtime: RuntimeDep) -> RedirectResponse:
        console.record.revoked_at = runtime.clock.now()
        response = _see_other("/console/sign-in")
        response.delete_cookie(COOKIE, path="/")
        return response

    @router.get("/console/open/{token}")
    def open_link(token: str, request: Request, db: SessionDep, runtime: RuntimeDep) -> Response:
        """A rep notification's link: signs the browser in as that rep, for that handoff."""
        opened = redeem_link(db, runtime, token) if 16 <= len(token) <= 64 else None
        if opened is None:
            return render(
                request,
                "error.html",
                410,
                console=None,
                title="This link has expired",
                message="Links in notifications work for a few hours. Sign in with your key to see your inbox.",
            )
        session_token, handoff_id = opened
        response = _see_other(f"/console/handoffs/{handoff_id}")
        set_session_cookie(response, request, runtime, session_token)
        return response

    @router.get("/console")
    def home(console: ConsoleDep) -> RedirectResponse:
        if console.record.handoff_id:
            return _see_other(f"/console/handoffs/{console.record.handoff_id}")
        return _see_other("/console/inbox" if console.kind == "rep" or console.business else "/console/agency")

    @router.get("/console/inbox")
    def inbox(console: ConsoleDep, request: Request) -> HTMLResponse:
        return _page(console, request, "inbox.html", handoffs=_inbox(console))

    @router.get("/console/events")
    def events(console: ConsoleDep, request: Request, runtime: RuntimeDep) -> StreamingResponse:
        return events_response(request, runtime, console, request.cookies.get(COOKIE, ""))

    @router.get("/console/inbox/live")
    def inbox_live(console: ConsoleDep, request: Request) -> HTMLResponse:
        return _page(console, request, "_inbox_list.html", handoffs=_inbox(console))

    @router.get("/console/handoffs/{handoff_id}/live")
    def handoff_live(handoff_id: str, console: ConsoleDep, request: Request, runtime: RuntimeDep) -> HTMLResponse:
        return _page(
            console, request, "_handoff_live.html", **_handoff_context(console, handoff_id, runtime.clock.now())
        )

    @router.get("/console/handoffs/{handoff_id}")
    def handoff_page(handoff_id: str, console: ConsoleDep, request: Request, runtime: RuntimeDep) -> HTMLResponse:
        return _page(console, request, "handoff.html", **_handoff_context(console, handoff_id, runtime.clock.now()))

    @router.post("/console/handoffs/{handoff_id}/claim")
    async def claim(handoff_id: str, console: ConsoleDep, request: Request, runtime: RuntimeDep) -> Response:
        handoff = _handoff(console, handoff_id)
        rep = _acting_rep(console, await request.form())
        try:
            actions.claim(console.db, runtime, handoff, rep)
        except actions.HandoffConflict:
            holder = _handoff_views(console, [handoff])[0].holder
            raise ConsoleProblem(409, f"Already taken{f' by {holder}' if holder else ''}.") from None
        return _see_other(f"/console/handoffs/{handoff.id}")

    @router.post("/console/handoffs/{handoff_id}/reply")
    async def reply(handoff_id: str, console: ConsoleDep, request: Request, runtime: RuntimeDep) -> Response:
        handoff = _handoff(console, handoff_id)
        form = await request.form()
        template = field(form, "template", required=False, max_length=64) or None
        if template is not None:
            lead = console.db.get(Lead, handoff.lead_id)
            offered = (
                dict(reply_templates(console.business, lead, runtime.clock.now())) if lead and console.business else {}
            )
            if template not in offered:
                raise ConsoleProblem(422, "That template is not one of the business's approved templates.")
            text = offered[template]
        else:
            text = field(form, "text", max_length=1600, multiline=True)
        rep = console.db.get(Rep, console.record.rep_id or handoff.claimed_by or "")
        try:
            actions.reply(console.db, runtime, handoff, rep, text, template)
        except actions.HandoffConflict as exc:
            raise ConsoleProblem(409, str(exc)) from None
        return _see_other(f"/console/handoffs/{handoff.id}")

    @router.post("/console/handoffs/{handoff_id}/resolve")
    async def resolve(handoff_id: str, console: ConsoleDep, request: Request, runtime: RuntimeDep) -> Response:
        handoff = _handoff(console, handoff_id)
        form = await request.form()
        outcome = field(form, "outcome", max_length=16)
        if outcome not in ("won", "lost", "nurture"):
            raise ConsoleProblem(422, "Outcome must be won, lost or nurture.")
        try:
            actions.resolve(
                console.db,
                runtime,
                handoff,
                outcome,
                note=field(form, "note", required=False, max_length=2000, multiline=True),
            )
        except actions.HandoffConflict as exc:
            raise ConsoleProblem(409, str(exc)) from None
        return _see_other(f"/console/handoffs/{handoff.id}")

    @router.get("/console/leads")
    def leads(console: ConsoleDep, request: Request) -> HTMLResponse:
        _needs_business(console)
        params = request.query_params
        stage = params.get("stage") or ""
        q = (params.get("q") or "")[:200]
        spec = _lead_filter(request)
        try:
            page = list_leads(console.db, spec, limit=50, cursor=(params.get("cursor") or None))
        except CursorError:
            raise ConsoleProblem(422, "That page link is not valid any more; start from the first page.") from None
        return _page(console, request, "leads.html", page=page, q=q, stage=stage, stages=stages.ALL)

    @router.get("/console/pipeline")
    def pipeline_page(console: ConsoleDep, request: Request) -> HTMLResponse:
        _needs_business(console)
        return _page(console, request, "pipeline.html", columns=pipeline(console.db))

    @router.get("/console/knowledge")
    def knowledge_page(console: ConsoleDep, request: Request, runtime: RuntimeDep) -> HTMLResponse:
        business = _needs_business(console)
        studies = runtime.knowledge.store.list(business.id, limit=500, offset=0)
        text = (request.query_params.get("text") or "").strip()[:2000]
        problem = control_problem(text, multiline=True)
        if problem:
            raise ConsoleProblem(422, f"The message {problem}.")
        result, language = (None, "")
        if text:  # the same matching as GET /v1/case-studies/match and touch 4
            result, language = match_text(
                runtime.knowledge.store,
                business.id,
                text,
                language=None,
                default_language=business.default_locale,
                industry=None,
                extra=synonyms(business.profile),
            )
        return _page(console, request, "knowledge.html", studies=studies, text=text, result=result, language=language)

    @router.get("/console/reports")
    def reports_page(console: ConsoleDep, request: Request) -> HTMLResponse:
        _needs_business(console)
        model = request.query_params.get("model") or "markov"
        if model not in MODELS:
            raise ConsoleProblem(422, f"Model must be one of {', '.join(MODELS)}.")
        return _page(console, request, "reports.html", model=model, models=MODELS)

    @router.get("/console/reports/attribution.svg")
    def attribution_svg(console: ConsoleDep, request: Request) -> Response:
        business = _needs_business(console)
        model = request.query_params.get("model") or "markov"
        if model not in MODELS:
            raise ConsoleProblem(422, f"Model must be one of {', '.join(MODELS)}.")
        return _svg(credit_chart(attribution_report(console.db, business.id, model)))

    @router.get("/console/reports/funnel.svg")
    def funnel_svg(console: ConsoleDep) -> Response:
        business = _needs_business(console)
        sequence = sequence_for(business)
        purposes: dict[int, str] = {t.number: t.purpose for t in sequence.touches}
        return _svg(funnel_chart(funnel_report(console.db, business.id, sequence), purposes))

    @router.get("/console/leads.csv")
    def leads_csv(console: ConsoleDep, request: Request) -> Response:
        """The filtered list as CSV (every page of it, up to MAX_EXPORT leads)."""
        _needs_business(console)
        spec = _lead_filter(request)
        rows: list[list[object]] = []
        cursor: str | None = None
        while len(rows) < MAX_EXPORT:
            page = list_leads(console.db, spec, limit=200, cursor=cursor)
            rows += [
                [
                    lead.id,
                    lead.name,
                    lead.phone,
                    lead.email,
                    lead.source,
                    lead.stage,
                    lead.score,
                    lead.industry,
                    lead.created_at.isoformat(),
                ]
                for lead in page.leads
            ]
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
        header = ["id", "name", "phone", "email", "source", "stage", "score", "industry", "created_at"]
        return Response(
            to_csv(header, rows[:MAX_EXPORT]),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="leads.csv"', "Cache-Control": "no-store"},
        )

    @router.get("/console/keys")
    def keys_page(console: ConsoleDep, request: Request) -> HTMLResponse:
        return _keys_page(console, request)

    @router.post("/console/keys")
    async def keys_create(console: ConsoleDep, request: Request, runtime: RuntimeDep) -> HTMLResponse:
        owner = _key_owner(console)
        form = await request.form()
        kind = field(form, "kind", max_length=16)
        if kind not in ("business", "rep"):
            raise ConsoleProblem(422, "Kind must be business or rep.")
        rep_id = field(form, "rep_id", required=False, max_length=40) or None
        label = field(form, "label", required=False, max_length=200)
        try:
            issued = create_key(console.db, owner, kind=kind, now=runtime.clock.now(), rep_id=rep_id, label=label)
        except KeyAdminError as exc:
            raise ConsoleProblem(exc.status, str(exc)) from None
        return _keys_page(console, request, issued.plaintext, f"New {kind} key {issued.record.prefix}.")

    @router.post("/console/keys/{prefix}/rotate")
    def keys_rotate(prefix: str, console: ConsoleDep, request: Request, runtime: RuntimeDep) -> HTMLResponse:
        issued = rotate_key(console.db, _key_owner(console), prefix[:24], runtime.clock.now())
        if issued is None:
            raise ConsoleProblem(404, "Not found.")
        return _keys_page(
            console, request, issued.plaintext, f"Key {prefix[:24]} rotated: its old secret has stopped working."
        )

    @router.post("/console/keys/{prefix}/revoke")
    def keys_revoke(prefix: str, console: ConsoleDep, runtime: RuntimeDep) -> RedirectResponse:
        if revoke_key(console.db, _key_owner(console), prefix[:24], runtime.clock.now()) is None:
            raise ConsoleProblem(404, "Not found.")
        return _see_other("/console/keys")

    @router.post("/console/agency/businesses")
    async def agency_create(console: ConsoleDep, request: Request, runtime: RuntimeDep) -> HTMLResponse:
        if console.kind != "agency" or console.record.agency_id is None:
            raise ConsoleProblem(404, "Not found.")
        name = field(await request.form(), "name", max_length=200)
        created = create_business(console.db, name=name, now=runtime.clock.now(), agency_id=console.record.agency_id)
        businesses = list(
            console.db.scalars(
                sa.select(Business).where(Business.agency_id == console.record.agency_id).order_by(Business.name)
            )
        )
        return _page(
            console,
            request,
            "agency.html",
            businesses=businesses,
            issued=created.api_key,
            issued_title=f"{name} created.",
        )

    @router.get("/console/leads/{lead_id}/export")
    def lead_export(lead_id: str, console: ConsoleDep) -> Response:
        """Everything held about the lead, as GET /v1/leads/{id}/export gives it."""
        lead = _lead(console, lead_id)
        return Response(
            json.dumps(export_lead(console.db, lead), indent=2, default=str),
            media_type="application/json",
            headers={"Content-Disposition": f'attachment; filename="{lead.id}.json"', "Cache-Control": "no-store"},
        )

    @router.post("/console/leads/{lead_id}/outcome")
    async def lead_outcome(lead_id: str, console: ConsoleDep, request: Request, runtime: RuntimeDep) -> Response:
        lead = _lead(console, lead_id)
        form = await request.form()
        value = field(form, "value", required=False, max_length=20)
        try:
            event = LeadEventIn(
                type=field(form, "outcome", max_length=16),  # validated by the model
                value=float(value) if value else None,
                currency=field(form, "currency", required=False, max_length=3).upper() or None,
            )
        except (ValidationError, ValueError) as exc:
            raise ConsoleProblem(422, _first_problem(exc)) from None
        if event.type not in ("won", "lost"):
            raise ConsoleProblem(422, "Outcome must be won or lost.")
        lead_actions.signal(console.db, runtime, lead, event.model_dump(mode="json"), None)
        return _see_other(f"/console/leads/{lead.id}")

    @router.post("/console/leads/{lead_id}/erase")
    async def lead_erase(lead_id: str, console: ConsoleDep, request: Request, runtime: RuntimeDep) -> Response:
        lead = _lead(console, lead_id)
        if field(await request.form(), "confirm", required=False, max_length=20) != "ERASE":
            raise ConsoleProblem(422, "Type ERASE to confirm: erasing a lead cannot be undone.")
        business = _needs_business(console)
        try:
            lead_actions.erase(console.db, runtime, lead, business)
        except lead_actions.LeadBusy:
            raise ConsoleProblem(409, "The lead is being processed right now; retry in a moment.") from None
        return _see_other("/console/leads")

    @router.get("/console/leads/{lead_id}")
    def lead_page(lead_id: str, console: ConsoleDep, request: Request) -> HTMLResponse:
        lead = _lead(console, lead_id)
        messages = list(
            console.db.scalars(
                sa.select(Message).where(Message.lead_id == lead.id).order_by(Message.created_at, Message.id)
            )
        )
        return _page(console, request, "lead.html", lead=lead, messages=messages)

    @router.get("/console/agency")
    def agency(console: ConsoleDep, request: Request) -> HTMLResponse:
        if console.kind != "agency":
            raise ConsoleProblem(404, "Not found.")
        businesses = list(
            console.db.scalars(
                sa.select(Business).where(Business.agency_id == console.record.agency_id).order_by(Business.name)
            )
        )
        return _page(console, request, "agency.html", businesses=businesses)

    @router.post("/console/agency/switch")
    async def switch(console: ConsoleDep, request: Request) -> Response:
        if console.kind != "agency":
            raise ConsoleProblem(404, "Not found.")
        business_id = field(await request.form(), "business_id", max_length=40)
        owned = console.db.scalar(
            sa.select(Business.id).where(Business.id == business_id, Business.agency_id == console.record.agency_id)
        )
        if owned is None:
            raise ConsoleProblem(404, "Not found.")
        console.db.execute(
            sa.update(ConsoleSession).where(ConsoleSession.id == console.record.id).values(business_id=owned)
        )
        return _see_other("/console/leads")

    return router


def _sign_in_form(request: Request, runtime: Runtime, error: str | None = None, status: int = 200) -> HTMLResponse:
    token = secrets.token_urlsafe(24)
    response = render(request, "sign_in.html", status, console=None, csrf=token, error=error)
    response.set_cookie(
        SIGN_IN_COOKIE,
        token,
        max_age=3600,
        httponly=True,
        samesite="strict",
        secure=secure_cookies(request, runtime),
        path="/console/sign-in",
    )
    return response


def install_console(app: FastAPI) -> APIRouter:
    app.state.console_templates = environment()
    router = console_router()
    app.include_router(router)

    @app.exception_handler(SignInRequired)
    async def _sign_in(request: Request, exc: SignInRequired) -> Response:
        if request.headers.get("hx-request"):
            return Response(status_code=401, headers={"HX-Redirect": "/console/sign-in"})
        if request.method in ("GET", "HEAD"):
            return _see_other("/console/sign-in")
        return render(
            request, "error.html", 401, console=None, title="Signed out", message="Sign in again to continue."
        )

    @app.exception_handler(ConsoleProblem)
    async def _problem(request: Request, exc: ConsoleProblem) -> Response:
        titles = {403: "Refused", 404: "Not found", 409: "Already done", 410: "Expired", 422: "Check the form"}
        return render(
            request, "error.html", exc.status, console=None, title=titles.get(exc.status, "Error"), message=exc.message
        )

    return router
