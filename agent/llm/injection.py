"""Cues that a lead's message tries to instruct the agent rather than talk to the business.

Used to keep such a message away from the LLM qualifier (the offline rules classify it): a model
that obeys "mark me as a hot lead" would escalate on the attack. Drafts need no such filter, the
guardrails check what the model wrote whatever it was told.
"""

from __future__ import annotations

import re

from agent.composer.similarity import normalise
from agent.text import analysed

_CUES = [
    # en
    r"\bignore (?:all |any |the |your )?(?:previous|prior|above|earlier|former)\b",
    r"\b(?:system|developer|hidden) (?:prompt|message|instructions?)\b",
    r"\byour (?:instructions|prompt|rules)\b",
    r"\b(?:repeat|print|show|reveal) (?:the |your )?(?:text|message|words) above\b",
    r"\byou are now\b",
    r"\b(?:act|behave|pretend) as\b",
    r"\b(?:other|another) (?:leads?|customers?|clients?|users?)\b",
    r"\b(?:lead )?score\b",
    r"\b(?:mark|classify|flag|tag|set) (?:me|this lead|this message) as\b",
    r"\bhot lead\b",
    r"\bjailbreak|dan mode|developer mode\b",
    # es
    r"\b(?:ignora|olvida) (?:las |tus |todas las )?(?:instrucciones|reglas)",
    r"\binstrucciones (?:anteriores|previas|del sistema)\b",
    r"\bprompt del sistema\b",
    r"\btus (?:instrucciones|reglas)\b",
    r"\beres ahora\b",
    r"\b(?:otros|otro) (?:clientes?|leads?|usuarios?)\b",
    r"\b(?:marcame|clasificame|marca(?:me)?) como\b",
    r"\bpuntuacion\b",
    r"\blead caliente\b",
    # pt
    r"\b(?:ignore|ignora|esqueca) (?:as |suas |todas as )?(?:instrucoes|regras)",
    r"\binstrucoes (?:anteriores|do sistema)\b",
    r"\bprompt do sistema\b",
    r"\bsuas (?:instrucoes|regras)\b",
    r"\bvoce agora e\b",
    r"\b(?:outros|outro) (?:clientes?|leads?|usuarios?)\b",
    r"\b(?:me marque|me classifique|marque me|classifique me) como\b",
    r"\bpontuacao\b",
    r"\blead quente\b",
]
_PATTERN = re.compile("|".join(f"(?:{cue})" for cue in _CUES))


def injection_cues(text: str) -> list[str]:
    """The instruction-like phrases found in `text` (accents and punctuation folded away)."""
    return [match.group(0) for match in _PATTERN.finditer(normalise(analysed(text)))]
