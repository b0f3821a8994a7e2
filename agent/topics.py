"""A short phrase of what the lead asked about, quoted back so touch 1 reads personal."""

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
MAX_TOPIC = 60


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
    words = first.split()
    if len(words) < 2:
        return ""
    topic = ""
    for word in words:
        candidate = f"{topic} {word}".strip()
        if len(candidate) > MAX_TOPIC:
            break
        topic = candidate
    return topic.rstrip(",;:") if len(topic.split()) >= 2 else ""
