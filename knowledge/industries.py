"""Industry detection for inbound leads: keywords and embeddings combined.

The canonical list (17 industries, synonyms in en/es/pt) lives in `knowledge.industry_data`.
A business can extend it with :func:`build_catalog` (`extra={"veterinary": ["vet", "veterinaria"]}`
adds an industry; `extra={"dental": ["smile design"]}` adds synonyms to an existing one).

:func:`detect_industry` scores every industry twice:

- **keywords**: synonyms found in the accent-folded text (a term that two industries claim, such
  as "academia", is resolved by the text's language); strong terms score 1, ambiguous ones 0.5;
- **embeddings**: cosine similarity between the message and each industry's prototype sentences
  (embedded once per model and catalog), relative to the similarity with sentences that name no
  business at all ("how much is it?"), which is how messages without an industry are told apart.

The two are added; the best industry wins when its combined score clears a threshold and beats
the runner-up by a margin, otherwise the guess is ``None``. A form field, when given, is detected
the same way and, when recognised, decides, unless the message names another industry with more
confidence.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from agent.language import detect_language
from agent.text import analysed
from knowledge.embeddings import DEFAULT_MODEL, FloatMatrix, load_encoder
from knowledge.industry_data import GENERIC_PROTOTYPES, INDUSTRY_TABLE, LOCAL_LABELS

if TYPE_CHECKING:
    from knowledge.embeddings import Encoder

LANGUAGES = ("en", "es", "pt")
ANY_LANGUAGE = "*"

STRONG = 1.0
WEAK = 0.5

ExtraSynonyms = Mapping[str, Iterable[str]]
FloatVector = npt.NDArray[np.float32]


def fold(text: str) -> str:
    """Lower-case, strip accents, collapse whitespace: the form terms and texts are matched in."""
    decomposed = unicodedata.normalize("NFD", text.casefold())
    stripped = "".join(c for c in decomposed if unicodedata.category(c) != "Mn")
    return " ".join(stripped.split())


_SLUG = re.compile(r"[^a-z0-9]+")


def slugify(text: str) -> str:
    return _SLUG.sub("_", fold(text)).strip("_")


@dataclass(frozen=True)
class Industry:
    key: str
    label: str
    # (folded term, language or "*", weight)
    terms: tuple[tuple[str, str, float], ...]
    prototypes: tuple[str, ...]
    canonical: bool = True


@dataclass(frozen=True)
class IndustryGuess:
    """The detected industry (None when unsure), a confidence in [0, 1] and why."""

    industry: str | None
    confidence: float
    evidence: tuple[str, ...] = ()
    candidates: tuple[tuple[str, float], ...] = ()

    def __bool__(self) -> bool:
        return self.industry is not None


def _canonical_industries() -> list[Industry]:
    out: list[Industry] = []
    for key, row in INDUSTRY_TABLE.items():
        terms: list[tuple[str, str, float]] = []
        for weight, groups in ((STRONG, row["strong"]), (WEAK, row["weak"])):
            for lang, words in groups.items():
                terms.extend((fold(word), lang, weight) for word in words)
        terms.append((fold(row["label"]), ANY_LANGUAGE, STRONG))
        terms.append((fold(key.replace("_", " ")), ANY_LANGUAGE, STRONG))
        out.append(Industry(key, row["label"], tuple(dict.fromkeys(terms)), tuple(row["prototypes"])))
    return out


_TOKEN = re.compile(r"[a-z0-9]+")


def _tokens(folded: str) -> list[str]:
    return _TOKEN.findall(folded)


@dataclass(frozen=True)
class _Term:
    """A synonym as tokens. A token ending in `*` is a prefix ("odontolog*"); a last token without
    one also matches its plural ("dentist" matches "dentists", "clinica" matches "clinicas")."""

    text: str
    tokens: tuple[str, ...]
    prefix: tuple[bool, ...]

    @classmethod
    def parse(cls, term: str) -> _Term:
        tokens: list[str] = []
        prefix: list[bool] = []
        for piece in re.split(r"[\s\-]+", term):
            parts = _tokens(piece.rstrip("*"))
            tokens.extend(parts)
            prefix.extend([False] * len(parts))
            if parts and piece.endswith("*"):
                prefix[-1] = True
        return cls(term, tuple(tokens), tuple(prefix))

    def match_length(self, tokens: Sequence[str], start: int) -> int:
        n = len(self.tokens)
        if start + n > len(tokens):
            return 0
        for k, (want, is_prefix) in enumerate(zip(self.tokens, self.prefix, strict=True)):
            got = tokens[start + k]
            if is_prefix:
                if not got.startswith(want):
                    return 0
            elif k == n - 1:
                if got not in (want, want + "s", want + "es"):
                    return 0
            elif got != want:
                return 0
        return n


@dataclass(frozen=True)
class KeywordHit:
    industry: str
    term: str
    matched: str
    weight: float


class IndustryCatalog:
    """The industries a business recognises, with a compiled keyword index."""

    def __init__(self, industries: Sequence[Industry]) -> None:
        self.industries: tuple[Industry, ...] = tuple(industries)
        self.by_key: dict[str, Industry] = {ind.key: ind for ind in self.industries}
        owners: dict[str, list[tuple[str, str, float]]] = {}
        for ind in self.industries:
            for term, lang, weight in ind.terms:
                owners.setdefault(term, []).append((ind.key, lang, weight))
        self._owners = owners
        # Candidate terms by their first token (exact, or its first three letters for a prefix),
        # longest first so that "salon de belleza" wins over "salon" at the same position.
        self._by_first: dict[str, list[_Term]] = {}
        self._by_prefix: dict[str, list[_Term]] = {}
        for text in owners:
            parsed = _Term.parse(text)
            if not parsed.tokens:
                continue
            first = parsed.tokens[0]
            if parsed.prefix[0]:
                self._by_prefix.setdefault(first[:3], []).append(parsed)
            elif len(parsed.tokens) == 1:
                for variant in (first, first + "s", first + "es"):
                    self._by_first.setdefault(variant, []).append(parsed)
            else:
                self._by_first.setdefault(first, []).append(parsed)
        for bucket in (*self._by_first.values(), *self._by_prefix.values()):
            bucket.sort(key=lambda t: (-len(t.tokens), -len(t.text)))

    def _scan(self, text: str) -> list[tuple[_Term, str]]:
        tokens = _tokens(fold(text))
        found: list[tuple[_Term, str]] = []
        i = 0
        while i < len(tokens):
            best: _Term | None = None
            best_len = 0
            for term in (*self._by_first.get(tokens[i], ()), *self._by_prefix.get(tokens[i][:3], ())):
                length = term.match_length(tokens, i)
                if length > best_len or (
                    length == best_len and length and best is not None and len(term.text) > len(best.text)
                ):
                    best, best_len = term, length
            if best is None:
                i += 1
                continue
            found.append((best, " ".join(tokens[i : i + best_len])))
            i += best_len
        return found

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(ind.key for ind in self.industries)

    def label(self, key: str) -> str:
        ind = self.by_key.get(key)
        return ind.label if ind else key.replace("_", " ")

    def keyword_hits(self, text: str, language: str) -> list[KeywordHit]:
        hits: list[KeywordHit] = []
        for term, matched in self._scan(text):
            owners = self._owners[term.text]
            industries = {key for key, _, _ in owners}
            if len(industries) > 1:
                own = [o for o in owners if o[1] in (language, ANY_LANGUAGE)]
                if own and len({key for key, _, _ in own}) == 1:
                    owners = own
                else:
                    owners = [(key, lang, weight / 2) for key, lang, weight in owners]
            best: dict[str, float] = {}
            for key, _, weight in owners:
                best[key] = max(best.get(key, 0.0), weight)
            hits.extend(KeywordHit(key, term.text, matched, weight) for key, weight in best.items())
        return hits

    def keyword_scores(self, text: str, language: str) -> tuple[dict[str, float], list[KeywordHit]]:
        hits = self.keyword_hits(text, language)
        per: dict[str, list[float]] = {}
        for hit in hits:
            per.setdefault(hit.industry, []).append(hit.weight)
        scores = {}
        for key, weights in per.items():
            weights.sort(reverse=True)
            scores[key] = min(1.5, weights[0] + 0.25 * sum(weights[1:]))
        return scores, hits

    def normalize(self, value: str) -> str:
        """The catalog key for an industry name or synonym ("Bienes raíces" -> "real_estate").

        An unknown name becomes its slug (so a business's own industries still group together).
        """
        folded = fold(value)
        if not folded:
            raise ValueError("industry is empty")
        slug = slugify(value)
        if slug in self.by_key:
            return slug
        for ind in self.industries:
            if folded == fold(ind.label):
                return ind.key
        scores, _ = self.keyword_scores(value, "*")
        if scores:
            ranked = sorted(scores.items(), key=lambda kv: kv[1], reverse=True)
            if ranked[0][1] >= STRONG and (len(ranked) == 1 or ranked[0][1] > ranked[1][1]):
                return ranked[0][0]
        if not slug:  # e.g. only control characters: no key to group it under, and not idempotent
            raise ValueError(f"industry {value!r} has no letters or digits")
        return slug


def _freeze_extra(extra: ExtraSynonyms | None) -> tuple[tuple[str, tuple[str, ...]], ...]:
    if not extra:
        return ()
    frozen: list[tuple[str, tuple[str, ...]]] = []
    for key, words in extra.items():
        if isinstance(words, str):
            raise TypeError(f"synonyms for {key!r} must be a list of strings, not one string")
        clean = tuple(sorted({w.strip() for w in words if w and w.strip()}))
        frozen.append((key, clean))
    return tuple(sorted(frozen))


@functools.cache
def _catalog(extra: tuple[tuple[str, tuple[str, ...]], ...]) -> IndustryCatalog:
    industries = {ind.key: ind for ind in _canonical_industries()}
    by_label = {fold(ind.label): ind.key for ind in industries.values()}
    for raw_key, words in extra:
        key = slugify(raw_key)
        if not key:
            raise ValueError(f"invalid industry name {raw_key!r}")
        key = by_label.get(fold(raw_key), key)
        terms = tuple((fold(w), ANY_LANGUAGE, STRONG) for w in words)
        if key in industries:
            old = industries[key]
            industries[key] = Industry(key, old.label, old.terms + terms, old.prototypes + words, old.canonical)
        else:
            label = raw_key.strip()
            own = ((fold(label), ANY_LANGUAGE, STRONG), (fold(key.replace("_", " ")), ANY_LANGUAGE, STRONG))
            industries[key] = Industry(key, label, own + terms, (label, *words), canonical=False)
    return IndustryCatalog(list(industries.values()))


def build_catalog(extra: ExtraSynonyms | None = None) -> IndustryCatalog:
    """The canonical catalog, extended with a business's own industries or synonyms.

    `extra` maps an industry to synonyms in any language. A key that is a canonical key or label
    ("dental", "Real estate") extends that industry; any other key ("Veterinary") adds a new
    industry whose key is its slug ("veterinary"). The synonyms count as strong keywords and as
    prototype sentences for the embedding side. Catalogs are cached per distinct `extra`.
    """
    return _catalog(_freeze_extra(extra))


def industry_keys() -> tuple[str, ...]:
    """The canonical industry keys."""
    return tuple(INDUSTRY_TABLE)


def normalize_industry(value: str, extra: ExtraSynonyms | None = None) -> str:
    return build_catalog(extra).normalize(value)


@dataclass(frozen=True)
class DetectorParams:
    """Tunable constants of the combination (chosen on the labelled set; see the tests)."""

    keyword_weight: float = 1.0
    embedding_weight: float = 4.0
    threshold: float = 0.4
    margin: float = 0.1
    keyword_floor: float = -0.1


@dataclass
class IndustryDetector:
    """Keyword index plus prototype embeddings for one catalog and one embedding model."""

    catalog: IndustryCatalog
    encoder: Encoder
    params: DetectorParams = field(default_factory=DetectorParams)

    def __post_init__(self) -> None:
        sentences: list[str] = []
        owner: list[int] = []
        for index, ind in enumerate(self.catalog.industries):
            sentences.extend(ind.prototypes)
            owner.extend([index] * len(ind.prototypes))
        self._owner = np.asarray(owner, dtype=np.int64)
        self._prototypes: FloatMatrix = self.encoder.encode(sentences, query=True)
        self._generic: FloatMatrix = self.encoder.encode(GENERIC_PROTOTYPES, query=True)

    def embedding_scores(self, text: str, embedding: FloatVector | None = None) -> tuple[dict[str, float], float]:
        """Per industry: best prototype similarity; and the best similarity to a no-business sentence."""
        query = embedding if embedding is not None else self.encoder.encode([text], query=True)[0]
        sims = self._prototypes @ query
        best = np.full(len(self.catalog.industries), -1.0, dtype=np.float32)
        np.maximum.at(best, self._owner, sims)
        generic = float(np.max(self._generic @ query))
        return {ind.key: float(best[i]) for i, ind in enumerate(self.catalog.industries)}, generic

    def score(
        self, text: str, language: str, embedding: FloatVector | None = None
    ) -> tuple[dict[str, float], list[KeywordHit], dict[str, float]]:
        p = self.params
        keywords, hits = self.catalog.keyword_scores(text, language)
        emb, generic = self.embedding_scores(text, embedding)
        # A named industry ("tenemos una empresa de plomería") is not cancelled by the rest of the
        # message reading like small talk ("llámame a las 4"): with a keyword, the embedding may
        # only lower the score down to `keyword_floor`. Only for one strong keyword: a weak one
        # ("loja") stays open to the embedding's reading, and two named industries are told apart
        # by it.
        strong = [key for key, value in keywords.items() if value >= STRONG]
        floored = strong[0] if len(strong) == 1 else None
        combined = {
            key: p.keyword_weight * keywords.get(key, 0.0)
            + p.embedding_weight * (max(sim - generic, p.keyword_floor) if key == floored else sim - generic)
            for key, sim in emb.items()
        }
        return combined, hits, emb

    def _guess(self, text: str, language: str, embedding: FloatVector | None = None) -> IndustryGuess:
        p = self.params
        if not text.strip():
            return IndustryGuess(None, 0.0, ("empty text",))
        combined, hits, emb = self.score(text, language, embedding)
        evidence = [f"keyword {hit.matched!r} -> {hit.industry}" for hit in hits]
        ranked = sorted(combined.items(), key=lambda kv: kv[1], reverse=True)
        top = tuple((key, round(value, 4)) for key, value in ranked[:3])
        best, best_score = ranked[0]
        runner_up = ranked[1][1] if len(ranked) > 1 else float("-inf")
        evidence.append(f"embedding similarity {emb[best]:.2f} -> {best}")
        confidence = _confidence(best_score, best_score - runner_up, p)
        if best_score < p.threshold or best_score - runner_up < p.margin:
            reason = "below threshold" if best_score < p.threshold else "ambiguous between top industries"
            return IndustryGuess(None, confidence, (reason, *evidence), top)
        return IndustryGuess(best, confidence, tuple(evidence), top)

    def detect(
        self,
        text: str,
        form_field: str | None = None,
        *,
        language: str | None = None,
        embedding: FloatVector | None = None,
    ) -> IndustryGuess:
        """Detect from the message and, when given, the form's industry field.

        A recognised form field decides unless the message confidently names another industry
        with a higher confidence; when both agree the confidence is combined. `embedding` is the
        message's embedding by this detector's model, when the caller already has it.
        """
        text = analysed(text or "")
        form_field = analysed(form_field) if form_field else form_field
        lang = language or detect_language(text + " " + (form_field or ""), "en")
        from_text = self._guess(text, lang, embedding)
        if not form_field or not form_field.strip():
            return from_text
        field = form_field.strip()
        from_form = self._guess(field, lang)
        if from_form.industry is None:
            return replace(from_text, evidence=(*from_text.evidence, f"form field {field!r} not recognised"))
        head = f"form field {field!r} -> {from_form.industry}"
        if from_text.industry is None or from_text.industry == from_form.industry:
            confidence = from_form.confidence
            if from_text.industry == from_form.industry:
                confidence = 1.0 - (1.0 - confidence) * (1.0 - from_text.confidence)
            evidence = (head, *from_form.evidence, *from_text.evidence)
            return IndustryGuess(from_form.industry, round(confidence, 4), evidence, from_form.candidates)
        conflict = f"form field says {from_form.industry}, message says {from_text.industry}"
        if from_text.confidence > from_form.confidence:
            return replace(from_text, evidence=(conflict, *from_text.evidence))
        return replace(from_form, evidence=(head, conflict, *from_form.evidence))


def _confidence(score: float, margin: float, p: DetectorParams) -> float:
    """Map the combined score and margin onto [0, 1]; 0.5 sits at the acceptance threshold."""
    level = 1.0 / (1.0 + np.exp(-3.0 * (score - p.threshold)))
    gap = 1.0 / (1.0 + np.exp(-8.0 * (margin - p.margin)))
    return round(float(min(level, gap)), 4)


@functools.cache
def _detector(model: str, extra: tuple[tuple[str, tuple[str, ...]], ...]) -> IndustryDetector:
    return IndustryDetector(_catalog(extra), load_encoder(model))


def get_detector(model: str = DEFAULT_MODEL, extra: ExtraSynonyms | None = None) -> IndustryDetector:
    """The detector for `model` and `extra`, built once per process (prototypes embedded once)."""
    return _detector(model, _freeze_extra(extra))


def detect_industry(
    text: str,
    form_field: str | None = None,
    extra: ExtraSynonyms | None = None,
    *,
    language: str | None = None,
    model: str = DEFAULT_MODEL,
    embedding: FloatVector | None = None,
) -> IndustryGuess:
    """Detect the lead's industry from what they wrote (and the form's industry field if given).

    Returns ``IndustryGuess(None, ...)`` when the text names no industry or is ambiguous.
    """
    return get_detector(model, extra).detect(text, form_field, language=language, embedding=embedding)


def industry_label(key: str, language: str) -> str:
    """How a message names an industry: localised in es/pt, the key's words otherwise."""
    return LOCAL_LABELS.get(key, {}).get(language) or key.replace("_", " ")
