"""The LLM composer: drafts each message for this lead, checks it, falls back to templates.

A draft that fails a guardrail is redrafted once with the reasons; a second failure, a timeout,
an error, an open circuit breaker or a malformed answer hands the request to the template
composer, so the lead always gets a message when a template fits.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace

from agent.composer.base import Composer, ComposeRequest, Draft, MessageKind, Usage
from agent.composer.guardrails import Similarity, check_draft
from agent.composer.prompts import STATIC_RULES, DraftOut, compose_messages, redraft_messages
from agent.llm import LLM, LLMUnavailable

# Confirmations of consent and help answers are compliance texts: always the reviewed templates.
TEMPLATE_ONLY: frozenset[MessageKind] = frozenset({"optout_confirm", "optin_confirm", "help"})
MIN_REDRAFT_SECONDS = 1.0  # less budget than this left: the template goes out instead
SEND_MARGIN_SECONDS = 5.0  # kept from touch 1's promise for the template, the commit and the send


class LLMComposer:
    def __init__(
        self,
        llm: LLM,
        fallback: Composer,
        *,
        similar: Similarity | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._llm = llm
        self._fallback = fallback
        self._similar = similar
        self._monotonic = monotonic  # the time budget is real elapsed time, not the domain clock

    def compose(self, request: ComposeRequest) -> Draft | None:
        if request.context is None or request.kind in TEMPLATE_ONLY:
            return self._fallback.compose(request)
        context = request.context()
        # Touch 1 must still go out within the 60-second promise: a short budget, no retry.
        urgent = request.kind == "instant_reply" or context.touch == 1
        budget = self._llm.first_touch_timeout if urgent else self._llm.timeout
        if context.seconds_left is not None:
            budget = min(budget, context.seconds_left - SEND_MARGIN_SECONDS)
            if budget < MIN_REDRAFT_SECONDS:
                draft = self._fallback.compose(request)
                reason = "touch 1 is due: no time left for the model"
                return replace(draft, fallback_reason=reason) if draft is not None else None
        started = self._monotonic()
        messages = compose_messages(request, context)
        usage: list[Usage] = []
        reason = "no draft"
        for attempt in range(2):
            remaining = budget - (self._monotonic() - started)
            if attempt and remaining < MIN_REDRAFT_SECONDS:
                reason += "; no time left to redraft"
                break
            try:
                answer = self._llm.ask(
                    DraftOut,
                    messages,
                    task=f"compose:{request.kind}",
                    business_id=context.business_id,
                    timeout=remaining,
                    retry=not urgent,
                )
            except LLMUnavailable as exc:
                if exc.usage is not None:
                    usage.append(exc.usage)
                reason = exc.reason
                break
            body = answer.value.body.strip()
            subject = answer.value.subject.strip() or None if request.channel == "email" else None
            problems = check_draft(body, subject, request, context, instructions=(STATIC_RULES,), similar=self._similar)
            if not problems:
                usage.append(answer.usage)
                return Draft(
                    body=body, variant=f"llm:{request.kind}", composer="llm", subject=subject, usage=tuple(usage)
                )
            usage.append(replace(answer.usage, outcome="rejected"))
            reason = "draft rejected: " + "; ".join(problems)
            messages = redraft_messages(messages, answer.value, problems)
        draft = self._fallback.compose(request)
        if draft is None:
            return None
        return replace(draft, usage=tuple(usage), fallback_reason=reason)
