"""Offline lead qualifier: intent, timeline, budget, score and reasons from one lead message.

Pure Python, no network and no model: multilingual (en/es/pt) rules over accent-folded text with
word-boundary regexes and weighted signals. Rules rather than a nearest-neighbour over shipped
examples, because:

* every score point must come with a reason a rep can read ("asks for a call/demo/meeting
  (+30)"), which rules give for free and a neighbour vote does not;
* opt-out detection has asymmetric costs and must be auditable phrase by phrase (see
  `consent.py`), not a similarity threshold;
* the only embedding model available offline (knowledge/) costs milliseconds per message and
  hundreds of MB; this package answers in well under a millisecond and imports nothing heavy;
* a neighbour model trained on ~200 short examples would mostly learn their exact wording, and
  the labelled examples in tests/ are there to measure the rules, not to be memorised by them.

When an LLM is configured it can replace `qualify()` for intent/score (the LLM issue wires it);
the consent and auto-reply checks stay offline and deterministic either way.

Public API:

    qualify(text, *, default_language="en", previous=None) -> Qualification
    is_opt_out(text) / is_opt_in(text) / is_help(text) / is_auto_reply(text) -> bool
    parse_breakup_answer(text) -> "keep_open" | "close" | "not_now" | None
"""

from agent.qualifier.autoreply import auto_reply_evidence, is_auto_reply
from agent.qualifier.breakup import parse_breakup_answer
from agent.qualifier.consent import is_help, is_opt_in, is_opt_out, opt_out_evidence
from agent.qualifier.core import qualify
from agent.qualifier.model import (
    BUDGETS,
    INTENTS,
    TIMELINES,
    BreakupAnswer,
    Budget,
    Intent,
    Qualification,
    Timeline,
    reason_points,
)

__all__ = [
    "BUDGETS",
    "INTENTS",
    "TIMELINES",
    "BreakupAnswer",
    "Budget",
    "Intent",
    "Qualification",
    "Timeline",
    "auto_reply_evidence",
    "is_auto_reply",
    "is_help",
    "is_opt_in",
    "is_opt_out",
    "opt_out_evidence",
    "parse_breakup_answer",
    "qualify",
    "reason_points",
]
