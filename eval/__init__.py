"""Measured quality: labelled sets and the scripts that score Nudge on them."""
