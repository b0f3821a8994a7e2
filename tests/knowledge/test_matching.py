"""match_case_study: same industry, the lead's language first, never twice, None when unsure."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from knowledge.matching import MATCH_THRESHOLD, find_match, match_case_study
from knowledge.store import CaseStudy, KnowledgeStore

Business = Callable[[str], str]

LIBRARY = [
    CaseStudy(
        title="Sonrisa Dental books 40% more consultations",
        industry="dental",
        language="en",
        body="A three-chair dental clinic answered every WhatsApp lead within a minute and booked "
        "40% more new-patient consultations in a quarter.",
    ),
    CaseStudy(
        title="Clínica Sonrisa agenda 40% más consultas",
        industry="dental",
        language="es",
        body="Una clínica dental de tres sillones respondió cada mensaje de WhatsApp en un minuto y "
        "agendó 40% más consultas de pacientes nuevos.",
    ),
    CaseStudy(
        title="Ortho Plus fills its braces calendar",
        industry="dental",
        language="en",
        body="An orthodontic practice followed up every Invisalign enquiry for two weeks and started "
        "25% more aligner cases.",
    ),
    CaseStudy(
        title="FlipCo buys 12 more houses a year",
        industry="real_estate",
        language="en",
        body="A house-flipping company called motivated sellers back within five minutes and closed "
        "twelve more acquisitions.",
    ),
    CaseStudy(
        title="Academia Forte converte 30% mais aulas experimentais",
        industry="fitness",
        language="pt",
        body="Uma academia de musculação em Belo Horizonte acompanhou cada aula experimental e "
        "converteu 30% mais matrículas.",
    ),
]


@pytest.fixture
def seeded(store: KnowledgeStore, business: Business) -> tuple[KnowledgeStore, str]:
    biz = business("agency-client")
    store.upsert(biz, LIBRARY)
    return store, biz


def test_matches_industry_in_the_leads_language(seeded: tuple[KnowledgeStore, str]) -> None:
    store, biz = seeded
    es = match_case_study(store, biz, "Tengo un consultorio de ortodoncia en Monterrey", language="es")
    assert es is not None
    assert es.industry == "dental"
    assert es.case_study.language == "es" and es.language_match
    assert MATCH_THRESHOLD <= es.score <= 1.0

    flip = match_case_study(store, biz, "we flip houses", language="en")
    assert flip is not None and flip.case_study.title.startswith("FlipCo")

    gym = match_case_study(store, biz, "Tenho uma academia em Recife", language="pt")
    assert gym is not None and gym.case_study.industry == "fitness"


def test_falls_back_to_another_language_with_a_lower_score(seeded: tuple[KnowledgeStore, str]) -> None:
    store, biz = seeded
    pt = match_case_study(store, biz, "Sou dentista e tenho um consultório", language="pt")
    assert pt is not None
    assert pt.industry == "dental"
    assert not pt.language_match
    es = match_case_study(store, biz, "Soy dentista y tengo un consultorio", language="es")
    assert es is not None and es.language_match
    assert es.score > pt.score


def test_never_the_same_case_study_twice(seeded: tuple[KnowledgeStore, str]) -> None:
    store, biz = seeded
    sent: list[str] = []
    while (m := match_case_study(store, biz, "We run a dental office", language="en", exclude_ids=sent)) is not None:
        assert m.id not in sent
        sent.append(m.id)
    dental_ids = {s.key for s in store.list(biz, industry="dental")}
    assert set(sent) == dental_ids  # every dental story once, English ones first, then none
    first_two = {s.language for s in store.list(biz, industry="dental") if s.key in sent[:2]}
    assert first_two == {"en"}


def test_no_match_when_the_message_names_no_industry(seeded: tuple[KnowledgeStore, str]) -> None:
    store, biz = seeded
    for text, lang in [("how much is it?", "en"), ("hola, info por favor", "es"), ("oi, quanto custa?", "pt")]:
        result = find_match(store, biz, text, language=lang)
        assert result.match is None
        assert result.guess.industry is None
        assert "no confident industry" in result.reason


def test_no_match_when_the_business_has_no_story_for_that_industry(seeded: tuple[KnowledgeStore, str]) -> None:
    store, biz = seeded
    result = find_match(store, biz, "Somos un despacho de abogados laboralistas", language="es")
    assert result.guess.industry == "legal"
    assert result.match is None
    assert "legal" in result.reason


def test_other_businesses_stories_are_never_used(seeded: tuple[KnowledgeStore, str], business: Business) -> None:
    store, _ = seeded
    other = business("other-client")
    store.upsert(other, [CaseStudy(title="Gym story", industry="fitness", body="A gym grew memberships.")])
    assert match_case_study(store, other, "I own a dental practice", language="en") is None
    gym = match_case_study(store, other, "I own a gym", language="en")
    assert gym is not None and gym.case_study.title == "Gym story"


def test_industry_hint_from_the_form(seeded: tuple[KnowledgeStore, str]) -> None:
    store, biz = seeded
    assert match_case_study(store, biz, "hi, what's the price?", language="en") is None
    hinted = match_case_study(store, biz, "hi, what's the price?", language="en", industry_hint="Real Estate")
    assert hinted is not None and hinted.industry == "real_estate"
    keyed = match_case_study(store, biz, "", language="pt", industry_hint="fitness")
    assert keyed is not None and keyed.case_study.language == "pt"


def test_threshold(seeded: tuple[KnowledgeStore, str]) -> None:
    store, biz = seeded
    result = find_match(store, biz, "We run a dental office", language="en", threshold=0.999)
    assert result.match is None
    assert result.guess.industry == "dental"
    assert "below the threshold" in result.reason


def test_business_specific_industry(store: KnowledgeStore, business: Business) -> None:
    biz = business("vet-agency")
    extra = {"Veterinary": ["vet clinic", "veterinaria", "veterinário", "animal hospital"]}
    store.upsert(biz, [CaseStudy(title="PetCare", industry="Veterinary", body="A vet clinic grew.")], extra=extra)
    assert store.list(biz)[0].industry == "veterinary"
    m = match_case_study(store, biz, "Tenemos una veterinaria", language="es", extra=extra)
    assert m is not None and m.industry == "veterinary"
