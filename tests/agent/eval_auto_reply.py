"""Precision and recall of the email auto-reply detector (a script, not a test):

    python -m tests.agent.eval_auto_reply

Reads the labelled subjects and opening lines in tests/agent/inbound_email_data/ (written for
this purpose, en/es/pt, with hard negatives: people who mention being away). The detector's
patterns were tuned on the dev split only; the held-out split is for measuring. Its first
measurement (2026-12-07) was precision 0.87, recall 1.00: two people's subjects that open with an
away phrase ("Out of office tomorrow - can we meet today?", "Ausencia de precios en su web") were
taken for responders. The subject rule was then narrowed (such phrases count only as the whole
subject, before a colon or a return date) and both splits measure 1.00 / 1.00 — the held-out split
has been seen since, so new held-out rows are what would show the next honest figure.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

from agent.inbound_email import auto_reply_reason

DATA = Path(__file__).parent / "inbound_email_data"


def load(split: str) -> list[dict[str, Any]]:
    path = DATA / f"auto_replies_{split}.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def scores(rows: list[dict[str, Any]]) -> tuple[float, float, list[dict[str, Any]]]:
    """(precision, recall, the rows it got wrong)."""
    tp = fp = fn = 0
    wrong = []
    for row in rows:
        found = auto_reply_reason({}, row["subject"], row["text"]) is not None
        tp += found and row["auto"]
        fp += found and not row["auto"]
        fn += not found and row["auto"]
        if found != row["auto"]:
            wrong.append(row)
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    return precision, recall, wrong


def main() -> None:
    for split in ("dev", "heldout"):
        rows = load(split)
        precision, recall, wrong = scores(rows)
        print(f"{split:8} n={len(rows):3}  precision {precision:.2f}  recall {recall:.2f}")
        by_lang: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for row in rows:
            by_lang[row["lang"]].append(row)
        for lang, subset in sorted(by_lang.items()):
            p, r, _ = scores(subset)
            print(f"  {lang}  n={len(subset):3}  precision {p:.2f}  recall {r:.2f}")
        for row in wrong:
            print(f"  wrong ({'auto' if row['auto'] else 'human'}): {row['subject']!r} / {row['text'][:60]!r}")


if __name__ == "__main__":
    main()
