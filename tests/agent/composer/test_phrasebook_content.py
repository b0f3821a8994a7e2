"""The shipped phrasings: complete, well-formed, varied, short enough and honest."""

from __future__ import annotations

import itertools
import re
import shutil
import string
import unicodedata
from collections.abc import Callable
from difflib import SequenceMatcher
from pathlib import Path

import pytest
import yaml

from agent.composer.phrasebook import (
    PHRASES_DIR,
    Phrase,
    Phrasebook,
    load_phrasebook,
    load_phrasebook_from,
    placeholders_of,
)
from agent.composer.similarity import NEAR_DUPLICATE_RATIO, is_near_duplicate, normalise, similarity
from tests.agent.composer.phrase_values import (
    ALL_KINDS,
    ALLOWED_PLACEHOLDERS,
    BASELINE,
    ESSENTIALS,
    LANGUAGES,
    REALISTIC,
    SHORT,
    SMS_BUDGET,
    SMS_KINDS,
    URL_PLACEHOLDERS,
    fill,
    fill_subject,
    literal_text,
    minimum_for,
    usable_on,
)

CHANNELS = frozenset({"whatsapp", "sms", "email"})
PHRASE_KEYS = frozenset({"id", "text", "subject", "channels"})
KEYWORDS = frozenset({"STOP", "START"})  # the only words allowed in capitals


@pytest.fixture(scope="module")
def book() -> Phrasebook:
    return load_phrasebook_from(PHRASES_DIR)


def phrases(book: Phrasebook, kind: str, language: str) -> tuple[Phrase, ...]:
    found = book.get(kind, language)
    assert found, f"{language}: no phrases for {kind}"
    assert all(p.id.startswith(f"{language}.{kind}.") for p in found), f"{language}.{kind} fell back"
    return found


KIND_PARAMS = [pytest.param(lang, kind, id=f"{lang}.{kind}") for lang in LANGUAGES for kind in sorted(ALL_KINDS)]


# --- files -------------------------------------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_each_file_parses_on_its_own(language: str, tmp_path: Path) -> None:
    shutil.copy(PHRASES_DIR / f"{language}.yaml", tmp_path)
    book = load_phrasebook_from(tmp_path)
    assert book.languages() == {language}
    assert book.kinds(language) == ALL_KINDS


def test_packaged_phrasebook_loads_all_languages() -> None:
    assert load_phrasebook().languages() >= set(LANGUAGES)


@pytest.mark.parametrize("language", LANGUAGES)
def test_raw_file_uses_only_known_keys(language: str) -> None:
    """The loader ignores unknown keys, so a typo like `chanels:` would silently do nothing."""
    data = yaml.safe_load((PHRASES_DIR / f"{language}.yaml").read_text(encoding="utf-8"))
    assert set(data) == ALL_KINDS, f"unknown or missing kinds: {set(data) ^ ALL_KINDS}"
    for kind, items in data.items():
        for item in items:
            assert set(item) <= PHRASE_KEYS, f"{language}.{kind}.{item.get('id')}: {set(item) - PHRASE_KEYS}"
            assert isinstance(item["id"], str) and re.fullmatch(r"[a-z0-9_]+", item["id"]), item["id"]
            assert isinstance(item["text"], str) and item["text"].strip()
            if "subject" in item:
                assert isinstance(item["subject"], str) and item["subject"].strip()
            if "channels" in item:
                assert isinstance(item["channels"], list) and item["channels"]
                assert set(item["channels"]) <= CHANNELS, item["channels"]


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_kind_is_present_with_its_minimum_count(book: Phrasebook, language: str) -> None:
    assert book.kinds(language) == ALL_KINDS
    for kind in ALL_KINDS:
        found = phrases(book, kind, language)
        for channel in ("whatsapp", "email"):
            usable = [p for p in found if usable_on(p, channel)]
            assert len(usable) >= minimum_for(kind), (language, kind, channel, len(usable))


# --- placeholders ------------------------------------------------------------------------------


def _placeholders_are_known_and_plain(language: str, kind: str, phrase: Phrase) -> None:
    assert phrase.placeholders <= ALLOWED_PLACEHOLDERS, phrase.placeholders - ALLOWED_PLACEHOLDERS
    for template in (phrase.text, phrase.subject or ""):
        for _, field, spec, conversion in string.Formatter().parse(template):
            if field is not None:
                assert field in ALLOWED_PLACEHOLDERS, f"{field!r} in {phrase.id}"
                assert not spec and conversion is None, f"{{{field}}} in {phrase.id} has a format spec"


def _subject_never_needs_more_than_the_text(language: str, kind: str, phrase: Phrase) -> None:
    assert placeholders_of(phrase.subject) <= placeholders_of(phrase.text), phrase.id


def _essential_values_of_a_touch_are_always_used(language: str, kind: str, phrase: Phrase) -> None:
    assert ESSENTIALS.get(kind, frozenset()) <= phrase.placeholders, phrase.id


@pytest.mark.parametrize(("language", "kind"), KIND_PARAMS)
def test_plain_and_nameless_phrases_exist(book: Phrasebook, language: str, kind: str) -> None:
    """A lead we only know by number still gets every message; a named lead gets plain ones too."""
    baseline = BASELINE.get(kind, frozenset())
    found = phrases(book, kind, language)
    plain = [p for p in found if p.placeholders <= baseline | {"first_name", "business"}]
    nameless = [p for p in found if p.placeholders <= baseline | {"business"}]
    assert len(plain) >= 2, (kind, [p.id for p in plain])
    assert nameless, kind


def _topic_is_quoted_and_links_end_their_line(language: str, kind: str, phrase: Phrase) -> None:
    for template in (phrase.text, phrase.subject or ""):
        assert template.count("{topic}") == template.count('"{topic}"'), f"unquoted topic in {phrase.id}"
    for name in URL_PLACEHOLDERS & phrase.placeholders:
        assert re.search(r"\{" + name + r"\}(\n|$)", phrase.text), f"{{{name}}} must end a line in {phrase.id}"


# --- wording -----------------------------------------------------------------------------------


def _has_emoji(char: str) -> bool:
    return unicodedata.category(char) == "So" or 0x1F000 <= ord(char) <= 0x1FAFF


def _no_invented_figures_no_shouting_no_emoji_spam(language: str, kind: str, phrase: Phrase) -> None:
    for template in (phrase.text, phrase.subject or ""):
        words = literal_text(template)
        digits = set(re.findall(r"\d+", words))
        allowed_digits = {"1", "2"} if kind == "breakup" else set()
        assert digits <= allowed_digits, f"invented figures {digits} in {phrase.id}"
        assert not re.search(r"[%$€£]|R\$", words), f"price or percentage in {phrase.id}"
        capitals = set(re.findall(r"\b[A-ZÁÉÍÓÚÃÕÂÊÔÇÑ]{2,}\b", words))
        assert capitals <= KEYWORDS, f"capitals {capitals} in {phrase.id}"
        assert sum(_has_emoji(c) for c in words) <= 1, f"too many emojis in {phrase.id}"
        assert "\u2019" not in words and "\u201c" not in words, f"curly quotes in {phrase.id} (not GSM-7)"


def _subjects_are_short_and_plain(language: str, kind: str, phrase: Phrase) -> None:
    if not usable_on(phrase, "email"):
        return
    assert phrase.subject, f"{phrase.id} may go by email but has no subject"
    subject = fill_subject(phrase, REALISTIC[language])
    assert subject is not None
    assert len(subject) <= 80, f"{phrase.id}: {len(subject)} characters"
    assert "\n" not in subject
    assert "!" not in subject, f"{phrase.id}: no exclamation marks in subjects"
    assert not re.match(r"(re|fwd?)\s*:", subject, re.IGNORECASE), f"{phrase.id}: fake reply subject"


@pytest.mark.parametrize("language", LANGUAGES)
def test_subjects_vary_within_a_kind(book: Phrasebook, language: str) -> None:
    for kind in ALL_KINDS:
        subjects = [p.subject for p in phrases(book, kind, language) if p.subject]
        assert len(subjects) == len(set(subjects)), (language, kind)


@pytest.mark.parametrize("values_set", ["realistic", "short"])
@pytest.mark.parametrize(("language", "kind"), KIND_PARAMS)
def test_no_near_duplicates_within_a_kind(book: Phrasebook, language: str, kind: str, values_set: str) -> None:
    values = (REALISTIC if values_set == "realistic" else SHORT)[language]
    bodies = [(p.id, fill(p, values)) for p in phrases(book, kind, language)]
    for (id_a, a), (id_b, b) in itertools.combinations(bodies, 2):
        assert not is_near_duplicate(a, b), f"{id_a} ~ {id_b}: {similarity(a, b):.2f}"


def near_duplicate_pairs(bodies: list[tuple[str, str]]) -> list[str]:
    """Every pair the project's check calls near-duplicates, using SequenceMatcher's upper bounds
    (real_quick_ratio >= quick_ratio >= ratio) to skip pairs that cannot reach the threshold."""
    normalised = [(name, normalise(body), body) for name, body in bodies]
    found = []
    for (id_a, norm_a, a), (id_b, norm_b, b) in itertools.combinations(normalised, 2):
        matcher = SequenceMatcher(None, norm_a, norm_b, autojunk=False)
        if matcher.real_quick_ratio() < NEAR_DUPLICATE_RATIO or matcher.quick_ratio() < NEAR_DUPLICATE_RATIO:
            continue
        if is_near_duplicate(a, b):
            found.append(f"{id_a} ~ {id_b}: {similarity(a, b):.2f}")
    return found


@pytest.mark.parametrize("language", LANGUAGES)
def test_no_near_duplicates_across_kinds(book: Phrasebook, language: str) -> None:
    """One lead meets many kinds; e.g. keep_warm must never read like the handoff notice."""
    values = REALISTIC[language]
    bodies = [(p.id, fill(p, values)) for kind in sorted(ALL_KINDS) for p in phrases(book, kind, language)]
    assert not near_duplicate_pairs(bodies)


def test_near_duplicate_prefilter_agrees_with_the_project_check() -> None:
    a = "Thanks Ana, we are open every day from morning to night."
    b = "Thanks Ana! We are open every day, from morning to night."
    c = "Your file is closed; write to us any time."
    assert is_near_duplicate(a, b) and not is_near_duplicate(a, c)
    assert len(near_duplicate_pairs([("a", a), ("b", b), ("c", c)])) == 1


@pytest.mark.parametrize(("language", "kind"), KIND_PARAMS)
def test_messages_fit_their_channels(book: Phrasebook, language: str, kind: str) -> None:
    values = REALISTIC[language]
    found = phrases(book, kind, language)
    for phrase in found:
        if usable_on(phrase, "whatsapp"):
            assert len(fill(phrase, values)) <= 1024, phrase.id
    if kind in SMS_KINDS:
        fitting = [p for p in found if usable_on(p, "sms") and len(fill(p, values)) < SMS_BUDGET]
        baseline = BASELINE.get(kind, frozenset())
        plain = [p for p in fitting if p.placeholders <= baseline | {"first_name", "business"}]
        assert len(fitting) >= 2, (kind, [p.id for p in fitting])
        assert len(plain) >= 2, (kind, [p.id for p in plain])


def _breakup_offers_numbered_answers(language: str, kind: str, phrase: Phrase) -> None:
    if kind != "breakup":
        return
    one, two = re.search(r"(?<!\d)1(?!\d)", phrase.text), re.search(r"(?<!\d)2(?!\d)", phrase.text)
    assert one and two, f"{phrase.id} must offer 1 (keep open) and 2 (close)"
    assert one.start() < two.start(), phrase.id


def _questions_are_single(language: str, kind: str, phrase: Phrase) -> None:
    """Qualification and clarification ask exactly one question; answers and breakups at most one."""
    questions = literal_text(phrase.text).count("?")
    if kind in {"qualification", "clarify"}:
        assert questions == 1, phrase.id
    elif kind in {"answer", "breakup", "welcome_back", "breakup_keep_open"}:
        assert questions <= 1, phrase.id


def _every_message_carries_value(language: str, kind: str, phrase: Phrase) -> None:
    """Follow-ups bring an asset or a clear question, never an empty "just checking in"."""
    text = literal_text(phrase.text)
    assets = {"resource_url", "case_title", "offer", "content_url", "fact", "booking_url"}
    if kind in {"soft_reminder", "social_proof", "value_offer", "reengagement"}:
        assert phrase.placeholders & assets, phrase.id
    elif kind in {"qualification", "clarify", "breakup", "welcome_back", "breakup_keep_open"}:
        assert "?" in text or phrase.placeholders & assets, phrase.id
    elif kind == "answer":
        assert "fact" in phrase.placeholders or "?" in text, phrase.id
    assert not re.search(r"just checking in|solo para saber|s[oó] passando", text, re.IGNORECASE), phrase.id


def _opt_out_keywords(language: str, kind: str, phrase: Phrase) -> None:
    if kind == "optout_confirm":
        assert "START" in phrase.text, phrase.id
    if kind in {"optin_confirm", "help"}:
        assert "STOP" in phrase.text, phrase.id


_FOREIGN_WORDS = {
    "en": r"\b(hola|gracias|olá|obrigad[oa]|você|usted)\b",
    "es": r"\b(the|your|you|thanks|usted|ustedes|su solicitud|vosotros|você|obrigad[oa])\b",
    "pt": r"\b(the|your|you|thanks|tu|teu|tua|usted|gracias|ustedes)\b",
}


def _language_and_register_are_consistent(language: str, kind: str, phrase: Phrase) -> None:
    """es says "tú" (never "usted"), pt says "você"; no words leak from another language."""
    for template in (phrase.text, phrase.subject or ""):
        found = re.search(_FOREIGN_WORDS[language], literal_text(template), re.IGNORECASE)
        assert not found, f"{found.group(0)!r} in {phrase.id}" if found else ""


PHRASE_CHECKS = [
    _placeholders_are_known_and_plain,
    _subject_never_needs_more_than_the_text,
    _essential_values_of_a_touch_are_always_used,
    _topic_is_quoted_and_links_end_their_line,
    _no_invented_figures_no_shouting_no_emoji_spam,
    _subjects_are_short_and_plain,
    _breakup_offers_numbered_answers,
    _questions_are_single,
    _every_message_carries_value,
    _opt_out_keywords,
    _language_and_register_are_consistent,
]


@pytest.mark.parametrize("check", PHRASE_CHECKS, ids=lambda check: check.__name__.strip("_"))
@pytest.mark.parametrize("language", LANGUAGES)
def test_every_phrase(book: Phrasebook, language: str, check: Callable[[str, str, Phrase], None]) -> None:
    """Runs one rule over every phrase of a language and reports all offenders at once."""
    problems = []
    for kind in sorted(ALL_KINDS):
        for phrase in phrases(book, kind, language):
            try:
                check(language, kind, phrase)
            except AssertionError as error:
                problems.append(f"{phrase.id}: {str(error).splitlines()[0]}")
    assert not problems, "\n".join(problems)
