"""Retargeting audiences: add a lead at the value-offer touch, remove on conversion, opt-out or
erasure. Only SHA-256 hashes of normalised contacts ever leave Nudge."""
