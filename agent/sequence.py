"""The follow-up sequence: which touches exist, when, why, on which channels.

A business may replace the default with its own (API `PUT /v1/sequence` or a YAML/JSON file).
Each touch's `delay` is measured from the lead's last contact (their arrival or their last
message), so a conversation pushes the rest of the sequence back instead of talking over it.
"""

from __future__ import annotations

import functools
import math
import re
from datetime import timedelta
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, WithJsonSchema, field_validator, model_validator

from agent.composer.phrasebook import load_phrasebook

ChannelName = Literal["whatsapp", "sms", "email"]
Purpose = Literal[
    "instant_reply", "qualification", "soft_reminder", "social_proof", "value_offer", "breakup", "reengagement"
]
# What a touch must carry to be worth sending (the value rule).
Asset = Literal["answer", "question", "resource", "case_study", "offer", "content"]

_DURATION = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*(s|m|h|d|w)\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
# A follow-up more than a year after the last contact is no longer a follow-up; the bound also keeps
# `last contact + delay` inside the calendar, which a delay of millions of days would overflow.
MAX_DELAY = timedelta(days=366)
ANSWER_WINDOW = timedelta(hours=1)  # a touch this soon after a lead's message still answers it
# Rules for a sequence being written (PUT /v1/sequence, a file), checked with this validation
# context; a sequence stored before a rule existed still loads, so no lead's runs start failing.
AUTHORING: dict[str, bool] = {"authoring": True}
# Purposes the graph looks up by name (the break-up answers, the qualification question, the
# first message): a second touch with one of them would never be recognised as such.
_UNIQUE_PURPOSES = ("instant_reply", "qualification", "breakup")


def parse_duration(value: str | int | float) -> timedelta:
    """'45s', '3m', '24h', '3d', '2w' or a number of seconds."""
    if isinstance(value, bool):
        raise ValueError("a duration is a number of seconds or text like '3d'")
    if isinstance(value, int | float):
        seconds = float(value)
    elif not isinstance(value, str):
        raise ValueError("a duration is a number of seconds or text like '3d'")
    else:
        found = _DURATION.match(value)
        if not found:
            raise ValueError(f"'{value}' is not a duration; use e.g. '90s', '5m', '24h', '3d' or '2w'")
        seconds = float(found.group(1)) * _UNIT_SECONDS[found.group(2)]
    if not math.isfinite(seconds):
        raise ValueError(f"'{value}' is not a duration; use e.g. '90s', '5m', '24h', '3d' or '2w'")
    return _bounded(seconds, f"'{value}'")


def _bounded(seconds: float, shown: str) -> timedelta:
    """The delay, once it is known to be one (checked in seconds: timedelta() would overflow first)."""
    if seconds < 0:
        raise ValueError("a delay cannot be negative")
    if seconds > MAX_DELAY.total_seconds():
        raise ValueError(f"{shown} is too long; a delay is at most {format_duration(MAX_DELAY)}")
    return timedelta(seconds=seconds)


def format_duration(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    for unit in ("w", "d", "h", "m"):
        size = _UNIT_SECONDS[unit]
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


# What parse_duration reads, for the JSON schema (pydantic would say an ISO 8601 duration string).
_DURATION_SCHEMA = WithJsonSchema(
    {
        "anyOf": [
            {"type": "string", "pattern": _DURATION.pattern, "examples": ["24h", "3d"]},
            {"type": "number", "minimum": 0, "description": "seconds"},
        ]
    }
)
Delay = Annotated[timedelta, _DURATION_SCHEMA]


def _delay(value: Any) -> timedelta:
    if isinstance(value, timedelta):
        return _bounded(value.total_seconds(), format_duration(value))
    return parse_duration(value)


PhrasingId = Annotated[str, Field(min_length=1, max_length=60, pattern=r"^[a-z0-9_]+$")]


class Variant(BaseModel):
    """One arm of a touch's experiment: what it changes for the leads assigned to it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_.-]+$")]
    weight: Annotated[float, Field(gt=0, le=1000, strict=True)] = 1.0  # strict: true is not 1
    channels: Annotated[list[ChannelName] | None, Field(min_length=1)] = None  # replaces the touch's order
    delay: Delay | None = Field(default=None, description="replaces the touch's delay; e.g. '2d'")
    # Wording: phrasebook phrasings (ids under the touch's purpose, the same in every language)
    # this arm's leads read first; others are used only when none of these fits.
    phrasings: Annotated[list[PhrasingId] | None, Field(min_length=1, max_length=20)] = None

    @field_validator("delay", mode="before")
    @classmethod
    def _parse_delay(cls, value: Any) -> timedelta | None:
        return None if value is None else _delay(value)

    @field_validator("channels")
    @classmethod
    def _unique_channels(cls, value: list[ChannelName] | None) -> list[ChannelName] | None:
        if value is not None and len(set(value)) != len(value):
            raise ValueError("a channel is listed twice")
        return value


def _authoring(info: ValidationInfo) -> bool:
    return isinstance(info.context, dict) and bool(info.context.get("authoring"))


def phrasing_ids(purpose: str) -> frozenset[str]:
    """The phrasebook's phrasing ids for a touch purpose, in any language."""
    book = load_phrasebook()
    return frozenset(p.id.split(".", 2)[2] for language in book.languages() for p in book.get(purpose, language))


class Touch(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    number: Annotated[int, Field(ge=1, le=20, strict=True)]  # strict: as the schema says, no true, no "1"
    purpose: Purpose
    delay: Delay = Field(description="time after the lead's last contact; e.g. '24h', '3d'")
    channels: Annotated[list[ChannelName], Field(min_length=1)]
    asset: Asset
    # Touches 1-2 answer a lead who is writing right now; the rest are unsolicited follow-ups,
    # bound by quiet hours and the one-touch-a-day cap.
    follow_up: Annotated[bool, Field(strict=True)] = True  # strict: 0 and "yes" are not booleans
    retarget: Annotated[bool, Field(strict=True)] = False
    # An experiment: leads are split at random (stable per lead) between the variants, and a
    # `holdout` share of them skips the touch, so the report can show what the touch adds.
    variants: Annotated[list[Variant], Field(max_length=10)] = []
    holdout: Annotated[float, Field(ge=0, le=0.9, strict=True)] = 0.0  # strict: false is not 0
    experiment: Annotated[str, Field(max_length=60)] = ""  # renaming it re-draws every lead's arm

    @field_validator("delay", mode="before")
    @classmethod
    def _parse_delay(cls, value: Any) -> timedelta:
        return _delay(value)

    @field_validator("variants")
    @classmethod
    def _unique_variants(cls, value: list[Variant]) -> list[Variant]:
        names = [v.name for v in value]
        if len(set(names)) != len(names):
            raise ValueError("two variants have the same name")
        return value

    @model_validator(mode="after")
    def _answers_only_while_writing(self, info: ValidationInfo) -> Touch:
        # follow_up: false lifts quiet hours and the daily cap, which only an answer to a lead who
        # is writing right now may skip; a later touch is unsolicited whatever it is called.
        latest = self.latest_delay
        if _authoring(info) and not self.follow_up and latest > ANSWER_WINDOW:
            raise ValueError(
                f"follow_up: false is only for touches that answer a lead who is writing (delay up to "
                f"{format_duration(ANSWER_WINDOW)}); touch {self.number} comes {format_duration(latest)} "
                "after the last contact for some leads, so quiet hours and the daily cap apply to it"
            )
        return self

    @property
    def latest_delay(self) -> timedelta:
        """The touch's delay, or a variant's when an experiment moves it later."""
        return max([self.delay, *(v.delay for v in self.variants if v.delay is not None)])

    @model_validator(mode="after")
    def _holdout_allowed(self) -> Touch:
        if self.holdout and not self.follow_up:
            raise ValueError("holdout: touches that answer a lead who is writing (follow_up: false) are never held out")
        return self

    @model_validator(mode="after")
    def _phrasings_exist(self) -> Touch:
        wanted = [(i, name) for i, v in enumerate(self.variants) for name in v.phrasings or ()]
        if not wanted:
            return self
        known = phrasing_ids(self.purpose)
        for index, name in wanted:
            if name not in known:
                raise ValueError(
                    f"variants.{index}.phrasings: '{name}' is not a phrasing of {self.purpose} "
                    f"(known: {', '.join(sorted(known))})"
                )
        return self

    @property
    def experiment_name(self) -> str:
        return self.experiment or f"touch{self.number}"

    @property
    def has_experiment(self) -> bool:
        return bool(self.variants) or self.holdout > 0

    @field_validator("channels")
    @classmethod
    def _unique_channels(cls, value: list[ChannelName]) -> list[ChannelName]:
        if len(set(value)) != len(value):
            raise ValueError("a channel is listed twice")
        return value


class Sequence(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = "default"
    touches: Annotated[list[Touch], Field(min_length=1)]

    @model_validator(mode="after")
    def _ordered(self, info: ValidationInfo) -> Sequence:
        for index, touch in enumerate(self.touches, start=1):
            if touch.number != index:
                raise ValueError(f"touches must be numbered 1, 2, 3… in order; touch #{index} says {touch.number}")
        if _authoring(info) and self.touches[0].latest_delay:
            raise ValueError(
                f"touches.0.delay: touch 1 answers a lead the moment they arrive; its delay (and its "
                f"variants') must be 0s, not {format_duration(self.touches[0].latest_delay)}"
            )
        for purpose in _UNIQUE_PURPOSES if _authoring(info) else ():
            numbers = [str(touch.number) for touch in self.touches if touch.purpose == purpose]
            if len(numbers) > 1:
                raise ValueError(
                    f"touches {' and '.join(numbers)} are both {purpose}; a sequence has one {purpose} touch"
                )
        # Equal delays are allowed: such touches are all sent, in order, one a day (the daily cap).
        for before, after in zip(self.touches, self.touches[1:], strict=False):
            if after.delay < before.delay:
                raise ValueError(
                    f"touch {after.number} ({format_duration(after.delay)}) comes before touch "
                    f"{before.number} ({format_duration(before.delay)}); delays must not decrease"
                )
        for index, touch in enumerate(self.touches):
            low = self.touches[index - 1].delay if index else timedelta(0)
            high = self.touches[index + 1].delay if index + 1 < len(self.touches) else None
            for position, variant in enumerate(touch.variants):
                if variant.delay is not None and (variant.delay < low or (high is not None and variant.delay > high)):
                    limit = (
                        f"{format_duration(low)}–{format_duration(high)}"
                        if high is not None
                        else f">= {format_duration(low)}"
                    )
                    raise ValueError(
                        f"touches.{index}.variants.{position}.delay: {format_duration(variant.delay)} would move touch "
                        f"{touch.number} past a neighbour; keep it within {limit}"
                    )
        return self

    def touch(self, number: int) -> Touch | None:
        if 1 <= number <= len(self.touches):
            return self.touches[number - 1]
        return None

    def by_purpose(self, purpose: Purpose) -> Touch | None:
        return next((t for t in self.touches if t.purpose == purpose), None)

    @property
    def last(self) -> int:
        return len(self.touches)

    def to_public(self) -> dict[str, Any]:
        data = self.model_dump(mode="json")
        for item, touch in zip(data["touches"], self.touches, strict=True):
            item["delay"] = format_duration(touch.delay)
            for variant_item, variant in zip(item["variants"], touch.variants, strict=True):
                variant_item["delay"] = format_duration(variant.delay) if variant.delay is not None else None
        return data


@functools.lru_cache(maxsize=1)
def default_sequence() -> Sequence:
    """The 7 touches of DESIGN.md."""
    return Sequence(
        name="default",
        touches=[
            Touch(
                number=1,
                purpose="instant_reply",
                delay="0s",
                channels=["whatsapp", "sms", "email"],
                asset="answer",
                follow_up=False,
            ),
            Touch(
                number=2,
                purpose="qualification",
                delay="3m",
                channels=["whatsapp", "sms", "email"],
                asset="question",
                follow_up=False,
            ),
            Touch(number=3, purpose="soft_reminder", delay="24h", channels=["email", "whatsapp"], asset="resource"),
            Touch(number=4, purpose="social_proof", delay="3d", channels=["whatsapp", "email"], asset="case_study"),
            Touch(number=5, purpose="value_offer", delay="7d", channels=["email", "sms"], asset="offer", retarget=True),
            Touch(number=6, purpose="breakup", delay="14d", channels=["whatsapp", "sms"], asset="question"),
            Touch(number=7, purpose="reengagement", delay="60d", channels=["email"], asset="content"),
        ],
    )
