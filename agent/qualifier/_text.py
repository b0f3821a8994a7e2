"""Text normalisation shared by every classifier in this package.

Lead messages arrive in every shape WhatsApp allows: mixed case, missing or stray accents, curly
apostrophes, stretched letters ("siiii", "pleaseee"), keycap emojis ("1️⃣") and chat shorthand
("pls", "vc", "xfa"). Every rule in the package is written against one canonical form so that a
single pattern covers all those spellings:

* lower case, curly quotes/apostrophes straightened;
* compatibility-decomposed (NFKD) with combining marks removed, so "não" == "nao", "ñ" == "n" and
  "1️⃣" == "1" (the keycap is an enclosing mark, the variation selector a non-spacing one);
* format characters (zero-width joiners inside emoji sequences) removed;
* a letter repeated three or more times collapsed to one ("nooo" -> "no"); two are kept because
  real words have double letters ("all", "occ");
* whole-token shorthand expanded (`_SHORTHAND`), and whitespace collapsed.

The patterns therefore never contain accents; writing one is a bug the tests would catch.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from agent.text import analysed

_QUOTES = str.maketrans({"’": "'", "‘": "'", "`": "'", "´": "'", "ʼ": "'", "“": '"', "”": '"'})
_DROP_CATEGORIES = frozenset({"Mn", "Me", "Cf"})
_STRETCHED = re.compile(r"([a-z])\1{2,}")
_SPACES = re.compile(r"\s+")
_TOKEN = re.compile(r"[a-z0-9$']+")

# Chat shorthand seen in lead messages, expanded to the word the rules are written for. Only
# tokens that are unambiguous in all three languages belong here ("n" for "não" does not: it is
# also English "rock n roll"; "k" is "ok" in English but "que" in Spanish).
_SHORTHAND: dict[str, str] = {
    "u": "you",
    "r": "are",
    "ur": "your",
    "pls": "please",
    "plz": "please",
    "thx": "thanks",
    "tks": "thanks",
    "tmrw": "tomorrow",
    "tmr": "tomorrow",
    "tmw": "tomorrow",
    "2day": "today",
    "2morrow": "tomorrow",
    "q": "que",
    "xq": "porque",
    "pq": "porque",
    "kiero": "quiero",
    "xfa": "por favor",
    "porfa": "por favor",
    "porfavor": "por favor",
    "pfv": "por favor",
    "pf": "por favor",
    "vc": "voce",
    "vcs": "voces",
    "hj": "hoje",
    "obg": "obrigado",
    "vlw": "valeu",
    "dps": "depois",
    "qdo": "quando",
    "qnd": "quando",
    "cmg": "comigo",
    "msj": "mensaje",
    "msjs": "mensajes",
    "whats": "whatsapp",
    "wpp": "whatsapp",
    "zap": "whatsapp",
    "dont": "don't",
    "cant": "can't",
    "wont": "won't",
    "im": "i'm",
    "ive": "i've",
    "isnt": "isn't",
    "didnt": "didn't",
}
_SHORTHAND_TOKEN = re.compile(r"(?<![\w'$])(" + "|".join(map(re.escape, _SHORTHAND)) + r")(?![\w'])")


def fold(text: str) -> str:
    """Lower-case, accent-free, de-stretched form of `text` (see the module docstring)."""
    return _fold_cached(analysed(text))


@lru_cache(maxsize=2048)
def _fold_cached(text: str) -> str:
    # qualify() runs several classifiers over the same message; the cache makes the fold happen
    # once per message rather than once per classifier.
    lowered = unicodedata.normalize("NFKD", text.translate(_QUOTES).lower())
    stripped = "".join(c for c in lowered if unicodedata.category(c) not in _DROP_CATEGORIES)
    stripped = _STRETCHED.sub(r"\1", stripped)
    stripped = _SHORTHAND_TOKEN.sub(lambda m: _SHORTHAND[m.group(1)], stripped)
    return _SPACES.sub(" ", stripped).strip()


def tokens(folded: str) -> list[str]:
    """Word and number tokens of already folded text (apostrophes kept: "don't")."""
    return _TOKEN.findall(folded)


_CLAUSE_SPLIT = re.compile(r"[.!?¿¡;,:\n()\[\]]+|\s-\s")


def clauses(folded: str) -> list[str]:
    """Sentence-like pieces of folded text, for rules that must see a keyword standing alone."""
    return [part.strip() for part in _CLAUSE_SPLIT.split(folded) if part.strip()]


# Words that carry no meaning for keyword commands: "Stop please 🙏", "BAJA gracias", "sair, obg".
FILLER: frozenset[str] = frozenset(
    {
        *("please", "thanks", "thank", "you", "ty", "ok", "okay", "k", "now", "just", "hi", "hello", "hey"),
        *("sir", "mam", "maam", "por", "favor", "gracias", "muchas", "ya", "hola", "buenas", "senor", "senora"),
        *("obrigado", "obrigada", "valeu", "oi", "ola", "moco", "moca"),
        *("lol", "jaja", "jajaja", "haha", "kkk", "kkkk", "rs"),
    }
)


def bare(folded: str) -> str:
    """`folded` with punctuation, emojis and filler words removed: "Stop. Thank you 🙏" -> "stop"."""
    return " ".join(t for t in tokens(folded) if t not in FILLER)
