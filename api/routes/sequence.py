"""The business's follow-up sequence."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from agent.outbound_urls import TargetPolicy, check_targets, configured_targets
from agent.sequence import Sequence
from agent.sequence_file import SequenceError, channel_problems, parse_sequence_document
from api.deps import BusinessDep, RuntimeDep, SessionDep
from api.errors import ERROR_RESPONSES, ApiError
from api.json_body import BoundedJsonRoute
from api.schemas import SequenceOut
from scheduler.dispatcher import sequence_for

router = APIRouter(route_class=BoundedJsonRoute, prefix="/v1/sequence", tags=["sequence"], responses=ERROR_RESPONSES)


def _inlined(schema: Any, defs: dict[str, Any]) -> Any:
    """`schema` with pydantic's `#/$defs/...` references replaced by what they name: inside
    /openapi.json such a reference would point at the document's root, where there is no $defs."""
    if isinstance(schema, list):
        return [_inlined(item, defs) for item in schema]
    if not isinstance(schema, dict):
        return schema
    ref = schema.get("$ref", "")
    if ref.startswith("#/$defs/"):
        siblings = {key: value for key, value in schema.items() if key != "$ref"}
        return _inlined({**defs[ref.removeprefix("#/$defs/")], **siblings}, defs)
    return {key: _inlined(value, defs) for key, value in schema.items() if key != "$defs"}


def _body_doc() -> dict[str, Any]:
    schema = Sequence.model_json_schema(mode="validation")
    body = {"schema": _inlined(schema, schema.get("$defs", {}))}
    # YAML is read into the same document as JSON (JSON is YAML), so it has the same schema.
    return {"requestBody": {"required": True, "content": {"application/json": body, "application/yaml": body}}}


def sequence_out(business: BusinessDep) -> SequenceOut:
    return SequenceOut(
        custom=business.sequence is not None, profile=business.profile or {}, **sequence_for(business).to_public()
    )


@router.get("", response_model=SequenceOut)
def read(business: BusinessDep) -> SequenceOut:
    return sequence_out(business)


@router.put(
    "", response_model=SequenceOut, openapi_extra=_body_doc(), responses={415: {"description": "not JSON or YAML"}}
)
async def replace(request: Request, business: BusinessDep, session: SessionDep, runtime: RuntimeDep) -> SequenceOut:
    content_type = request.headers.get("content-type", "").split(";")[0].strip()
    if content_type not in ("application/json", "application/yaml", "application/x-yaml", "text/yaml"):
        raise ApiError(415, "unsupported_media_type", "send the sequence as application/json or application/yaml")
    raw = await request.body()
    try:
        document = parse_sequence_document(raw.decode("utf-8"), read_only=("custom",))
    except UnicodeDecodeError as exc:
        raise ApiError(422, "invalid", "the body is not UTF-8 text") from exc
    except SequenceError as exc:
        raise ApiError(422, "invalid_sequence", "; ".join(exc.problems)) from exc
    configured = {
        "whatsapp": bool(business.whatsapp_from),
        "sms": bool(business.sms_from),
        "email": bool(business.email_from),
    }
    sequence = document.sequence
    problems = channel_problems(sequence, configured)
    if problems:
        raise ApiError(422, "invalid_sequence", "; ".join(problems))
    targets = list(configured_targets(profile=document.profile))
    if targets:  # a name is resolved: not on the event loop
        await run_in_threadpool(check_targets, targets, TargetPolicy.from_settings(runtime.settings))
    business.sequence = sequence.to_public()
    if document.profile is not None:
        business.profile = document.profile  # the file may carry the profile the touches draw on
    business.updated_at = runtime.clock.now()
    return sequence_out(business)
