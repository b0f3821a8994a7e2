"""Case studies: the business's knowledge base, and the match a lead's message would get.

The routes are sync functions (FastAPI runs them in its threadpool): Chroma and the embedding
model block. They authenticate through `current_tenant`, which reads the business in a short
transaction of its own and closes it before any Chroma work: on SQLite a request's transaction
holds the writer gate, and embedding a large upload takes seconds that webhooks and the
dispatcher must not wait for.

Uploads are all-or-nothing: every item is validated first, and a single bad item (or a duplicate
of another item) rejects the whole request with each problem listed by its index.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from api import audit
from api.deps import BearerDep, RuntimeDep, TenantHeader, authenticate, require_business
from api.errors import ERROR_RESPONSES, ApiError, not_found
from api.json_body import BoundedJsonRoute
from knowledge.industries import ExtraSynonyms, normalize_industry
from knowledge.ingest import validate_record
from knowledge.matching import MatchResult
from knowledge.service import match_text, synonyms
from knowledge.store import CaseStudy
from nudge.db import transaction
from nudge.documents import DocumentError, loads_json

router = APIRouter(
    route_class=BoundedJsonRoute, prefix="/v1/case-studies", tags=["case studies"], responses=ERROR_RESPONSES
)

MAX_ITEMS = 1000
MAX_LIST = 500
MAX_TEXT = 4000
MAX_REPORTED = 50  # bad items named in one error message (all of them are in `error.items`)

Language = Literal["en", "es", "pt"]


# ----------------------------------------------------------------------------- schemas


class CaseStudyOut(BaseModel):
    id: str
    title: str
    industry: str = Field(description="canonical industry key, e.g. 'dental' or 'real_estate'")
    body: str
    metrics: dict[str, str | int | float | bool] | str | None
    language: str = Field(description="as given, or detected from the title and body")
    url: str | None
    tags: list[str]


class CaseStudiesWritten(BaseModel):
    created: int
    updated: int
    unchanged: int
    case_studies: list[CaseStudyOut] = Field(description="every study of the request, as stored, in request order")


class CaseStudyList(BaseModel):
    case_studies: list[CaseStudyOut]
    limit: int
    offset: int
    next_offset: int | None = Field(description="offset of the next page; null on the last page")


class IndustryCandidate(BaseModel):
    industry: str
    score: float


class DetectedIndustry(BaseModel):
    industry: str | None = Field(description="null when no industry is named clearly enough")
    confidence: float
    evidence: list[str]
    candidates: list[IndustryCandidate]


class MatchOut(BaseModel):
    language: str = Field(description="the lead's language, as given or detected")
    language_detected: bool
    industry: DetectedIndustry
    case_study: CaseStudyOut | None
    score: float | None = Field(description="0..1; null when there is no match")
    similarity: float | None
    language_match: bool | None = Field(description="whether the case study is in the lead's language")
    reason: str = Field(description="'matched', or why there is no match")


def study_out(study: CaseStudy) -> CaseStudyOut:
    return CaseStudyOut(
        id=study.key,
        title=study.title,
        industry=study.industry,
        body=study.body,
        metrics=study.metrics,
        language=study.language or "",
        url=study.url,
        tags=study.tags,
    )


def match_out(result: MatchResult, language: str, *, detected: bool) -> MatchOut:
    guess, found = result.guess, result.match
    return MatchOut(
        language=language,
        language_detected=detected,
        industry=DetectedIndustry(
            industry=guess.industry,
            confidence=round(guess.confidence, 4),
            evidence=list(guess.evidence),
            candidates=[IndustryCandidate(industry=k, score=round(v, 4)) for k, v in guess.candidates],
        ),
        case_study=study_out(found.case_study) if found else None,
        score=found.score if found else None,
        similarity=found.similarity if found else None,
        language_match=found.language_match if found else None,
        reason=result.reason,
    )


# ----------------------------------------------------------------------------- who is calling


@dataclass(frozen=True)
class Tenant:
    business_id: str
    default_locale: str
    extra: dict[str, list[str]] | None


def current_tenant(
    request: Request, runtime: RuntimeDep, bearer: BearerDep, x_nudge_tenant: TenantHeader = None
) -> Tenant:
    """The calling business, read in a short transaction that is closed before the handler runs.

    These routes work on Chroma outside the request's database transaction, so their audit entry
    is written here, when the key is accepted."""
    with transaction(runtime.sessions) as session:
        principal = authenticate(request, session, runtime, bearer.credentials if bearer else None, x_nudge_tenant)
        business = require_business(principal, session)
        audit.record(session, principal, request, runtime.clock.now())
        return Tenant(business.id, business.default_locale, synonyms(business.profile))


TenantDep = Annotated[Tenant, Depends(current_tenant)]


async def raw_body(request: Request) -> bytes:
    """The request body (the size limit is enforced by the app's middleware while it is read)."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type and content_type != "application/json" and not content_type.endswith("+json"):
        raise ApiError(415, "unsupported_media_type", "send case studies as application/json")
    return await request.body()


# ----------------------------------------------------------------------------- validation


def _decode(raw: bytes) -> Any:
    if not raw.strip():
        raise ApiError(422, "invalid", "the request body is empty; send a case study object or a list of them")
    try:
        return loads_json(raw)
    except DocumentError as exc:
        raise ApiError(422, "invalid", f"the request body: {exc}") from exc


def _invalid_items(problems: list[tuple[int, str]], single: bool) -> JSONResponse:
    if single:
        message = problems[0][1]
    else:
        shown = "; ".join(f"item {index}: {text}" for index, text in problems[:MAX_REPORTED])
        more = f"; and {len(problems) - MAX_REPORTED} more" if len(problems) > MAX_REPORTED else ""
        count = f"{len(problems)} invalid case stud{'y' if len(problems) == 1 else 'ies'}"
        message = f"{count}, nothing was stored: {shown}{more}"
    items = [{"index": index, "message": text} for index, text in problems]
    return JSONResponse({"error": {"code": "invalid", "message": message, "items": items}}, status_code=422)


def _validate(payload: Any, extra: ExtraSynonyms | None, business_id: str) -> list[CaseStudy] | JSONResponse:
    """Prepared case studies, or the 422 response listing every bad item."""
    single = isinstance(payload, dict)
    if single:
        records: list[Any] = [payload]
    elif isinstance(payload, list):
        records = payload
        if not records:
            raise ApiError(422, "invalid", "the list is empty; send at least one case study")
        if len(records) > MAX_ITEMS:
            raise ApiError(
                422,
                "too_many_items",
                f"{len(records)} case studies in one request; send at most {MAX_ITEMS} per request",
            )
    else:
        raise ApiError(422, "invalid", "send a case study object or a list of them")
    problems: list[tuple[int, str]] = []
    studies: list[CaseStudy] = []
    first_index: dict[str, int] = {}
    for index, record in enumerate(records):
        checked = validate_record(record, "request", index)
        if not isinstance(checked, CaseStudy):
            problems.append((index, checked.message))
            continue
        try:
            ready = checked.prepared(business_id, extra)
        except ValueError as exc:  # e.g. an industry that folds to nothing
            problems.append((index, str(exc)))
            continue
        if ready.key in first_index:
            problems.append((index, f"duplicate of item {first_index[ready.key]} (same id, or title and industry)"))
            continue
        first_index[ready.key] = index
        studies.append(ready)
    if problems:
        return _invalid_items(problems, single)
    return studies


_STUDY_SCHEMA = CaseStudy.model_json_schema(mode="validation")
_BODY_DOC: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "oneOf": [
                        _STUDY_SCHEMA,
                        {"type": "array", "items": _STUDY_SCHEMA, "minItems": 1, "maxItems": MAX_ITEMS},
                    ]
                }
            }
        },
    }
}


# ----------------------------------------------------------------------------- routes


@router.post(
    "",
    status_code=201,
    response_model=CaseStudiesWritten,
    openapi_extra=_BODY_DOC,
    responses={
        200: {"model": CaseStudiesWritten, "description": "nothing new: every study was already known"},
        413: {"description": "the body is over the size limit"},
        415: {"description": "not JSON"},
    },
)
def upsert(
    tenant: TenantDep, runtime: RuntimeDep, response: Response, raw: Annotated[bytes, Depends(raw_body)]
) -> CaseStudiesWritten | JSONResponse:
    """Add or update case studies: one object or a list (at most 1,000), all or nothing.

    Fields: `title, industry, body, metrics?, language?, url?, tags?` and an optional `id`; without
    an id a study is identified by its title and industry, so posting it again updates it (or, when
    nothing changed, counts it as `unchanged`). 201 when a study was created, 200 otherwise.
    """
    checked = _validate(_decode(raw), tenant.extra, tenant.business_id)
    if isinstance(checked, JSONResponse):
        return checked
    result = runtime.knowledge.store.upsert(tenant.business_id, checked, extra=tenant.extra)
    if not result.created:
        response.status_code = 200
    return CaseStudiesWritten(
        created=result.created,
        updated=result.updated,
        unchanged=result.unchanged,
        case_studies=[study_out(s) for s in checked],
    )


@router.get("", response_model=CaseStudyList)
def list_studies(
    tenant: TenantDep,
    runtime: RuntimeDep,
    industry: Annotated[str | None, Query(min_length=1, max_length=100, description="industry key or name")] = None,
    language: Language | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIST)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> CaseStudyList:
    """The business's case studies, optionally of one industry and/or language.

    Pages follow the store's order (each page is sorted by industry and title); `next_offset` is
    null once a page comes back short (a full last page is followed by an empty one)."""
    page = runtime.knowledge.store.list(
        tenant.business_id,
        industry=_industry_key(industry, tenant.extra),
        language=language,
        limit=limit,
        offset=offset,
    )
    return CaseStudyList(
        case_studies=[study_out(s) for s in page],
        limit=limit,
        offset=offset,
        next_offset=offset + limit if len(page) == limit else None,
    )


@router.get("/match", response_model=MatchOut)
def match(
    tenant: TenantDep,
    runtime: RuntimeDep,
    text: Annotated[str, Query(min_length=1, max_length=MAX_TEXT, description="what the lead wrote")],
    language: Annotated[Language | None, Query(description="the lead's language; detected when absent")] = None,
    industry: Annotated[
        str | None, Query(min_length=1, max_length=100, description="the industry the lead gave on a form")
    ] = None,
) -> MatchOut:
    """The industry detected in a lead's message and the case study touch 4 would show."""
    if not text.strip():
        raise ApiError(422, "invalid", "text: is blank")
    result, lang = match_text(
        runtime.knowledge.store,
        tenant.business_id,
        text,
        language=language,
        default_language=tenant.default_locale,
        industry=industry,
        extra=tenant.extra,
    )
    return match_out(result, lang, detected=language is None)


StudyId = Annotated[str, Path(min_length=1, max_length=128)]


@router.get("/{study_id}", response_model=CaseStudyOut)
def read(study_id: StudyId, tenant: TenantDep, runtime: RuntimeDep) -> CaseStudyOut:
    study = runtime.knowledge.store.get(tenant.business_id, study_id)
    if study is None:
        raise not_found("case study")
    return study_out(study)


@router.delete("/{study_id}", status_code=204, response_class=Response)
def delete(study_id: StudyId, tenant: TenantDep, runtime: RuntimeDep) -> Response:
    if runtime.knowledge.store.delete(tenant.business_id, [study_id]) == 0:
        raise not_found("case study")
    return Response(status_code=204)


def _industry_key(value: str | None, extra: ExtraSynonyms | None) -> str | None:
    if value is None:
        return None
    try:
        return normalize_industry(value, extra)
    except ValueError as exc:
        raise ApiError(422, "invalid", f"industry: {exc}") from exc
