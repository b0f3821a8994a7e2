"""Knowledge base: case studies on chromadb with offline multilingual embeddings.

- `knowledge.embeddings`: the packaged embedding model as a registered chromadb embedding function
- `knowledge.store`: `KnowledgeStore` (one collection per business and model) and `CaseStudy`
- `knowledge.industries`: the canonical industry list and `detect_industry`
- `knowledge.matching`: `match_case_study` for touch 4 (social proof)
- `knowledge.ingest`: JSON / JSONL / CSV / Markdown import with per-row errors
"""

from knowledge.embeddings import DEFAULT_MODEL, OfflineEmbeddingFunction, load_encoder
from knowledge.embeddings import warm as warm_encoder
from knowledge.industries import IndustryGuess, build_catalog, detect_industry, get_detector, industry_keys
from knowledge.ingest import ImportRejected, ImportReport, IngestError, RowError, import_files, parse_file
from knowledge.matching import Match, MatchResult, find_match, match_case_study
from knowledge.store import CaseStudy, KnowledgeStore, UpsertResult


def warm(model: str = DEFAULT_MODEL) -> None:
    """Load the embedding model and embed the industry prototypes now (call once at start-up)."""
    warm_encoder(model)
    get_detector(model)


__all__ = [
    "DEFAULT_MODEL",
    "CaseStudy",
    "ImportRejected",
    "ImportReport",
    "IndustryGuess",
    "IngestError",
    "KnowledgeStore",
    "Match",
    "MatchResult",
    "OfflineEmbeddingFunction",
    "RowError",
    "UpsertResult",
    "build_catalog",
    "detect_industry",
    "find_match",
    "get_detector",
    "import_files",
    "industry_keys",
    "load_encoder",
    "match_case_study",
    "parse_file",
    "warm",
    "warm_encoder",
]
