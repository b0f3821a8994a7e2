"""Checks every LLM draft passes before it may be sent; each failure is a readable reason.

The model is not trusted: a draft that drops the asset, repeats an earlier message, states a
number nobody gave it, drifts into another language, runs past the channel's length, carries a
link we do not track, or quotes its own instructions is redrafted once, then replaced by a
template.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Sequence

from agent.channels.sms import fold_to_gsm7, segments
from agent.composer.base import CHANNEL_LIMITS, ComposeRequest, LeadContext
from agent.composer.prompts import PURPOSES
from agent.composer.similarity import normalise
from agent.language import SUPPORTED, language_scores
from agent.policies import repeats_earlier

# Highest embedding cosine similarity between a draft and the lead's earlier messages → float.
Similarity = Callable[[str, Sequence[str]], float]

EMBEDDING_REPEAT_THRESHOLD = 0.85  # a paraphrase of the same message scores ~0.89; another touch ~0.5-0.7
MAX_SMS_SEGMENTS = 2
LEAK_NGRAM = 8  # this many words in a row from the instructions is quoting them

_URL = re.compile(r"(?:https?://|www\.)[^\s<>\"')\]]+", re.IGNORECASE)
# Both start only at the start of a name (not after a letter, a hyphen or "x."): tried from inside
# one, they would rescan the rest of it from every label or letter, quadratic in a long run.
_DOMAIN = re.compile(
    r"(?<![\w-])(?<![\w-]\.)-*+\b[\w-]+(?:\.[\w-]+)*\.(?:com|net|org|io|co|info|biz|br|es|pt|mx|ar)\b(?:/\S*)?", re.I
)
_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+\.[\w.-]+")
_NUMBER = re.compile(r"\d[\d.,]*")
_PLACEHOLDER = re.compile(r"\{[a-z_]+\}|\[(?:link|url|name|first name)\]", re.IGNORECASE)
# Commitments a business must have written down before the agent may make them.
_CLAIMS = {
    "discount": ("discount", "descuento", "desconto", "% off"),
    "guarantee": ("guarantee", "garantía", "garantia", "garantizamos", "garantimos"),
    "refund": ("refund", "reembolso", "money back", "devolución", "devolução"),
}


def _numbers(text: str) -> set[str]:
    found = set()
    for raw in _NUMBER.findall(text):
        digits = re.sub(r"[.,]", "", raw.rstrip(".,"))
        if digits:
            found.add(digits.lstrip("0") or "0")
    return found


def _without_links(text: str) -> str:
    return _EMAIL.sub(" ", _DOMAIN.sub(" ", _URL.sub(" ", text)))


def allowed_corpus(request: ComposeRequest, context: LeadContext) -> str:
    """Everything the draft may take a fact from: profile, asset, knowledge, the lead's words."""
    lead_words = [text for who, text in context.transcript if who == "lead"]
    parts: list[str] = [
        json.dumps(dict(context.profile), ensure_ascii=False, default=str),
        context.business_name,
        PURPOSES.get(request.kind, ""),  # the breakup's "reply 1 or 2" is the task's own wording
        context.first_message,
        *lead_words,
        *context.knowledge,
        *(value for name, value in context.asset.items() if not name.endswith("_url")),
        *(value for name, value in request.values.items() if not name.endswith("_url")),
    ]
    return "\n".join(parts)


def value_problem(body: str, context: LeadContext) -> str | None:
    if not context.asset_kind:
        return None
    links = [value for name, value in context.asset.items() if name.endswith("_url") and value]
    if links:
        if not any(link in body for link in links):
            return f"the {context.asset_kind.replace('_', ' ')} link is missing (the message must carry it)"
        return None
    shown = normalise(body)
    titles = [value for name, value in context.asset.items() if name.endswith(("_title", "offer")) and value]
    if titles and not any(normalise(title) in shown for title in titles):
        return f"the {context.asset_kind.replace('_', ' ')} is not named in the message"
    return None


def required_problem(body: str, request: ComposeRequest) -> str | None:
    """An answer exists to deliver its fact: the fact's figures must be in the draft."""
    said = _numbers(_without_links(body))
    for name in sorted(request.required):
        missing = _numbers(request.values.get(name, "")) - said
        if missing:
            return f"it leaves out the {name} it was asked to give ({', '.join(sorted(missing))})"
    return None


def link_problem(body: str, context: LeadContext) -> str | None:
    allowed = set(context.tracked_links)
    for url in _URL.findall(body):
        if url.rstrip(".,;:!?") not in allowed:
            return f"it contains a link we do not track ({url[:60]})"
    rest = _URL.sub(" ", body)
    domain = _DOMAIN.search(rest)
    if domain:
        return f"it contains a link we do not track ({domain.group(0)[:60]})"
    email = _EMAIL.search(rest)
    if email:
        return "it contains an e-mail address nobody gave"
    return None


def invented_fact_problem(text: str, corpus: str) -> str | None:
    known = _numbers(_without_links(corpus))
    invented = sorted(_numbers(_without_links(text)) - known)
    if invented:
        return "it states numbers that are not in the business profile or the lead's words: " + ", ".join(invented[:5])
    lowered, corpus_lower = text.lower(), corpus.lower()
    for claim, words in _CLAIMS.items():
        if any(w in lowered for w in words) and not any(w in corpus_lower for w in words):
            return f"it promises a {claim} the business never stated"
    return None


def language_problem(body: str, language: str) -> str | None:
    wanted = language.lower().split("-")[0]
    if wanted not in SUPPORTED:
        return None
    scores = language_scores(_without_links(body))
    best = max(scores, key=lambda lang: scores[lang])
    # Short or mixed texts are ambiguous: only a clear win of another language counts.
    if best != wanted and scores[best] >= 3 and scores[best] > 2 * max(scores[wanted], 0.5):
        return f"it is written in {best}, not {wanted}"
    return None


def length_problem(body: str, subject: str | None, channel: str) -> str | None:
    if not body.strip():
        return "it is empty"
    if channel == "sms":
        if segments(fold_to_gsm7(body)) > MAX_SMS_SEGMENTS:
            return f"it is longer than {MAX_SMS_SEGMENTS} SMS segments"
    elif len(body) > CHANNEL_LIMITS.get(channel, 1024):
        return f"it is longer than the {channel} limit of {CHANNEL_LIMITS.get(channel, 1024)} characters"
    if channel == "email" and not (subject or "").strip():
        return "an e-mail needs a subject"
    if subject and len(subject) > 150:
        return "the subject is longer than 150 characters"
    return None


def repetition_problem(body: str, earlier: Sequence[str], similar: Similarity | None) -> str | None:
    repeated = repeats_earlier(body, earlier)
    if repeated:
        return repeated
    if similar is not None and earlier:
        score = similar(_without_links(body), [_without_links(e) for e in earlier])
        if score >= EMBEDDING_REPEAT_THRESHOLD:
            return f"it says what an earlier message said (similarity {score:.2f})"
    return None


def _ngrams(text: str, n: int) -> set[tuple[str, ...]]:
    words = normalise(text).split()
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


def leak_problem(text: str, secrets: Iterable[str]) -> str | None:
    grams = _ngrams(text, LEAK_NGRAM)
    for secret in secrets:
        if grams & _ngrams(secret, LEAK_NGRAM):
            return "it quotes the agent's instructions"
    return None


def check_draft(
    body: str,
    subject: str | None,
    request: ComposeRequest,
    context: LeadContext,
    *,
    instructions: Sequence[str],
    similar: Similarity | None = None,
) -> list[str]:
    """Every reason the draft may not be sent; empty when it may."""
    text = f"{subject or ''}\n{body}"
    corpus = allowed_corpus(request, context)
    checks = (
        length_problem(body, subject, request.channel),
        "it contains an unfilled placeholder" if _PLACEHOLDER.search(text) else None,
        leak_problem(text, instructions),
        value_problem(body, context),
        required_problem(body, request),
        link_problem(text, context),
        invented_fact_problem(text, corpus),
        language_problem(body, request.language),
        repetition_problem(body, request.previous_bodies, similar),
    )
    return [problem for problem in checks if problem]
