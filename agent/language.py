"""Language detection for the three languages Nudge writes in (en, es, pt).

Lead messages are short ("hola, precio?"), where general-purpose detectors guess badly; a
scored vocabulary of function words and spelling cues is both faster and more accurate here.
"""

from __future__ import annotations

import re
import unicodedata

from agent.text import analysed

SUPPORTED = ("en", "es", "pt")

_WORDS: dict[str, frozenset[str]] = {
    "en": frozenset(
        [
            "the",
            "and",
            "is",
            "are",
            "you",
            "your",
            "i",
            "we",
            "our",
            "my",
            "me",
            "it",
            "this",
            "that",
            "what",
            "how",
            "much",
            "for",
            "with",
            "to",
            "of",
            "in",
            "on",
            "hi",
            "hello",
            "hey",
            "thanks",
            "thank",
            "please",
            "can",
            "could",
            "would",
            "need",
            "want",
            "looking",
            "price",
            "pricing",
            "quote",
            "about",
            "have",
            "has",
            "do",
            "does",
            "not",
            "no",
            "yes",
            "info",
            "information",
            "interested",
            "book",
            "demo",
            "call",
            "when",
            "stop",
            "help",
            "a",
            "an",
            "be",
            "will",
            "just",
            "get",
            "know",
        ]
    ),
    "es": frozenset(
        [
            "el",
            "la",
            "los",
            "las",
            "es",
            "son",
            "usted",
            "ustedes",
            "tu",
            "tú",
            "yo",
            "nosotros",
            "nuestro",
            "mi",
            "me",
            "esto",
            "eso",
            "qué",
            "que",
            "cómo",
            "como",
            "cuánto",
            "cuanto",
            "cuesta",
            "para",
            "con",
            "de",
            "del",
            "en",
            "y",
            "hola",
            "buenas",
            "buenos",
            "días",
            "dias",
            "gracias",
            "por",
            "favor",
            "puede",
            "pueden",
            "podría",
            "necesito",
            "necesitamos",
            "quiero",
            "queremos",
            "busco",
            "precio",
            "precios",
            "cotización",
            "información",
            "info",
            "interesa",
            "interesado",
            "tengo",
            "tenemos",
            "hacer",
            "no",
            "sí",
            "si",
            "cuándo",
            "cuando",
            "llamar",
            "agendar",
            "una",
            "uno",
            "un",
            "mis",
            "tienen",
            "hay",
            "también",
            "pero",
            "muy",
            "ya",
            "baja",
            "escriban",
            "quisiera",
            "saber",
        ]
    ),
    "pt": frozenset(
        [
            "o",
            "a",
            "os",
            "as",
            "é",
            "são",
            "você",
            "vocês",
            "eu",
            "nós",
            "nosso",
            "nossa",
            "meu",
            "minha",
            "isso",
            "isto",
            "quê",
            "que",
            "como",
            "quanto",
            "custa",
            "para",
            "com",
            "de",
            "do",
            "da",
            "dos",
            "das",
            "em",
            "no",
            "na",
            "e",
            "olá",
            "ola",
            "oi",
            "bom",
            "boa",
            "dia",
            "tarde",
            "obrigado",
            "obrigada",
            "por",
            "favor",
            "pode",
            "podem",
            "poderia",
            "preciso",
            "precisamos",
            "quero",
            "queremos",
            "procuro",
            "preço",
            "precos",
            "preços",
            "orçamento",
            "orcamento",
            "informação",
            "informações",
            "interessa",
            "interessado",
            "tenho",
            "temos",
            "fazer",
            "não",
            "nao",
            "sim",
            "quando",
            "ligar",
            "agendar",
            "uma",
            "um",
            "meus",
            "têm",
            "tem",
            "também",
            "mas",
            "muito",
            "já",
            "parem",
            "gostaria",
            "saber",
            "vocês",
            "estou",
            "até",
            "mensagem",
            "tenho",
            "minha",
            "amanhã",
            "então",
            "agora",
            "hoje",
            "pra",
        ]
    ),
}

# Letters or sequences that only (or mostly) one of the languages uses.
_CUES: dict[str, tuple[re.Pattern[str], ...]] = {
    "es": (re.compile(r"ñ"), re.compile(r"[¿¡]"), re.compile(r"\b\w+ción\b"), re.compile(r"\bll\w")),
    "pt": (
        re.compile(r"[ãõç]"),
        re.compile(r"\b\w+ção\b"),
        re.compile(r"\b\w+ções\b"),
        re.compile(r"\w(nh|lh)\w"),
        re.compile(r"\bvoc[êe]\b"),
    ),
    # "\Bing\b", not "\w+ing\b": the same words, but \w+ without a word start before it is retried
    # from every letter of a long word (quadratic).
    "en": (re.compile(r"\b\w+'(s|t|re|ll|ve|m|d)\b"), re.compile(r"\bth\w+"), re.compile(r"\Bing\b")),
}

_TOKEN = re.compile(r"[^\W\d_]+", re.UNICODE)


def _fold(word: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFD", word) if unicodedata.category(c) != "Mn")


_FOLDED: dict[str, frozenset[str]] = {lang: frozenset(_fold(w) for w in words) for lang, words in _WORDS.items()}


def language_scores(text: str) -> dict[str, float]:
    lowered = analysed(text).lower()
    tokens = _TOKEN.findall(lowered)
    scores = dict.fromkeys(SUPPORTED, 0.0)
    for token in tokens:
        folded = token if token.isascii() else _fold(token)  # nothing to fold in ASCII
        for lang in SUPPORTED:
            if token in _WORDS[lang]:
                scores[lang] += 1.0
            elif folded in _FOLDED[lang]:
                scores[lang] += 0.6
    for lang, cues in _CUES.items():
        for cue in cues:
            scores[lang] += 1.5 * len(cue.findall(lowered))
    return scores


def detect_language(text: str, default: str = "en") -> str:
    """Best of en/es/pt for `text`; `default` when the text gives no evidence or a tie."""
    scores = language_scores(text)
    ranked = sorted(scores.items(), key=lambda item: item[1], reverse=True)
    best, best_score = ranked[0]
    fallback = default if default in SUPPORTED else "en"
    if best_score < 1.0:
        return fallback
    tied = [lang for lang, score in ranked if score == best_score]
    if len(tied) > 1:
        # "consultorio de ortodoncia" ties es/pt: the default only wins a tie it is part of.
        return fallback if fallback in tied else tied[0]
    return best
