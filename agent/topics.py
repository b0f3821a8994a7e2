"""A short phrase of what the lead asked about, quoted back so touch 1 reads personal.

Only whole phrases are quoted: a first sentence too long to quote is cut at its first clause, and
when that is still too long nothing is quoted (a clipped quote — "…we need to" — reads like a
broken machine). A phrase that ends on a word needing a next one ("to", "que", "para") is not quoted either.
"""

from __future__ import annotations

import re

from agent.text import analysed

_GREETING = re.compile(
    r"^\s*(hi|hello|hey|good (morning|afternoon|evening)|hola|buen[oa]s( d[ií]as| tardes| noches)?|"
    r"ol[aá]|oi|bom dia|boa (tarde|noite))\b[\s,!.:-]*",
    re.IGNORECASE,
)
_LEAD_IN = re.compile(
    r"^\s*(i('m| am)? (want|would like|need|was wondering|'d like)( to know| to ask)?( about)?|"
    r"i'm interested in|we (need|want|are looking for)|looking for|"
    r"(quisiera|quiero|necesito|me interesa|busco|estoy buscando)( saber| informaci[oó]n)?( sobre| de)?|"
    r"(gostaria de|quero|preciso de?|tenho interesse em|estou procurando)( saber| informa[cç][aã]o)?( sobre| de)?)"
    r"\s+",
    re.IGNORECASE,
)
_SENTENCE_END = re.compile(r"[.!?\n]")
_CLAUSE_END = re.compile(r"[,;:]")
MAX_TOPIC = 60
# Words a phrase cannot end on (en/es/pt, accents folded by lower-casing only where they match).
_DANGLING = frozenset(
    [
        "to",
        "the",
        "a",
        "an",
        "and",
        "or",
        "of",
        "for",
        "with",
        "in",
        "on",
        "at",
        "my",
        "our",
        "your",
        "we",
        "i",
        "que",
        "qué",
        "de",
        "del",
        "la",
        "el",
        "los",
        "las",
        "un",
        "una",
        "y",
        "o",
        "con",
        "para",
        "por",
        "en",
        "mi",
        "mis",
        "nuestro",
        "nuestra",
        "e",
        "do",
        "da",
        "dos",
        "das",
        "um",
        "uma",
        "com",
        "pra",
        "pro",
        "no",
        "na",
        "meu",
        "minha",
        "nosso",
        "nossa",
        "se",
    ]
)


def extract_topic(text: str) -> str:
    """'Hi! I'd like pricing for 3 clinics. Thanks' → 'pricing for 3 clinics'; '' when unclear."""
    stripped = _GREETING.sub("", analysed(text).strip(), count=1)
    stripped = re.sub(
        r"^\s*(my name is|me llamo|meu nome [eé]|soy|sou)\s+\w+[\s,.!]*", "", stripped, flags=re.IGNORECASE
    )
    stripped = _LEAD_IN.sub("", stripped, count=1)
    stripped = re.sub(r"^to\s+(?=\w)", "", stripped, count=1, flags=re.IGNORECASE)
    first = _SENTENCE_END.split(stripped, maxsplit=1)[0].strip(" ,;:-¿¡\"'")
    first = re.sub(r"[\"“”«»]", "", first)
    if len(first) > MAX_TOPIC:
        first = _CLAUSE_END.split(first, maxsplit=1)[0].strip()
        if len(first) > MAX_TOPIC:
            return ""  # no whole phrase fits: quote nothing rather than a fragment
    words = first.rstrip(",;:").split()
    if len(words) < 2 or words[-1].lower() in _DANGLING:
        return ""  # "…para", "looking for": the phrase is not whole
    return " ".join(words)
