"""Dialogue acts, measured: `python -m eval.acts` scores the act reader on the held-out split.

The held-out messages live here (`heldout.jsonl`), the train split in the package
(`agent/acts/data/train.jsonl`) because the classifier trains on it at run time. See `report.py`.
"""
