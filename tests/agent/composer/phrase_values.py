"""Shared expectations and realistic placeholder values for the phrasebook tests."""

from __future__ import annotations

import string
from collections.abc import Mapping
from typing import get_args

from agent.composer.base import MessageKind
from agent.composer.phrasebook import Phrase

LANGUAGES = ("en", "es", "pt")
ALL_KINDS = frozenset(get_args(MessageKind))

TOUCH_KINDS = frozenset(
    {"instant_reply", "qualification", "soft_reminder", "social_proof", "value_offer", "breakup", "reengagement"}
)
MOVE_KINDS = ALL_KINDS - TOUCH_KINDS
MIN_TOUCH_PHRASES = 5
MIN_MOVE_PHRASES = 4

# Kinds that may be sent by SMS: each needs phrases that fit in two SMS segments.
SMS_KINDS = frozenset(
    {
        "instant_reply",
        "qualification",
        "value_offer",
        "breakup",
        "answer",
        "clarify",
        "optout_confirm",
        "optin_confirm",
        "help",
        "handoff_notice",
    }
)
SMS_BUDGET = 300

ALLOWED_PLACEHOLDERS = frozenset(
    {
        "first_name",
        "business",
        "topic",
        "industry_label",
        "resource_title",
        "resource_url",
        "case_title",
        "case_result",
        "case_url",
        "offer",
        "booking_url",
        "content_title",
        "content_url",
        "rep_eta",
        "fact",
        "rep_name",
    }
)
URL_PLACEHOLDERS = frozenset({"resource_url", "case_url", "booking_url", "content_url"})

# What a touch cannot go without (the value rule): every phrase of the kind uses these.
ESSENTIALS: Mapping[str, frozenset[str]] = {
    "soft_reminder": frozenset({"resource_title", "resource_url"}),
    "social_proof": frozenset({"case_title"}),
    "value_offer": frozenset({"offer"}),
    "reengagement": frozenset({"content_title", "content_url"}),
}

# What a plain phrasing of the kind may still need beyond {first_name} and {business}: the asset
# itself (a case study's title, result and link; an offer and its booking link).
BASELINE: Mapping[str, frozenset[str]] = {
    **ESSENTIALS,
    "social_proof": frozenset({"case_title", "case_result", "case_url"}),
    "value_offer": frozenset({"offer", "booking_url"}),
}

# Long-ish but realistic values: a 12+ character name, ~45 character tracked links.
_LINKS = {
    "resource_url": "https://go.nudge.example/r/aB3dE5fG7hJ9kL1mNpQ",
    "case_url": "https://go.nudge.example/r/cD4eF6gH8iJ0kL2mNoP",
    "booking_url": "https://go.nudge.example/r/bK7mN9pQ1rS3tU5vWxY",
    "content_url": "https://go.nudge.example/r/zX8cV6bN4mL2kJ0hGfD",
}

REALISTIC: Mapping[str, Mapping[str, str]] = {
    "en": {
        "first_name": "Christabella",
        "business": "Bright Smile Dental Studio",
        "topic": "pricing for three clinics",
        "industry_label": "dental clinics",
        "resource_title": "The clinic owner's guide to fewer no-shows",
        "case_title": "How Lakeside Dental filled its calendar",
        "case_result": "cut no-shows by 38% in 3 months",
        "offer": "a free 15-minute consultation",
        "content_title": "Five questions to ask before choosing a clinic",
        "rep_eta": "within the hour",
        "fact": "We're open Monday to Saturday, from 8am to 7pm, and we accept most major insurers.",
        "rep_name": "Maria Santos",
        **_LINKS,
    },
    "es": {
        "first_name": "María Teresa",
        "business": "Clínica Dental Sonrisa Plena",
        "topic": "precios para tres clínicas",
        "industry_label": "clínicas dentales",
        "resource_title": "Guía para reducir las inasistencias en tu clínica",
        "case_title": "Cómo Dental Lago llenó su agenda",
        "case_result": "redujo las inasistencias un 38% en 3 meses",
        "offer": "una consulta gratuita de 15 minutos",
        "content_title": "Cinco preguntas antes de elegir una clínica",
        "rep_eta": "mañana por la mañana",
        "fact": "Atendemos de lunes a sábado, de 8:00 a 19:00, y trabajamos con la mayoría de los seguros.",
        "rep_name": "María Fernanda",
        **_LINKS,
    },
    "pt": {
        "first_name": "Maria Eduarda",
        "business": "Clínica Odontológica Sorriso",
        "topic": "preço para três clínicas",
        "industry_label": "clínicas odontológicas",
        "resource_title": "Guia para reduzir as faltas na sua clínica",
        "case_title": "Como a Dental Lago lotou a agenda",
        "case_result": "reduziu as faltas em 38% em 3 meses",
        "offer": "uma consulta gratuita de 15 minutos",
        "content_title": "Cinco perguntas antes de escolher uma clínica",
        "rep_eta": "amanhã de manhã",
        "fact": "Atendemos de segunda a sábado, das 8h às 19h, e aceitamos a maioria dos convênios.",
        "rep_name": "João Pedro",
        **_LINKS,
    },
}

# Terse values: the phrasing itself then dominates the comparison between two messages.
SHORT: Mapping[str, Mapping[str, str]] = {
    lang: {
        **values,
        "first_name": "Ana",
        "business": "Acme",
        "topic": "price" if lang == "en" else "precio" if lang == "es" else "preço",
        "industry_label": "retail",
        "resource_title": "Guide",
        "case_title": "Acme Co",
        "case_result": "+10%",
        "offer": "a call" if lang == "en" else "una llamada" if lang == "es" else "uma ligação",
        "content_title": "FAQ",
        "rep_eta": "soon" if lang == "en" else "pronto" if lang == "es" else "logo",
        "fact": "Yes." if lang == "en" else "Sí." if lang == "es" else "Sim.",
        "rep_name": "Bo",
    }
    for lang, values in REALISTIC.items()
}

_FORMATTER = string.Formatter()


def fill(phrase: Phrase, values: Mapping[str, str]) -> str:
    return phrase.text.format_map(dict(values))


def fill_subject(phrase: Phrase, values: Mapping[str, str]) -> str | None:
    return phrase.subject.format_map(dict(values)) if phrase.subject else None


def literal_text(template: str) -> str:
    """The template with its placeholders removed: only the words we wrote ourselves."""
    return "".join(literal for literal, _, _, _ in _FORMATTER.parse(template))


def usable_on(phrase: Phrase, channel: str) -> bool:
    return phrase.channels is None or channel in phrase.channels


def minimum_for(kind: str) -> int:
    return MIN_TOUCH_PHRASES if kind in TOUCH_KINDS else MIN_MOVE_PHRASES
