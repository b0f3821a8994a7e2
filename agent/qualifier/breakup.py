"""Answers to the break-up touch (touch 6).

The touch asks one binary question, worded in every language as:

    "Shall I close your file? Reply 1 to keep it open, 2 to close it."

so the answer is read *relative to that wording*:

| answer                                   | means        | why                                          |
|------------------------------------------|--------------|----------------------------------------------|
| "1", "option 1", "1️⃣"                    | keep_open    | option 1 is "keep it open"                   |
| "2", "opción 2"                          | close        | option 2 is "close it"                       |
| "yes", "sí", "sim", "ok", "claro", "pode"| **close**    | "yes" answers "shall I close your file?"     |
| "no", "não", "nope"                      | **keep_open**| "no" = "don't close it"                      |
| "keep it open", "déjalo abierto", "still interested", "don't close" | keep_open | explicit |
| "close it", "ciérralo", "pode fechar", "not interested"             | close     | explicit |
| "not now", "ahora no", "agora não", "later", "next month"           | not_now   | keep the file, pause the lead |

The trap: a lead answering "yes!" often means "yes, I'm still interested" — but to the question
as asked it means "yes, close it". We follow the question's wording, because that is what the
lead was shown, **and** any explicit statement beats a bare yes/no: "yes, still interested" is
keep_open, "no, close it" is close. Polite refusals ("no thanks", "no gracias") are ambiguous
against this question (literally "don't close", meant as "I'm not interested") and return None so
the caller falls back to `qualify()`, which reads them as not_interested.

Portuguese "fechar" also means closing a *deal*: "quero fechar" / "vamos fechar" is a buyer, read
as keep_open. Opt-out phrasing ("STOP", "remove me") reads as close, but callers must check
`is_opt_out()` first — an opt-out is more than a closed file.

Conflicting answers ("1 or 2?", "yes keep it... no close it") return None: ask again or hand to a
person rather than guess.
"""

from __future__ import annotations

import re
from functools import cache

from agent.qualifier._text import fold, tokens
from agent.qualifier.consent import is_opt_out
from agent.qualifier.model import BreakupAnswer

# Checked in this order; each consumes what it matched so that "não feche" is not read again as
# "feche", nor "not interested" as "interested".
_KEEP_NEGATED_CLOSE = (
    r"\b(don't|do not|dont|pls don't|please don't) close\b|\bno (lo |la |me )?(cierres|cierren|cierre|cerrar)\b"
    r"|\bnao (feche|fecha|fechem|precisa fechar|encerre|encerra)\b|\b(quero|queremos|vamos|bora|podemos) fechar\b"
)
_CLOSE = (
    r"\b(please |pls |you can |go ahead and |yes,? )?close (it|my file|the file|this|my account|everything)\b"
    r"|\bclose\b|\bnot interested\b|\bno longer interested\b|\bremove me\b|\bdelete (it|my file)\b"
    r"|\bcierr(alo|enlo|ala|a|en|elo)\b|\bcerr(alo|ar|arlo|ala)\b|\b(puedes|pueden|puede) cerrar\w*"
    r"|\bno (me|nos) interesa\b|\bya no (me|nos) interesa\b|\bno (estoy|estamos) interesad[oa]s?\b"
    r"|\b(pode|podem) (fechar|encerrar)\b|\bfech(a|e|ar|em)\b|\bencerr(a|e|ar)\b"
    r"|\bnao (tenho|temos) (mais )?interesse\b"
    r"|\bsem interesse\b|\bnao (me|nos) interessa\b"
)
_KEEP = (
    r"\bkeep (it|my file|the file|me|us)?\s*(open|active|on file)\b|\bleave it open\b|\bstill interested\b"
    r"|\b(i'm|i am|we're|we are) (still )?interested\b|\binterested\b|\bnot yet\b"
    r"|\b(dejalo|dejala|mantenlo|mantenla|manten|deja|dejenlo|mantener) (\w+ )?abiert[oa]\b|\bsigue abiert[oa]\b"
    r"|\b(sigo|seguimos|todavia|aun|si) (me |nos )?interes(ad[oa]s?|a)\b|\bme sigue interesando\b|\btodavia no\b"
    r"|\b(deixa|deixe|mantem|mantenha|manter|deixem) (\w+ )?abert[oa]\b|\bainda (tenho|temos) interesse\b"
    r"|\b(continuo|continuamos|ainda estou|ainda estamos) interessad[oa]s?\b|\b(tenho|temos) interesse\b"
    r"|\bainda me interessa\b|\bainda nao\b"
)
_NOT_NOW = (
    r"\bnot (right )?now\b|\bnot at the moment\b|\blater\b|\bbusy\b|\banother time\b|\bask me (again )?later\b"
    r"|\bin (a few|a couple of|\d+|two|three|six) (weeks|months)\b|\bnext (month|year|quarter)\b"
    r"|\b(ahora|ahorita|por ahora|de momento) no\b|\bno (por )?ahora\b|\bmas (adelante|tarde)\b|\bdespues\b|\bluego\b"
    r"|\ben (unos|algunos|un par de|\d+|dos|tres|seis) (semanas|meses)\b|\b(el )?(proximo|otro) (mes|ano)\b"
    r"|\bel (mes|ano) que viene\b|\bocupad[oa]\b|\bno es (buen|un buen) momento\b"
    r"|\b(agora|por enquanto|no momento) nao\b|\bnao agora\b|\bmais (tarde|pra frente|para frente)\b|\bdepois\b"
    r"|\bdaqui (a )?(uns|alguns|\d+|dois|tres|seis) (semanas|meses)\b|\b(o )?proximo (mes|ano)\b"
    r"|\b(mes|ano) que vem\b"
    r"|\bnao (e|eh) (um )?bom momento\b"
)
_NUMBER = re.compile(r"^(?:option|opcion|opcao|opc|numero|number|#|n)?\s*([12])$")
# Whole answers (after `_plain`, which drops "please"/"por favor": "yes please" -> "yes",
# "please do" -> "do").
_YES = frozenset(
    {
        *("yes", "yeah", "yep", "yup", "ya", "sure", "ok", "okay", "do", "go ahead", "yes yes", "sure thing"),
        *("si", "si si", "claro", "dale", "vale", "bueno", "sale", "por supuesto", "si claro", "claro que si"),
        *("sim", "sim sim", "pode", "pode sim", "beleza", "blz", "isso", "claro que sim", "pode ser", "ok pode"),
    }
)
_NO = frozenset({"no", "nope", "nah", "nao", "no no", "nao nao", "negative", "no way"})
# Politeness around a yes/no/number answer; unlike `_text.FILLER`, "ok" and "ya" stay: here they
# are answers.
_POLITE = frozenset(
    {"please", "pls", "thanks", "ty", "gracias", "obrigado", "obrigada", "hi", "hello", "hey", "hola", "oi", "ola"}
)
_POLITE_PHRASES = re.compile(r"\bpor favor\b|\bthank you\b")
_POLITE_REFUSAL = re.compile(r"^(no|nao|nope|nah),? (thanks|thank you|ty|gracias|obrigad[oa]|valeu)$")


@cache
def _compiled() -> tuple[re.Pattern[str], re.Pattern[str], re.Pattern[str], re.Pattern[str]]:
    # Compiled on first use; the order matters (see the comment on _KEEP_NEGATED_CLOSE).
    return (re.compile(_KEEP_NEGATED_CLOSE), re.compile(_CLOSE), re.compile(_KEEP), re.compile(_NOT_NOW))


def parse_breakup_answer(text: str) -> BreakupAnswer | None:
    """Read a reply to "Shall I close your file? 1 = keep it open, 2 = close it" (module docstring)."""
    folded = fold(text)
    if is_opt_out(text):
        return "close"
    negated_close, close, keep, not_now = _compiled()
    work = folded
    found: set[BreakupAnswer] = set()
    explicit_close = False
    for pattern, answer in ((negated_close, "keep_open"), (close, "close"), (keep, "keep_open"), (not_now, "not_now")):
        match = pattern.search(work)
        if match is None:
            continue
        found.add(answer)  # type: ignore[arg-type]
        if pattern is close and not re.search(r"interes", match.group(0)):
            explicit_close = True
        work = pattern.sub("\x00", work)
    words = _plain(work)
    number = _NUMBER.match(_strip_polarity(words))
    if number:
        found.add("keep_open" if number.group(1) == "1" else "close")
    if "not_now" in found:
        # "keep it open but not now" is a snooze; "close it, maybe later" contradicts itself.
        return None if explicit_close else "not_now"
    if len(found) == 1:
        return found.pop()
    if found:
        return None
    if _POLITE_REFUSAL.match(" ".join(tokens(folded))):
        return None
    if words in _YES:
        return "close"
    if words in _NO:
        return "keep_open"
    return None


def _plain(work: str) -> str:
    work = _POLITE_PHRASES.sub(" ", work.replace("\x00", " "))
    return " ".join(t for t in tokens(work) if t not in _POLITE)


def _strip_polarity(words: str) -> str:
    # "yes 2", "si, 1": the number is the answer; the yes/no in front is politeness.
    head, _, rest = words.partition(" ")
    return rest if rest and (head in _YES or head in _NO) else words
