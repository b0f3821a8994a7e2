"""The learned side of act reading: a softmax regression over sentence embeddings plus cue flags.

Trained when it is built (`build_classifier`, called by the composition root or a test, never at
import), from `agent/acts/data/train.jsonl` only — the held-out split lives under `eval/acts/`
and is never read here. About 400 examples train in well under a second on 2 cores.

Why a regression on [embedding, cues] rather than nearest neighbours: neighbours repeat the
nearest example's label, so they learn the examples' wording; the regression learns which
directions of meaning, and which cues, separate the acts, and the cues carry what embeddings
blur ("yes" and "no" are close in meaning-space, a "?" or "not now" is not). The embedding model
is passed in (`Embedder`): `agent` does not import `knowledge`; the runtime hands over
`knowledge.embeddings.load_encoder()`.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from typing import Any, Protocol, cast

import numpy as np
import numpy.typing as npt

from agent.acts.deferral import parse_deferral
from agent.acts.model import ACTS, HOT_ACTS, Act, Reading
from agent.acts.rules import (
    FEATURES,
    cue_flags,
    decisive,
    hot_cue,
    meeting_topic,
    objection_cue,
    objection_topic,
    precise,
    question_topic,
)
from agent.text import analysed

Matrix = npt.NDArray[np.float32]

#: Acts the learned model may never produce on its own: rules decide them (see rules.decisive).
RULE_ONLY: frozenset[Act] = frozenset({"opt_out"})

EMBEDDED_CHARS = 1000
INJECTION_MIN = 0.7  # the model's confidence needed for an act its rules did not see
OBJECTION_MIN = 0.6
CUE_SCALE = 0.6  # cue flags against unit-length embeddings: strong, but not deciding alone
L2 = 1e-3
EPOCHS = 400
LEARNING_RATE = 2.0


class Embedder(Protocol):
    def encode(self, texts: Sequence[str], *, query: bool = False) -> Any: ...


@dataclass(frozen=True, slots=True)
class Example:
    id: str
    text: str
    lang: str
    act: Act
    topic: str | None
    industry: str | None
    defer_until: str | None


def load_examples(path: str | None = None) -> list[Example]:
    """Labelled messages from a JSONL file (default: the packaged train split)."""
    if path is None:
        raw = resources.files("agent.acts").joinpath("data/train.jsonl").read_text(encoding="utf-8")
    else:
        with open(path, encoding="utf-8") as handle:
            raw = handle.read()
    out: list[Example] = []
    for line in raw.splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        if row["act"] not in ACTS:
            raise ValueError(f"{row.get('id')}: unknown act {row['act']!r}")
        out.append(
            Example(
                id=str(row["id"]),
                text=str(row["text"]),
                lang=str(row["lang"]),
                act=cast(Act, row["act"]),
                topic=row.get("topic"),
                industry=row.get("industry"),
                defer_until=row.get("defer_until"),
            )
        )
    return out


def _softmax(z: Matrix) -> Matrix:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return cast(Matrix, e / e.sum(axis=1, keepdims=True))


class ActClassifier:
    """Reads one message's act: decisive rules first, then the regression (see module docstring)."""

    def __init__(self, embedder: Embedder, examples: Sequence[Example], *, reference: datetime) -> None:
        self._embedder = embedder
        self._labels: tuple[Act, ...] = tuple(a for a in ACTS if any(e.act == a for e in examples))
        x = self._features([e.text for e in examples], reference)
        y = np.array([self._labels.index(e.act) for e in examples])
        self._weights, self._bias = _fit(x, y, len(self._labels))
        # Topics without a clear keyword go to the nearest labelled example of the same act.
        embedded = x[:, : x.shape[1] - len(FEATURES)]
        self._topic_rows = {
            act: (
                embedded[[i for i, e in enumerate(examples) if e.act == act and e.topic]],
                [e.topic for e in examples if e.act == act and e.topic],
            )
            for act in ("question", "objection")
        }

    def _embed(self, texts: Sequence[str]) -> Matrix:
        # An act is said in a sentence or two: a longer message costs encoder time, not meaning.
        clipped = [analysed(t)[:EMBEDDED_CHARS].lower() for t in texts]
        return np.asarray(self._embedder.encode(clipped, query=True), dtype=np.float32)

    def _features(self, texts: Sequence[str], now: datetime) -> Matrix:
        cues = np.array([cue_flags(t, now) for t in texts], dtype=np.float32) * CUE_SCALE
        return np.hstack([self._embed(texts), cues.reshape(len(texts), len(FEATURES))])

    def read(self, text: str, now: datetime) -> Reading:
        """The act of `text`; `now` is the lead's local time (deferral dates are in it)."""
        if not analysed(text).strip():
            return Reading("greeting", confidence=0.3, source="rule", evidence="empty message")
        decided = decisive(text)
        if decided is not None:
            return Reading(cast(Act, decided.act), confidence=0.97, source="rule", evidence=decided.evidence)
        narrow = precise(text, now)
        if narrow is not None:
            until = parse_deferral(text, now) if narrow.act == "defer" else None
            return Reading(
                cast(Act, narrow.act),
                topic=narrow.topic,
                defer_until=until,
                confidence=0.9,
                source="rule",
                evidence=narrow.evidence,
            )
        x = self._features([text], now)
        with _one_blas_thread():  # one row: threads only add hand-off cost
            probs = _softmax(x @ self._weights + self._bias)[0]
        hot = hot_cue(text)
        for index, label in enumerate(self._labels):
            # Rule-only acts never come from the model; hot acts and objections need their kind of
            # wording to be present (a call, a meeting or a person; a price, doubt or time) — the
            # model may read an unusual phrasing of them, not invent them.
            if (
                label in RULE_ONLY
                or (label in HOT_ACTS and not hot)
                or (label == "objection" and not objection_cue(text) and probs[index] < OBJECTION_MIN)
            ):
                probs[index] = 0.0
        best = int(np.argmax(probs))
        act = self._labels[best]
        if act == "injection" and probs[best] < INJECTION_MIN:
            # Instruction attempts the cue list does not know need a confident model: a plain
            # question ("o que vocês fazem, me explica") must not be treated as an attack.
            probs[best] = 0.0
            best = int(np.argmax(probs))
            act = self._labels[best]
        ranked = np.sort(probs)[::-1]
        confidence = round(float(ranked[0]), 3)
        evidence = f"margin {float(ranked[0] - ranked[1]):.2f}"
        return Reading(
            act,
            topic=self._topic(act, text, x[0]),
            defer_until=parse_deferral(text, now) if act == "defer" else None,
            confidence=confidence,
            source="learned",
            evidence=evidence,
        )

    def _topic(self, act: Act, text: str, x: Matrix) -> str | None:
        if act == "meeting":
            return meeting_topic(text)
        if act not in ("question", "objection"):
            return None
        by_rule = question_topic(text) if act == "question" else objection_topic(text)
        if by_rule is not None:
            return by_rule
        rows, topics = self._topic_rows[act]
        if not topics:
            return None
        sims = rows @ x[: rows.shape[1]]
        return topics[int(np.argmax(sims))]


def _fit(x: Matrix, y: npt.NDArray[np.int64], classes: int) -> tuple[Matrix, Matrix]:
    """Softmax regression by full-batch gradient descent, classes weighted to equal total weight."""
    n, d = x.shape
    onehot = np.zeros((n, classes), dtype=np.float32)
    onehot[np.arange(n), y] = 1.0
    counts = onehot.sum(axis=0)
    sample_weight = (n / (classes * counts[y])).astype(np.float32)[:, None]
    weights = np.zeros((d, classes), dtype=np.float32)
    bias = np.zeros((1, classes), dtype=np.float32)
    # Small matrices: BLAS threads only add hand-off cost (12x slower measured on 2 busy cores).
    with _one_blas_thread():
        for _ in range(EPOCHS):
            grad = (_softmax(x @ weights + bias) - onehot) * sample_weight / n
            weights -= LEARNING_RATE * (x.T @ grad + L2 * weights)
            bias -= LEARNING_RATE * grad.sum(axis=0, keepdims=True)
    return weights, bias


def _one_blas_thread() -> AbstractContextManager[Any]:
    try:
        threadpoolctl = importlib.import_module("threadpoolctl")
    except ImportError:
        return nullcontext()
    limiter: AbstractContextManager[Any] = threadpoolctl.threadpool_limits(limits=1, user_api="blas")
    return limiter


def build_classifier(embedder: Embedder, examples: Sequence[Example] | None = None) -> ActClassifier:
    """Train on `examples` (default: the packaged train split). Deterministic; ~0.5 s on 2 cores."""
    from datetime import UTC

    # Dates in training messages only feed the "a date is named" cue: a November moment, at which
    # every kind of deferral in the set ("after the holidays" included) names a date.
    reference = datetime(2026, 11, 18, 12, tzinfo=UTC)
    return ActClassifier(embedder, examples if examples is not None else load_examples(), reference=reference)
