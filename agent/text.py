"""Lead text as it crosses the edge: control characters out, and the bounded prefix analysis reads.

A message can be as long as whatever posts it; the lead cannot write more than the channel carries.
Analysis (language, qualifier, topics, industry) reads at most the channel's limit, so one
oversized body costs a bounded amount of work whatever the patterns do with it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

# What a lead can really send in one message: WhatsApp's body limit, Twilio's concatenated-SMS
# limit; an email reply's own words come before the quoted thread.
INBOUND_LIMITS: Mapping[str, int] = {"whatsapp": 4096, "sms": 1600, "email": 4096}
# Direct callers (a burst of messages joined, a form message, a search query) get this much: a few
# full messages, still a bounded cost.
ANALYSED_CHARS = 16_384

# C0 controls and DEL. PostgreSQL cannot store NUL in text at all; the rest are never what a
# person typed. Tab, line feed and carriage return are ordinary whitespace in a message.
_CONTROLS = re.compile(r"[\x00-\x1f\x7f]")
_CONTROLS_BUT_WHITESPACE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def analysed(text: str, channel: str | None = None) -> str:
    """The prefix of `text` that analysis reads: the channel's limit, or `ANALYSED_CHARS`."""
    return text[: INBOUND_LIMITS.get(channel or "", ANALYSED_CHARS)]


def strip_controls(text: str) -> str:
    """`text` without control characters, keeping tab and line breaks (webhook fields: a provider's
    data is stored, never refused for its shape)."""
    return _CONTROLS_BUT_WHITESPACE.sub("", text)


def control_problem(text: str, *, multiline: bool) -> str | None:
    """Why `text` may not be stored as given (a control character, and where), or None. Tab and
    line breaks are allowed only in `multiline` text."""
    found = (_CONTROLS_BUT_WHITESPACE if multiline else _CONTROLS).search(text)
    if found is None:
        return None
    return f"contains the control character U+{ord(found.group(0)):04X} at position {found.start()}"


# The same rules as JSON Schema patterns, so /openapi.json says what the API refuses.
NO_CONTROLS_PATTERN = "^[^\\u0000-\\u001F\\u007F]*$"
NO_CONTROLS_MULTILINE_PATTERN = "^[^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F]*$"


def document_no_controls(schema: dict[str, Any], *, multiline: bool) -> None:
    """Give every plain string in a JSON Schema (alternatives and list items included; other
    models' references are theirs to document) the pattern `control_problem` enforces."""
    if schema.get("type") == "string" and not any(k in schema for k in ("pattern", "enum", "const", "format")):
        schema["pattern"] = NO_CONTROLS_MULTILINE_PATTERN if multiline else NO_CONTROLS_PATTERN
    for key in ("anyOf", "oneOf", "allOf"):
        for option in schema.get(key, []):
            document_no_controls(option, multiline=multiline)
    for key in ("items", "additionalProperties"):
        if isinstance(schema.get(key), dict):
            document_no_controls(schema[key], multiline=multiline)
