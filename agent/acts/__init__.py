"""Dialogue acts: what a lead is doing with each message (asks, wants to meet, declines, defers...).

Precise rules first — auto-replies, opt-outs (rule-first everywhere in Nudge, `agent.qualifier`)
and instruction attempts decide alone — then a softmax regression over the offline embedding
model's sentence vectors plus cue flags, trained from the packaged train split when built (never
at import). Deferral dates are plain functions (`parse_deferral`). Quality is measured on a
held-out split by `python -m eval.acts`.

Public API:

    build_classifier(embedder) -> ActClassifier      # the runtime passes knowledge's encoder
    ActClassifier.read(text, now) -> Reading         # now: the lead's local time
    parse_deferral(text, now) -> date | None
"""

from agent.acts.classifier import ActClassifier, Embedder, Example, build_classifier, load_examples
from agent.acts.deferral import parse_deferral
from agent.acts.model import ACTS, HOT_ACTS, Act, Reading

__all__ = [
    "ACTS",
    "HOT_ACTS",
    "Act",
    "ActClassifier",
    "Embedder",
    "Example",
    "Reading",
    "build_classifier",
    "load_examples",
    "parse_deferral",
]
