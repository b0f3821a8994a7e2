"""Request and response bodies of the public API (they document themselves in /openapi.json)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    GetJsonSchemaHandler,
    field_validator,
    model_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

from agent.contacts import ContactError, normalise_email, normalise_phone
from agent.policies import is_valid_timezone
from agent.profile import BusinessProfile
from agent.text import control_problem, document_no_controls

Language = Literal["en", "es", "pt"]
_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


def _control_problems(value: Any, where: str, multiline: bool) -> Iterator[str]:
    if isinstance(value, str):
        problem = control_problem(value, multiline=multiline)
        if problem:
            yield f"{where}: {problem}"
    elif isinstance(value, dict):
        for key, item in value.items():
            inner = f"{where}.{key}"
            if isinstance(key, str) and (problem := control_problem(key, multiline=False)):
                yield f"{inner}: its name {problem}"
            yield from _control_problems(item, inner, multiline)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _control_problems(item, f"{where}.{index}", multiline)


_DATE_TIME = re.compile(r"^\d{4}-\d\d-\d\d[Tt ]\d\d:\d\d")


def _date_time_text(value: Any) -> Any:
    # pydantic would also read "0.5" as a Unix time; the schema promises an RFC 3339 date-time.
    if isinstance(value, str) and not _DATE_TIME.match(value):
        raise ValueError(f"'{value[:40]}' is not a date-time like 2026-01-01T00:00:00Z")
    return value


# Every date-time the API reads: RFC 3339 with its offset. One without a zone is a 422 naming the
# parameter, never guessed as UTC or as the business's time.
Instant = Annotated[AwareDatetime, BeforeValidator(_date_time_text)]


def _a_whole_number(value: Any) -> Any:
    """JSON's integer: 3 or 3.0, never true (Python's bool is an int) nor "3" (pydantic's lax mode
    reads both)."""
    if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
        raise ValueError("must be an integer")
    return value


# After the field's bounds in the same Annotated (`Annotated[int, Field(ge=0), WHOLE_NUMBER]`), so
# the bounds stay `minimum`/`maximum` in the JSON schema.
WHOLE_NUMBER = BeforeValidator(_a_whole_number)

WEB_URL = r"^https?://[^\u0000-\u001F\u007F]*$"  # checked further by agent.outbound_urls


class Strict(BaseModel):
    """Every request body: unknown fields refused, and no control characters in any string, nested
    ones included (PostgreSQL cannot store NUL; none of them is something a person typed)."""

    model_config = ConfigDict(extra="forbid")
    # Fields whose strings may hold tabs and line breaks (a message, a note); every other one is a
    # single line.
    multiline: ClassVar[frozenset[str]] = frozenset()

    @classmethod
    def __get_pydantic_json_schema__(cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        schema = handler(core_schema)
        for name, field in handler.resolve_ref_schema(schema).get("properties", {}).items():
            document_no_controls(field, multiline=name in cls.multiline)
        return schema

    @model_validator(mode="before")
    @classmethod
    def _no_control_characters(cls, data: Any) -> Any:
        if isinstance(data, dict):
            problems = [
                problem
                for name, value in data.items()
                for problem in _control_problems(value, str(name), name in cls.multiline)
            ]
            if problems:
                raise ValueError("; ".join(problems))
        return data


class Consent(Strict):
    whatsapp: bool | None = None
    sms: bool | None = None
    email: bool | None = None


def _timezone(value: str | None) -> str | None:
    if value is not None and not is_valid_timezone(value):
        raise ValueError(f"'{value}' is not an IANA timezone such as 'America/Sao_Paulo'")
    return value


class LeadIn(Strict):
    multiline = frozenset({"message", "metadata"})

    name: Annotated[str, Field(max_length=200)] = ""
    phone: Annotated[str | None, Field(max_length=40)] = None
    email: Annotated[str | None, Field(max_length=320)] = None
    source: Annotated[str, Field(min_length=1, max_length=64)] = "form"
    message: Annotated[str, Field(max_length=4000)] = ""
    industry: Annotated[str | None, Field(max_length=64)] = None
    timezone: str | None = None
    locale: Language | None = None
    consent: Consent = Consent()
    external_id: Annotated[str | None, Field(min_length=1, max_length=200)] = None
    metadata: dict[str, Any] = Field(default_factory=dict)

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        try:
            return normalise_phone(value)
        except ContactError as exc:
            raise ValueError(f"{exc}; use international format like +5511987654321") from exc

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        try:
            return normalise_email(value)
        except ContactError as exc:
            raise ValueError(str(exc)) from exc

    _tz = field_validator("timezone")(classmethod(lambda cls, v: _timezone(v)))

    @field_validator("metadata")
    @classmethod
    def _small_metadata(cls, value: dict[str, Any]) -> dict[str, Any]:
        if len(repr(value)) > 10_000:
            raise ValueError("metadata is limited to 10 KB")
        return value

    @model_validator(mode="after")
    def _reachable(self) -> LeadIn:
        if not self.phone and not self.email:
            raise ValueError("a lead needs a phone or an email to be followed up")
        return self


class NextTouch(BaseModel):
    number: int
    purpose: str
    channel: str | None
    due_at: datetime | None


class LeadOut(BaseModel):
    id: str
    name: str
    phone: str | None
    email: str | None
    external_id: str | None
    source: str
    stage: str
    score: int
    industry: str | None
    locale: str | None
    timezone: str | None
    consent: dict[str, Any]
    opt_outs: list[str]
    last_touch: int
    next_touch: NextTouch | None
    metadata: dict[str, Any]
    created_at: datetime
    updated_at: datetime


class MessageOut(BaseModel):
    id: str
    direction: str
    channel: str
    touch: int | None
    author: str
    composer: str
    text: str
    subject: str | None
    template_sid: str | None
    status: str
    status_history: list[dict[str, Any]]
    error_code: str | None
    note: str | None = Field(description="why this channel was chosen, when others were passed over")
    created_at: datetime
    sent_at: datetime | None


class MessagesOut(BaseModel):
    lead_id: str
    messages: list[MessageOut]


class LeadList(BaseModel):
    leads: list[LeadOut]
    next_cursor: str | None = Field(description="pass as `cursor` for the next page; null on the last page")


class LeadEventIn(Strict):
    multiline = frozenset({"note"})

    type: Literal["converted", "won", "booked", "lost", "meeting_held", "proposal_sent", "replied_elsewhere"]
    value: Annotated[float | None, Field(ge=0)] = None
    currency: Annotated[str | None, Field(pattern=r"^[A-Z]{3}$")] = None
    note: Annotated[str, Field(max_length=1000)] = ""
    external_id: Annotated[str | None, Field(max_length=200)] = None

    @model_validator(mode="after")
    def _currency_with_value(self) -> LeadEventIn:
        if self.value is not None and self.currency is None:
            raise ValueError("currency: required with a value (ISO 4217, e.g. USD)")
        return self


class AcceptedOut(BaseModel):
    accepted: bool
    event_id: str | None = None
    duplicate: bool = False


class QuietHoursIn(Strict):
    start: str = "20:00"
    end: str = "09:00"
    weekends: bool = True

    @field_validator("start", "end")
    @classmethod
    def _hhmm(cls, value: str) -> str:
        if not _HHMM.match(value):
            raise ValueError(f"'{value}' is not a time like 20:00")
        return value


class MetaAudienceIn(Strict):
    kind: Literal["meta"]
    audience_id: Annotated[str, Field(pattern=r"^\d{1,40}$", description="the Custom Audience id")]
    access_token: Annotated[str, Field(min_length=10, max_length=1000)]


class WebhookAudienceIn(Strict):
    kind: Literal["webhook"]
    name: Annotated[str, Field(min_length=1, max_length=100)]
    url: Annotated[str, Field(pattern=WEB_URL, max_length=2000)]
    secret: Annotated[str, Field(min_length=16, max_length=200, description="signs each POST (HMAC-SHA256)")]


AudienceIn = Annotated[MetaAudienceIn | WebhookAudienceIn, Field(discriminator="kind")]
ChannelNameIn = Literal["whatsapp", "sms", "email"]


CLEARABLE = frozenset({"whatsapp_from", "sms_from", "email_from"})


def _null_only_where_clearable(schema: dict[str, Any]) -> None:
    """A PATCH field left out keeps its value and null is refused (api.routes.business.patch_fields),
    so the schema offers null only where it clears a sender."""
    for name, field in schema.get("properties", {}).items():
        options = field.get("anyOf")
        if name in CLEARABLE or not options or {"type": "null"} not in options:
            continue
        rest = [option for option in options if option != {"type": "null"}]
        del field["anyOf"]
        if len(rest) == 1:
            field.update(rest[0])
        else:
            field["anyOf"] = rest


class BusinessPatch(Strict):
    model_config = ConfigDict(extra="forbid", json_schema_extra=_null_only_where_clearable)
    multiline = frozenset({"profile"})

    name: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    timezone: str | None = None
    default_locale: Language | None = None
    languages: Annotated[list[Language], Field(min_length=1, max_length=3)] | None = None
    whatsapp_from: str | None = None
    sms_from: str | None = None
    email_from: Annotated[str | None, Field(max_length=320)] = None
    quiet_hours: QuietHoursIn | None = None
    handoff_sla_seconds: Annotated[int, Field(ge=30, le=7 * 86400)] | None = None
    profile: BusinessProfile | None = None
    whatsapp_templates: dict[str, dict[str, dict[str, Any]]] | None = None
    audiences: Annotated[list[AudienceIn], Field(max_length=20)] | None = Field(
        default=None, description="retargeting destinations; the lead is added at the value-offer touch"
    )
    consent_required: Annotated[list[ChannelNameIn], Field(max_length=3)] | None = Field(
        default=None, description="channels used only with the lead's explicit consent (consent.<channel> true)"
    )

    _tz = field_validator("timezone")(classmethod(lambda cls, v: _timezone(v)))

    @field_validator("whatsapp_from", "sms_from")
    @classmethod
    def _number(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        try:
            return normalise_phone(value)
        except ContactError as exc:
            raise ValueError(str(exc)) from exc

    @field_validator("email_from")
    @classmethod
    def _sender(cls, value: str | None) -> str | None:
        if not value:
            return None
        address = value.rsplit("<", 1)[-1].rstrip(">").strip()
        try:
            normalise_email(address)
        except ContactError as exc:
            raise ValueError(str(exc)) from exc
        return value.strip()

    @field_validator("whatsapp_templates")
    @classmethod
    def _templates(cls, value: dict[str, dict[str, dict[str, Any]]] | None) -> Any:
        for purpose, by_language in (value or {}).items():
            for language, entry in by_language.items():
                if not str(entry.get("content_sid", "")).startswith("HX"):
                    raise ValueError(f"{purpose}.{language}: content_sid must be a Twilio Content SID (HX…)")
                if not isinstance(entry.get("variables", []), list):
                    raise ValueError(f"{purpose}.{language}: variables must be a list of placeholder names")
        return value


class BusinessCreate(BusinessPatch):
    name: Annotated[str, Field(min_length=1, max_length=200)]


class BusinessOut(BaseModel):
    id: str
    name: str
    agency_id: str | None
    timezone: str
    default_locale: str
    languages: list[str]
    whatsapp_from: str | None
    sms_from: str | None
    email_from: str | None
    quiet_hours: QuietHoursIn
    handoff_sla_seconds: int
    profile: dict[str, Any]
    whatsapp_templates: dict[str, Any]
    audiences: list[dict[str, Any]] = Field(description="secrets and tokens are masked")
    consent_required: list[str]
    created_at: datetime


class BusinessCreated(BusinessOut):
    api_key: str = Field(description="shown once; store it now")


class VariantOut(BaseModel):
    name: str
    weight: float
    channels: list[str] | None
    delay: str | None


class TouchOut(BaseModel):
    number: int
    purpose: str
    delay: str = Field(description="after the lead's last contact, e.g. '24h', '3d'")
    channels: list[str]
    asset: str
    follow_up: bool
    retarget: bool
    variants: list[VariantOut] = []
    holdout: float = Field(default=0.0, description="share of leads that skip this touch (an experiment's control)")
    experiment: str = ""


class SequenceOut(BaseModel):
    name: str
    custom: bool = Field(description="false while the business uses the default 7-touch sequence")
    touches: list[TouchOut]
    profile: dict[str, Any] = Field(
        default_factory=dict, description="the business profile; a PUT may send it back or change it"
    )


class BusinessList(BaseModel):
    businesses: list[BusinessOut]
