"""The business profile: what the agent knows about the business and may say.

Set through `PATCH /v1/business` or the `profile` section of the sequence file. Known keys are
checked (errors name the field); other keys, such as `industries` synonyms for the knowledge
base, are kept as given.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

Language = Literal["en", "es", "pt"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _http_url(value: str | None) -> str | None:
    if value is not None and not re.match(r"^https?://[^\s/]+\.[^\s]+$", value):
        raise ValueError(f"'{value[:80]}' is not an http(s) URL")
    return value


class ProfileLink(_Strict):
    """A resource or a piece of content the agent may send (tracked when sent)."""

    title: Annotated[str, Field(min_length=1, max_length=200)]
    url: str
    industry: str | None = None
    language: Language | None = None

    _url = field_validator("url")(classmethod(lambda cls, v: _http_url(v)))


class ProfileFact(_Strict):
    """Something the agent may state (a price, a guarantee), per language or one text."""

    text: Annotated[str, Field(min_length=1, max_length=500)] | dict[Language, Annotated[str, Field(max_length=500)]]
    keywords: list[Annotated[str, Field(min_length=1, max_length=60)]] = []


class BusinessProfile(BaseModel):
    """The business profile: what the agent knows and may say. Known keys are checked; other
    keys (such as `industries` synonyms for the knowledge base) are kept as given."""

    model_config = ConfigDict(extra="allow")

    description: Annotated[str | None, Field(max_length=1000, description="what the business sells")] = None
    tone: Annotated[str | None, Field(max_length=200, description="how messages should sound")] = None
    offer: Annotated[str, Field(max_length=300)] | dict[Language, Annotated[str, Field(max_length=300)]] | None = None
    booking_url: str | None = None
    resources: list[ProfileLink] | None = None
    content: list[ProfileLink] | None = None
    facts: list[ProfileFact] | None = None

    _booking = field_validator("booking_url")(classmethod(lambda cls, v: _http_url(v)))
