"""Case studies on chromadb, one collection per business and embedding model.

`KnowledgeStore` talks to an embedded `PersistentClient(path)` by default or to a Chroma server
(`HttpClient`) when given its URL (`NUDGE_CHROMA_URL`). Each business has its own collection, so
no query can ever return another business's case study; the collection's name carries the
embedding model, so switching models creates a new collection, which is filled by re-embedding
the previous one's documents the first time the business is used with the new model.

Case studies get a stable id when none is given (business + normalised title + industry), and
upserts skip unchanged ones (a content hash lives in the metadata): importing the same file
twice changes nothing and embeds nothing the second time.
"""

from __future__ import annotations

import builtins
import hashlib
import json
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar, cast
from urllib.parse import urlsplit

import chromadb
import numpy as np
import numpy.typing as npt
from chromadb.config import Settings as ChromaSettings
from chromadb.errors import NotFoundError
from pydantic import BaseModel, ConfigDict, Field, field_validator

from agent.language import detect_language
from knowledge.embeddings import DEFAULT_MODEL, OfflineEmbeddingFunction
from knowledge.industries import ExtraSynonyms, fold, normalize_industry, slugify

if TYPE_CHECKING:
    from chromadb.api import ClientAPI
    from chromadb.api.models.Collection import Collection

    from nudge.settings import Settings

Language = Literal["en", "es", "pt"]
LANGUAGES: tuple[str, ...] = ("en", "es", "pt")

#: Fields a case study may carry, in their canonical order (ingestion rejects any other).
FIELDS: tuple[str, ...] = ("id", "title", "industry", "body", "metrics", "language", "url", "tags")

MAX_TITLE = 300
MAX_BODY = 50_000
MAX_TAGS = 50
_KIND = "nudge-case-studies"
_BATCH = 128

MetricValue = str | int | float | bool
T = TypeVar("T")
_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:\-]*$"
FloatVector = npt.NDArray[np.float32]


class CaseStudy(BaseModel):
    """One customer story. `id` and `language` are filled in when missing (see `prepared`)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    id: str | None = Field(default=None, min_length=1, max_length=128, pattern=_ID_PATTERN)
    title: str = Field(min_length=1, max_length=MAX_TITLE)
    industry: str = Field(min_length=1, max_length=100)
    body: str = Field(max_length=MAX_BODY)
    metrics: dict[str, MetricValue] | str | None = None
    language: Language | None = None
    url: str | None = Field(default=None, max_length=2000)
    tags: list[str] = Field(default_factory=list, max_length=MAX_TAGS)

    @field_validator("body")
    @classmethod
    def _body_not_empty(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("body is empty")
        return value

    @field_validator("language", mode="before")
    @classmethod
    def _language(cls, value: object) -> object:
        if isinstance(value, str):
            value = value.strip().lower().replace("_", "-").split("-")[0] or None
            if value is not None and value not in LANGUAGES:
                raise ValueError(f"language must be one of {', '.join(LANGUAGES)} (got {value!r})")
        return value

    @field_validator("url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is None or not value:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("url must be an http(s) URL")
        return value

    @field_validator("tags", mode="before")
    @classmethod
    def _tags(cls, value: object) -> object:
        if isinstance(value, str):
            sep = ";" if ";" in value else ("|" if "|" in value else ",")
            value = [part for part in value.split(sep)]
        if isinstance(value, list):
            cleaned = [str(v).strip() for v in value if str(v).strip()]
            return list(dict.fromkeys(cleaned))
        return value

    @field_validator("metrics", mode="before")
    @classmethod
    def _metrics(cls, value: object) -> object:
        if isinstance(value, str) and not value.strip():
            return None
        if isinstance(value, dict) and not value:
            return None
        return value

    def prepared(self, business_id: str, extra: ExtraSynonyms | None = None) -> CaseStudy:
        """A copy with its industry normalised, language detected and stable id set."""
        industry = normalize_industry(self.industry, extra)
        language = self.language or cast(Language, detect_language(f"{self.title}. {self.body[:1000]}", "en"))
        study_id = self.id or stable_id(business_id, self.title, industry)
        return self.model_copy(update={"industry": industry, "language": language, "id": study_id})

    def content_hash(self) -> str:
        payload = self.model_dump(mode="json", exclude={"id"})
        return hashlib.sha256(json.dumps(payload, sort_keys=True, ensure_ascii=False).encode()).hexdigest()

    def document(self) -> str:
        """The text that is embedded for this case study."""
        return f"{self.title}\n{self.body}"

    @property
    def key(self) -> str:
        if self.id is None:
            raise ValueError("case study has no id yet (call prepared())")
        return self.id


def stable_id(business_id: str, title: str, industry: str) -> str:
    """Deterministic id: the same business, title and industry always give the same id."""
    raw = "\x1f".join((business_id, fold(title), slugify(industry)))
    return "cs-" + hashlib.sha256(raw.encode()).hexdigest()[:20]


@dataclass(frozen=True)
class UpsertResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    ids: tuple[str, ...] = ()

    @property
    def written(self) -> int:
        return self.created + self.updated

    def __add__(self, other: UpsertResult) -> UpsertResult:
        return UpsertResult(
            self.created + other.created,
            self.updated + other.updated,
            self.unchanged + other.unchanged,
            self.ids + other.ids,
        )


@dataclass(frozen=True)
class ScoredStudy:
    case_study: CaseStudy
    similarity: float


def _metadata(study: CaseStudy, business_id: str) -> dict[str, Any]:
    metrics = study.metrics
    return {
        "business_id": business_id,
        "title": study.title,
        "industry": study.industry,
        "language": study.language or "",
        "url": study.url or "",
        "tags": json.dumps(study.tags, ensure_ascii=False),
        "metrics": json.dumps(metrics, ensure_ascii=False) if metrics is not None else "",
        "content_hash": study.content_hash(),
        # One equality filter on this is about twice as fast in Chroma as industry AND language.
        "facet": _facet(study.industry, study.language or ""),
    }


def _facet(industry: str, language: str) -> str:
    return f"{industry}:{language}"


def _from_record(study_id: str, document: str | None, meta: Mapping[str, Any]) -> CaseStudy:
    title = str(meta.get("title", ""))
    body = document or ""
    if body.startswith(title + "\n"):
        body = body[len(title) + 1 :]
    metrics_raw = str(meta.get("metrics") or "")
    return CaseStudy.model_validate(
        {
            "id": study_id,
            "title": title,
            "industry": meta.get("industry", ""),
            "body": body,
            "metrics": json.loads(metrics_raw) if metrics_raw else None,
            "language": meta.get("language") or None,
            "url": meta.get("url") or None,
            "tags": json.loads(str(meta.get("tags") or "[]")),
        }
    )


def collection_name(business_id: str, model: str) -> str:
    """Chroma collection name for a business and model: readable, unique, within Chroma's rules."""
    if not business_id or not business_id.strip():
        raise ValueError("business_id is empty")
    digest = hashlib.sha256(business_id.encode()).hexdigest()[:10]
    slug = slugify(business_id).replace("_", "-")[:40].strip("-") or "b"
    return f"kb-{slug}-{digest}-{slugify(model).replace('_', '-')}"


def _chroma_settings() -> ChromaSettings:
    return ChromaSettings(anonymized_telemetry=False, allow_reset=False)


def http_client(url: str) -> ClientAPI:
    """A Chroma `HttpClient` for a server URL such as ``http://127.0.0.1:8000``."""
    parts = urlsplit(url if "://" in url else f"http://{url}")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"invalid Chroma server URL {url!r}")
    ssl = parts.scheme == "https"
    port = parts.port or (443 if ssl else 8000)
    return chromadb.HttpClient(host=parts.hostname, port=port, ssl=ssl, settings=_chroma_settings())


class KnowledgeStore:
    """Per-business case studies in Chroma (embedded by default, or a server by URL)."""

    def __init__(
        self,
        path: str | Path | None = None,
        *,
        url: str | None = None,
        client: ClientAPI | None = None,
        model: str = DEFAULT_MODEL,
    ) -> None:
        if sum(x is not None for x in (path, url, client)) != 1:
            raise ValueError("give exactly one of path (embedded Chroma), url (Chroma server) or client")
        if client is None:
            if url is not None:
                client = http_client(url)
            else:
                Path(str(path)).mkdir(parents=True, exist_ok=True)
                client = chromadb.PersistentClient(path=str(path), settings=_chroma_settings())
        self.client: ClientAPI = client
        self.model = model
        self.embedding_function = OfflineEmbeddingFunction(model=model)
        self._collections: dict[str, Collection] = {}
        self._checked_previous: set[str] = set()
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings, *, model: str = DEFAULT_MODEL) -> KnowledgeStore:
        """Chroma server when `NUDGE_CHROMA_URL` is set, else embedded under `NUDGE_CHROMA_PATH`."""
        if settings.chroma_url:
            return cls(url=settings.chroma_url, model=model)
        return cls(path=settings.resolved_chroma_path, model=model)

    # ---------------------------------------------------------------- collections

    def collection_name(self, business_id: str) -> str:
        return collection_name(business_id, self.model)

    def collection(self, business_id: str) -> Collection:
        """This business's collection for the store's model, created (and back-filled) if needed."""
        col = self._open(business_id, create=True)
        assert col is not None
        return col

    def _existing(self, business_id: str) -> Collection | None:
        """The collection if this business has one (or had one under another model), else None.

        Reads go through here so that looking at an unknown business creates nothing.
        """
        return self._open(business_id, create=False)

    def _open(self, business_id: str, *, create: bool) -> Collection | None:
        name = self.collection_name(business_id)
        with self._lock:
            found = self._collections.get(name)
            if found is not None:
                return found
            try:
                col = self.client.get_collection(name, embedding_function=self.embedding_function)  # type: ignore[arg-type]
            except NotFoundError:
                # Listing collections to find one under another model is done once per business
                # and process: after that, a read of a business without case studies costs one call.
                previous = []
                if business_id not in self._checked_previous:
                    previous = [c for c in self._business_collections(business_id) if c.name != name]
                    self._checked_previous.add(business_id)
                if not previous and not create:
                    return None
                col = self.client.get_or_create_collection(
                    name,
                    embedding_function=self.embedding_function,  # type: ignore[arg-type]
                    metadata={"kind": _KIND, "business_id": business_id, "embedding_model": self.model},
                )
                if previous and col.count() == 0:
                    self._reembed(max(previous, key=lambda c: c.count()), col)
            self._collections[name] = col
            return col

    def _business_collections(self, business_id: str) -> Iterator[Collection]:
        offset = 0
        while True:
            page = self.client.list_collections(limit=100, offset=offset)
            for col in page:
                meta = col.metadata or {}
                if meta.get("kind") == _KIND and meta.get("business_id") == business_id:
                    yield col
            if len(page) < 100:
                return
            offset += 100

    def _reembed(self, source: Collection, target: Collection) -> None:
        """Fill a new model's collection from the business's collection under another model."""
        total = source.count()
        for offset in range(0, total, _BATCH):
            page = source.get(limit=_BATCH, offset=offset, include=["documents", "metadatas"])
            if page["ids"]:
                target.upsert(
                    ids=page["ids"],
                    documents=cast(list[str], page["documents"]),
                    metadatas=page["metadatas"],
                )

    def businesses(self) -> builtins.list[str]:
        """Business ids that have case studies under this store's model."""
        out: set[str] = set()
        offset = 0
        while True:
            page = self.client.list_collections(limit=100, offset=offset)
            for col in page:
                meta = col.metadata or {}
                if meta.get("kind") == _KIND and meta.get("embedding_model") == self.model:
                    out.add(str(meta.get("business_id")))
            if len(page) < 100:
                return sorted(out)
            offset += 100

    def drop_business(self, business_id: str) -> None:
        """Delete every collection of this business (all models)."""
        with self._lock:
            for col in list(self._business_collections(business_id)):
                self.client.delete_collection(col.name)
                self._collections.pop(col.name, None)

    # ---------------------------------------------------------------- writes

    def _run(self, business_id: str, create: bool, action: Callable[[Collection], T], default: T) -> T:
        """Run `action` on the business's collection, reopening it once if the cached handle is stale
        (another process may have dropped and recreated it); `default` when there is none."""
        for attempt in (1, 2):
            col = self._open(business_id, create=create)
            if col is None:
                return default
            try:
                return action(col)
            except NotFoundError:
                with self._lock:
                    self._collections.pop(col.name, None)
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def upsert(
        self,
        business_id: str,
        studies: Iterable[CaseStudy],
        *,
        extra: ExtraSynonyms | None = None,
    ) -> UpsertResult:
        """Insert or update case studies by id; unchanged ones are left alone (and not re-embedded)."""
        prepared: dict[str, CaseStudy] = {}
        for study in studies:
            ready = study.prepared(business_id, extra)
            prepared[ready.key] = ready
        items = list(prepared.values())

        def action(col: Collection) -> UpsertResult:
            result = UpsertResult()
            for start in range(0, len(items), _BATCH):
                result = result + self._upsert_batch(business_id, col, items[start : start + _BATCH])
            return result

        return self._run(business_id, True, action, UpsertResult())

    def _upsert_batch(self, business_id: str, col: Collection, batch: Sequence[CaseStudy]) -> UpsertResult:
        ids = [s.key for s in batch]
        existing = col.get(ids=ids, include=["metadatas"])
        old_hash = {
            i: str((m or {}).get("content_hash", ""))
            for i, m in zip(existing["ids"], existing["metadatas"] or [], strict=False)
        }
        changed = [s for s in batch if old_hash.get(s.key) != s.content_hash()]
        created = sum(1 for s in changed if s.key not in old_hash)
        if changed:
            col.upsert(
                ids=[s.key for s in changed],
                documents=[s.document() for s in changed],
                metadatas=[_metadata(s, business_id) for s in changed],
            )
        return UpsertResult(created, len(changed) - created, len(batch) - len(changed), tuple(ids))

    def delete(self, business_id: str, ids: Sequence[str]) -> int:
        """Delete case studies by id; returns how many existed."""
        if not ids:
            return 0

        def action(col: Collection) -> int:
            present = col.get(ids=list(ids), include=[])["ids"]
            if present:
                col.delete(ids=list(present))
            return len(present)

        return self._run(business_id, False, action, 0)

    # ---------------------------------------------------------------- reads

    def get(self, business_id: str, study_id: str) -> CaseStudy | None:
        def action(col: Collection) -> CaseStudy | None:
            page = col.get(ids=[study_id], include=["documents", "metadatas"])
            if not page["ids"]:
                return None
            docs = page["documents"] or []
            metas = page["metadatas"] or []
            return _from_record(page["ids"][0], docs[0] if docs else None, (metas[0] if metas else None) or {})

        return self._run(business_id, False, action, None)

    def count(self, business_id: str) -> int:
        return self._run(business_id, False, lambda col: col.count(), 0)

    def industries(self, business_id: str) -> dict[str, int]:
        """Industry key -> number of case studies."""

        def action(col: Collection) -> dict[str, int]:
            counts: dict[str, int] = {}
            for meta in col.get(include=["metadatas"])["metadatas"] or []:
                key = str((meta or {}).get("industry", ""))
                counts[key] = counts.get(key, 0) + 1
            return dict(sorted(counts.items()))

        return self._run(business_id, False, action, {})

    def embed_query(self, text: str) -> FloatVector:
        vector: FloatVector = self.embedding_function.encode([text], query=True)[0]
        return vector

    def query(
        self,
        business_id: str,
        text: str | None = None,
        *,
        embedding: FloatVector | None = None,
        n_results: int = 5,
        industry: str | None = None,
        language: str | None = None,
    ) -> builtins.list[ScoredStudy]:
        """Nearest case studies to `text` (or a precomputed query `embedding`), best first."""
        if embedding is None:
            if text is None:
                raise ValueError("give text or embedding")
            embedding = self.embed_query(text)
        vector = embedding

        def action(col: Collection) -> builtins.list[ScoredStudy]:
            res = col.query(
                query_embeddings=cast(Any, [vector]),
                n_results=max(1, n_results),
                where=_where(industry=industry, language=language),
                include=["documents", "metadatas", "distances"],
            )
            ids = res["ids"][0]
            none: builtins.list[None] = [None] * len(ids)
            docs: Sequence[str | None] = res["documents"][0] if res["documents"] else none
            metas: Sequence[Mapping[str, Any] | None] = res["metadatas"][0] if res["metadatas"] else none
            dists: Sequence[float] = res["distances"][0] if res["distances"] else [1.0] * len(ids)
            return [
                ScoredStudy(_from_record(i, d, m or {}), round(1.0 - float(dist), 6))
                for i, d, m, dist in zip(ids, docs, metas, dists, strict=True)
            ]

        return self._run(business_id, False, action, [])

    def list(
        self,
        business_id: str,
        *,
        industry: str | None = None,
        language: str | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> builtins.list[CaseStudy]:
        """Case studies of a business, optionally filtered by industry key and language."""
        where = _where(industry=industry, language=language)

        def action(col: Collection) -> builtins.list[CaseStudy]:
            page = col.get(where=where, limit=limit, offset=offset, include=["documents", "metadatas"])
            n = len(page["ids"])
            docs: Sequence[str | None] = page["documents"] or [None] * n
            metas: Sequence[Mapping[str, Any] | None] = page["metadatas"] or [None] * n
            studies = [_from_record(i, d, m or {}) for i, d, m in zip(page["ids"], docs, metas, strict=True)]
            return sorted(studies, key=lambda s: (s.industry, s.title.casefold(), s.key))

        return self._run(business_id, False, action, [])


def _where(*, industry: str | None, language: str | None) -> Any:
    if industry and language:
        return {"facet": _facet(industry, language)}
    if industry:
        return {"industry": industry}
    if language:
        return {"language": language}
    return None
