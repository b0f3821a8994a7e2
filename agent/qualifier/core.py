"""`qualify()`: one lead message (plus the previous qualification) -> a `Qualification`.

Order of decisions, and why:

1. **Auto-reply** first: an out-of-office is not the lead speaking, so nothing in it (not even
   an "unsubscribe" footer) is the lead's intent. The previous qualification is carried over
   unchanged apart from the intent. The one exception is a message with only weak away-cues
   and a clear buying signal ("I'm travelling until Monday, book me a demo for Tuesday"), which a
   person wrote.
2. **Opt-out** next: it overrides everything a human says in the same message and zeroes the
   score (the lead must not be routed to a rep who would contact them).
3. **Rules** (`rules.py`): evidence per intent decides the intent; points per signal make the
   score. Not-interested wins when it has at least as much evidence as researching and there is
   no explicit buying act; hot wins on a demo/call/quote/buy request; otherwise the strongest
   evidence wins, ties going to the cheaper mistake (researching, then question).
4. **Vague**: when no intent has real evidence ("ok", "hmm", "depends", "👍") the message is
   flagged `is_vague` so the dialogue asks a follow-up, and the previous intent (if any) stands.

With `previous`, signals accumulate across the dialogue (the demo request in message 1 and the
"next week" in message 2 both count); a not-interested or opt-out message resets them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from agent.language import SUPPORTED, language_scores
from agent.qualifier._text import fold
from agent.qualifier.autoreply import auto_reply_cues
from agent.qualifier.consent import opt_out_match
from agent.qualifier.model import Budget, Intent, Qualification, Timeline
from agent.qualifier.rules import (
    POINTS,
    TIMELINE_URGENCY,
    CompiledRule,
    compiled_budget_rules,
    compiled_industries,
    compiled_intent_rules,
    compiled_openers,
    compiled_timeline_rules,
)

_BLANK = "\x00"  # what a consuming rule leaves behind: matches no pattern, and is a word boundary
_LANGUAGE_VOTE = 1.5  # one matched language-specific rule weighs like a distinctive spelling cue


@dataclass
class _Scan:
    """Mutable scratch state of one qualify() call."""

    work: str
    evidence: dict[str, float] = field(
        default_factory=lambda: {"hot": 0.0, "researching": 0.0, "question": 0.0, "not_interested": 0.0}
    )
    keys: dict[str, str] = field(default_factory=dict)  # signal key -> evidence text (first match)
    votes: dict[str, float] = field(default_factory=lambda: dict.fromkeys(SUPPORTED, 0.0))

    def apply(self, compiled: CompiledRule, *, record: bool = True) -> str | None:
        """Run one rule over the remaining text; record and return its evidence when it matches."""
        rule = compiled.rule
        for lang, pattern in compiled.patterns:
            match = pattern.search(self.work)
            if match is None:
                continue
            text = match.group(0).strip(" ,.!?")
            if rule.consume:
                self.work = self.work[: match.start()] + _BLANK * len(match.group(0)) + self.work[match.end() :]
            if rule.evidence is not None:
                self.evidence[rule.evidence] += rule.weight
            if record:
                self.keys.setdefault(rule.key, text)
            self.vote(lang)
            return text
        return None

    def vote(self, lang: str) -> None:
        if lang != "*":
            self.votes[lang] += _LANGUAGE_VOTE


def qualify(text: str, *, default_language: str = "en", previous: Qualification | None = None) -> Qualification:
    """Classify one inbound lead message; see the module docstring for the decision order."""
    folded = fold(text)
    fallback_language = previous.language if previous is not None else default_language
    industry = _industry(folded) or (previous.industry_hint if previous is not None else None)

    # Timeline and budget run first among the rules so that their consuming negations ("not
    # now", "ahora no") are gone before "now"/"ahora" could count as urgency.
    scan = _Scan(work=folded)
    timeline_hits = _timeline_hits(scan, weekdays=False)
    budget, budget_evidence = _budget(scan)
    _intent_rules(scan, folded)
    if scan.evidence["hot"] >= 3:
        # A weekday is a timeline next to a buying act ("demo on thursday"), not in "are you
        # open on saturday?".
        timeline_hits += _timeline_hits(scan, weekdays=True)
    timeline, timeline_evidence = _choose_timeline(timeline_hits)
    if timeline in ("today", "this_week") and scan.evidence["hot"] > 0:
        # Urgency strengthens a buying signal but is none by itself ("I'm out sick today").
        scan.evidence["hot"] += 1

    strong_auto, auto_cues = auto_reply_cues(text)
    if auto_cues and (strong_auto or scan.evidence["hot"] < 3):
        return _auto_reply(folded, fallback_language, industry, previous, strong_auto)

    opt_out_found = opt_out_match(text)
    if opt_out_found is not None:
        opt_out, opt_out_language = opt_out_found
        if opt_out_language is not None:
            scan.vote(opt_out_language)
        language = _language(folded, scan.votes, fallback_language)
        return Qualification(
            intent="opt_out",
            language=language,
            score=0,
            reasons=(f"asks to stop messages ('{opt_out}'): score set to 0",),
            confidence=0.97,
            industry_hint=industry,
            signals=(f"opt_out={opt_out}",),
        )

    language = _language(folded, scan.votes, fallback_language)
    intent, confidence, vague = _decide(scan.evidence)
    if previous is not None and previous.intent not in ("opt_out", "auto_reply"):
        if vague:
            intent = previous.intent  # "ok", "hmm": nothing new, the earlier reading stands
        elif previous.intent == "hot" and intent == "question":
            intent = "hot"  # a lead who asked for a demo and now asks "what time works?" is still hot

    keys = dict(scan.keys)
    if "meeting" in keys:
        keys.pop("meeting_mention", None)
    if industry:
        keys["industry"] = industry
    if previous is not None and intent != "not_interested":
        # Signals accumulate over the dialogue; a "no thanks" starts the lead from scratch.
        # Timeline and budget are carried through their own fields below (the newest wins), and
        # an earlier "no" does not keep counting against a lead who comes back.
        for signal in previous.signals:
            key, _, evidence = signal.partition("=")
            if key in POINTS and key != "not_interested" and not key.startswith(("timeline:", "budget:")):
                keys.setdefault(key, evidence)
        if timeline is None and previous.timeline is not None:
            timeline, timeline_evidence = previous.timeline, previous.timeline_evidence
        if budget is None and previous.budget is not None:
            budget, budget_evidence = previous.budget, previous.budget_evidence
    if timeline is not None:
        keys[f"timeline:{timeline}"] = timeline_evidence or ""
    if budget is not None:
        keys[f"budget:{budget}"] = budget_evidence or ""

    score, reasons = _score(keys)
    return Qualification(
        intent=intent,
        language=language,
        score=score,
        reasons=reasons,
        confidence=confidence,
        is_vague=vague,
        industry_hint=industry,
        timeline=timeline,
        timeline_evidence=timeline_evidence,
        budget=budget,
        budget_evidence=budget_evidence,
        signals=tuple(f"{key}={value}" if value else key for key, value in keys.items()),
    )


def _intent_rules(scan: _Scan, folded: str) -> None:
    for compiled in compiled_intent_rules():
        scan.apply(compiled)
    # A question word opening the message, or opening a clause that ends in "?", is evidence of
    # a question; mid-message clauses without "?" are not ("..., will decide next quarter").
    candidates = _question_clauses(folded)
    opener = next(
        ((lang, clause) for clause in candidates for lang, p in compiled_openers() if p.search(clause)),
        None,
    )
    if opener is not None:
        scan.evidence["question"] += 1.5
        scan.keys.setdefault("question", "")
        scan.vote(opener[0])
    if "?" in folded:
        # A real sentence ending in "?" is a question; a lone "?" or "ok?" is just vague.
        scan.evidence["question"] += 1.5 if len(folded.split()) >= 3 else 1
        scan.keys.setdefault("question", "")
    scan.keys = {"replied": "", **scan.keys}


_TimelineHit = tuple[Timeline, bool, str]  # category, specific?, evidence


_CLAUSE = re.compile(r"[^.!?;,:\n]+[.!?;,:\n]*")
_ONLY_GREETING = re.compile(
    r"^\W*(hi|hello|hey|hola|buenas|buenos dias|buen dia|buenas tardes|oi|ola|bom dia"
    r"|boa tarde|boa noite|yo|ok|okay|ah|oh)?\W*$"
)


def _question_clauses(folded: str) -> list[str]:
    """The first non-greeting clause, plus every clause that ends in "?"."""
    pieces = [m.group(0) for m in _CLAUSE.finditer(folded.replace("¿", " ").replace("¡", " "))]
    pieces = [p for p in pieces if not _ONLY_GREETING.match(p)]
    chosen = [p for i, p in enumerate(pieces) if i == 0 or "?" in p]
    return [p.strip(" .!?;,:\n") for p in chosen]


def _timeline_hits(scan: _Scan, *, weekdays: bool) -> list[_TimelineHit]:
    hits: list[_TimelineHit] = []
    for category, is_specific, compiled in compiled_timeline_rules():
        if compiled.rule.needs_hot != weekdays:
            continue
        matched = scan.apply(compiled, record=False)
        if matched is not None and category is not None:
            hits.append((category, is_specific, matched))
    return hits


def _choose_timeline(hits: list[_TimelineHit]) -> tuple[Timeline | None, str | None]:
    """Most urgent specific timeline mentioned, else a generic "later" ("not now"), else None."""
    specific = [hit for hit in hits if hit[1]]
    if specific:
        best = min(specific, key=lambda hit: TIMELINE_URGENCY[hit[0]])
        return best[0], best[2]
    if hits:
        return hits[0][0], hits[0][2]
    return None, None


def _budget(scan: _Scan) -> tuple[Budget | None, str | None]:
    """Strongest budget signal: approved, then an amount, then price sensitivity."""
    found: tuple[Budget, str] | None = None
    for category, compiled in compiled_budget_rules():
        matched = scan.apply(compiled, record=False)
        if matched is not None and found is None:
            found = (category, matched)
    return found if found else (None, None)


def _decide(evidence: dict[str, float]) -> tuple[Intent, float, bool]:
    hot, research, no = evidence["hot"], evidence["researching"], evidence["not_interested"]
    ranked = sorted(evidence.values(), reverse=True)
    top, second = ranked[0], ranked[1]
    intent: Intent
    if no >= 2 and no >= research and hot < 3:
        intent = "not_interested"
    elif hot >= 3 and hot >= research:
        intent = "hot"
    else:
        # Ties go to the cheaper mistake: nurturing a buyer costs less than escalating a browser.
        order: tuple[Intent, ...] = ("researching", "question", "hot", "not_interested")
        intent = max(order, key=lambda name: (evidence[name], -order.index(name)))
    vague = top < 1.5
    if vague:
        intent = "researching"
        confidence = 0.3
    else:
        confidence = min(0.95, 0.45 + 0.08 * min(top, 5.0) + 0.06 * min(top - second, 3.0))
    return intent, round(confidence, 2), vague


def _score(keys: dict[str, str]) -> tuple[int, tuple[str, ...]]:
    total = 0
    reasons: list[str] = []
    for key, evidence in keys.items():
        points, label = POINTS[key]
        total += points
        reasons.append(f"{label.format(evidence)} ({points:+d})")
    if total > 100:
        reasons.append(f"capped at 100 ({100 - total:+d})")
        total = 100
    elif total < 0:
        reasons.append(f"floored at 0 ({-total:+d})")
        total = 0
    return total, tuple(reasons)


def _language(folded: str, votes: dict[str, float], fallback: str) -> str:
    scores = language_scores(folded)
    for lang, vote in votes.items():
        scores[lang] += vote
    ranked = sorted(scores.items(), key=lambda item: item[1], reverse=True)
    best, best_score = ranked[0]
    if best_score < 1.0 or best_score == ranked[1][1]:
        return fallback if fallback in SUPPORTED else "en"
    return best


def _industry(folded: str) -> str | None:
    for name, pattern in compiled_industries():
        if pattern.search(folded):
            return name
    return None


def _auto_reply(
    folded: str, language: str, industry: str | None, previous: Qualification | None, strong: bool
) -> Qualification:
    note = "auto-reply, not a human reply: score unchanged"
    if previous is not None:
        return replace(
            previous,
            intent="auto_reply",
            reasons=(*previous.reasons, note),
            confidence=0.95 if strong else 0.75,
            is_vague=False,
            industry_hint=previous.industry_hint or industry,
        )
    return Qualification(
        intent="auto_reply",
        language=_language(folded, dict.fromkeys(SUPPORTED, 0.0), language),
        score=0,
        reasons=("auto-reply, not a human reply (score 0)",),
        confidence=0.95 if strong else 0.75,
        industry_hint=industry,
        signals=("auto_reply",),
    )
