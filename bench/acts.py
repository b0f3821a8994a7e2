"""Act-reading benchmark: what reading a lead message for its dialogue act costs per message.

    .venv/bin/python -m bench.acts [--repeat N]

Timed per message over the labelled held-out messages (each made unique so no cache helps):
the act reader (`ActClassifier.read`: rules, one sentence embedding, the regression), against a
baseline measured in the same run: the offline qualifier alone (`agent.qualifier.qualify`), which
every inbound message already paid for before acts existed. Prints medians, p95 and the ratio;
also the one-off cost of building the reader (model load + training on the train split).
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime

from agent.acts import build_classifier, load_examples
from agent.qualifier import qualify
from eval.acts.report import HELDOUT
from knowledge.embeddings import load_encoder


def _timed(texts: list[str], call: Callable[[str], object]) -> list[float]:
    out = []
    for text in texts:
        started = time.perf_counter()
        call(text)
        out.append((time.perf_counter() - started) * 1000)
    return out


def _line(name: str, samples: list[float]) -> str:
    p95 = statistics.quantiles(samples, n=20)[-1]
    return f"{name:<28} median {statistics.median(samples):6.2f} ms   p95 {p95:6.2f} ms"


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.acts", description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=2, help="passes over the held-out messages")
    args = parser.parse_args()
    started = time.perf_counter()
    encoder = load_encoder()
    encoder.encode(["warm up"], query=True)
    loaded = time.perf_counter()
    reader = build_classifier(encoder)
    built = time.perf_counter()
    now = datetime(2026, 11, 18, 13, tzinfo=UTC)
    rows = load_examples(str(HELDOUT))
    texts = [f"{row.text} #{n}" for n in range(args.repeat) for row in rows]
    baseline = _timed(texts, qualify)
    acts = _timed([t + " ." for t in texts], lambda text: reader.read(text, now))
    print(f"model load {1000 * (loaded - started):.0f} ms, reader build (training) {1000 * (built - loaded):.0f} ms")
    print(_line("baseline: qualify()", baseline))
    print(_line("acts: ActClassifier.read()", acts))
    print(f"ratio (median) {statistics.median(acts) / statistics.median(baseline):.1f}x over {len(texts)} messages")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
