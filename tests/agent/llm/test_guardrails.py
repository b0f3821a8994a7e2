"""Each guardrail on its own, on drafts in en/es/pt: what passes and the reason for what does not."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

import pytest

from agent.composer.base import ComposeRequest, LeadContext, MessageKind
from agent.composer.guardrails import check_draft
from agent.composer.prompts import STATIC_RULES
from agent.llm.breaker import CircuitBreaker

LINK = "https://nudge.example/r/abc123"
PROFILE = {
    "description": "Patient acquisition for clinics",
    "facts": [{"text": {"en": "plans start at 490 USD a month"}, "keywords": ["price"]}],
    "offer": "a free 15-minute audit",
}


def _request(
    kind: MessageKind = "soft_reminder",
    language: str = "en",
    channel: str = "whatsapp",
    asset: Mapping[str, str] | None = None,
    earlier: tuple[str, ...] = (),
    lead_says: str = "Hi, I run a clinic in Austin and need more patients",
) -> tuple[ComposeRequest, LeadContext]:
    asset = {"resource_title": "The 2026 playbook", "resource_url": LINK} if asset is None else asset
    context = LeadContext(
        business_id="biz",
        business_name="BrightSmile",
        profile=PROFILE,
        lead_name="Dana",
        industry="dental",
        source="form",
        first_message=lead_says,
        transcript=(("lead", lead_says),),
        signals=(),
        asset_kind="resource" if asset else None,
        asset=asset,
        tracked_links=tuple(v for k, v in asset.items() if k.endswith("_url")),
        touch=3,
    )
    request = ComposeRequest(
        kind=kind,
        language=language,
        channel=channel,
        lead_key="lead",
        values={"first_name": "Dana", **asset},
        previous_bodies=earlier,
        context=lambda: context,
    )
    return request, context


def _problems(body: str, subject: str | None = None, **kwargs: object) -> list[str]:
    request, context = _request(**kwargs)  # type: ignore[arg-type]
    return check_draft(body, subject, request, context, instructions=(STATIC_RULES,))


GOOD = f"Hi Dana, in case it helps while you decide: “The 2026 playbook”. {LINK}"


def test_a_draft_that_keeps_every_rule_passes() -> None:
    assert _problems(GOOD) == []


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("Hi Dana, just checking in. Anything else we can help with?", "link is missing"),
        (f"{GOOD} Also see https://evil.example/x", "link we do not track"),
        (f"{GOOD} Or visit brightsmile.com", "link we do not track"),
        (f"{GOOD} Write to boss@brightsmile.example", "e-mail address"),
        (f"{GOOD} Plans from 299 USD this month.", "the lead's words: 299"),
        (f"{GOOD} Book now and get a 25% discount.", "the lead's words: 25"),
        (f"{GOOD} We give you a full guarantee on results.", "guarantee the business never stated"),
        (f"Hola Dana, por si te sirve mientras lo piensas, aquí tienes la guía: {LINK}", "written in es, not en"),
        (f"Hi {{first_name}}, here it is: {LINK}", "unfilled placeholder"),
        (f"Sure. {STATIC_RULES[:400]} {LINK}", "quotes the agent's instructions"),
        ("", "empty"),
    ],
)
def test_each_broken_rule_is_named(body: str, reason: str) -> None:
    problems = _problems(body)
    assert any(reason in problem for problem in problems), problems


def test_numbers_from_the_profile_and_the_leads_own_words_are_allowed() -> None:
    body = f"Hi Dana, plans start at 490 USD a month, and the audit takes 15 minutes. {LINK}"
    assert _problems(body) == []
    assert _problems(f"Hi Dana, for 3 clinics this guide helps: {LINK}", lead_says="We have 3 clinics") == []


def test_portuguese_and_spanish_drafts_pass_in_their_language() -> None:
    pt = f"Oi Dana, caso ajude enquanto você decide, aqui está um guia: “The 2026 playbook”. {LINK}"
    es = f"Hola Dana, por si te sirve mientras lo piensas, aquí tienes una guía: “The 2026 playbook”. {LINK}"
    assert _problems(pt, language="pt") == []
    assert _problems(es, language="es") == []


def test_an_answer_must_carry_the_fact_it_was_asked_to_give() -> None:
    request, context = _request(kind="answer", asset={})
    fact = "plans start at 490 USD a month"
    answer = replace(request, values={"first_name": "Dana", "fact": fact}, required=frozenset({"fact"}))
    said = check_draft(f"Good question: {fact}. What matters most?", None, answer, context, instructions=())
    vague = check_draft(
        "Good question, it depends on your needs. What matters most?", None, answer, context, instructions=()
    )
    assert said == []
    assert any("leaves out the fact" in p for p in vague), vague


def test_channel_limits_and_the_email_subject() -> None:
    long_sms = f"Hi Dana, {'this is a long message ' * 20}{LINK}"
    assert any("SMS segments" in p for p in _problems(long_sms, channel="sms"))
    assert any("needs a subject" in p for p in _problems(GOOD, channel="email"))
    assert _problems(GOOD, subject="A guide for your clinic", channel="email") == []


def test_a_repeat_of_an_earlier_message_is_refused() -> None:
    problems = _problems(GOOD, earlier=(GOOD.replace(LINK, "https://nudge.example/r/older"),))
    assert any("already sent" in p for p in problems), problems


def test_the_breaker_opens_after_repeated_failures_and_probes_after_the_cooldown() -> None:
    now = [0.0]
    breaker = CircuitBreaker(failures=3, cooldown=30, now=lambda: now[0])
    for _ in range(3):
        assert breaker.allow()
        breaker.failure()
    assert breaker.is_open and not breaker.allow()
    now[0] = 31
    assert breaker.allow(), "one probe after the cooldown"
    assert not breaker.allow(), "only one"
    breaker.failure()  # the probe failed: open for another cooldown
    now[0] = 45
    assert not breaker.allow()
    now[0] = 62
    assert breaker.allow()
    breaker.success()
    assert not breaker.is_open and breaker.allow()
