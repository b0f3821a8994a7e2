"""The template composer driven by the shipped phrasebook: variety, no repeats, sane fallbacks."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

import pytest

from agent.composer.base import CHANNEL_LIMITS, ComposeRequest, Draft
from agent.composer.phrasebook import PHRASES_DIR, Phrasebook, load_phrasebook_from
from agent.composer.similarity import is_near_duplicate
from agent.composer.template import TemplateComposer
from tests.agent.composer.phrase_values import (
    ALL_KINDS,
    BASELINE,
    LANGUAGES,
    REALISTIC,
    SMS_KINDS,
    usable_on,
)

KIND_PARAMS = [pytest.param(lang, kind, id=f"{lang}.{kind}") for lang in LANGUAGES for kind in sorted(ALL_KINDS)]
SMS_PARAMS = [pytest.param(lang, kind, id=f"{lang}.{kind}") for lang in LANGUAGES for kind in sorted(SMS_KINDS)]
FOREIGN_PARAMS = [pytest.param(lang, kind, id=f"{lang}.{kind}") for lang in ("es", "pt") for kind in sorted(ALL_KINDS)]


@pytest.fixture(scope="module")
def book() -> Phrasebook:
    return load_phrasebook_from(PHRASES_DIR)


@pytest.fixture(scope="module")
def composer(book: Phrasebook) -> TemplateComposer:
    return TemplateComposer(book)


def request(
    kind: str,
    language: str,
    values: Mapping[str, str],
    *,
    channel: str = "whatsapp",
    lead_key: str = "lead-1",
    used: frozenset[str] = frozenset(),
    previous: tuple[str, ...] = (),
) -> ComposeRequest:
    return ComposeRequest(
        kind=kind,  # type: ignore[arg-type]
        language=language,
        channel=channel,
        lead_key=lead_key,
        values=values,
        used_variants=used,
        previous_bodies=previous,
    )


def run_until_exhausted(
    composer: TemplateComposer,
    kind: str,
    language: str,
    values: Mapping[str, str],
    channel: str,
    *,
    feed_bodies: bool = True,
) -> list[Draft]:
    """Compose for one lead again and again, feeding back what was sent, until nothing is left."""
    drafts: list[Draft] = []
    for _ in range(50):
        draft = composer.compose(
            request(
                kind,
                language,
                values,
                channel=channel,
                used=frozenset(d.variant for d in drafts),
                previous=tuple(d.body for d in drafts) if feed_bodies else (),
            )
        )
        if draft is None:
            return drafts
        drafts.append(draft)
    raise AssertionError("the composer never ran out of phrasings")


def baseline_values(kind: str, language: str, *, with_name: bool) -> dict[str, str]:
    """Only what every lead of this kind has: the business, the asset, and maybe a first name."""
    keep = set(BASELINE.get(kind, frozenset())) | {"business"} | ({"first_name"} if with_name else set())
    return {name: value for name, value in REALISTIC[language].items() if name in keep}


# --- variety and no repeats --------------------------------------------------------------------


@pytest.mark.parametrize(("language", "kind"), KIND_PARAMS)
def test_each_send_picks_a_new_phrasing_until_none_is_left(
    book: Phrasebook, composer: TemplateComposer, language: str, kind: str
) -> None:
    drafts = run_until_exhausted(composer, kind, language, REALISTIC[language], "whatsapp")
    usable = [p for p in book.get(kind, language) if usable_on(p, "whatsapp")]
    assert len(drafts) == len(usable), "every phrasing should be reachable for a lead we know well"
    assert len({d.variant for d in drafts}) == len(drafts)
    only_ids = run_until_exhausted(composer, kind, language, REALISTIC[language], "whatsapp", feed_bodies=False)
    assert [d.variant for d in only_ids] == [d.variant for d in drafts]
    for index, draft in enumerate(drafts):
        assert draft.composer == "template"
        assert draft.variant.startswith(f"{language}.{kind}.")
        assert "{" not in draft.body and "}" not in draft.body
        for earlier in drafts[:index]:
            assert not is_near_duplicate(draft.body, earlier.body), (draft.variant, earlier.variant)


@pytest.mark.parametrize(("language", "kind"), KIND_PARAMS)
def test_never_returns_a_near_duplicate_of_what_the_lead_already_read(
    composer: TemplateComposer, language: str, kind: str
) -> None:
    values = REALISTIC[language]
    first = composer.compose(request(kind, language, values))
    assert first is not None
    # The same words reached the lead some other way (e.g. sent under another variant id, lightly edited).
    echoed = (first.body + " Thanks!", first.body.replace(values["first_name"], "Sam"))
    second = composer.compose(request(kind, language, values, previous=echoed))
    assert second is not None
    assert second.variant != first.variant
    assert not any(is_near_duplicate(second.body, seen) for seen in echoed)


def test_near_duplicate_phrasings_are_skipped_rather_than_sent(tmp_path: Path) -> None:
    (tmp_path / "en.yaml").write_text(
        "answer:\n"
        "  - id: a\n    text: 'Thanks {first_name}, we are open every day from morning to night.'\n"
        "  - id: b\n    text: 'Thanks {first_name}! We are open every day, from morning to night.'\n",
        encoding="utf-8",
    )
    composer = TemplateComposer(load_phrasebook_from(tmp_path))
    values = {"first_name": "Ana"}
    first = composer.compose(request("answer", "en", values))
    assert first is not None
    again = composer.compose(request("answer", "en", values, used=frozenset({first.variant}), previous=(first.body,)))
    assert again is None


@pytest.mark.parametrize(("language", "kind"), KIND_PARAMS)
def test_returns_none_once_every_phrasing_was_used(
    book: Phrasebook, composer: TemplateComposer, language: str, kind: str
) -> None:
    every_id = frozenset(p.id for p in book.get(kind, language))
    assert composer.compose(request(kind, language, REALISTIC[language], used=every_id)) is None


def test_different_leads_start_with_different_phrasings(composer: TemplateComposer) -> None:
    values = baseline_values("instant_reply", "en", with_name=True)
    firsts = {
        composer.compose(request("instant_reply", "en", values, lead_key=f"lead-{n}")).variant  # type: ignore[union-attr]
        for n in range(40)
    }
    assert len(firsts) >= 2
    again = composer.compose(request("instant_reply", "en", values, lead_key="lead-7"))
    assert again == composer.compose(request("instant_reply", "en", values, lead_key="lead-7"))


def test_an_experiment_arms_wording_is_read_first_in_every_language(composer: TemplateComposer) -> None:
    for language in ("en", "es", "pt"):
        values = baseline_values("soft_reminder", language, with_name=True)
        for n in range(10):
            arm = ComposeRequest(
                kind="soft_reminder",
                language=language,
                channel="whatsapp",
                lead_key=f"lead-{n}",
                values=values,
                preferred=frozenset({"plain_no_rush"}),
            )
            draft = composer.compose(arm)
            assert draft is not None and draft.variant == f"{language}.soft_reminder.plain_no_rush"
            # Once the lead has read it, the arm falls back to the other phrasings (never a repeat).
            again = composer.compose(replace(arm, used_variants=frozenset({draft.variant})))
            assert again is not None and again.variant != draft.variant


# --- fallbacks ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("language", "kind"), KIND_PARAMS)
def test_falls_back_to_plain_phrasings_when_optional_values_are_missing(
    composer: TemplateComposer, language: str, kind: str
) -> None:
    for with_name in (True, False):
        values = baseline_values(kind, language, with_name=with_name)
        values["topic"] = ""  # known but empty counts as missing
        drafts = run_until_exhausted(composer, kind, language, values, "whatsapp")
        assert drafts, f"nothing to send to a lead {'with' if with_name else 'without'} a name"
        for draft in drafts:
            assert set(draft.values_used) <= {k for k, v in values.items() if v}
            assert "{" not in draft.body
            assert '""' not in draft.body
    plain = baseline_values(kind, language, with_name=True)
    assert len(run_until_exhausted(composer, kind, language, plain, "whatsapp")) >= 2


@pytest.mark.parametrize("language", LANGUAGES)
def test_prefers_the_phrasing_that_uses_what_we_know(composer: TemplateComposer, language: str) -> None:
    values = {**baseline_values("instant_reply", language, with_name=True), "topic": REALISTIC[language]["topic"]}
    draft = composer.compose(request("instant_reply", language, values))
    assert draft is not None
    assert "topic" in draft.values_used
    assert REALISTIC[language]["topic"] in draft.body


@pytest.mark.parametrize("language", LANGUAGES)
def test_handoff_names_the_rep_when_known(composer: TemplateComposer, language: str) -> None:
    values = REALISTIC[language]
    draft = composer.compose(request("handoff_notice", language, values))
    assert draft is not None
    assert values["rep_name"] in draft.body and values["rep_eta"] in draft.body


@pytest.mark.parametrize(("language", "kind"), FOREIGN_PARAMS)
def test_spanish_and_portuguese_do_not_fall_back_to_english(
    composer: TemplateComposer, language: str, kind: str
) -> None:
    english = {d.body for d in run_until_exhausted(composer, kind, "en", REALISTIC["en"], "whatsapp")}
    drafts = run_until_exhausted(composer, kind, language, REALISTIC[language], "whatsapp")
    assert drafts
    assert all(d.variant.startswith(f"{language}.") for d in drafts)
    assert not {d.body for d in drafts} & english
    # Once its own phrasings are used up, the lead gets nothing rather than English.
    used = frozenset(d.variant for d in drafts)
    assert composer.compose(request(kind, language, REALISTIC[language], used=used)) is None


# --- channels ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("language", "kind"), SMS_PARAMS)
def test_sms_gets_at_least_two_fitting_messages(composer: TemplateComposer, language: str, kind: str) -> None:
    for values in (REALISTIC[language], baseline_values(kind, language, with_name=True)):
        drafts = run_until_exhausted(composer, kind, language, values, "sms")
        assert len(drafts) >= 2, (kind, [d.variant for d in drafts])
        assert all(len(d.body) <= CHANNEL_LIMITS["sms"] for d in drafts)


@pytest.mark.parametrize(("language", "kind"), KIND_PARAMS)
def test_email_drafts_have_a_subject_and_long_phrasings_stay_on_email(
    book: Phrasebook, composer: TemplateComposer, language: str, kind: str
) -> None:
    values = REALISTIC[language]
    for draft in run_until_exhausted(composer, kind, language, values, "email"):
        assert draft.subject, draft.variant
        assert "{" not in draft.subject
    email_only = {p.id for p in book.get(kind, language) if p.channels == frozenset({"email"})}
    for channel in ("whatsapp", "sms"):
        sent = {d.variant for d in run_until_exhausted(composer, kind, language, values, channel)}
        assert not sent & email_only, channel
