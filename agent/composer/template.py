"""The offline composer: fills hand-written phrasings with the lead's context.

Each phrasing names the values it needs ({first_name}, {topic}, {case_title}…); a phrasing is
only eligible when all of them are known, fits the channel, and has not been sent to this lead.
The order of eligible phrasings is a stable shuffle per lead, so two leads of the same business
rarely read the same words while one lead's run stays reproducible.
"""

from __future__ import annotations

import hashlib

from agent.channels.sms import fold_to_gsm7, segments
from agent.composer.base import CHANNEL_LIMITS, ComposeRequest, Draft
from agent.composer.phrasebook import Phrase, Phrasebook
from agent.composer.similarity import is_near_duplicate

MAX_SMS_SEGMENTS = 2


class _Values(dict[str, str]):
    def __missing__(self, key: str) -> str:  # pragma: no cover - eligibility filters these out
        raise KeyError(key)


def _order_key(lead_key: str, phrase: Phrase) -> str:
    return hashlib.blake2b(f"{lead_key}|{phrase.id}".encode(), digest_size=8).hexdigest()


class TemplateComposer:
    def __init__(self, phrasebook: Phrasebook) -> None:
        self._phrasebook = phrasebook

    def compose(self, request: ComposeRequest) -> Draft | None:
        cleaned = {name: " ".join(value.split()) for name, value in request.values.items()}
        known = {name for name, value in cleaned.items() if value}
        limit = CHANNEL_LIMITS.get(request.channel, 1024)
        candidates = [
            phrase
            for phrase in self._phrasebook.get(request.kind, request.language)
            if phrase.id not in request.used_variants
            and phrase.placeholders <= known
            and (phrase.channels is None or request.channel in phrase.channels)
        ]
        # Prefer the experiment arm's wording, then phrasings that carry the required values, then
        # those using the most of what we know about the lead.
        must = {name for name in request.required if name in known}
        candidates.sort(
            key=lambda p: (
                bool(request.preferred) and p.id.split(".", 2)[2] not in request.preferred,
                not must <= p.placeholders,
                -len(p.placeholders),
                _order_key(request.lead_key, p),
            )
        )
        values = _Values({k: v for k, v in cleaned.items() if v})
        for phrase in candidates:
            body = phrase.text.format_map(values)
            if request.channel == "sms":
                body = fold_to_gsm7(body)  # an accent would triple the cost (UCS-2)
                if segments(body) > MAX_SMS_SEGMENTS:
                    continue
            elif len(body) > limit:
                continue
            if any(is_near_duplicate(body, earlier) for earlier in request.previous_bodies):
                continue
            subject = phrase.subject.format_map(values) if phrase.subject else None
            return Draft(
                body=body,
                variant=phrase.id,
                composer="template",
                subject=subject,
                values_used=tuple(sorted(phrase.placeholders)),
            )
        return None
