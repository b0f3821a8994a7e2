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
    r"\bpretend (?:you are|you're|to be)\b",
    r"\bnew instructions?\b",
    r"\b(?:your|tu|su|seu|sua) (?:system )?prompt\b",
    r"\b(?:ignore|ignora|olvida|esquece|esqueca) (?:the above|everything above|lo anterior|todo lo anterior"
    r"|o que foi dito|tudo acima)\b",
    r"\byou are (?:chatgpt|gpt|an? ai model|a different|no longer)\b|\bchatgpt\b",
    r"\bforget (?:the|this|your) (?:business|company|script|rules)\b",
    r"\b(?:the )?(?:user|usuario) (?:is|es|e) (?:an |el |o )?(?:admin|administrator|administrador)\b",
    r"\bapi keys?\b|\b(?:claves?|chaves?) de api\b",
    r"\b(?:your|tu|sua) (?:configuration|config|configuracion|configuracao)\b",
    r"\bdisregard (?:your|all|the|any|previous)\b",
    r"\bfrom now on (?:you|answer|reply|respond|only|talk|speak)\b",
    r"\bwhat (?:ai |language )?model are you\b",
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
    r"\b(?:finge|fingi|simula) (?:que eres|que sos|ser)\b",
    r"\bactua como\b",
    r"\bnuevas instrucciones\b",
    r"\bahora eres\b",
    r"\bolvida (?:el|la|tu) (?:negocio|empresa)\b",
    r"\ba partir de ahora (?:responde|contesta|habla|eres|sos)\b",
    r"\bolvida (?:el guion|tu guion|tus reglas|todo lo anterior)\b",
    r"\bque modelo (?:de ia |de lenguaje )?(?:usas|eres)\b",
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
    r"\bfinge que (?:e|eh|voce e|vc e)\b",
    r"\bfinja (?:que|ser)\b",
    r"\bnovas instrucoes\b",
    r"\bagora (?:voce|vc) e\b",
    r"\besquec[ae] (?:a|o|sua|seu) (?:empresa|negocio)\b",
    r"\b(?:age|aja) como (?:o|a|um|uma|se)\b",
    r"\ba partir de agora (?:responda|responde|fale|voce e|vc e)\b",
    r"\besquec[ae] (?:o roteiro|seu roteiro|suas regras|tudo o que)\b",
    r"\bqual modelo (?:de ia |de linguagem )?(?:voce usa|vc usa|usa|e voce)\b",
]
_PATTERN = re.compile("|".join(f"(?:{cue})" for cue in _CUES))


def injection_cues(text: str) -> list[str]:
    """The instruction-like phrases found in `text` (accents and punctuation folded away)."""
    return [match.group(0) for match in _PATTERN.finditer(normalise(analysed(text)))]
