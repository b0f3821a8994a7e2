"""`POST /v1/leads/import` and the imports' summaries and per-row error reports.

An import of up to `MAX_ROWS` rows is written in one transaction: all of it or, on a failure, none
of it. Bigger files go through `nudge leads import`, which commits batch by batch.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api import audit
from api.deps import BearerDep, BusinessDep, RuntimeDep, SessionDep, TenantHeader, authenticate, require_business
from api.errors import ERROR_RESPONSES, ApiError, not_found
from api.json_body import BoundedJsonRoute
from api.lead_import import (
    MAX_ROWS,
    ImportField,
    ImportOptions,
    ImportProblem,
    report_csv,
    run_import,
    save,
)
from api.schemas import Instant, Strict
from nudge.db import transaction
from nudge.ids import new_id
from nudge.models import LeadImport
from scheduler.inputs import NumberOwner

router = APIRouter(route_class=BoundedJsonRoute, tags=["lead import"], responses=ERROR_RESPONSES)

MAX_DATA = 4_500_000  # characters of file; the app refuses bodies over NUDGE_MAX_BODY_BYTES first
SHOWN_ERRORS = 100  # in the JSON answer; the report has them all



class LeadImportIn(Strict):
    multiline = frozenset({"data"})

    format: Literal["csv", "jsonl"] = Field(
        default="csv", description="csv: the first row names the columns (',' ';' or tab); jsonl: one object a line"
    )
    data: Annotated[str, Field(min_length=1, max_length=MAX_DATA, description=f"the file, at most {MAX_ROWS} rows")]
    mapping: Annotated[
        dict[Annotated[str, Field(max_length=200)], ImportField],
        Field(
            default_factory=dict,
            max_length=200,
            description="column → field, over the guess from the header (en/es/pt names); 'ignore' drops a column, "
            "'metadata' keeps it on the lead",
        ),
    ]
    default_country: Annotated[
        str | None, Field(pattern=r"^[A-Z]{2}$", description="ISO 3166 country of numbers written without +code")
    ] = None
    on_duplicate: Literal["skip", "update"] = Field(
        default="skip", description="a lead already known by phone, email or external id: leave it, or update it"
    )
    dry_run: bool = Field(default=False, description="check every row and answer the summary; write no lead")
    start: Literal["now", "at", "on_reply"] = Field(
        default="now", description="new leads' sequence: now, at `start_at`, or on the lead's next message"
    )
    start_at: Instant | None = None
    source: Annotated[str, Field(min_length=1, max_length=64)] = "import"


class RowErrorOut(BaseModel):
    row: int = Field(description="as a spreadsheet numbers it (the header is row 1); a JSONL file's line")
    column: str = Field(description="the file's column; empty when the row as a whole is wrong")
    message: str


class LeadImportOut(BaseModel):
    id: str
    dry_run: bool
    format: str
    rows: int
    created: int
    updated: int
    unchanged: int = Field(description="already known, and the row changes nothing")
    skipped: int = Field(description="already known, left alone (on_duplicate: skip)")
    failed: int = Field(description="rows not imported; each is in the error report")
    columns: dict[str, str] = Field(description="the file's columns and the field each filled")
    errors: list[RowErrorOut] = Field(description=f"the first {SHOWN_ERRORS} row errors")
    report_url: str = Field(description="every row error as CSV (row, column, message)")
    created_at: datetime


def _out(record: LeadImport) -> LeadImportOut:
    return LeadImportOut(
        id=record.id,
        dry_run=record.dry_run,
        format=record.format,
        rows=record.rows,
        created=record.created,
        updated=record.updated,
        unchanged=record.unchanged,
        skipped=record.skipped,
        failed=record.failed,
        columns=dict(record.options.get("columns", {})),
        errors=[RowErrorOut(**e) for e in record.errors[:SHOWN_ERRORS]],
        report_url=f"/v1/lead-imports/{record.id}/errors",
        created_at=record.created_at,
    )


@router.post(
    "/v1/leads/import",
    status_code=201,
    response_model=LeadImportOut,
    responses={409: {"description": "a lead of the file was added meanwhile; send the file again"}},
)
def import_leads(
    body: LeadImportIn, request: Request, runtime: RuntimeDep, bearer: BearerDep, x_nudge_tenant: TenantHeader = None
) -> LeadImportOut:
    """Import leads from a CSV or JSONL file: every row goes through the rules of `POST /v1/leads`;
    rows with errors are reported by row and column, the others imported (nothing in a dry run)."""
    # The key is checked in a short transaction of its own and the rows outside any: on SQLite a
    # transaction holds the one writer, and checking ten thousand phone numbers takes a while.
    with transaction(runtime.sessions) as session:
        principal = authenticate(request, session, runtime, bearer.credentials if bearer else None, x_nudge_tenant)
        business = require_business(principal, session)
        owner = NumberOwner(business.id, business.default_locale)
    try:
        options = ImportOptions(
            format=body.format,
            mapping=body.mapping,
            default_country=body.default_country,
            on_duplicate=body.on_duplicate,
            dry_run=body.dry_run,
            start=body.start,
            start_at=body.start_at,
            source=body.source,
        )
        now = runtime.clock.now()
        import_id = new_id("imp")
        steps: list[Callable[[Session], None]] = []
        summary = run_import(body.data, options, owner, now, import_id, steps.append, max_rows=MAX_ROWS)
        # Every batch in one transaction with the import's record and audit entry: all or nothing.
        with transaction(runtime.sessions, business_id=owner.id) as session:
            for step in steps:
                step(session)
            record = save(session, owner.id, import_id, "api", options, summary, now)
            audit.record(session, principal, request, now)
            session.flush()
            answer = _out(record)
    except ImportProblem as exc:
        raise ApiError(422, "invalid", str(exc)) from None
    except IntegrityError:
        raise ApiError(409, "conflict", "a lead of the file was added meanwhile; send the file again") from None
    return answer


def _find(session: SessionDep, import_id: str) -> LeadImport:
    record = session.get(LeadImport, import_id)
    if record is None:
        raise not_found("lead import")
    return record


@router.get("/v1/lead-imports/{import_id}", response_model=LeadImportOut)
def read_import(import_id: str, session: SessionDep, business: BusinessDep) -> LeadImportOut:
    return _out(_find(session, import_id))


@router.get(
    "/v1/lead-imports/{import_id}/errors",
    response_class=Response,
    responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}, "description": "row,column,message"}},
)
def import_errors(import_id: str, session: SessionDep, business: BusinessDep) -> Response:
    record = _find(session, import_id)
    headers: dict[str, Any] = {"Content-Disposition": f'attachment; filename="{record.id}-errors.csv"'}
    return Response(report_csv(record.errors), media_type="text/csv; charset=utf-8", headers=headers)
